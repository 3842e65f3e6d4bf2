"""What the loopback server answers: scripted replies, injected faults, what a responder sees."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from arcanos_eval.errors import UsageError

__all__ = ["ChatRequest", "Fault", "FaultKind", "Reply", "ReplyToolCall", "Responder", "echo"]

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "unavailable",
    "status",
    "timeout",
    "reset",
    "truncate",
    "malformed",
    "body",
    "content",
]
"""How a request fails: an HTTP error status, a hang, a dropped connection, or a broken body."""


@dataclass(frozen=True)
class Fault:
    """A failure the server injects instead of (or in the middle of) a normal answer.

    Build one with the class methods, which name the failure the client will see.

    Attributes:
        kind: Which failure to inject.
        status: The HTTP status for the status-code kinds.
        message: ``error.message`` of the OpenAI-shaped error body.
        retry_after_s: ``Retry-After`` header value in seconds, or ``None`` to omit it.
        retry_after_ms: ``retry-after-ms`` header value, or ``None`` to omit it.
        hang_s: How long a ``timeout`` fault holds the request before giving up (the server caps it
            at its ``max_hang_s`` and stops early when the client disconnects).
        after_events: How many SSE events a ``truncate`` fault sends before cutting the stream.
        raw: The bytes a ``body`` fault answers with, or the JSON of the value a ``content``
            fault puts where the answer's text belongs (bytes keep a fault hashable, so it can
            key ``fault_rates``).
    """

    kind: FaultKind
    status: int = 0
    message: str = ""
    retry_after_s: float | None = None
    retry_after_ms: int | None = None
    hang_s: float = 30.0
    after_events: int = 2
    raw: bytes = b""

    @classmethod
    def rate_limit(
        cls, retry_after_s: float | None = None, *, retry_after_ms: int | None = None
    ) -> Fault:
        """429 with ``Retry-After`` (seconds) and/or ``retry-after-ms``.

        With neither given, ``Retry-After: 1`` is sent; with only ``retry_after_ms``, only that one.
        """
        if retry_after_s is None and retry_after_ms is None:
            retry_after_s = 1.0
        return cls(
            "rate_limit",
            status=429,
            message="Rate limit reached (injected by the loopback server).",
            retry_after_s=retry_after_s,
            retry_after_ms=retry_after_ms,
        )

    @classmethod
    def server_error(cls) -> Fault:
        """500 Internal Server Error."""
        return cls("server_error", status=500, message="The server had an error (injected).")

    @classmethod
    def unavailable(cls, retry_after_s: float | None = None) -> Fault:
        """503 Service Unavailable, optionally with ``Retry-After``."""
        return cls(
            "unavailable",
            status=503,
            message="The engine is currently overloaded (injected).",
            retry_after_s=retry_after_s,
        )

    @classmethod
    def http_status(cls, status: int, message: str = "Injected error.") -> Fault:
        """Any error status (400, 401, 404, ...) with an OpenAI-shaped body."""
        if not 400 <= status <= 599:
            raise UsageError(f"Fault.http_status expects a 4xx or 5xx status, got {status}")
        return cls("status", status=status, message=message)

    @classmethod
    def timeout(cls, hang_s: float = 30.0) -> Fault:
        """Hold the request without answering, so the client's read timeout fires."""
        return cls("timeout", hang_s=hang_s)

    @classmethod
    def reset(cls) -> Fault:
        """Close the socket abruptly (TCP RST) instead of answering."""
        return cls("reset")

    @classmethod
    def truncated(cls, after_events: int = 2) -> Fault:
        """Cut the body short: mid-SSE for streams, mid-JSON (short of Content-Length) otherwise."""
        return cls("truncate", after_events=after_events)

    @classmethod
    def malformed(cls) -> Fault:
        """Answer 200 with a body (or an SSE event) that is not valid JSON."""
        return cls("malformed", status=200)

    @classmethod
    def body(cls, value: Any, *, status: int = 200) -> Fault:
        """Answer ``status`` with exactly this body instead of the answer: ``bytes`` as given,
        anything else as JSON (``NaN`` and ``Infinity`` written as the bare tokens Python's
        ``json`` allows). A streamed request gets it as the one event before ``[DONE]``, so
        ``{"error": {...}}`` is an error object inside a stream.

        Example: ``Fault.body({"id": "x"})`` (no ``choices``), ``Fault.body(b"<html>")``.
        """
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return cls("body", status=status, raw=raw)

    @classmethod
    def content(cls, value: Any) -> Fault:
        """A well-formed 200 answer whose text is ``value`` instead of a string (a number, an
        object, a list, a bool or ``None``): in ``message.content`` of a chat completion, in each
        content delta of a stream, in the ``output_text`` parts of a Responses answer."""
        return cls("content", status=200, raw=json.dumps(value).encode())


@dataclass(frozen=True)
class ReplyToolCall:
    """One function call a scripted :class:`Reply` answers with (the wire side of what the client
    reads back as :class:`arcanos_eval.model.ToolCall`).

    Attributes:
        name: The function name.
        arguments: JSON text, or a mapping that is serialized to JSON.
        id: The call id; derived from the request number and position when empty.
    """

    name: str
    arguments: str | Mapping[str, Any] = "{}"
    id: str = ""

    @property
    def arguments_json(self) -> str:
        """The arguments as JSON text, as the wire protocol carries them."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Reply:
    """A scripted answer: text and/or tool calls, or a fault, plus extra latency.

    Attributes:
        text: The assistant text (``None`` for a pure tool-call answer).
        tool_calls: Function calls to return.
        finish_reason: Chat ``finish_reason``; defaults to ``tool_calls`` when there are tool calls,
            else ``stop``. ``length`` makes a Responses answer ``incomplete``.
        fault: A failure to inject instead of answering.
        latency_s: Extra delay on top of the server's latency knobs.
        prompt_tokens: Overrides the estimated prompt token count.
        completion_tokens: Overrides the estimated completion token count.
    """

    text: str | None = None
    tool_calls: tuple[ReplyToolCall, ...] = ()
    finish_reason: str | None = None
    fault: Fault | None = None
    latency_s: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @classmethod
    def json(cls, value: Any, **kwargs: Any) -> Reply:
        """A text answer holding ``value`` serialized as JSON (for structured-output suites)."""
        return cls(text=json.dumps(value, ensure_ascii=False), **kwargs)

    @classmethod
    def tool(cls, name: str, arguments: str | Mapping[str, Any] = "{}", **kwargs: Any) -> Reply:
        """An answer made of a single function call."""
        return cls(tool_calls=(ReplyToolCall(name, arguments),), **kwargs)

    @classmethod
    def failing(cls, fault: Fault) -> Reply:
        """An answer that is the given fault."""
        return cls(fault=fault)

    @property
    def resolved_finish_reason(self) -> str:
        """``finish_reason`` with its default applied."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


@dataclass(frozen=True)
class ChatRequest:
    """A chat or Responses request as a responder sees it, normalized across both APIs.

    Attributes:
        api: ``chat`` for ``/v1/chat/completions``, ``responses`` for ``/v1/responses``.
        model: The requested model id.
        prompt: Text of the last user message (or the Responses ``input`` string).
        messages: Every message as ``{"role": ..., "content": <text>}``, system/instructions first.
        tools: The request's tool definitions, as sent.
        stream: Whether the client asked for a stream.
        number: The request's 1-based number on this server.
        body: The parsed JSON body, as sent.
    """

    api: Literal["chat", "responses"]
    model: str
    prompt: str
    messages: tuple[Mapping[str, str], ...] = ()
    tools: tuple[Mapping[str, Any], ...] = ()
    stream: bool = False
    number: int = 0
    body: Mapping[str, Any] = field(default_factory=dict)


Responder = Callable[[ChatRequest], "Reply | str"]
"""Turns a request into a :class:`Reply` (a plain string is shorthand for a text reply)."""


def echo(request: ChatRequest) -> Reply:
    """The default responder: answers with the prompt itself, unchanged.

    A prompt holding JSON therefore comes back as JSON, which keeps schema checks easy to exercise.
    """
    return Reply(text=request.prompt)


def _text_of(content: Any) -> str:
    """Plain text of a message ``content``: a string, or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
            elif isinstance(part, str):
                parts.append(part)
        return "".join(parts)
    return ""


def chat_request_from(
    api: Literal["chat", "responses"], body: Mapping[str, Any], number: int
) -> ChatRequest:
    """Normalize a chat-completions or Responses request body."""
    messages: list[Mapping[str, str]] = []
    if api == "chat":
        for message in body.get("messages") or ():
            if isinstance(message, Mapping):
                role = str(message.get("role", "user"))
                messages.append({"role": role, "content": _text_of(message.get("content"))})
    else:
        instructions = body.get("instructions")
        if isinstance(instructions, str):
            messages.append({"role": "system", "content": instructions})
        items = body.get("input")
        if isinstance(items, str):
            messages.append({"role": "user", "content": items})
        elif isinstance(items, list):
            for item in items:
                if isinstance(item, Mapping) and "role" in item:
                    role = str(item["role"])
                    messages.append({"role": role, "content": _text_of(item.get("content"))})
    prompt = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    tools = tuple(t for t in body.get("tools") or () if isinstance(t, Mapping))
    return ChatRequest(
        api=api,
        model=str(body.get("model", "")),
        prompt=prompt,
        messages=tuple(messages),
        tools=tools,
        stream=bool(body.get("stream")),
        number=number,
        body=body,
    )
