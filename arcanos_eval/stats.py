"""Statistics for release decisions, in plain Python (no scipy at run time).

* :func:`wilson_interval`: a confidence interval for a pass rate that behaves at 0% and 100%, where
  the textbook normal interval collapses to a point.
* :func:`mcnemar_exact`: the exact (binomial) McNemar test on paired pass/fail outcomes, the right
  test when base and candidate answer the *same* cases.
* :func:`paired_bootstrap`: a seeded percentile-bootstrap interval for a mean paired difference.
* :func:`percentile`: linear interpolation between order statistics (NumPy's default method).
* :func:`agreement` and :func:`is_flaky`: consistency across repeated answers to one case.
* :class:`TargetStats`: latency, time to first token, tokens and cost of one target's answers.

Every function is deterministic: the bootstrap draws from its own seeded generator.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from arcanos_eval.runlog import ResultRecord

__all__ = [
    "BootstrapResult",
    "Interval",
    "TargetStats",
    "agreement",
    "binomial_cdf",
    "format_interval",
    "format_ms",
    "format_p",
    "format_percent",
    "format_points",
    "format_ratio",
    "format_usd",
    "is_flaky",
    "mcnemar_exact",
    "paired_bootstrap",
    "percentile",
    "target_stats",
    "wilson_interval",
]

Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class Interval:
    """A closed interval ``[low, high]``."""

    low: float
    high: float

    def __contains__(self, value: object) -> bool:
        return isinstance(value, (int, float)) and self.low <= value <= self.high


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, found {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, total: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval for ``successes`` out of ``total``.

    With no trials the rate is unknown and the interval is the whole ``[0, 1]``.

    Example:
        >>> i = wilson_interval(8, 10)
        >>> round(i.low, 4), round(i.high, 4)
        (0.4902, 0.9433)
    """
    if total < 0 or not 0 <= successes <= total:
        raise ValueError(f"expected 0 <= successes <= total, found {successes} of {total}")
    if total == 0:
        return Interval(0.0, 1.0)
    z = _z(confidence)
    p = successes / total
    denominator = 1.0 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    # Rounding can push the bounds a hair past the estimate at 0% and 100%; clamp them back.
    return Interval(max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def binomial_cdf(k: int, n: int) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, 1/2)``, computed exactly with integers."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    # Integer sums then one correctly rounded division: no cancellation, exact to the last bit.
    return sum(math.comb(n, i) for i in range(k + 1)) / (1 << n)


def mcnemar_exact(b: int, c: int, alternative: Alternative = "two-sided") -> float:
    """The exact McNemar test on the discordant pairs of a paired pass/fail table.

    Args:
        b: pairs where only the first classifier passes (base passes, candidate fails: regressed).
        c: pairs where only the second passes (fixed).
        alternative: ``"two-sided"``; ``"greater"`` tests whether ``b`` exceeds ``c`` (the
            candidate is worse); ``"less"`` the opposite.

    Returns:
        The p-value, in ``[0, 1]``; ``1.0`` when there is no discordant pair.

    Example:
        >>> round(mcnemar_exact(1, 9), 4)
        0.0215
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, found b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    if alternative == "greater":
        # P(X >= b) = P(X <= n - b) under p = 1/2: a lower tail, so no cancellation in 1 - cdf.
        return binomial_cdf(c, n)
    if alternative == "less":
        return binomial_cdf(b, n)
    if alternative != "two-sided":
        raise ValueError(f"alternative must be two-sided, greater or less, found {alternative!r}")
    return min(1.0, 2.0 * binomial_cdf(min(b, c), n))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation, as ``numpy.percentile`` computes it.

    Raises:
        ValueError: no values, or ``q`` outside ``[0, 100]``.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be within [0, 100], found {q!r}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


@dataclass(frozen=True)
class BootstrapResult:
    """A mean paired difference and its percentile-bootstrap interval."""

    delta: float
    interval: Interval
    pairs: int
    resamples: int
    seed: int


def paired_bootstrap(
    first: Sequence[float],
    second: Sequence[float],
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult | None:
    """Interval for ``mean(second - first)`` by resampling the pairs with replacement.

    Pairs are resampled whole, so the correlation between the two answers to one case is kept.

    Args:
        first: values of the reference (base), one per case.
        second: values of the other (candidate), in the same order.
        resamples: bootstrap resamples.
        confidence: interval coverage.
        seed: seeds a private generator, so the same data gives the same interval.

    Returns:
        ``None`` when there are no pairs.
    """
    if len(first) != len(second):
        raise ValueError(f"paired samples differ in length: {len(first)} and {len(second)}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, found {resamples}")
    _z(confidence)
    deltas = [b - a for a, b in zip(first, second, strict=True)]
    n = len(deltas)
    if n == 0:
        return None
    rng = random.Random(seed)
    means = sorted(math.fsum(rng.choices(deltas, k=n)) / n for _ in range(resamples))
    tail = (1.0 - confidence) / 2.0 * 100.0
    interval = Interval(percentile(means, tail), percentile(means, 100.0 - tail))
    return BootstrapResult(math.fsum(deltas) / n, interval, n, resamples, seed)


def is_flaky(outcomes: Iterable[bool]) -> bool:
    """True when repeated answers to one case both pass and fail."""
    seen = set(outcomes)
    return len(seen) == 2


def agreement(answers: Sequence[Hashable]) -> float:
    """Share of answers equal to the most common one (1.0: every repeat said the same).

    Example:
        >>> agreement(["a", "a", "b", "a"])
        0.75
    """
    if not answers:
        raise ValueError("agreement of no answers")
    return Counter(answers).most_common(1)[0][1] / len(answers)


# ------------------------------------------------------------------------------ target figures


@dataclass(frozen=True)
class TargetStats:
    """Latency, tokens and cost of one target's non-errored answers.

    Attributes:
        target: the target name.
        answers: answers counted (errored ones are excluded and counted in ``errored``).
        errored: errored answers.
        origins: answers per origin (``live``, ``replayed``, ``cached``).
        latencies: every counted latency in ms, sorted (replayed answers keep the recorded one).
        ttfts: every time to first token in ms, sorted (streamed answers only).
        prompt_tokens: prompt tokens over counted answers.
        completion_tokens: completion tokens over counted answers.
        cost_usd: cost of counted answers from the target's prices, or ``None`` without prices.
    """

    target: str
    answers: int
    errored: int
    origins: Mapping[str, int]
    latencies: tuple[float, ...]
    ttfts: tuple[float, ...]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None

    def latency(self, q: float) -> float | None:
        """Latency percentile ``q`` in ms, or ``None`` without latencies."""
        return percentile(self.latencies, q) if self.latencies else None

    def ttft(self, q: float) -> float | None:
        """Time-to-first-token percentile ``q`` in ms, or ``None`` when nothing was streamed."""
        return percentile(self.ttfts, q) if self.ttfts else None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def tokens_per_answer(self) -> float | None:
        return self.total_tokens / self.answers if self.answers else None

    @property
    def cost_per_answer(self) -> float | None:
        if self.cost_usd is None or not self.answers:
            return None
        return self.cost_usd / self.answers


def _cost(prompt: int, completion: int, prices: Mapping[str, float]) -> float | None:
    if "input_per_mtok" not in prices and "output_per_mtok" not in prices:
        return None
    return (
        prompt * float(prices.get("input_per_mtok", 0.0))
        + completion * float(prices.get("output_per_mtok", 0.0))
    ) / 1_000_000


def target_stats(
    target: str, records: Iterable[ResultRecord], prices: Mapping[str, float] | None = None
) -> TargetStats:
    """Aggregate one target's answers; errored answers count only in ``errored``."""
    counted = [r for r in records if r.target == target]
    ok = [r for r in counted if not r.errored]
    prompt = sum(r.response.usage.prompt_tokens for r in ok)
    completion = sum(r.response.usage.completion_tokens for r in ok)
    return TargetStats(
        target=target,
        answers=len(ok),
        errored=len(counted) - len(ok),
        origins=dict(sorted(Counter(r.response.origin for r in ok).items())),
        latencies=tuple(
            sorted(float(r.response.latency_ms) for r in ok if r.response.latency_ms is not None)
        ),
        ttfts=tuple(
            sorted(float(r.response.ttft_ms) for r in ok if r.response.ttft_ms is not None)
        ),
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=_cost(prompt, completion, prices or {}),
    )


# ------------------------------------------------------------------------------ fixed formats
# Reports must be byte-identical for the same log, so every number goes through one of these.


def format_percent(value: float | None, digits: int = 1) -> str:
    """``0.95`` -> ``95.0%``; ``None`` -> ``n/a``."""
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def format_points(value: float | None) -> str:
    """A difference of rates in percentage points, signed: ``-0.05`` -> ``-5.0 pp``."""
    return "n/a" if value is None else f"{value * 100:+.1f} pp"


def format_ms(value: float | None) -> str:
    """Milliseconds without decimals: ``1234.56`` -> ``1235 ms``."""
    return "n/a" if value is None else f"{value:.0f} ms"


def format_ratio(value: float | None) -> str:
    """``1.0834`` -> ``1.08x``."""
    return "n/a" if value is None else f"{value:.2f}x"


def format_p(value: float | None) -> str:
    """A p-value: four decimals, or ``<0.0001``."""
    if value is None:
        return "n/a"
    return "<0.0001" if value < 0.0001 else f"{value:.4f}"


def format_interval(interval: Interval | None, *, percent: bool = True) -> str:
    """``[49.0%, 94.3%]`` (or plain numbers with ``percent=False``)."""
    if interval is None:
        return "n/a"
    if percent:
        return f"[{format_percent(interval.low)}, {format_percent(interval.high)}]"
    return f"[{interval.low:+.3f}, {interval.high:+.3f}]"


def format_usd(value: float | None, digits: int = 4) -> str:
    """``0.0123`` -> ``$0.0123`` (per-answer costs need more ``digits``)."""
    return "n/a" if value is None else f"${value:.{digits}f}"
