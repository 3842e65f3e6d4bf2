"""The OpenAI target: chat completions or the Responses API through the official ``AsyncOpenAI``.

Works with any OpenAI-compatible ``base_url`` (OpenAI, Azure OpenAI's v1 endpoint, vLLM, llama.cpp,
Ollama). The SDK's own retries are off (``max_retries=0``): the engine owns retries, so one
``complete`` is exactly one HTTP attempt and every failure is reported as a :class:`CallFailure`.

Latency is the HTTP exchange, as a user of the model waits for it: from the moment the request is
handed to the HTTP transport to the arrival of the answer's last bytes (time to first token: the
bytes that carried the first token). The clock is read by hooks of the SDK's HTTP client, not
around the SDK call, because around it sit costs of this process, not of the model: building the
client (importing the SDK, loading TLS certificates, about 50 ms), the SDK's first use of an API
(importing its resource modules, building the pydantic models that parse answers: about 0.4 s for
the Responses API) and parsing every answer. Timed around the call, the first call of each target
carried them, and a latency gate read client set-up as model latency. A request that finds no idle
connection in the pool still waits inside the span for the transport to open one (TCP, TLS).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from arcanos_eval._version import sdk_version
from arcanos_eval.config import TargetConfig
from arcanos_eval.model import Request, Response, ToolCall, Usage
from arcanos_eval.targets.base import CallFailure

if TYPE_CHECKING:
    from openai import AsyncOpenAI

# ``openai`` (with pydantic, about half a second) is imported by the first live call, not at start-up:
# a replayed or cached run never needs it.

__all__ = ["OpenAITarget", "response_from_body", "sdk_version"]

_DEFAULT_BASE_URL = "https://api.openai.com/v1"
_NO_KEY = "unused"  # local servers (llama.cpp, vLLM) need no key, but the SDK wants a string
_MESSAGE_LIMIT = 300  # characters of a server's message kept in a failure


class _Exchange:
    """Clock readings of the one HTTP exchange of a call, written by the HTTP client's hooks."""

    __slots__ = ("received", "sent")

    def __init__(self) -> None:
        self.sent: float | None = None
        self.received: float | None = None

    def elapsed_ms(self) -> float | None:
        """Milliseconds from handing the request over to the last answer bytes read so far."""
        if self.sent is None or self.received is None:
            return None
        return (self.received - self.sent) * 1000


# Each call runs in its own task, so concurrent calls of one client never share an exchange.
_EXCHANGE: ContextVar[_Exchange | None] = ContextVar("arcanos_eval_exchange", default=None)


async def _on_request(request: Any) -> None:
    exchange = _EXCHANGE.get()
    if exchange is not None and exchange.sent is None:  # a redirect's hop is still the same wait
        exchange.sent = time.perf_counter()


async def _on_response(response: Any) -> None:
    exchange = _EXCHANGE.get()
    if exchange is not None:
        base = next(
            (c for c in type(response.stream).__mro__ if c.__name__ == "AsyncByteStream"), None
        )
        if base is not None:
            response.stream = _timed_stream_class(base)(response.stream, exchange)


@functools.cache
def _timed_stream_class(byte_stream: Any) -> type[Any]:
    """A byte stream that stamps each chunk's arrival on the call's exchange.

    It subclasses ``byte_stream``, the async byte stream of the HTTP package the answer came
    through (``httpx2``, or ``httpx`` for older SDKs), so the package still sees one of its own.
    """

    class TimedStream(byte_stream):  # type: ignore[misc]
        def __init__(self, stream: Any, exchange: _Exchange) -> None:
            self._stream = stream
            self._exchange = exchange

        async def __aiter__(self) -> AsyncIterator[bytes]:
            chunks = self._stream.__aiter__()
            try:
                async for chunk in chunks:
                    self._exchange.received = time.perf_counter()
                    yield chunk
            finally:
                if hasattr(chunks, "aclose"):
                    await chunks.aclose()

        async def aclose(self) -> None:
            await self._stream.aclose()

    return TimedStream


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` (OpenAI's) or ``Retry-After`` (seconds)."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) / scale
        except ValueError:
            continue  # an HTTP date: rare for these APIs; fall back to backoff
        if value >= 0:
            return value
    return None


def _from_http_stack(exc: BaseException) -> bool:
    """Raised by httpx or httpcore (under any distribution name, e.g. ``httpx2``)."""
    root = type(exc).__module__.partition(".")[0].rstrip("0123456789")
    return root in ("httpx", "httpcore")


def _root_cause(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__


def classify_error(exc: BaseException) -> CallFailure:
    """Map an SDK exception to a :class:`CallFailure` the engine can act on.

    Its message is what the server or the transport said, with configured key values and
    key-shaped strings masked (see :mod:`arcanos_eval._redact`), cut to 300 characters.
    """
    import openai

    if isinstance(exc, openai.APITimeoutError):
        root = _root_cause(exc)
        if root is not exc and not _is_timeout(root):
            # The SDK's aiohttp transport reports any lost connection as a connect timeout.
            return CallFailure("connection", _said(f"connection failed: {root}"), retryable=True)
        return CallFailure("timeout", "request timed out", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return CallFailure(
            "connection", _said(f"connection failed: {exc.__cause__ or exc}"), retryable=True
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in (408, 409, 429) or status >= 500
        message = exc.message if isinstance(exc.message, str) else str(exc)
        return CallFailure(
            "rate_limit" if status == 429 else f"http_{status}",
            _said(message),
            retryable=retryable,
            status=status,
            retry_after_s=_retry_after(exc.response.headers),
        )
    if _from_http_stack(exc):
        # The SDK wraps transport errors of the request, not those raised while a streamed body
        # is read (the server dropped the connection mid-stream): those come from its HTTP stack.
        kind = "timeout" if _is_timeout(exc) else "connection"
        return CallFailure(kind, _said(f"{type(exc).__name__}: {exc}"), retryable=True)
    if isinstance(exc, (openai.APIResponseValidationError, ValueError)):
        # A body that is not the protocol (malformed JSON, truncated stream): the server's fault,
        # not the model's, so it is retried and, if persistent, the case is errored.
        return CallFailure(
            "malformed_response", _said(f"{type(exc).__name__}: {exc}"), retryable=True
        )
    if isinstance(exc, openai.APIError):
        # An error object inside a 200 stream: the server failed mid-answer, as a 5xx does.
        return CallFailure("stream_error", _said(str(exc)), retryable=True)
    return CallFailure("unexpected", _said(f"{type(exc).__name__}: {exc}"), retryable=False)


def _said(message: str) -> str:
    """What a server said, fit to store: secrets masked, then cut."""
    from arcanos_eval._redact import mask

    # A lone surrogate (JSON can spell one) cannot be written to a UTF-8 file: replaced.
    message = message.encode("utf-8", "replace").decode("utf-8")
    return mask(message, limit=_MESSAGE_LIMIT)


# -- reading an answer ---------------------------------------------------------------------------
# The SDK builds its answer objects without validating them: a field holds whatever the server
# sent (a number where text belongs, a string where a list does), or is missing. Answers are read
# here field by field through ``_get``, which never raises, and each value is checked for the
# type the protocol gives it; anything else is a malformed answer, the server's fault, retried
# like a 5xx and errored if it persists. Scorers and reports then only ever see text as text.

_NO_TEXT_REASONS = frozenset({"length", "content_filter"})
"""Finish reasons that explain an answer with neither text nor tool calls: the model's outcome
(scored, and failed by checks that need text), not a broken answer."""


def _malformed(problem: str) -> CallFailure:
    return CallFailure("malformed_response", _said(problem), retryable=True)


def _get(part: Any, name: str) -> Any:
    """Field ``name`` of a part of an answer: an SDK object, a mapping, or ``None`` for anything
    else (a number, text or list where an object belongs has no fields)."""
    if type(part) is dict:  # the common case, first: a parsed event or body
        return part.get(name)
    if isinstance(part, Mapping):
        return part.get(name)
    if part is None or isinstance(part, (str, bytes, int, float, list, tuple)):
        return None
    return getattr(part, name, None)


def _kind(value: Any) -> str:
    """How a JSON value is described in a message: ``a number (42)``, ``an object``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "an object"


def _text(value: Any, where: str) -> str | None:
    """Text or ``None``; anything else is malformed."""
    if value is None or isinstance(value, str):
        return value
    raise _malformed(f"{where} is {_kind(value)}, expected text")


def _count(value: Any, where: str) -> int:
    """A token count: a whole number >= 0 (``None``: not reported, 0)."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and math.isfinite(value) and value >= 0 and value.is_integer():
        return int(value)
    raise _malformed(f"{where} is {_kind(value)}, expected a count of tokens")


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    if isinstance(raw, (str, bytes, int, float, list, tuple)):
        raise _malformed(f"usage is {_kind(raw)}, expected an object")
    counts = {
        name: _count(_get(raw, name), f"usage.{name}")
        for name in (
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "input_tokens",
            "output_tokens",
        )
    }
    prompt = counts["prompt_tokens"] or counts["input_tokens"]
    completion = counts["completion_tokens"] or counts["output_tokens"]
    return Usage(prompt, completion, counts["total_tokens"] or prompt + completion)


def _list(value: Any, where: str) -> list[Any]:
    """A list, or ``[]`` for ``None``; anything else is malformed."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    raise _malformed(f"{where} is {_kind(value)}, expected a list")


def _tool_call(call: Any, where: str) -> ToolCall | None:
    """A chat tool call; ``None`` for a call that is not a function call (a custom tool)."""
    function = _get(call, "function")
    if function is None:
        return None
    name = _get(function, "name")
    if not isinstance(name, str) or not name:
        raise _malformed(f"{where}.function.name is {_kind(name)}, expected a function name")
    arguments = _text(_get(function, "arguments"), f"{where}.function.arguments")
    call_id = _text(_get(call, "id"), f"{where}.id")
    return ToolCall(name=name, arguments=arguments or "{}", id=call_id)


def _chat_answer(completion: Any, latency_ms: float | None) -> Response:
    choices = _list(_get(completion, "choices"), "choices")
    if not choices:
        raise _malformed("answer has no choices")
    choice = choices[0]
    message = _get(choice, "message")
    if message is None:
        raise _malformed(f"choices[0].message is {_kind(message)}, expected an object")
    where = "choices[0].message"
    text = _text(_get(message, "content"), f"{where}.content")
    calls = tuple(
        call
        for i, raw in enumerate(_list(_get(message, "tool_calls"), f"{where}.tool_calls"))
        if (call := _tool_call(raw, f"{where}.tool_calls[{i}]")) is not None
    )
    finish_reason = _text(_get(choice, "finish_reason"), "choices[0].finish_reason")
    if text is None and not calls:
        refusal = _text(_get(message, "refusal"), f"{where}.refusal")
        if refusal:
            text = refusal  # a structured-output refusal: the model's answer, for checks to judge
        elif finish_reason not in _NO_TEXT_REASONS:
            raise _malformed(f"{where}.content is null and the answer has no tool calls")
    return Response(
        text=text,
        tool_calls=calls,
        finish_reason=finish_reason,
        usage=_usage(_get(completion, "usage")),
        latency_ms=latency_ms,
        origin="live",
        model=_text(_get(completion, "model"), "model"),
    )


def _responses_answer(final: Any, latency_ms: float | None, ttft_ms: float | None) -> Response:
    output = _get(final, "output")
    if output is None:
        raise _malformed("answer has no output")
    texts: list[str] = []
    refusals: list[str] = []
    calls: list[ToolCall] = []
    for i, item in enumerate(_list(output, "output")):
        kind = _get(item, "type")
        if kind == "message":
            for j, part in enumerate(_list(_get(item, "content"), f"output[{i}].content")):
                where = f"output[{i}].content[{j}]"
                part_type = _get(part, "type")
                if part_type == "output_text":
                    piece = _text(_get(part, "text"), f"{where}.text")
                    if piece is None:
                        raise _malformed(f"{where}.text is null, expected text")
                    texts.append(piece)
                elif part_type == "refusal":
                    refusals.append(_text(_get(part, "refusal"), f"{where}.refusal") or "")
        elif kind == "function_call":
            name = _get(item, "name")
            if not isinstance(name, str) or not name:
                raise _malformed(f"output[{i}].name is {_kind(name)}, expected a function name")
            arguments = _text(_get(item, "arguments"), f"output[{i}].arguments")
            call_id = _text(_get(item, "call_id"), f"output[{i}].call_id")
            calls.append(ToolCall(name=name, arguments=arguments or "{}", id=call_id))
    status = _get(final, "status")
    if status == "failed":
        error = _get(final, "error")
        raise CallFailure(
            "response_failed", _said(str(_get(error, "message") or "response failed")), True
        )
    finish = "tool_calls" if calls else ("length" if status == "incomplete" else "stop")
    text: str | None = "".join(texts or refusals)
    if calls and not texts:
        text = None
    elif not texts and not refusals and status != "incomplete":
        raise _malformed("answer has no output text and no tool calls")
    return Response(
        text=text,
        tool_calls=tuple(calls),
        finish_reason=finish,
        usage=_usage(_get(final, "usage")),
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        origin="live",
        model=_text(_get(final, "model"), "model"),
    )


def _checked(response: Response) -> Response:
    """``response``, when it is within :data:`_MAX_ANSWER_CHARS` and every text in it is valid
    Unicode. JSON can spell a lone surrogate (``"\\ud800"``), which no UTF-8 file can hold: such
    an answer is malformed."""
    size = len(response.text or "") + sum(len(c.arguments) for c in response.tool_calls)
    if size > _MAX_ANSWER_CHARS:
        raise _too_large(f"the answer exceeds {_MAX_ANSWER_CHARS} characters")
    fields = [("text", response.text), ("model", response.model)]
    for i, call in enumerate(response.tool_calls):
        fields += [(f"tool call {i} name", call.name), (f"tool call {i} arguments", call.arguments)]
        fields.append((f"tool call {i} id", call.id))
    fields.append(("finish_reason", response.finish_reason))
    for where, value in fields:
        if value is None:
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _malformed(
                f"{where} is not valid Unicode (a lone surrogate at character {exc.start})"
            ) from None
    return response


def _response_format(request: Request) -> dict[str, Any] | None:
    if request.response_schema is None:
        return None
    schema = dict(request.response_schema)
    if request.structured_outputs == "json_object":
        return {"type": "json_object", "schema": schema}
    return {
        "type": "json_schema",
        "json_schema": {
            "name": request.schema_name,
            "schema": schema,
            "strict": is_strict_compatible(schema),
        },
    }


def is_strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's strict mode accepts ``schema``: every object closes its properties and
    requires all of them."""
    if isinstance(schema, Mapping):
        if schema.get("type") == "object" or "properties" in schema:
            props = schema.get("properties", {})
            if schema.get("additionalProperties", True) is not False:
                return False
            if set(schema.get("required", ())) != set(props):
                return False
        return all(is_strict_compatible(v) for v in schema.values())
    if isinstance(schema, list):
        return all(is_strict_compatible(v) for v in schema)
    return True


def response_from_body(api: str, body: Mapping[str, Any]) -> Response:
    """Normalize an answer body received outside a live call (a Batch API output line).

    The body is read by the same code as a live answer, so a batch answer scores exactly like a
    live one. It has no latency: none was measured.

    Raises:
        CallFailure: the body is not an answer of that API (``malformed_response``, not retried:
            a batch line is answered once).
    """
    try:
        if api == "responses":
            return _checked(_responses_answer(body, None, None))
        return _checked(_chat_answer(body, None))
    except CallFailure as failure:
        raise dataclasses.replace(failure, retryable=False) from None


class OpenAITarget:
    """One configured model behind an OpenAI-compatible endpoint."""

    def __init__(self, config: TargetConfig, *, timeout_s: float = 60.0) -> None:
        from arcanos_eval._redact import watch_key_env

        self.config = config
        watch_key_env(config.api_key_env)  # its key is masked in every file written from now on
        self._timeout_s = config.timeout_s or timeout_s
        self._client: AsyncOpenAI | None = None

    @property
    def endpoint(self) -> str:
        parts = urlsplit(self.config.base_url or _DEFAULT_BASE_URL)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"

    def can_call(self) -> bool:
        """A key is set, or the target points at a server of its own (which may need none)."""
        return self.config.api_key() is not None or self.config.base_url is not None

    @property
    def client(self) -> AsyncOpenAI:
        if self._client is None:
            from openai import AsyncOpenAI, DefaultAioHttpClient, DefaultAsyncHttpxClient

            # The SDK's own HTTP clients (its defaults for limits and redirects), with the hooks
            # that read the clock of each exchange.
            hooks: dict[str, list[Callable[..., Any]]] = {
                "request": [_on_request],
                "response": [_on_response],
            }
            http_client = (
                DefaultAioHttpClient(event_hooks=hooks)
                if self.config.transport == "aiohttp"
                else DefaultAsyncHttpxClient(event_hooks=hooks)
            )
            self._client = AsyncOpenAI(
                api_key=self.config.api_key() or _NO_KEY,
                base_url=self.config.base_url,
                max_retries=0,
                timeout=self._timeout_s,
                http_client=http_client,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def batch_line(self, request: Request) -> tuple[str, dict[str, Any]]:
        """The endpoint and JSON body of ``request`` as a Batch API input line sends them: the
        same body as a live call, without streaming."""
        if request.api == "responses":
            url, kwargs = "/v1/responses", self._responses_kwargs(request)
        else:
            url, kwargs = "/v1/chat/completions", self._chat_kwargs(request)
        extra = kwargs.pop("extra_body", None) or {}
        return url, {**kwargs, **extra}

    async def complete(self, request: Request) -> Response:
        exchange = _Exchange()
        token = _EXCHANGE.set(exchange)
        try:
            if request.api == "responses":
                return _checked(await self._responses(request, exchange))
            return _checked(await self._chat(request, exchange))
        except CallFailure:
            raise
        except Exception as exc:
            raise classify_error(exc) from exc
        finally:
            _EXCHANGE.reset(token)

    # ------------------------------------------------------------------ chat completions

    def _chat_kwargs(self, request: Request) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": [dict(m) for m in request.messages],
            **request.params,
        }
        if request.tools:
            kwargs["tools"] = [dict(t) for t in request.tools]
        response_format = _response_format(request)
        if response_format is not None:
            kwargs["response_format"] = response_format
        return kwargs

    async def _chat(self, request: Request, exchange: _Exchange) -> Response:
        kwargs = self._chat_kwargs(request)
        chat = self.client.chat.completions.with_streaming_response
        if not self.config.stream:
            async with chat.create(**kwargs) as raw:
                completion = await _read_body(raw)
            return _chat_answer(completion, exchange.elapsed_ms())
        async with chat.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        ) as raw:
            return await _chat_stream(_events(raw), exchange)

    # ------------------------------------------------------------------ responses API

    def _responses_kwargs(self, request: Request) -> dict[str, Any]:
        messages = [dict(m) for m in request.messages]
        instructions = None
        if messages and messages[0].get("role") == "system":
            instructions = messages.pop(0).get("content")
        params = dict(request.params)
        if "max_tokens" in params:
            params["max_output_tokens"] = params.pop("max_tokens")
        seed = params.pop("seed", None)
        kwargs: dict[str, Any] = {"model": request.model, "input": messages, **params}
        if seed is not None:
            kwargs["extra_body"] = {"seed": seed}
        if instructions:
            kwargs["instructions"] = instructions
        if request.tools:
            kwargs["tools"] = [
                {
                    "type": "function",
                    "name": t["function"]["name"],
                    "description": t["function"].get("description", ""),
                    "parameters": t["function"].get("parameters", {"type": "object"}),
                }
                for t in request.tools
            ]
        response_format = _response_format(request)
        if response_format is not None:
            if response_format["type"] == "json_schema":
                spec = response_format["json_schema"]
                kwargs["text"] = {"format": {"type": "json_schema", **spec}}
            else:
                kwargs["text"] = {"format": response_format}
        return kwargs

    async def _responses(self, request: Request, exchange: _Exchange) -> Response:
        kwargs = self._responses_kwargs(request)
        responses = self.client.responses.with_streaming_response
        if not self.config.stream:
            async with responses.create(**kwargs) as raw:
                final = await _read_body(raw)
            return _responses_answer(final, exchange.elapsed_ms(), None)
        async with responses.create(**kwargs, stream=True) as raw:
            return await _responses_stream(_events(raw), exchange)


# -- reading the wire ----------------------------------------------------------------------------
# Answers are read from the HTTP body, not through the SDK's answer objects: the SDK builds one
# object per streamed event (about 0.3 ms each: a 5 MB answer streamed word by word took minutes),
# and reads a body whole, whatever its size. Here an event costs a ``json.loads`` and a body or an
# answer that outgrows its bound stops being read.

_MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest answer body read (a non-streamed answer; 8 M characters of text, JSON-escaped)."""
_MAX_ANSWER_CHARS = 8 * 1024 * 1024
"""The most characters of text and tool-call arguments an answer may hold (a model's longest
answers are about 0.5 M characters): a larger one is errored ``answer_too_large``."""


_decode = json.JSONDecoder().decode  # json.loads minus its per-call checks: one call per event


def _too_large(what: str) -> CallFailure:
    return CallFailure("answer_too_large", what, retryable=False)


async def _read_body(raw: Any) -> Any:
    """The JSON of a whole answer body, read up to :data:`_MAX_BODY_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in raw.iter_bytes():
        size += len(chunk)
        if size > _MAX_BODY_BYTES:
            raise _too_large(f"the answer body exceeds {_MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return json.loads(b"".join(chunks))


async def _events(raw: Any) -> AsyncIterator[tuple[int, Any]]:
    """(number, parsed data) of each server-sent event of a streamed answer, until ``[DONE]``.

    Raises:
        CallFailure: an event carries an error object (``stream_error``).
        ValueError: an event's data is not JSON (classified ``malformed_response``).
    """
    number = 0
    data: list[bytes] = []
    async for line in _lines(raw):
        if line:
            if line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b"data: ") else line[5:])
            continue  # "event:", "id:", "retry:" and ":" comments carry nothing read here
        if not data:
            continue
        text = b"\n".join(data)
        data = []
        if text.startswith(b"[DONE]"):
            return
        number += 1
        event = _decode(text.decode("utf-8"))
        error = _get(event, "error")
        if error:  # as the SDK reads an error object inside a stream
            message = _get(error, "message")
            said = message if isinstance(message, str) and message else "error during streaming"
            raise CallFailure("stream_error", _said(said), retryable=True)
        yield number, event
    if data and not data[0].startswith(b"[DONE]"):
        yield number + 1, _decode(b"\n".join(data).decode("utf-8"))


async def _lines(raw: Any) -> AsyncIterator[bytes]:
    """The lines of a body (``\\n``, ``\\r\\n`` or ``\\r`` ended), as bytes: split here, not by
    the HTTP package's text decoder, which costs more than the JSON of a small event."""
    rest = b""
    async for chunk in raw.iter_bytes():
        buffer = rest + chunk
        cr = b""
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):  # perhaps the first half of a "\r\n"
                buffer, cr = buffer[:-1], b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        rest = lines.pop() + cr
        for line in lines:
            yield line
    if rest.rstrip(b"\r"):
        yield rest.rstrip(b"\r")


async def _chat_stream(events: AsyncIterator[tuple[int, Any]], exchange: _Exchange) -> Response:
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    size = 0
    ttft: float | None = None
    finish_reason: str | None = None
    usage: Usage = Usage()
    model: str | None = None
    saw_finish = False
    async for index, chunk in events:
        where = f"stream event {index}"
        model = _text(_get(chunk, "model"), f"{where}: model") or model
        if _get(chunk, "usage") is not None:
            usage = _usage(_get(chunk, "usage"))
        for choice in _list(_get(chunk, "choices"), f"{where}: choices"):
            delta = _get(choice, "delta")
            if delta is None:
                raise _malformed(f"{where}: choices[].delta is missing: not a chunk of a stream")
            content = _text(_get(delta, "content"), f"{where}: delta.content")
            if content:
                if ttft is None:
                    ttft = exchange.elapsed_ms()
                text.append(content)
                size += len(content)
            for call in _list(_get(delta, "tool_calls"), f"{where}: delta.tool_calls"):
                if ttft is None:
                    ttft = exchange.elapsed_ms()
                position = _get(call, "index")
                if not isinstance(position, int) or isinstance(position, bool):
                    raise _malformed(
                        f"{where}: delta.tool_calls[].index is {_kind(position)}, expected a number"
                    )
                slot = calls.setdefault(position, {"id": "", "name": "", "arguments": ""})
                slot["id"] = _text(_get(call, "id"), f"{where}: tool call id") or slot["id"]
                function = _get(call, "function")
                name = _text(_get(function, "name"), f"{where}: function.name") or ""
                arguments = _text(_get(function, "arguments"), f"{where}: arguments") or ""
                slot["name"] += name
                slot["arguments"] += arguments
                size += len(name) + len(arguments)
            if size > _MAX_ANSWER_CHARS:
                raise _too_large(f"the answer exceeds {_MAX_ANSWER_CHARS} characters")
            reason = _text(_get(choice, "finish_reason"), f"{where}: finish_reason")
            if reason:
                finish_reason = reason
                saw_finish = True
    if not saw_finish:
        raise CallFailure("truncated_stream", "stream ended before a finish_reason", retryable=True)
    return Response(
        text="".join(text) if text or not calls else None,
        tool_calls=tuple(
            ToolCall(c["name"], c["arguments"] or "{}", c["id"] or None)
            for _, c in sorted(calls.items())
        ),
        finish_reason=finish_reason,
        usage=usage,
        latency_ms=exchange.elapsed_ms(),
        ttft_ms=ttft,
        origin="live",
        model=model,
    )


async def _responses_stream(
    events: AsyncIterator[tuple[int, Any]], exchange: _Exchange
) -> Response:
    final = None
    ttft: float | None = None
    size = 0
    async for _, event in events:
        kind = _get(event, "type")
        if kind in ("response.output_text.delta", "response.function_call_arguments.delta"):
            if ttft is None:
                ttft = exchange.elapsed_ms()
            delta = _get(event, "delta")
            size += len(delta) if isinstance(delta, str) else 0
            if size > _MAX_ANSWER_CHARS:
                raise _too_large(f"the answer exceeds {_MAX_ANSWER_CHARS} characters")
        if kind in ("response.completed", "response.incomplete"):
            final = _get(event, "response")
        elif kind in ("response.failed", "error"):
            said = _get(event, "message") or _get(_get(_get(event, "response"), "error"), "message")
            raise CallFailure("response_failed", _said(str(said or kind)), retryable=True)
    if final is None:
        raise CallFailure(
            "truncated_stream", "stream ended before response.completed", retryable=True
        )
    return _responses_answer(final, exchange.elapsed_ms(), ttft)
