"""The Target protocol, how a case becomes a Request, and the failure a target reports to the engine."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from arcanos_eval.config import TargetConfig
from arcanos_eval.model import Case, Request, Response

__all__ = ["CallFailure", "Target", "build_request"]


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
