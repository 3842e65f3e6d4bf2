"""The normalized model answer every scorer, comparison and report works on, and the request that
produced it."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Origin", "Request", "Response", "ToolCall", "Usage", "fingerprint_of", "parse_json"]

Origin = Literal["live", "replayed", "cached"]

_NO_JSON = object()


@dataclass(frozen=True)
class Usage:
    """Token counts as the API reported them (zero when it did not)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __post_init__(self) -> None:
        if not self.total_tokens:  # not reported: the sum, as reading a stored answer gives it
            object.__setattr__(self, "total_tokens", self.prompt_tokens + self.completion_tokens)

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Usage:
        if not data:
            return cls()
        prompt = int(data.get("prompt_tokens") or data.get("input_tokens") or 0)
        completion = int(data.get("completion_tokens") or data.get("output_tokens") or 0)
        total = int(data.get("total_tokens") or prompt + completion)
        return cls(prompt, completion, total)


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for. ``arguments`` is the raw JSON text the model wrote."""

    name: str
    arguments: str = "{}"
    id: str | None = None

    def parsed_arguments(self) -> Any:
        """The arguments as JSON, or raise ``ValueError`` when the model wrote invalid JSON."""
        return strict_json(self.arguments or "{}")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        arguments = data.get("arguments")
        return cls(
            name=str(data["name"]),
            arguments="{}" if arguments is None else str(arguments),
            id=data.get("id"),
        )


def _not_a_number(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number")


def strict_json(text: str) -> Any:
    """``json.loads`` of JSON as the standard defines it: ``NaN`` and ``Infinity``, which Python
    alone accepts, are an error (``ValueError``), so no parsed answer holds a non-finite number.
    """
    return json.loads(text, parse_constant=_not_a_number)


def parse_json(text: str | None) -> tuple[Any, str | None]:
    """Parse ``text`` as one JSON document.

    Returns ``(value, None)`` on success and ``(None, reason)`` otherwise; it never raises, because a
    malformed answer is a finding about the model, not a crash of the harness.
    """
    if text is None:
        return None, "no text content"
    stripped = text.strip()
    if not stripped:
        return None, "empty text"
    try:
        return strict_json(stripped), None
    except (ValueError, RecursionError) as exc:
        return None, f"invalid JSON: {exc}"


@dataclass(frozen=True)
class Response:
    """A model's answer to one request, normalized across APIs and origins.

    ``error`` is set when the call failed after all retries: such a response is *errored*, which is
    distinct from a response whose content fails a check.

    Example:
        >>> Response.from_text('{"category": "riddle"}').parsed
        {'category': 'riddle'}
    """

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency_ms: float | None = None
    ttft_ms: float | None = None
    origin: Origin = "live"
    model: str | None = None
    error: str | None = None
    error_type: str | None = None
    attempts: int = 1
    _parsed: Any = field(default=_NO_JSON, repr=False, compare=False)

    @classmethod
    def from_text(cls, text: str | None, **kwargs: Any) -> Response:
        """A response holding ``text``: how a notebook scores a plain string."""
        return cls(text=text, **kwargs)

    @classmethod
    def failed(cls, error: str, error_type: str, **kwargs: Any) -> Response:
        """An errored response: the call did not produce an answer."""
        return cls(error=error, error_type=error_type, **kwargs)

    @property
    def errored(self) -> bool:
        return self.error is not None

    def _json(self) -> tuple[Any, str | None]:
        cached = self._parsed
        if cached is _NO_JSON:
            cached = parse_json(self.text)
            object.__setattr__(self, "_parsed", cached)
        return cached  # type: ignore[no-any-return]

    @property
    def parsed(self) -> Any:
        """The text parsed as JSON, or ``None`` when it is not JSON (see :attr:`parse_error`)."""
        return self._json()[0]

    @property
    def parse_error(self) -> str | None:
        """Why the text is not JSON, or ``None`` when it parsed."""
        return self._json()[1]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (the run log and golden store format)."""
        data: dict[str, Any] = {
            "text": self.text,
            "tool_calls": [call.to_dict() for call in self.tool_calls],
            "finish_reason": self.finish_reason,
            "usage": self.usage.to_dict(),
            "latency_ms": self.latency_ms,
            "ttft_ms": self.ttft_ms,
            "origin": self.origin,
            "model": self.model,
            "attempts": self.attempts,
        }
        if self.error is not None:
            data["error"] = self.error
        if self.error_type is not None:
            data["error_type"] = self.error_type
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Response:
        """The answer as stored. A stored text that is not text (a log written before answers
        were checked where they come in) reads as a malformed answer, errored, as it is now
        classified when it arrives: everything downstream reads ``text`` as text."""
        text = data.get("text")
        error, error_type = data.get("error"), data.get("error_type")
        if text is not None and not isinstance(text, str):
            kind = "a boolean" if isinstance(text, bool) else _JSON_KINDS.get(type(text), "a value")
            error = error or f"malformed_response: the stored answer text is {kind}, not text"
            error_type, text = error_type or "malformed_response", None
        return cls(
            text=text,
            tool_calls=tuple(ToolCall.from_dict(c) for c in data.get("tool_calls") or ()),
            finish_reason=_optional_text(data.get("finish_reason")),
            usage=Usage.from_dict(data.get("usage")),
            latency_ms=_optional_number(data.get("latency_ms")),
            ttft_ms=_optional_number(data.get("ttft_ms")),
            origin=data.get("origin", "live"),
            model=_optional_text(data.get("model")),
            error=None if error is None else str(error),
            error_type=None if error_type is None else str(error_type),
            attempts=int(data.get("attempts", 1)),
        )


_JSON_KINDS = {int: "a number", float: "a number", dict: "an object", list: "a list"}


def _optional_text(value: Any) -> str | None:
    return None if value is None else value if isinstance(value, str) else str(value)


def _optional_number(value: Any) -> float | None:
    """A stored duration: a finite number, else ``None`` (not measured)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


@dataclass(frozen=True)
class Request:
    """Everything that determines a model's answer, normalized so equal requests compare equal.

    The fingerprint keys golden recordings and the cache: it covers API, model, messages (system
    prompt included), tools, sampling parameters and the response schema, and nothing secret.
    """

    api: str
    model: str
    messages: tuple[Mapping[str, Any], ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    tools: tuple[Mapping[str, Any], ...] = ()
    response_schema: Mapping[str, Any] | None = None
    structured_outputs: str = "off"
    schema_name: str = "response"

    def to_dict(self) -> dict[str, Any]:
        """The stored form (golden records), and what the fingerprint is taken of. The schema
        is part of it only when it is sent, and its name never (it follows from the suite id)."""
        data: dict[str, Any] = {
            "api": self.api,
            "model": self.model,
            "messages": [dict(m) for m in self.messages],
            "params": dict(self.params),
        }
        if self.tools:
            data["tools"] = [dict(t) for t in self.tools]
        if self.structured_outputs != "off" and self.response_schema is not None:
            data["structured_outputs"] = self.structured_outputs
            data["response_schema"] = dict(self.response_schema)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, schema_name: str = "response") -> Request:
        """The request of a stored form. ``schema_name`` is not stored: the caller knows it."""
        schema = data.get("response_schema")
        return cls(
            api=str(data["api"]),
            model=str(data["model"]),
            messages=tuple(data.get("messages") or ()),
            params=dict(data.get("params") or {}),
            tools=tuple(data.get("tools") or ()),
            response_schema=schema,
            structured_outputs=(
                "off" if schema is None else str(data.get("structured_outputs", "off"))
            ),
            schema_name=schema_name,
        )

    @property
    def fingerprint(self) -> str:
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            cached = fingerprint_of(self.to_dict())
            object.__setattr__(self, "_fingerprint", cached)
        return cached

    def estimated_tokens(self) -> int:
        """A cheap upper-ish estimate for tokens-per-minute limiting (4 characters a token)."""
        chars = sum(len(str(m.get("content") or "")) for m in self.messages)
        completion = int(
            self.params.get("max_tokens") or self.params.get("max_output_tokens") or 256
        )
        return chars // 4 + completion


def fingerprint_of(request: Mapping[str, Any]) -> str:
    """The fingerprint of a request in its stored form (:meth:`Request.to_dict`)."""
    canonical = json.dumps(
        request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]
