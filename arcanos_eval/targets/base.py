"""The Target protocol, the normalized Request, and the failure a target reports to the engine."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from arcanos_eval.config import TargetConfig
from arcanos_eval.response import Response
from arcanos_eval.suite.model import Case

__all__ = ["CallFailure", "Request", "Target", "build_request", "fingerprint_of"]


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


def build_request(target: TargetConfig, case: Case) -> Request:
    """The request ``target`` sends for ``case``: its system prompt first, then the case messages."""
    messages: list[Mapping[str, Any]] = []
    if target.system_prompt:
        messages.append({"role": "system", "content": target.system_prompt})
    messages.extend(case.messages)
    structured = target.structured_outputs if case.response_schema is not None else "off"
    return Request(
        api=target.api,
        model=target.model,
        messages=tuple(messages),
        params=dict(sorted(target.params.items())),
        tools=case.tools,
        response_schema=case.response_schema if structured != "off" else None,
        structured_outputs=structured,
        schema_name=_schema_name(case.suite_id),
    )


@functools.lru_cache(maxsize=256)
def _schema_name(suite_id: str) -> str:
    # OpenAI requires ^[a-zA-Z0-9_-]{1,64}$ for json_schema names.
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in suite_id)
    return cleaned[:64] or "response"


@dataclass
class CallFailure(Exception):
    """A call that did not produce an answer. ``retryable`` failures are retried by the engine."""

    kind: str
    message: str
    retryable: bool
    retry_after_s: float | None = None
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@runtime_checkable
class Target(Protocol):
    """A model the engine can call. Implementations make exactly one attempt per ``complete``;
    retries, limits and timeouts around it belong to the engine."""

    config: TargetConfig

    @property
    def endpoint(self) -> str:
        """Where calls go (scheme, host and path; never credentials)."""
        ...

    async def complete(self, request: Request) -> Response:
        """One attempt. Raises :class:`CallFailure` when no answer came back."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
