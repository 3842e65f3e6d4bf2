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

import functools
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
    """Map an SDK exception to a :class:`CallFailure` the engine can act on."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        root = _root_cause(exc)
        if root is not exc and not _is_timeout(root):
            # The SDK's aiohttp transport reports any lost connection as a connect timeout.
            return CallFailure("connection", f"connection failed: {root}", retryable=True)
        return CallFailure("timeout", "request timed out", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return CallFailure(
            "connection", f"connection failed: {exc.__cause__ or exc}", retryable=True
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in (408, 409, 429) or status >= 500
        message = exc.message if isinstance(exc.message, str) else str(exc)
        return CallFailure(
            "rate_limit" if status == 429 else f"http_{status}",
            message[:300],
            retryable=retryable,
            status=status,
            retry_after_s=_retry_after(exc.response.headers),
        )
    if _from_http_stack(exc):
        # The SDK wraps transport errors of the request, not those raised while a streamed body
        # is read (the server dropped the connection mid-stream): those come from its HTTP stack.
        kind = "timeout" if _is_timeout(exc) else "connection"
        return CallFailure(kind, f"{type(exc).__name__}: {exc}"[:300], retryable=True)
    if isinstance(exc, (openai.APIResponseValidationError, ValueError)):
        # A body that is not the protocol (malformed JSON, truncated stream): the server's fault,
        # not the model's, so it is retried and, if persistent, the case is errored.
        return CallFailure(
            "malformed_response", f"{type(exc).__name__}: {exc}"[:300], retryable=True
        )
    return CallFailure("unexpected", f"{type(exc).__name__}: {exc}"[:300], retryable=False)


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


def _chat_answer(completion: Any, latency_ms: float | None) -> Response:
    if not completion.choices:
        raise CallFailure("malformed_response", "answer has no choices", retryable=True)
    choice = completion.choices[0]
    calls = tuple(
        ToolCall(name=c.function.name, arguments=c.function.arguments or "{}", id=c.id)
        for c in (choice.message.tool_calls or ())
        if getattr(c, "function", None)
    )
    return Response(
        text=choice.message.content,
        tool_calls=calls,
        finish_reason=choice.finish_reason,
        usage=Usage.from_dict(completion.usage.model_dump() if completion.usage else None),
        latency_ms=latency_ms,
        origin="live",
        model=completion.model,
    )


def _responses_answer(final: Any, latency_ms: float | None, ttft_ms: float | None) -> Response:
    calls = tuple(
        ToolCall(name=item.name, arguments=item.arguments or "{}", id=item.call_id)
        for item in final.output
        if item.type == "function_call"
    )
    finish = "tool_calls" if calls else ("length" if final.status == "incomplete" else "stop")
    return Response(
        text=final.output_text if (final.output_text or not calls) else None,
        tool_calls=calls,
        finish_reason=finish,
        usage=Usage.from_dict(final.usage.model_dump() if final.usage else None),
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        origin="live",
        model=final.model,
    )


def response_from_body(api: str, body: Mapping[str, Any]) -> Response:
    """Normalize an answer body received outside a live call (a Batch API output line).

    The body is read by the SDK's own models and normalized by the same code as a live answer,
    so a batch answer scores exactly like a live one. It has no latency: none was measured.

    Raises:
        CallFailure: the body is not an answer of that API.
    """
    from openai.types.chat import ChatCompletion
    from openai.types.responses import Response as ResponsesAnswer

    try:
        if api == "responses":
            return _responses_answer(ResponsesAnswer.model_construct(**body), None, None)
        return _chat_answer(ChatCompletion.model_construct(**body), None)
    except CallFailure:
        raise
    except Exception as exc:  # a body the models cannot read is the server's fault
        raise CallFailure(
            "malformed_response", f"{type(exc).__name__}: {exc}"[:300], retryable=False
        ) from exc


class OpenAITarget:
    """One configured model behind an OpenAI-compatible endpoint."""

    def __init__(self, config: TargetConfig, *, timeout_s: float = 60.0) -> None:
        self.config = config
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
                return await self._responses(request, exchange)
            return await self._chat(request, exchange)
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
        if not self.config.stream:
            completion = await self.client.chat.completions.create(**kwargs)
            return _chat_answer(completion, exchange.elapsed_ms())
        return await self._chat_stream(kwargs, exchange)

    async def _chat_stream(self, kwargs: dict[str, Any], exchange: _Exchange) -> Response:
        stream = await self.client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        ttft: float | None = None
        finish_reason: str | None = None
        usage: Usage = Usage()
        model: str | None = None
        saw_finish = False
        async for chunk in stream:
            model = chunk.model or model
            if chunk.usage is not None:
                usage = Usage.from_dict(chunk.usage.model_dump())
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    if ttft is None:
                        ttft = exchange.elapsed_ms()
                    text.append(delta.content)
                for call in delta.tool_calls or ():
                    if ttft is None:
                        ttft = exchange.elapsed_ms()
                    slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                    slot["id"] = call.id or slot["id"]
                    if call.function is not None:
                        slot["name"] += call.function.name or ""
                        slot["arguments"] += call.function.arguments or ""
                if choice.finish_reason:
                    finish_reason = choice.finish_reason
                    saw_finish = True
        if not saw_finish:
            raise CallFailure(
                "truncated_stream", "stream ended before a finish_reason", retryable=True
            )
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
        ttft: float | None = None
        if self.config.stream:
            final = None
            stream = await self.client.responses.create(**kwargs, stream=True)
            async for event in stream:
                if ttft is None and event.type in (
                    "response.output_text.delta",
                    "response.function_call_arguments.delta",
                ):
                    ttft = exchange.elapsed_ms()
                if event.type in ("response.completed", "response.incomplete"):
                    final = event.response
                elif event.type in ("response.failed", "error"):
                    raise CallFailure(
                        "response_failed",
                        str(getattr(event, "message", event))[:300],
                        retryable=True,
                    )
            if final is None:
                raise CallFailure(
                    "truncated_stream", "stream ended before response.completed", retryable=True
                )
        else:
            final = await self.client.responses.create(**kwargs)
        return _responses_answer(final, exchange.elapsed_ms(), ttft)
