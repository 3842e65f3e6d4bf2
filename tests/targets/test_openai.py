"""The OpenAI target against the loopback server: chat, streaming, Responses API, structured
outputs, tools, and how failures are classified."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcanos_eval.config import TargetConfig
from arcanos_eval.model import Case
from arcanos_eval.targets.base import CallFailure, build_request
from arcanos_eval.targets.openai import (
    OpenAITarget,
    _lines,
    classify_error,
    is_strict_compatible,
)
from arcanos_eval.testing import Fault, Reply, ReplyToolCall
from tests.conftest import KEY_ENV

SCHEMA = {
    "type": "object",
    "properties": {"category": {"enum": ["riddle", "logic"]}},
    "required": ["category"],
    "additionalProperties": False,
}
TOOLS = (
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Find an order.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        },
    },
)


def _case(text: str = "What walks on four legs?", **fields: Any) -> Case:
    return Case(
        id="c",
        suite_id="suite.v1",
        category="happy_path",
        messages=({"role": "user", "content": text},),
        **fields,
    )


def _complete(config: TargetConfig, case: Case):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        target = OpenAITarget(config, timeout_s=5)
        try:
            return await target.complete(build_request(config, case))
        finally:
            await target.aclose()

    return asyncio.run(go())


@pytest.fixture(params=["aiohttp", "httpx"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every call-making test runs over both of the SDK's HTTP transports."""
    return str(request.param)


def _config(base_url: str, **fields: Any) -> TargetConfig:
    return TargetConfig(
        name="t",
        model="gpt-test",
        base_url=base_url,
        api_key_env=KEY_ENV,
        system_prompt="Be brief.",
        **fields,
    )


def test_chat_answer_is_normalized(transport, openai_server, test_key):
    openai_server.replies["What walks on four legs?"] = Reply(text='{"category": "riddle"}')
    response = _complete(_config(openai_server.base_url, transport=transport), _case())
    assert response.parsed == {"category": "riddle"}
    assert response.finish_reason == "stop" and response.origin == "live"
    assert (
        response.usage.total_tokens
        == response.usage.prompt_tokens + response.usage.completion_tokens
        > 0
    )
    assert response.latency_ms is not None and response.ttft_ms is None
    body = openai_server.requests[0].body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_streaming_measures_time_to_first_token(transport, openai_server_factory, test_key, api):
    server = openai_server_factory(ttft_s=0.2, chunk_delay_s=0.02)
    server.replies["What walks on four legs?"] = Reply(text="A person, over a lifetime.")
    response = _complete(
        _config(server.base_url, transport=transport, stream=True, api=api), _case()
    )
    assert response.text == "A person, over a lifetime."
    assert response.ttft_ms is not None and response.latency_ms is not None
    assert 200 <= response.ttft_ms <= response.latency_ms
    assert response.usage.completion_tokens > 0
    assert server.requests[0].stream


CLIENT_SETUP_S = 0.4  # injected into the SDK client's creation


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("api", ["chat", "responses"])
def test_first_call_latency_excludes_client_set_up(
    transport, openai_server_factory, test_key, monkeypatch, api, stream
):
    # A slow client creation (importing the SDK, loading certificates) is the harness's cost, not
    # the model's: the first call's latency exceeds the server's own handling time by no more
    # than later calls' do, never by the set-up delay.
    import openai

    created: list[float] = []

    class SlowToCreate(openai.AsyncOpenAI):
        def __init__(self, **kwargs: Any) -> None:
            time.sleep(CLIENT_SETUP_S)
            created.append(CLIENT_SETUP_S)
            super().__init__(**kwargs)

    monkeypatch.setattr(openai, "AsyncOpenAI", SlowToCreate)
    server = openai_server_factory(latency_s=0.05)
    config = _config(server.base_url, transport=transport, api=api, stream=stream)

    async def three_calls():  # type: ignore[no-untyped-def]
        target = OpenAITarget(config, timeout_s=5)
        try:
            return [
                await target.complete(build_request(config, _case(f"question {i}")))
                for i in range(3)
            ]
        finally:
            await target.aclose()

    responses = asyncio.run(three_calls())
    assert created == [CLIENT_SETUP_S]  # the target's one client paid the delay
    handled_ms = [r.duration_s * 1000 for r in server.requests]  # type: ignore[operator]
    overhead_ms = []
    for response, handled in zip(responses, handled_ms, strict=True):
        assert response.latency_ms is not None and response.latency_ms >= handled
        if stream:
            assert response.ttft_ms is not None and response.ttft_ms <= response.latency_ms
        overhead_ms.append(response.latency_ms - handled)
    first, *later = overhead_ms
    assert first < max(later) + CLIENT_SETUP_S * 1000 / 2, overhead_ms


def test_responses_api_sends_instructions_and_reads_output(openai_server, test_key):
    openai_server.replies["What walks on four legs?"] = Reply(text="riddle")
    response = _complete(
        _config(
            openai_server.base_url, api="responses", params={"max_tokens": 50, "temperature": 0}
        ),
        _case(),
    )
    assert response.text == "riddle" and response.usage.total_tokens > 0
    body = openai_server.requests[0].body
    assert openai_server.requests[0].path == "/v1/responses"
    assert body["instructions"] == "Be brief." and body["max_output_tokens"] == 50


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_are_returned(transport, openai_server, test_key, stream):
    openai_server.replies["Where is my order 42?"] = Reply(
        tool_calls=(ReplyToolCall("lookup_order", {"order_id": "42"}),)
    )
    response = _complete(
        _config(openai_server.base_url, transport=transport, stream=stream),
        _case("Where is my order 42?", tools=TOOLS),
    )
    (call,) = response.tool_calls
    assert call.name == "lookup_order" and call.parsed_arguments() == {"order_id": "42"}
    assert response.finish_reason == "tool_calls"
    assert openai_server.requests[0].body["tools"][0]["function"]["name"] == "lookup_order"


def test_structured_outputs_send_the_suite_schema(transport, openai_server, test_key):
    _complete(
        _config(openai_server.base_url, transport=transport, structured_outputs="json_schema"),
        _case(response_schema=SCHEMA),
    )
    fmt = openai_server.requests[0].body["response_format"]
    assert fmt == {
        "type": "json_schema",
        "json_schema": {"name": "suite_v1", "schema": SCHEMA, "strict": True},
    }


def test_json_object_dialect_for_llama_cpp(transport, openai_server, test_key):
    _complete(
        _config(openai_server.base_url, transport=transport, structured_outputs="json_object"),
        _case(response_schema=SCHEMA),
    )
    assert openai_server.requests[0].body["response_format"] == {
        "type": "json_object",
        "schema": SCHEMA,
    }


def test_no_schema_is_sent_unless_the_target_opts_in(transport, openai_server, test_key):
    _complete(_config(openai_server.base_url, transport=transport), _case(response_schema=SCHEMA))
    assert "response_format" not in openai_server.requests[0].body


def test_strict_mode_only_for_closed_fully_required_objects():
    assert is_strict_compatible(SCHEMA)
    assert not is_strict_compatible({**SCHEMA, "required": []})
    assert not is_strict_compatible({"type": "object", "properties": {}})
    nested = {
        **SCHEMA,
        "properties": {"x": {"type": "object", "properties": {"y": {}}, "required": ["y"]}},
        "required": ["x"],
    }
    assert not is_strict_compatible(nested)


@pytest.mark.parametrize(
    ("fault", "kind", "retryable"),
    [
        (Fault.rate_limit(retry_after_s=2), "rate_limit", True),
        (Fault.server_error(), "http_500", True),
        (Fault.unavailable(), "http_503", True),
        (Fault.http_status(401, "bad key"), "http_401", False),
        (Fault.http_status(400, "bad request"), "http_400", False),
        (Fault.reset(), "connection", True),
        (Fault.malformed(), "malformed_response", True),
    ],
)
def test_failures_are_classified(transport, openai_server, test_key, fault, kind, retryable):
    openai_server.faults[1] = fault
    with pytest.raises(CallFailure) as info:
        _complete(_config(openai_server.base_url, transport=transport), _case())
    assert info.value.kind == kind and info.value.retryable is retryable
    if kind == "rate_limit":
        assert info.value.retry_after_s == 2


def test_a_server_that_does_not_answer_in_time_is_a_timeout(transport, openai_server, test_key):
    openai_server.faults[1] = Fault.timeout(hang_s=5)
    with pytest.raises(CallFailure) as info:
        _complete(_config(openai_server.base_url, transport=transport, timeout_s=0.3), _case())
    assert (info.value.kind, info.value.retryable) == ("timeout", True)


def test_truncated_stream_is_a_retryable_failure(transport, openai_server, test_key):
    openai_server.faults[1] = Fault.truncated(after_events=2)
    openai_server.replies["What walks on four legs?"] = Reply(text="a long answer " * 20)
    with pytest.raises(CallFailure) as info:
        _complete(_config(openai_server.base_url, transport=transport, stream=True), _case())
    assert info.value.retryable


def test_endpoint_never_shows_credentials():
    config = TargetConfig(name="t", model="m", base_url="https://user:secret@example.test:8443/v1")
    assert OpenAITarget(config).endpoint == "https://example.test:8443/v1"


@pytest.mark.parametrize(
    ("module", "name", "kind"),
    [
        ("httpcore", "RemoteProtocolError", "connection"),
        ("httpcore2", "ReadError", "connection"),
        ("httpx._exceptions", "RemoteProtocolError", "connection"),
        ("httpx2", "ReadTimeout", "timeout"),
    ],
)
def test_transport_errors_escaping_a_stream_are_retried(module, name, kind):
    # The SDK does not wrap what its HTTP stack raises while a streamed body is read.
    error = type(name, (Exception,), {"__module__": module})("peer closed connection")
    failure = classify_error(error)
    assert (failure.kind, failure.retryable) == (kind, True)
    assert "peer closed connection" in failure.message


def test_other_unexpected_errors_are_not_retried():
    failure = classify_error(KeyError("choices"))
    assert (failure.kind, failure.retryable) == ("unexpected", False)


SSE_BODY = b'data: {"a": 1}\r\n\r\ndata: {"b": 2}\n\n: comment\rdata: [DONE]\r\n'
SSE_LINES = [b'data: {"a": 1}', b"", b'data: {"b": 2}', b"", b": comment", b"data: [DONE]"]


class _Chunks:
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def iter_bytes(self):  # type: ignore[no-untyped-def]
        for part in self.parts:
            yield part


@given(st.lists(st.integers(1, len(SSE_BODY) - 1), max_size=10).map(lambda c: sorted(set(c))))
def test_a_stream_splits_into_the_same_lines_wherever_its_chunks_end(cuts):  # type: ignore[no-untyped-def]
    # A line end may be \n, \r\n or \r, and a chunk may end between the \r and the \n.
    edges = [0, *cuts, len(SSE_BODY)]
    parts = [SSE_BODY[a:b] for a, b in itertools.pairwise(edges)]

    async def collect() -> list[bytes]:
        return [line async for line in _lines(_Chunks(parts))]

    assert asyncio.run(collect()) == SSE_LINES
