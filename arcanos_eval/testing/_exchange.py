"""Putting an answer on the wire: JSON bodies, paced SSE streams, and injected faults.

Each coroutine returns whether the connection may serve another request (keep-alive).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import arcanos_eval.testing._http as _http
import arcanos_eval.testing._wire as _wire
from arcanos_eval.testing._log import Entry
from arcanos_eval.testing._reply import Fault

Headers = Sequence[tuple[str, str]]
Parts = tuple[int, Headers, bytes]
"""Status, headers and body of a complete (non-streamed) answer."""

JSON_HEADERS: Headers = (("content-type", "application/json"),)
SSE_HEADERS: Headers = (
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-cache"),
)
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
    503: "server_error",
}
_ERROR_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded", 503: "service_unavailable"}


def error_parts(
    status: int,
    message: str,
    type_: str | None = None,
    code: str | None = None,
    headers: Headers = (),
) -> Parts:
    """An error answer with an OpenAI-shaped body."""
    type_ = type_ or _ERROR_TYPES.get(
        status, "server_error" if status >= 500 else "invalid_request_error"
    )
    body = _wire.error_body(message, type_, code or _ERROR_CODES.get(status))
    return status, (*JSON_HEADERS, *headers), body


def error_bytes(status: int, message: str) -> bytes:
    """A complete error answer that closes the connection (for requests that could not be read)."""
    status, headers, body = error_parts(status, message)
    head = _http.response_head(status, headers, content_length=len(body), keep_alive=False)
    return head + body


async def send(
    writer: asyncio.StreamWriter, entry: Entry, request: _http.HttpRequest, parts: Parts
) -> bool:
    """Write a complete answer in one go."""
    status, headers, body = parts
    entry.status = status
    head = _http.response_head(
        status, headers, content_length=len(body), keep_alive=request.keep_alive
    )
    entry.done()
    writer.write(head + body)
    await writer.drain()
    return request.keep_alive


async def stream(
    writer: asyncio.StreamWriter,
    entry: Entry,
    request: _http.HttpRequest,
    events: Sequence[bytes],
    first_delay: float,
    chunk_delay: float,
) -> bool:
    """Write SSE events as chunks: the head at once, the first event after ``first_delay``."""
    entry.status = 200
    head = _http.response_head(200, SSE_HEADERS, content_length=None, keep_alive=request.keep_alive)
    if first_delay > 0:
        # The SDK returns the stream object on the head; the delay is then time to first token.
        writer.write(head)
        await writer.drain()
        await asyncio.sleep(first_delay)
        head = b""
    if chunk_delay <= 0:
        entry.done()
        writer.write(head + b"".join(map(_http.chunk, events)) + _http.LAST_CHUNK)
    else:
        for index, event in enumerate(events):
            if index:
                await asyncio.sleep(chunk_delay)
            if index == len(events) - 1:
                entry.done()
                event_bytes = _http.chunk(event) + _http.LAST_CHUNK
            else:
                event_bytes = _http.chunk(event)
            writer.write(head + event_bytes)
            head = b""
            await writer.drain()
    await writer.drain()
    return request.keep_alive


async def inject(
    fault: Fault,
    entry: Entry,
    request: _http.HttpRequest,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    delay: float,
    payload: bytes | None,
    events: Sequence[bytes] | None,
    max_hang_s: float,
) -> bool:
    """Answer with ``fault`` instead of the normal ``payload`` or ``events``."""
    if fault.kind == "timeout":
        await _hang(reader, min(fault.hang_s, max_hang_s))
        return False
    if delay > 0:
        await asyncio.sleep(delay)
    if fault.kind == "reset":
        entry.done()
        _http.reset(writer)
        return False
    if fault.kind == "truncate":
        return await _truncate(fault, entry, writer, payload, events)
    if fault.kind == "body":
        if events is None:
            return await send(writer, entry, request, (fault.status, JSON_HEADERS, fault.raw))
        sent = [b"data: " + fault.raw + b"\n\n", b"data: [DONE]\n\n"]
        return await stream(writer, entry, request, sent, 0.0, 0.0)
    if fault.kind == "content":
        value = json.loads(fault.raw)
        if events is None:
            body = _wire.dumps(_wire.with_content(json.loads(payload or b"{}"), value))
            return await send(writer, entry, request, (200, JSON_HEADERS, body))
        changed = [_wire.event_with_content(event, value) for event in events]
        return await stream(writer, entry, request, changed, 0.0, 0.0)
    if fault.kind == "malformed":
        if events is None:
            return await send(
                writer, entry, request, (200, JSON_HEADERS, b'{"id": "broken", "choices": [{')
            )
        first = events[0].rstrip(b"\n")
        broken = first[: len(first) // 2] + b"\n\n"
        tail = [b"data: [DONE]\n\n"] if events[-1] == b"data: [DONE]\n\n" else []
        return await stream(writer, entry, request, [broken, *tail], 0.0, 0.0)
    headers: list[tuple[str, str]] = []
    if fault.retry_after_s is not None:
        headers.append(("retry-after", format(fault.retry_after_s, "g")))
    if fault.retry_after_ms is not None:
        headers.append(("retry-after-ms", str(fault.retry_after_ms)))
    return await send(
        writer, entry, request, error_parts(fault.status, fault.message, headers=headers)
    )


async def _truncate(
    fault: Fault,
    entry: Entry,
    writer: asyncio.StreamWriter,
    payload: bytes | None,
    events: Sequence[bytes] | None,
) -> bool:
    """Send part of the answer, then drop the connection mid-body."""
    entry.status = 200
    if events is None:
        body = payload or b"{}"
        head = _http.response_head(200, JSON_HEADERS, content_length=len(body), keep_alive=True)
        writer.write(head + body[: len(body) // 2])
    else:
        head = _http.response_head(200, SSE_HEADERS, content_length=None, keep_alive=True)
        kept = list(events[: fault.after_events])
        # Half an event, as when a proxy or the backend dies mid-write.
        cut = events[len(kept)] if len(kept) < len(events) else b"data: {}\n\n"
        kept.append(cut[: len(cut) // 2])
        writer.write(head + b"".join(map(_http.chunk, kept)))
    await writer.drain()
    entry.done()
    writer.transport.abort()
    return False


async def _hang(reader: asyncio.StreamReader, seconds: float) -> None:
    """Hold the request for ``seconds``, or until the client gives up and disconnects."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        try:
            data = await asyncio.wait_for(reader.read(65536), remaining)
        except (asyncio.TimeoutError, ConnectionError):
            return
        if not data:
            return
