"""The loopback server through the real ``openai`` SDK: every endpoint, scripting, and the log."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import math
import re
import struct
from collections.abc import Iterator
from typing import Any

import openai
import pytest

import arcanos_eval.testing as testing
from arcanos_eval.errors import UsageError
from arcanos_eval.testing import ChatRequest, OpenAIServer, Reply, ReplyToolCall
from arcanos_eval.testing.fixtures import OpenAIServerFactory

KEY = "sk-test-loopback-0123456789abcdef"
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "lookup_raid",
            "parameters": {"type": "object", "properties": {"day": {"type": "string"}}},
        },
    }
]
RAID_CALL = Reply(tool_calls=(ReplyToolCall("lookup_raid", {"day": "friday"}),))


@pytest.fixture
def client(openai_server: OpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=openai_server.base_url, api_key=KEY, max_retries=0) as sdk:
        yield sdk


def _user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def _raw(server: OpenAIServer, method: str, path: str, body: bytes | None = None) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_public_api_is_exactly_all() -> None:
    # The names resolve on first use: each of __all__ is there, and nothing else is public.
    assert set(testing.__all__) <= set(dir(testing))
    assert all(getattr(testing, name) is not None for name in testing.__all__)
    public = {n for n in dir(testing) if n.isidentifier() and not n.startswith("_")}
    public -= {"annotations", "typing", "server", "fixtures"}
    assert public == set(testing.__all__)


def test_lifecycle_binds_a_loopback_port_and_stops_twice_safely() -> None:
    server = OpenAIServer()
    assert not server.running
    with server:
        assert server.running
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", server.base_url)
        assert server.port > 0
    assert not server.running
    server.stop()
    with pytest.raises(ConnectionError):
        _raw(server, "GET", "/v1/models")


def test_start_twice_is_a_usage_error(openai_server: OpenAIServer) -> None:
    with pytest.raises(UsageError, match="already running"):
        openai_server.start()


@pytest.mark.parametrize(
    "knobs", [{"latency_s": -1.0}, {"fault_rates": {testing.Fault.reset(): 1.5}}]
)
def test_bad_knobs_are_usage_errors(knobs: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="OpenAIServer"):
        OpenAIServer(**knobs)


def test_chat_echoes_the_prompt_with_usage(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-test",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hello, raid leader!"}]},
        ],
    )
    choice = completion.choices[0]
    assert choice.message.content == "Hello, raid leader!"
    assert choice.finish_reason == "stop"
    assert completion.model == "gpt-test"
    assert completion.usage is not None
    # 2 messages x 3 overhead + "Be brief." (3) + "Hello, raid leader!" (5); answer 5 tokens.
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (14, 5)
    assert completion.usage.total_tokens == 19


def test_replies_are_scripted_per_model_and_prompt(
    openai_server_factory: OpenAIServerFactory,
) -> None:
    server = openai_server_factory(
        replies={
            "ping": "pong",
            ("ft:candidate", "ping"): Reply.json({"answer": "pong"}),
            ("ft:candidate", "*"): "candidate default",
        }
    )
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:

        def ask(model: str, prompt: str) -> str | None:
            completion = sdk.chat.completions.create(model=model, messages=_user(prompt))
            return completion.choices[0].message.content

        assert ask("base", "ping") == "pong"
        assert ask("ft:candidate", "ping") == '{"answer": "pong"}'
        assert ask("ft:candidate", "other") == "candidate default"
        assert ask("base", "other") == "other"
        server.replies["other"] = Reply(text="cut", finish_reason="length", completion_tokens=400)
        completion = sdk.chat.completions.create(model="base", messages=_user("other"))
        assert completion.choices[0].finish_reason == "length"
        assert completion.usage is not None and completion.usage.completion_tokens == 400


def test_responder_sees_a_normalized_request(openai_server_factory: OpenAIServerFactory) -> None:
    seen: list[ChatRequest] = []

    def responder(request: ChatRequest) -> str:
        seen.append(request)
        return f"{request.api}:{request.model}:{request.prompt.upper()}"

    server = openai_server_factory(responder=responder)
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        completion = sdk.chat.completions.create(
            model="m1", messages=_user("hi"), tools=TOOLS, temperature=0
        )
        response = sdk.responses.create(model="m2", instructions="Be brief.", input="yo")
    assert completion.choices[0].message.content == "chat:m1:HI"
    assert response.output_text == "responses:m2:YO"
    chat, responses = seen
    assert chat.tools[0]["function"]["name"] == "lookup_raid"
    assert chat.body["temperature"] == 0 and chat.number == 1 and not chat.stream
    assert responses.messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "yo"},
    )


def test_chat_stream_yields_deltas_then_a_usage_chunk(client: openai.OpenAI) -> None:
    prompt = "When does the raid start on Friday?"
    chunks = list(
        client.chat.completions.create(
            model="gpt-test",
            messages=_user(prompt),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == prompt
    assert len(chunks) > 3
    assert chunks[-2].choices[0].finish_reason == "stop"
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage is not None
    plain = client.chat.completions.create(model="gpt-test", messages=_user(prompt))
    assert plain.usage is not None
    assert usage.total_tokens == plain.usage.total_tokens


def test_chat_stream_without_include_usage_has_no_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="m", messages=_user("a b"), stream=True))
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)


@pytest.mark.parametrize("stream", [False, True])
def test_chat_tool_calls(openai_server: OpenAIServer, client: openai.OpenAI, stream: bool) -> None:
    openai_server.replies["when is the raid?"] = RAID_CALL
    if stream:
        with client.chat.completions.stream(
            model="m", messages=_user("when is the raid?"), tools=TOOLS
        ) as events:
            completion: Any = events.get_final_completion()
    else:
        completion = client.chat.completions.create(
            model="m", messages=_user("when is the raid?"), tools=TOOLS
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "lookup_raid"
    assert json.loads(call.function.arguments) == {"day": "friday"}
    assert call.id.startswith("call_")


def test_responses_create_text_and_function_call(
    openai_server: OpenAIServer, client: openai.OpenAI
) -> None:
    openai_server.replies["when is the raid?"] = RAID_CALL
    response = client.responses.create(model="m", input="Hello there")
    assert response.status == "completed" and response.output_text == "Hello there"
    assert response.usage is not None and response.usage.output_tokens == 2
    called = client.responses.create(
        model="m", input=[{"role": "user", "content": "when is the raid?"}]
    )
    (item,) = called.output
    assert item.type == "function_call" and item.name == "lookup_raid"
    assert json.loads(item.arguments) == {"day": "friday"}


def test_responses_stream_helper_and_raw_events(
    openai_server: OpenAIServer, client: openai.OpenAI
) -> None:
    openai_server.replies["both"] = Reply(text="Friday at eight.", tool_calls=RAID_CALL.tool_calls)
    with client.responses.stream(model="m", input="both") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "Friday at eight." == final.output_text
    assert [item.type for item in final.output] == ["message", "function_call"]
    types = [e.type for e in client.responses.create(model="m", input="hi", stream=True)]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert "response.output_text.done" in types


def test_embeddings_are_deterministic_unit_vectors(client: openai.OpenAI) -> None:
    texts = ["raid starts friday", "the raid starts on friday", "password reset"]
    default = client.embeddings.create(model="emb", input=texts)  # the SDK asks for base64
    vectors = [item.embedding for item in default.data]
    assert [len(v) for v in vectors] == [64, 64, 64]
    assert all(math.isclose(math.hypot(*v), 1.0, rel_tol=1e-5) for v in vectors)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > 0.5 > cosine(vectors[0], vectors[2])
    as_float = client.embeddings.create(model="emb", input=texts[0], encoding_format="float")
    assert as_float.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)
    assert default.usage.prompt_tokens == 3 + 5 + 2
    small = client.embeddings.create(model="emb", input="raid", dimensions=8)
    assert len(small.data[0].embedding) == 8


def test_embeddings_base64_is_little_endian_float32(openai_server: OpenAIServer) -> None:
    def embedding(encoding_format: str) -> Any:
        request = {"model": "e", "input": "raid boss guide", "encoding_format": encoding_format}
        status, payload = _raw(
            openai_server, "POST", "/v1/embeddings", json.dumps(request).encode()
        )
        assert status == 200, payload
        return payload["data"][0]["embedding"]

    raw = base64.b64decode(embedding("base64"))
    assert len(raw) == 64 * 4
    # Any 256 bytes unpack to 64 floats: they must be the float encoding's values.
    assert struct.unpack("<64f", raw) == pytest.approx(embedding("float"), abs=1e-6)


def test_moderations_flag_configured_words(openai_server_factory: OpenAIServerFactory) -> None:
    server = openai_server_factory(moderation_words={"grief": "harassment", "Nuke": "violence"})
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        result = sdk.moderations.create(input=["I will NUKE the base", "good game", "griefing"])
    flagged, clean, partial = result.results
    assert flagged.flagged and flagged.categories.violence and not flagged.categories.harassment
    assert flagged.category_scores.violence > 0.5
    assert not clean.flagged and not partial.flagged  # whole words only


def test_default_moderation_words(client: openai.OpenAI) -> None:
    (result,) = client.moderations.create(input="I hate this").results
    assert result.flagged and result.categories.hate
    parts: Any = [
        {"type": "text", "text": "a picture of a bomb"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    (multimodal,) = client.moderations.create(input=parts).results
    assert multimodal.flagged and multimodal.categories.violence


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == list(testing.DEFAULT_MODELS)
    assert client.models.retrieve(testing.DEFAULT_MODELS[0]).id == testing.DEFAULT_MODELS[0]
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_the_model_list_is_a_knob_and_none_means_no_endpoint(openai_server_factory) -> None:
    listing = openai_server_factory(models=["local-model"])
    client = openai.OpenAI(base_url=listing.base_url, api_key="sk-test", max_retries=0)
    assert [m.id for m in client.models.list()] == ["local-model"]
    unlisted = openai_server_factory(models=None)
    client = openai.OpenAI(base_url=unlisted.base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.models.list()
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve(testing.DEFAULT_MODELS[0])
    # Any model name is still answered.
    answer = client.chat.completions.create(
        model="any-name", messages=[{"role": "user", "content": "ping"}]
    )
    assert answer.choices[0].message.content


def test_bad_requests_get_openai_shaped_errors(openai_server: OpenAIServer) -> None:
    status, body = _raw(openai_server, "POST", "/v1/chat/completions", b"{not json")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    status, body = _raw(openai_server, "POST", "/v1/chat/completions", b'{"messages": []}')
    assert status == 400 and "model" in body["error"]["message"]
    status, body = _raw(openai_server, "GET", "/v1/nowhere")
    assert status == 404 and set(body["error"]) >= {"message", "type", "code"}


def test_keep_alive_and_chunked_request_bodies(openai_server: OpenAIServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", openai_server.port, timeout=5)
    body = json.dumps({"model": "m", "messages": _user("chunked")}).encode()
    try:
        for _ in range(2):
            connection.request(
                "POST",
                "/v1/chat/completions",
                body=iter([body[:10], body[10:]]),
                encode_chunked=True,
                headers={"Transfer-Encoding": "chunked"},
            )
            reply = json.loads(connection.getresponse().read())
            assert reply["choices"][0]["message"]["content"] == "chunked"
    finally:
        connection.close()
    assert openai_server.total_requests == 2


def test_api_key_is_checked_when_configured(openai_server_factory: OpenAIServerFactory) -> None:
    server = openai_server_factory(api_key=KEY)
    with (
        openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0) as wrong,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        wrong.models.list()
    assert info.value.code == "invalid_api_key"
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as right:
        assert list(right.models.list())


def test_responder_errors_become_500_and_are_kept(
    openai_server_factory: OpenAIServerFactory,
) -> None:
    def responder(request: ChatRequest) -> Reply:
        raise KeyError("no script for this prompt")

    server = openai_server_factory(responder=responder)
    with (
        openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk,
        pytest.raises(openai.InternalServerError, match="no script"),
    ):
        sdk.chat.completions.create(model="m", messages=_user("x"))
    (error,) = server.errors
    assert isinstance(error, KeyError)


def test_log_counts_paths_and_never_keeps_the_key(
    openai_server: OpenAIServer, client: openai.OpenAI
) -> None:
    client.chat.completions.create(model="gpt-test", messages=_user("one"), stream=True).close()
    client.embeddings.create(model="emb", input="two")
    list(client.models.list())
    first, second, third = openai_server.requests
    assert (first.path, first.model, first.status, first.stream) == (
        "/v1/chat/completions",
        "gpt-test",
        200,
        True,
    )
    assert first.body["messages"] == _user("one")
    assert second.number == 2 and third.method == "GET" and third.body is None
    assert first.authorization and "authorization" not in first.headers
    assert first.headers["content-type"] == "application/json"
    assert first.completed_at is not None and first.duration_s is not None
    assert KEY not in repr(openai_server.requests)
    assert openai_server.path_counts == {
        "/v1/chat/completions": 1,
        "/v1/embeddings": 1,
        "/v1/models": 1,
    }
    openai_server.reset()
    assert openai_server.total_requests == 0 and openai_server.requests == []
    assert openai_server.path_counts == {} and openai_server.max_in_flight == 0
    client.models.list()
    assert openai_server.requests[0].number == 1


def test_async_client(openai_server: OpenAIServer) -> None:
    async def run() -> list[str | None]:
        async with openai.AsyncOpenAI(
            base_url=openai_server.base_url, api_key=KEY, max_retries=0
        ) as sdk:
            stream = await sdk.chat.completions.create(
                model="m", messages=_user("async hello"), stream=True
            )
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream])
            plain = await sdk.chat.completions.create(model="m", messages=_user("again"))
            return [streamed, plain.choices[0].message.content]

    assert asyncio.run(run()) == ["async hello", "again"]
