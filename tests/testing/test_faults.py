"""Injected faults surface as the exceptions the ``openai`` SDK raises against the real API."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from arcanos_eval.errors import UsageError
from arcanos_eval.targets.openai import classify_error
from arcanos_eval.testing import Fault, OpenAIServer, Reply
from arcanos_eval.testing.fixtures import OpenAIServerFactory

KEY = "sk-test-faults-0123456789"
LONG = "a long answer that streams as many separate chunks " * 3


@pytest.fixture
def client(openai_server: OpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=openai_server.base_url, api_key=KEY, max_retries=0, timeout=5.0
    ) as sdk:
        yield sdk


def _chat(client: openai.OpenAI, prompt: str = "hello", **kwargs: Any) -> Any:
    messages: Any = [{"role": "user", "content": prompt}]
    return client.chat.completions.create(model="m", messages=messages, **kwargs)


def _stream_text(client: openai.OpenAI, received: list[str], prompt: str = LONG) -> None:
    for chunk in _chat(client, prompt, stream=True):
        if chunk.choices:
            received.append(chunk.choices[0].delta.content or "")


def _wait_idle(server: OpenAIServer, requests: int = 1, limit_s: float = 10.0) -> None:
    """Wait until the server has logged ``requests`` requests and finished them all. A client
    that gave up early may have left before a loaded server even accepted its connection."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if len(server.requests) >= requests and not server.in_flight:
            return
        time.sleep(0.01)


def test_rate_limit_carries_retry_after_headers(
    openai_server: OpenAIServer, client: openai.OpenAI
) -> None:
    openai_server.faults.update(
        {1: Fault.rate_limit(2, retry_after_ms=1500), 2: Fault.rate_limit(retry_after_ms=250)}
    )
    with pytest.raises(openai.RateLimitError) as info:
        _chat(client)
    headers = info.value.response.headers
    assert headers["retry-after"] == "2" and headers["retry-after-ms"] == "1500"
    assert info.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.RateLimitError) as info:
        _chat(client)
    assert "retry-after" not in info.value.response.headers
    assert info.value.response.headers["retry-after-ms"] == "250"
    assert [r.fault for r in openai_server.requests] == ["rate_limit", "rate_limit"]


@pytest.mark.parametrize(
    ("fault", "status"), [(Fault.server_error(), 500), (Fault.unavailable(3), 503)]
)
def test_server_errors(
    openai_server: OpenAIServer, client: openai.OpenAI, fault: Fault, status: int
) -> None:
    openai_server.faults[1] = fault
    with pytest.raises(openai.InternalServerError) as info:
        _chat(client)
    assert info.value.status_code == status
    error = info.value.response.json()["error"]
    assert set(error) >= {"message", "type", "code"} and error["type"] == "server_error"
    assert openai_server.requests[0].status == status


def test_any_status_can_be_injected(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    openai_server.faults[1] = Fault.http_status(404, "The model `m` does not exist")
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        _chat(client)
    with pytest.raises(UsageError):
        Fault.http_status(200)


def test_timeout_fault_hangs_until_the_client_gives_up(openai_server: OpenAIServer) -> None:
    openai_server.faults[1] = Fault.timeout(hang_s=20)
    with (
        openai.OpenAI(
            base_url=openai_server.base_url, api_key=KEY, max_retries=0, timeout=0.3
        ) as sdk,
        pytest.raises(openai.APITimeoutError),
    ):
        _chat(sdk)
    _wait_idle(openai_server)
    (record,) = openai_server.requests
    assert record.fault == "timeout" and record.status is None
    # The server noticed the disconnect instead of hanging for the full 20 s.
    assert record.duration_s is not None and record.duration_s < 10


def test_hangs_are_capped_for_clients_without_timeout(
    openai_server_factory: OpenAIServerFactory,
) -> None:
    server = openai_server_factory(max_hang_s=0.2, faults={1: Fault.timeout(hang_s=600)})
    with (
        openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk,
        pytest.raises(openai.APIConnectionError),
    ):
        _chat(sdk)
    _wait_idle(server)
    assert server.requests[0].duration_s is not None and server.requests[0].duration_s < 10


def test_reset_is_a_connection_error(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    openai_server.faults[1] = Fault.reset()
    with pytest.raises(openai.APIConnectionError):
        _chat(client)
    assert _chat(client).choices[0].message.content == "hello"  # the next call is fine


def test_truncated_stream_fails_after_partial_text(
    openai_server: OpenAIServer, client: openai.OpenAI
) -> None:
    openai_server.faults[1] = Fault.truncated(after_events=3)
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        _stream_text(client, received)
    assert received and "".join(received) != LONG


def test_truncated_body_is_a_connection_error(
    openai_server: OpenAIServer, client: openai.OpenAI
) -> None:
    openai_server.faults[1] = Fault.truncated()
    with pytest.raises(openai.APIConnectionError):
        _chat(client)


def test_truncated_responses_stream(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    openai_server.faults[1] = Fault.truncated(after_events=4)
    # Depending on when the cut reaches the client, the SDK wraps it or lets its HTTP stack's
    # protocol error through; either way the stream ends in an error, never in a short answer.
    try:
        with client.responses.stream(model="m", input=LONG) as stream:
            for _ in stream:
                pass
    except openai.APIConnectionError:
        pass
    except Exception as exc:
        assert classify_error(exc).kind == "connection", repr(exc)
    else:
        pytest.fail("a truncated stream ended without an error")


def test_malformed_json_fails_to_parse(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    openai_server.faults.update({1: Fault.malformed(), 2: Fault.malformed()})
    with pytest.raises(json.JSONDecodeError):
        _chat(client)
    with pytest.raises(json.JSONDecodeError):
        _stream_text(client, [])
    assert [(r.status, r.fault) for r in openai_server.requests] == [(200, "malformed")] * 2


def test_a_reply_can_carry_a_fault(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    openai_server.replies["boom"] = Reply.failing(Fault.server_error())
    with pytest.raises(openai.InternalServerError):
        _chat(client, "boom")
    assert _chat(client, "fine").choices[0].message.content == "fine"


def test_the_sdk_retries_through_faults(openai_server_factory: OpenAIServerFactory) -> None:
    server = openai_server_factory(
        faults={1: Fault.server_error(), 2: Fault.rate_limit(retry_after_ms=10)}
    )
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=2) as sdk:
        assert _chat(sdk, "third time").choices[0].message.content == "third time"
    assert [r.status for r in server.requests] == [500, 429, 200]
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1", "2"]


def _faulted_numbers(server: OpenAIServer, calls: int) -> list[int]:
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        for _ in range(calls):
            with contextlib.suppress(openai.APIStatusError):
                sdk.models.list()
    return [r.number for r in server.requests if r.fault]


def test_fault_rates_are_seeded(openai_server_factory: OpenAIServerFactory) -> None:
    rates = {Fault.server_error(): 0.2, Fault.rate_limit(0): 0.1}
    first = _faulted_numbers(openai_server_factory(fault_rates=rates, seed=7), 100)
    again = _faulted_numbers(openai_server_factory(fault_rates=rates, seed=7), 100)
    other = _faulted_numbers(openai_server_factory(fault_rates=rates, seed=8), 100)
    assert first == again != other
    assert 15 <= len(first) <= 45  # fixed by the seed; about 30 of 100
    # What a request draws can be known beforehand, kind included (the storm bench uses it).
    server = openai_server_factory(fault_rates=rates, seed=7)
    drawn = {n: server.fault_for(n) for n in range(1, 101)}
    assert [n for n, fault in drawn.items() if fault is not None] == first
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        for _ in range(100):
            with contextlib.suppress(openai.APIStatusError):
                sdk.models.list()
    assert [r.fault for r in server.requests] == [f and f.kind for f in drawn.values()]
