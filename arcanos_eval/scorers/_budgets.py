"""Budget checks: ``latency_ms`` (total or time to first token), ``max_tokens`` and ``cost``.

They read the measurements on the Response, not its content, so an empty answer that arrived in
time passes ``latency_ms`` (content checks fail it). An errored call, or a measurement the response
does not carry, fails with a reason: an unmeasured budget is not a met budget.

``cost`` prices an answer at the prices its check gives, else at those of the target that answered
(``[tool.arcanos_eval.targets.<name>] prices``), which a run makes visible with :func:`use_prices`
while it scores that target's answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from arcanos_eval.errors import ScorerArgumentError
from arcanos_eval.model import Score, Usage
from arcanos_eval.scorers._answer import preview
from arcanos_eval.scorers._registry import as_response, scorer

if TYPE_CHECKING:
    from arcanos_eval.model import Case

__all__ = ["cost", "current_prices", "latency_ms", "max_tokens", "usage_cost", "use_prices"]


def _number(value: Any, name: str, *, positive: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (positive and value == 0)
    ):
        wanted = "a finite positive number" if positive else "a finite number >= 0"
        raise ScorerArgumentError(f"{name} must be {wanted}, found {preview(value)}")
    return float(value)


def _validate_latency(kwargs: Mapping[str, Any]) -> None:
    if kwargs.get("max_ms") is not None:
        _number(kwargs["max_ms"], "max_ms", positive=True)
    if kwargs.get("measure", "total") not in ("total", "ttft"):
        raise ScorerArgumentError(
            f"measure must be 'total' or 'ttft', found {kwargs.get('measure')!r}"
        )


@scorer("latency_ms", primary="max_ms", validate=_validate_latency)
def latency_ms(
    output: Any, case: Case | None = None, *, max_ms: float | None = None, measure: str = "total"
) -> Score:
    """The answer arrived within ``max_ms`` (default: the case's ``latency_ms`` budget).

    Replayed answers keep the latency recorded with them, so the check is meaningful offline.

    Args:
        output: The answer, a Response carrying its measurements.
        case: The case; its ``latency_ms`` is the budget when ``max_ms`` is not given.
        max_ms: The budget in milliseconds.
        measure: ``total`` (whole call) or ``ttft`` (time to first token; needs streaming).

    Example:
        >>> from arcanos_eval.model import Response
        >>> latency_ms(Response.from_text("hi", latency_ms=850.0), max_ms=1000).passed
        True
    """
    _validate_latency({"max_ms": max_ms, "measure": measure})
    budget = max_ms if max_ms is not None else (case.latency_ms if case is not None else None)
    if budget is None:
        return Score.fail("no latency budget: give max_ms or set latency_ms on the case")
    response = as_response(output)
    if response.errored:
        return Score.fail(f"the call failed ({response.error_type}); no latency to judge")
    measured = response.latency_ms if measure == "total" else response.ttft_ms
    if measured is None:
        what = (
            "latency was not measured"
            if measure == "total"
            else "time to first token was not measured (the target does not stream)"
        )
        return Score.fail(what, budget_ms=budget, measure=measure)
    details = {
        "measured_ms": measured,
        "budget_ms": budget,
        "measure": measure,
        "origin": response.origin,
    }
    value = 1.0 if measured <= 0 else min(1.0, budget / measured)
    label = "latency" if measure == "total" else "time to first token"
    if measured <= budget:
        return Score.ok(f"{label} {measured:.0f} ms <= {budget:.0f} ms", value, **details)
    return Score.fail(f"{label} {measured:.0f} ms > budget {budget:.0f} ms", value, **details)


_KINDS = ("total", "completion", "prompt")


def _validate_tokens(kwargs: Mapping[str, Any]) -> None:
    limit = kwargs.get("limit")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise ScorerArgumentError(f"limit must be a positive integer, found {preview(limit)}")
    if kwargs.get("kind", "total") not in _KINDS:
        raise ScorerArgumentError(
            f"kind must be one of {', '.join(_KINDS)}, found {kwargs.get('kind')!r}"
        )


def _reported(usage: Usage) -> bool:
    return bool(usage.prompt_tokens or usage.completion_tokens or usage.total_tokens)


@scorer("max_tokens", primary="limit", validate=_validate_tokens)
def max_tokens(output: Any, case: Case | None = None, *, limit: int, kind: str = "total") -> Score:
    """The call used at most ``limit`` tokens of the given ``kind``, as the API reported.

    Args:
        output: The answer, a Response carrying its usage.
        case: The case being scored (unused).
        limit: The token budget.
        kind: ``total``, ``completion`` or ``prompt``.

    Example:
        >>> from arcanos_eval.model import Response, Usage
        >>> max_tokens(Response.from_text("hi", usage=Usage(900, 120, 1020)), limit=200,
        ...            kind="completion").passed
        True
    """
    _validate_tokens({"limit": limit, "kind": kind})
    response = as_response(output)
    if response.errored:
        return Score.fail(f"the call failed ({response.error_type}); no usage to judge")
    if not _reported(response.usage):
        return Score.fail("token usage was not reported", limit=limit, kind=kind)
    used = getattr(response.usage, f"{kind}_tokens")
    details = {"tokens": used, "limit": limit, "kind": kind}
    value = 1.0 if used <= 0 else min(1.0, limit / used)
    if used <= limit:
        return Score.ok(f"{used} {kind} tokens <= {limit}", value, **details)
    return Score.fail(f"{used} {kind} tokens > limit {limit}", value, **details)


def usage_cost(usage: Usage, input_per_mtok: float, output_per_mtok: float) -> float:
    """US dollars for ``usage`` at the given prices per million input and output tokens.

    Example:
        >>> usage_cost(Usage(1_000_000, 500_000, 1_500_000), 2.0, 8.0)
        6.0
    """
    return (usage.prompt_tokens * input_per_mtok + usage.completion_tokens * output_per_mtok) / 1e6


def _validate_cost(kwargs: Mapping[str, Any]) -> None:
    _number(kwargs.get("max_usd"), "max_usd")
    for name in _PRICE_NAMES:
        if kwargs.get(name) is not None:
            _number(kwargs[name], name)


_PRICE_NAMES = ("input_per_mtok", "output_per_mtok")

# A context variable, not a module global: a run's prices end with the block that set them, and
# concurrent runs (or the worker threads that score model-backed checks) each see their own.
_PRICES: ContextVar[Mapping[str, float]] = ContextVar(
    "arcanos_eval_prices", default=MappingProxyType({})
)


@contextmanager
def use_prices(prices: Mapping[str, float]) -> Iterator[Mapping[str, float]]:
    """Price ``cost`` checks inside the block at ``prices`` (USD per million tokens, the keys of a
    target's ``prices``) when a check gives none of its own.

    Example:
        >>> from arcanos_eval.model import Response, Usage
        >>> with use_prices({"input_per_mtok": 2.0, "output_per_mtok": 8.0}):
        ...     cost(Response.from_text("hi", usage=Usage(2000, 500, 2500)), max_usd=0.01).passed
        True
    """
    visible = MappingProxyType(dict(prices))
    token = _PRICES.set(visible)
    try:
        yield visible
    finally:
        _PRICES.reset(token)


def current_prices() -> Mapping[str, float]:
    """The prices visible in this context (empty outside :func:`use_prices`)."""
    return _PRICES.get()


@scorer("cost", primary="max_usd", validate=_validate_cost)
def cost(
    output: Any,
    case: Case | None = None,
    *,
    max_usd: float,
    input_per_mtok: float | None = None,
    output_per_mtok: float | None = None,
) -> Score:
    """The call cost at most ``max_usd``, from its token usage and prices.

    A price the check does not give is the answering target's configured one (``prices`` in its
    ``[tool.arcanos_eval.targets.<name>]`` table) during a run; with neither, the check fails.

    Args:
        output: The answer, a Response carrying its usage.
        case: The case being scored (unused).
        max_usd: The budget in US dollars.
        input_per_mtok: Price per million prompt tokens; default: the target's.
        output_per_mtok: Price per million completion tokens; default: the target's.

    Example:
        >>> from arcanos_eval.model import Response, Usage
        >>> cost(Response.from_text("hi", usage=Usage(2000, 500, 2500)), max_usd=0.01,
        ...      input_per_mtok=2.0, output_per_mtok=8.0).reason
        'cost $0.008000 <= $0.010000'
    """
    _validate_cost(
        {"max_usd": max_usd, "input_per_mtok": input_per_mtok, "output_per_mtok": output_per_mtok}
    )
    given = {"input_per_mtok": input_per_mtok, "output_per_mtok": output_per_mtok}
    configured = current_prices()
    prices: dict[str, float] = {}
    source: dict[str, str] = {}
    for name in _PRICE_NAMES:
        value = given[name]
        if value is not None:
            prices[name], source[name] = float(value), "check"
        elif name in configured:
            prices[name], source[name] = float(configured[name]), "target"
    missing = [name for name in _PRICE_NAMES if name not in prices]
    if missing:
        return Score.fail(
            f"no prices: {' and '.join(missing)} missing; give them in the check or set "
            "prices = {input_per_mtok = ..., output_per_mtok = ...} on the target "
            "(USD per million tokens)",
            missing=missing,
        )
    response = as_response(output)
    if response.errored:
        return Score.fail(f"the call failed ({response.error_type}); no usage to price")
    if not _reported(response.usage):
        return Score.fail("token usage was not reported, so the cost is unknown")
    usd = usage_cost(response.usage, prices["input_per_mtok"], prices["output_per_mtok"])
    details = {
        "usd": usd,
        "max_usd": max_usd,
        **prices,
        "prices_from": source,
        **response.usage.to_dict(),
    }
    value = 1.0 if usd <= 0 else min(1.0, max_usd / usd)
    if usd <= max_usd:
        return Score.ok(f"cost ${usd:.6f} <= ${max_usd:.6f}", value, **details)
    return Score.fail(f"cost ${usd:.6f} > budget ${max_usd:.6f}", value, **details)
