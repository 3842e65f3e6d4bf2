"""Property tests: arbitrary text survives the wire, and the payload helpers keep their laws."""

from __future__ import annotations

import math
from collections.abc import Iterator

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcanos_eval.testing import OpenAIServer, estimate_tokens
from arcanos_eval.testing._wire import embed, pieces

KEY = "sk-test-properties-0123456789"
EXAMPLES = settings(max_examples=40, deadline=None)


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    # Module scope: hypothesis runs many examples per test, one server serves them all.
    with (
        OpenAIServer() as server,
        openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk,
    ):
        yield sdk


@EXAMPLES
@given(prompt=st.text())
def test_echo_round_trips_any_text(client: openai.OpenAI, prompt: str) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": prompt}
    ]
    completion = client.chat.completions.create(model="m", messages=messages)
    assert completion.choices[0].message.content == prompt
    stream = client.chat.completions.create(model="m", messages=messages, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == prompt


@EXAMPLES
@given(prompt=st.text(min_size=1))
def test_responses_round_trip_any_text(client: openai.OpenAI, prompt: str) -> None:
    with client.responses.stream(model="m", input=prompt) as stream:
        assert stream.get_final_response().output_text == prompt


@given(text=st.text())
def test_stream_pieces_join_back(text: str) -> None:
    assert "".join(pieces(text)) == text


@given(text=st.text(), dimensions=st.integers(1, 256))
def test_embeddings_are_unit_vectors(text: str, dimensions: int) -> None:
    vector = embed(text, dimensions)
    assert len(vector) == dimensions
    assert math.isclose(math.fsum(v * v for v in vector), 1.0, rel_tol=1e-9)
    assert vector == embed(text, dimensions)


@given(left=st.text(), right=st.text())
def test_token_estimate_is_additive_over_whitespace(left: str, right: str) -> None:
    assert estimate_tokens(f"{left} {right}") == estimate_tokens(left) + estimate_tokens(right)
