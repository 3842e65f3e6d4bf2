"""Latency knobs and concurrency, observed through the server's own monotonic timestamps."""

from __future__ import annotations

import asyncio
from typing import Any

import openai

from arcanos_eval.testing import OpenAIServer, Reply
from arcanos_eval.testing.fixtures import OpenAIServerFactory

KEY = "sk-test-timing-0123456789"
# asyncio may wake a sleeper up to one clock tick early; this margin absorbs it.
EARLY = 0.005


def _user(text: str) -> Any:
    return [{"role": "user", "content": text}]


async def _concurrent_calls(server: OpenAIServer, count: int, **kwargs: Any) -> list[Any]:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        calls = [
            sdk.chat.completions.create(model="m", messages=_user(f"call {i}"), **kwargs)
            for i in range(count)
        ]
        return await asyncio.gather(*calls)


def test_latency_holds_every_answer(openai_server_factory: OpenAIServerFactory) -> None:
    server = openai_server_factory(latency_s=0.1, replies={"slow": Reply("x", latency_s=0.1)})
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        sdk.chat.completions.create(model="m", messages=_user("fast"))
        sdk.chat.completions.create(model="m", messages=_user("slow"))
        sdk.embeddings.create(model="e", input="x")
    durations = [r.duration_s or 0.0 for r in server.requests]
    assert durations[0] >= 0.1 - EARLY
    assert durations[1] >= 0.2 - EARLY  # the reply's own latency adds up
    assert durations[2] >= 0.1 - EARLY


def test_jitter_is_bounded_below_and_varies(openai_server_factory: OpenAIServerFactory) -> None:
    server = openai_server_factory(latency_s=0.02, jitter_s=0.1, seed=1)
    asyncio.run(_concurrent_calls(server, 6))
    durations = [r.duration_s or 0.0 for r in server.requests]
    assert min(durations) >= 0.02 - EARLY
    assert max(durations) - min(durations) > 0.01  # draws fixed by seed=1 spread over 0.06 s


def test_stream_pacing(openai_server_factory: OpenAIServerFactory) -> None:
    server = openai_server_factory(latency_s=5.0, ttft_s=0.1, chunk_delay_s=0.01)
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        stream = sdk.chat.completions.create(
            model="m", messages=_user("one two three"), stream=True
        )
        chunks = list(stream)
    (record,) = server.requests
    # ttft_s replaces latency_s for streams; then one delay between consecutive events.
    expected = 0.1 + 0.01 * len(chunks)  # the events also include the final [DONE]
    assert record.duration_s is not None and expected - EARLY <= record.duration_s < 4.0


def test_max_in_flight_is_the_client_concurrency(
    openai_server_factory: OpenAIServerFactory,
) -> None:
    server = openai_server_factory(latency_s=0.2)
    answers = asyncio.run(_concurrent_calls(server, 8))
    assert [a.choices[0].message.content for a in answers] == [f"call {i}" for i in range(8)]
    assert server.max_in_flight == 8
    assert server.in_flight == 0 and server.total_requests == 8


def test_concurrent_streams_are_counted_too(openai_server_factory: OpenAIServerFactory) -> None:
    server = openai_server_factory(ttft_s=0.2)

    async def run() -> list[str]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:

            async def one(i: int) -> str:
                stream = await sdk.chat.completions.create(
                    model="m", messages=_user(f"stream {i}"), stream=True
                )
                return "".join([c.choices[0].delta.content or "" async for c in stream])

            return await asyncio.gather(*(one(i) for i in range(4)))

    assert asyncio.run(run()) == [f"stream {i}" for i in range(4)]
    assert server.max_in_flight == 4
