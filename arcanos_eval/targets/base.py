"""The Target protocol, how a case becomes a Request, and the failure a target reports to the engine."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from arcanos_eval.config import TargetConfig
from arcanos_eval.model import Case, Request, Response

__all__ = ["CallFailure", "Target", "build_request", "repeat_seed"]

_SEED_SPAN = 1 << 64  # seeds stay signed 64-bit integers, what OpenAI-compatible servers accept
_SEED_MAX = (1 << 63) - 1


def repeat_seed(seed: object, repeat: int) -> object:
    """The seed repeat ``repeat`` sends when the target's ``params.seed`` is ``seed``.

    An integer seed is the base: repeat ``r`` sends ``seed + r`` (wrapped into the signed 64-bit
    range), so repeat 0 sends the configured seed itself and its request, hence its recording,
    is the same whether a case is answered once or many times. Repeats differ only in their seed
    and in nothing else the model sees, so where the server honours seeds they sample different
    answers, and each one is reproducible. Anything else (no seed, or a value that is not an
    integer) is sent unchanged by every repeat.

    Example:
        >>> [repeat_seed(7, r) for r in range(3)], repeat_seed(None, 2)
        ([7, 8, 9], None)
    """
    if repeat == 0 or isinstance(seed, bool) or not isinstance(seed, int):
        return seed
    return (seed + repeat + _SEED_MAX + 1) % _SEED_SPAN - _SEED_MAX - 1


def build_request(target: TargetConfig, case: Case, repeat: int = 0) -> Request:
    """The request ``target`` sends for ``case``: its system prompt first, then the case messages.

    ``repeat`` selects the sampling seed when the target sets one (see :func:`repeat_seed`); a
    target without ``params.seed`` sends the same request for every repeat.
    """
    messages: list[Mapping[str, Any]] = []
    if target.system_prompt:
        messages.append({"role": "system", "content": target.system_prompt})
    messages.extend(case.messages)
    structured = target.structured_outputs if case.response_schema is not None else "off"
    return Request(
        api=target.api,
        model=target.model,
        messages=tuple(messages),
        params=_params(target.params, repeat),
        tools=case.tools,
        response_schema=case.response_schema if structured != "off" else None,
        structured_outputs=structured,
        schema_name=_schema_name(case.suite_id),
    )


def _params(params: Mapping[str, Any], repeat: int) -> dict[str, Any]:
    ordered = dict(sorted(params.items()))
    if repeat and "seed" in ordered:
        ordered["seed"] = repeat_seed(ordered["seed"], repeat)
    return ordered


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
