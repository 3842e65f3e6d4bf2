"""The loopback server's files and batches endpoints through the real ``openai`` SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from arcanos_eval.testing import Fault, OpenAIServer, Reply
from arcanos_eval.testing._batches import DeskError, parse_multipart
from arcanos_eval.testing.fixtures import OpenAIServerFactory

KEY = "sk-test-loopback-0123456789abcdef"
CHAT = "/v1/chat/completions"


def _line(custom_id: str, prompt: str, model: str = "gpt-4.1", url: str = CHAT) -> dict[str, Any]:
    if url == CHAT:
        body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    else:
        body = {"model": model, "input": [{"role": "user", "content": prompt}]}
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _submit(client: openai.OpenAI, lines: list[dict[str, Any]], endpoint: str = CHAT) -> str:
    uploaded = client.files.create(file=("in.jsonl", _jsonl(lines)), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window="24h",
    )
    assert batch.status == "validating"
    return batch.id


def _finish(client: openai.OpenAI, batch_id: str) -> Any:
    for _ in range(20):
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch
    raise AssertionError(f"batch {batch_id} never finished")


def _lines(client: openai.OpenAI, file_id: str | None) -> dict[str, Any]:
    if file_id is None:
        return {}
    text = client.files.content(file_id).content.decode()
    return {line["custom_id"]: line for line in map(json.loads, text.splitlines())}


@pytest.fixture
def client(openai_server: OpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=openai_server.base_url, api_key=KEY, max_retries=0) as sdk:
        yield sdk


def test_upload_then_download_gives_the_same_bytes(client):
    data = _jsonl([_line("a", "hello")])
    uploaded = client.files.create(file=("in.jsonl", data), purpose="batch")
    assert (uploaded.purpose, uploaded.bytes, uploaded.filename) == ("batch", len(data), "in.jsonl")
    assert client.files.retrieve(uploaded.id).id == uploaded.id
    assert client.files.content(uploaded.id).content == data
    with pytest.raises(openai.NotFoundError):
        client.files.content("file-missing")


def test_a_batch_walks_its_states_and_answers_like_live_calls(openai_server, client):
    openai_server.batch_polls = 2
    openai_server.replies["ping"] = "pong"
    batch_id = _submit(client, [_line("a", "ping"), _line("b", "echo me")])
    states = [client.batches.retrieve(batch_id).status for _ in range(3)]
    assert states == ["in_progress", "in_progress", "completed"]
    batch = client.batches.retrieve(batch_id)
    assert batch.request_counts is not None
    assert (batch.request_counts.total, batch.request_counts.completed) == (2, 2)
    assert batch.error_file_id is None and batch.completed_at is not None
    out = _lines(client, batch.output_file_id)
    live = client.chat.completions.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "ping"}]
    )
    answer = out["a"]["response"]
    assert answer["status_code"] == 200 and out["a"]["error"] is None
    assert answer["body"]["choices"][0]["message"]["content"] == live.choices[0].message.content
    assert out["b"]["response"]["body"]["choices"][0]["message"]["content"] == "echo me"
    assert live.usage is not None
    assert answer["body"]["usage"]["completion_tokens"] == live.usage.completion_tokens


def test_responses_batches_answer_responses_objects(client):
    batch_id = _submit(client, [_line("r", "hi there", url="/v1/responses")], "/v1/responses")
    batch = _finish(client, batch_id)
    body = _lines(client, batch.output_file_id)["r"]["response"]["body"]
    assert body["object"] == "response"
    assert body["output"][0]["content"][0]["text"] == "hi there"


@pytest.mark.parametrize("outcome", ["expired", "cancelled"])
def test_expired_and_cancelled_batches_answer_half_and_fail_the_rest(
    openai_server, client, outcome
):
    openai_server.batch_outcomes[1] = outcome
    batch = _finish(client, _submit(client, [_line(str(i), f"q{i}") for i in range(4)]))
    assert batch.status == outcome
    assert sorted(_lines(client, batch.output_file_id)) == ["0", "1"]
    errors = _lines(client, batch.error_file_id)
    assert sorted(errors) == ["2", "3"]
    assert errors["2"]["response"] is None
    assert errors["2"]["error"]["code"] == f"batch_{outcome}"


def test_a_scripted_failure_fails_the_batch_with_an_error(openai_server, client):
    openai_server.batch_outcomes[1] = "failed"
    batch = _finish(client, _submit(client, [_line("a", "q")]))
    assert batch.status == "failed" and batch.failed_at is not None
    assert batch.output_file_id is None and batch.error_file_id is None
    assert batch.errors is not None and batch.errors.data


def test_invalid_lines_fail_the_batch_at_validation(client):
    lines = [_line("a", "q"), _line("a", "dup"), {"custom_id": "c", "method": "GET"}]
    batch = _finish(client, _submit(client, lines))
    assert batch.status == "failed"
    assert batch.errors is not None and batch.errors.data is not None
    problems = {e.line: e.message for e in batch.errors.data}
    assert "duplicate custom_id" in problems[2] and "'method' must be 'POST'" in problems[3]


def test_mixed_models_fail_the_batch(client):
    batch = _finish(client, _submit(client, [_line("a", "q", "m1"), _line("b", "q", "m2")]))
    assert batch.status == "failed"
    assert batch.errors is not None and batch.errors.data is not None
    assert batch.errors.data[0].code == "mixed_models"


def test_limits_fail_a_batch_that_is_too_large(openai_server_factory: OpenAIServerFactory):
    server = openai_server_factory(batch_max_requests=2, batch_max_bytes=10_000)
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        many = _finish(sdk, _submit(sdk, [_line(str(i), "q") for i in range(3)]))
        big = _finish(sdk, _submit(sdk, [_line("big", "x" * 20_000)]))
        fine = _finish(sdk, _submit(sdk, [_line("a", "q"), _line("b", "q")]))
    assert many.status == "failed" and many.errors is not None and many.errors.data is not None
    assert many.errors.data[0].code == "too_many_requests"
    assert big.status == "failed" and big.errors is not None and big.errors.data is not None
    assert big.errors.data[0].code == "file_too_large"
    assert fine.status == "completed"


def test_cancel_then_a_read_finds_it_cancelled(openai_server, client):
    openai_server.batch_polls = 5
    batch_id = _submit(client, [_line("a", "q"), _line("b", "q")])
    assert client.batches.cancel(batch_id).status == "cancelling"
    batch = client.batches.retrieve(batch_id)
    assert batch.status == "cancelled" and batch.cancelled_at is not None
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch_id)


def test_a_reply_fault_becomes_an_error_line(openai_server, client):
    openai_server.replies["boom"] = Reply.failing(Fault.http_status(400, "bad request here"))
    batch = _finish(client, _submit(client, [_line("ok", "fine"), _line("bad", "boom")]))
    assert batch.status == "completed"
    assert batch.request_counts is not None and batch.request_counts.failed == 1
    error = _lines(client, batch.error_file_id)["bad"]
    assert error["response"]["status_code"] == 400
    assert error["response"]["body"]["error"]["message"] == "bad request here"


def test_bad_create_requests_are_refused(client):
    uploaded = client.files.create(file=("in.jsonl", _jsonl([_line("a", "q")])), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="endpoint"):
        client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h"
        )
    with pytest.raises(openai.NotFoundError):
        client.batches.create(input_file_id="file-nope", endpoint=CHAT, completion_window="24h")
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nope")


def test_the_key_is_required_and_never_logged(openai_server_factory: OpenAIServerFactory):
    server = openai_server_factory(api_key=KEY)
    wrong = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
    with wrong, pytest.raises(openai.AuthenticationError):
        wrong.files.create(file=("in.jsonl", b"{}\n"), purpose="batch")
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        _finish(sdk, _submit(sdk, [_line("a", "q")]))
    assert all(KEY not in json.dumps(dict(r.headers)) for r in server.requests)
    assert server.batches_created == 1


def test_multipart_parsing_rejects_what_is_not_multipart():
    with pytest.raises(DeskError, match="multipart"):
        parse_multipart("application/json", b"{}")
    with pytest.raises(DeskError, match="boundary"):
        parse_multipart("multipart/form-data", b"")
    body = b'--X\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--X--\r\n'
    assert parse_multipart("multipart/form-data; boundary=X", body) == {"purpose": (None, b"batch")}
