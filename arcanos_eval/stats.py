"""Statistics for release decisions, in plain Python (no scipy at run time).

* :func:`wilson_interval`: a confidence interval for a pass rate that behaves at 0% and 100%, where
  the textbook normal interval collapses to a point.
* :func:`mcnemar_exact`: the exact (binomial) McNemar test on paired pass/fail outcomes, the right
  test when base and candidate answer the *same* cases.
* :func:`paired_bootstrap`: a seeded percentile-bootstrap interval for a mean paired difference.
* :func:`paired_difference_interval`: Newcombe's hybrid score interval for the difference of two
  pass rates measured on the same cases, the interval behind the non-inferiority gate, and
  :func:`noninferiority_cases_needed`: how many cases that gate needs to pass at given rates.
* :func:`percentile`: linear interpolation between order statistics (NumPy's default method).
* :func:`agreement` and :func:`is_flaky`: consistency across repeated answers to one case.
* :func:`cohen_kappa`: agreement of two raters beyond chance (a grader against known answers).
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

from arcanos_eval.errors import ArgumentError
from arcanos_eval.model import ResultRecord

__all__ = [
    "BootstrapResult",
    "Interval",
    "TargetStats",
    "agreement",
    "binomial_cdf",
    "cohen_kappa",
    "format_interval",
    "format_ms",
    "format_p",
    "format_percent",
    "format_points",
    "format_ratio",
    "format_usd",
    "is_flaky",
    "mcnemar_exact",
    "noninferiority_cases_needed",
    "paired_bootstrap",
    "paired_difference_interval",
    "percentile",
    "target_stats",
    "token_cost",
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
        raise ArgumentError(f"confidence must be strictly between 0 and 1, found {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: float, total: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval for ``successes`` out of ``total`` (a fractional count, such as
    a pass rate that counts part of a case, is taken at its value).

    With no trials the rate is unknown and the interval is the whole ``[0, 1]``.

    Example:
        >>> i = wilson_interval(8, 10)
        >>> round(i.low, 4), round(i.high, 4)
        (0.4902, 0.9433)
    """
    if total < 0 or not 0 <= successes <= total:
        raise ArgumentError(f"expected 0 <= successes <= total, found {successes} of {total}")
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
        raise ArgumentError(f"discordant counts must be >= 0, found b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    if alternative == "greater":
        # P(X >= b) = P(X <= n - b) under p = 1/2: a lower tail, so no cancellation in 1 - cdf.
        return binomial_cdf(c, n)
    if alternative == "less":
        return binomial_cdf(b, n)
    if alternative != "two-sided":
        raise ArgumentError(
            f"alternative must be two-sided, greater or less, found {alternative!r}"
        )
    return min(1.0, 2.0 * binomial_cdf(min(b, c), n))


# ------------------------------------------------------------------------------ paired pass rates
# Base and candidate answer the same cases, so their pass rates are paired proportions: a 2x2 table
# of (both pass, only base passes, only candidate passes, both fail). The interval for the
# difference is Newcombe's hybrid score interval, method 10 of R. G. Newcombe (1998), "Improved
# confidence intervals for the difference between binomial proportions based on paired data",
# Statistics in Medicine 17, 2635-2650: a Wilson interval for each margin, combined with the
# estimated correlation between them. It keeps close to its nominal coverage down to a few dozen
# cases and never leaves [-1, 1] (Fagerland, Lydersen and Laake (2014), "Recommended tests and
# confidence intervals for paired binomial proportions", Statistics in Medicine 33, 2850-2875,
# recommend it among the closed-form intervals).


def _wilson_bounds(successes: float, total: float, z: float) -> tuple[float, float]:
    """Wilson bounds for a possibly fractional count (the sample-size search scales counts)."""
    p = successes / total
    denominator = 1.0 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(max(0.0, p * (1 - p) / total + z * z / (4 * total * total))) / denominator
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def _newcombe(a: float, b: float, c: float, d: float, z: float) -> Interval:
    """Method 10 on cell counts ``a`` (both), ``b`` (first only), ``c`` (second only), ``d``."""
    n = a + b + c + d
    first, second = (a + b) / n, (a + c) / n
    l1, u1 = _wilson_bounds(a + b, n, z)
    l2, u2 = _wilson_bounds(a + c, n, z)
    # The correlation of the two margins, with Newcombe's correction of the cross-product: a
    # positive one is reduced by n / 2 (to no less than 0), a negative one is kept.
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    if margins == 0:
        phi = 0.0
    elif cross > n / 2:
        phi = (cross - n / 2) / math.sqrt(margins)
    elif cross >= 0:
        phi = 0.0
    else:
        phi = cross / math.sqrt(margins)
    below = (first - l1) ** 2 - 2 * phi * (first - l1) * (u2 - second) + (u2 - second) ** 2
    above = (second - l2) ** 2 - 2 * phi * (second - l2) * (u1 - first) + (u1 - first) ** 2
    delta = first - second
    return Interval(
        max(-1.0, delta - math.sqrt(max(0.0, below))), min(1.0, delta + math.sqrt(max(0.0, above)))
    )


def paired_difference_interval(
    both: int, first_only: int, second_only: int, neither: int, confidence: float = 0.95
) -> Interval:
    """Newcombe's hybrid score interval for ``p1 - p2``, two pass rates over the same cases.

    ``p1 = (both + first_only) / n`` and ``p2 = (both + second_only) / n``. For base (first)
    against candidate (second), the interval is that of the pass-rate drop, and its upper bound
    at ``confidence = 0.90`` is the one-sided 95% upper bound of the drop.

    Args:
        both: cases both pass.
        first_only: cases only the first passes (base passes, candidate fails: regressed).
        second_only: cases only the second passes (fixed).
        neither: cases both fail.
        confidence: two-sided coverage.

    Returns:
        The interval, within ``[-1, 1]``; with no case at all, ``[-1, 1]``.

    Example:
        >>> # Complete response before and after consolidation therapy (Cavo et al. 2012), the
        >>> # worked example of Fagerland et al. (2014): 95% CI -0.1186 to -0.0046.
        >>> i = paired_difference_interval(59, 6, 16, 80)
        >>> round(i.low, 4), round(i.high, 4)
        (-0.1186, -0.0046)
    """
    counts = (both, first_only, second_only, neither)
    if any(k < 0 for k in counts):
        raise ArgumentError(f"paired counts must be >= 0, found {counts}")
    z = _z(confidence)
    if sum(counts) == 0:
        return Interval(-1.0, 1.0)
    a, b, c, d = (float(k) for k in counts)
    return _newcombe(a, b, c, d, z)


def noninferiority_cases_needed(
    both: int,
    first_only: int,
    second_only: int,
    neither: int,
    margin: float,
    *,
    alpha: float = 0.05,
    power: float = 0.95,
) -> int | None:
    """Cases at which the non-inferiority gate passes with probability ``power``, at these rates.

    The gate passes when the one-sided ``1 - alpha`` upper bound of the drop ``p1 - p2`` (see
    :func:`paired_difference_interval`) is at most ``margin``. If the four cells' shares are the
    true ones, the observed drop at ``n`` cases is about normal with mean ``d`` and variance
    ``(q - d^2) / n`` (``q`` the share of discordant cases), and the bound lies ``w(n)`` above it,
    ``w(n)`` the interval's upper half-width at those shares. The gate then passes with
    probability ``power`` once ``d + z_power * sqrt((q - d^2) / n) + w(n) <= margin``: the smallest
    such ``n`` is returned. For large ``n`` this is the usual normal-approximation sample size
    ``(z_alpha + z_power)^2 (q - d^2) / (margin - d)^2``; for few discordant cases ``w(n)`` keeps it
    honest (a perfect record still needs enough cases for the Wilson intervals to narrow).

    Returns:
        The number of cases, or ``None`` when the observed drop already reaches the margin: more
        cases at these rates would only confirm it. Also ``None`` with no case to take rates from.
    """
    counts = (both, first_only, second_only, neither)
    if any(k < 0 for k in counts):
        raise ArgumentError(f"paired counts must be >= 0, found {counts}")
    if not 0.0 <= margin <= 1.0:
        raise ArgumentError(f"margin must be within [0, 1], found {margin!r}")
    if not 0.5 <= power < 1.0:
        raise ArgumentError(f"power must be in [0.5, 1), found {power!r}")
    n = sum(counts)
    if n == 0:
        return None
    shares = [k / n for k in counts]
    drop = shares[1] - shares[2]
    if drop >= margin:
        return None
    z = _z(1.0 - 2.0 * alpha)
    z_power = NormalDist().inv_cdf(power)
    spread = math.sqrt(max(0.0, shares[1] + shares[2] - drop * drop))

    def passes(size: int) -> bool:
        a, b, c, d = (share * size for share in shares)
        bound = _newcombe(a, b, c, d, z).high
        return bound + z_power * spread / math.sqrt(size) <= margin

    # The bound and the spread both shrink as n grows: double, then bisect.
    high = 1
    while not passes(high):
        high *= 2
        if high > 1 << 40:  # a drop a hair below the margin: no practical number of cases
            return None
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if passes(middle):
            high = middle
        else:
            low = middle
    return high


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation, as ``numpy.percentile`` computes it.

    Raises:
        ValueError: no values, or ``q`` outside ``[0, 100]``.
    """
    if not values:
        raise ArgumentError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ArgumentError(f"q must be within [0, 100], found {q!r}")
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
    When the differences take few distinct values (at least 16 pairs per value), a resample is
    drawn as how many times each value is picked (multinomial counts), which is the same
    distribution at a fraction of the cost of drawing every pair.

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
        raise ArgumentError(f"paired samples differ in length: {len(first)} and {len(second)}")
    if resamples < 1:
        raise ArgumentError(f"resamples must be >= 1, found {resamples}")
    _z(confidence)
    deltas = [b - a for a, b in zip(first, second, strict=True)]
    n = len(deltas)
    if n == 0:
        return None
    means = sorted(_resample_means(deltas, resamples, random.Random(seed)))
    tail = (1.0 - confidence) / 2.0 * 100.0
    interval = Interval(percentile(means, tail), percentile(means, 100.0 - tail))
    return BootstrapResult(math.fsum(deltas) / n, interval, n, resamples, seed)


# ------------------------------------------------------------------------------ bootstrap resampling
# Paired score deltas are differences of mean check values, so they take a handful of distinct
# values (-1, -0.5, 0, 0.5, 1, ...). Resampling n pairs with replacement then amounts to drawing how
# many times each distinct value is picked: multinomial counts, one binomial draw per value instead
# of one uniform draw per pair. Both ways draw only from the caller's seeded generator.

# A resample costs up to one binomial draw per distinct value on the multinomial path and one
# uniform draw per pair on the `choices` path; a binomial draw in pure Python costs about as much
# as 25 draws inside `rng.choices` (about 1.1 us against 45 ns), and more for small n, where
# inversion walks through the successes. Measured over 2 to 9 distinct values, the multinomial
# path is slower at 8 pairs per value (0.3x-0.7x), level or faster at 16 (1.0x-1.4x), and its lead
# grows with the pairs per value (about 80x at 1,000). Below 16 pairs per value `choices` is as
# fast, and small inputs keep the stream they always had.
_MULTINOMIAL_PAIRS_PER_VALUE = 16


def _resample_means(deltas: Sequence[float], resamples: int, rng: random.Random) -> list[float]:
    """The means of ``resamples`` resamples of ``deltas`` with replacement (unsorted)."""
    n = len(deltas)
    multiplicities = Counter(deltas)
    # Infinite or NaN deltas keep the `choices` path: they have no exact rational value.
    few = len(multiplicities) * _MULTINOMIAL_PAIRS_PER_VALUE <= n
    if few and all(math.isfinite(v) for v in multiplicities):
        return _multinomial_means(sorted(multiplicities.items()), n, resamples, rng)
    return _choice_means(deltas, resamples, rng)


def _choice_means(deltas: Sequence[float], resamples: int, rng: random.Random) -> list[float]:
    """Resample means drawn pair by pair, ``len(deltas)`` uniform draws per resample."""
    n = len(deltas)
    return [math.fsum(rng.choices(deltas, k=n)) / n for _ in range(resamples)]


def _multinomial_means(
    categories: Sequence[tuple[float, int]], n: int, resamples: int, rng: random.Random
) -> list[float]:
    """Resample means drawn as multinomial counts over ``(value, multiplicity)`` categories.

    The counts are drawn one category at a time, each binomial given the draws still unassigned
    and the categories still open: ``c_1 ~ Bin(n, m_1 / n)``, ``c_2 ~ Bin(n - c_1, m_2 / (n -
    m_1))``, and the last category takes what is left. The categories come sorted by value, so the
    draws depend on the data but not on its order.
    """
    # Each mean is an exact rational sum(c_j * v_j) / n, rounded once: integer numerators over a
    # common denominator, then one correctly rounded int / int division. It never leaves
    # [min, max] and does not depend on summation order.
    ratios = [value.as_integer_ratio() for value, _ in categories]
    scale = math.lcm(*(denominator for _, denominator in ratios))
    numerators = [numerator * (scale // denominator) for numerator, denominator in ratios]
    denominator = n * scale
    remaining = n
    conditional = []
    for _, multiplicity in categories[:-1]:
        conditional.append(multiplicity / remaining)
        remaining -= multiplicity
    steps = list(zip(numerators[:-1], conditional, strict=True))
    last = numerators[-1]
    means = []
    for _ in range(resamples):
        trials = n
        total = 0
        for numerator, p in steps:
            if not trials:
                break
            count = _binomial(rng, trials, p)
            total += count * numerator
            trials -= count
        means.append((total + trials * last) / denominator)
    return means


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """One draw from ``Binomial(n, p)``, using only ``rng.random()``.

    Not ``random.binomialvariate``: it exists only from Python 3.12, and the stream must be the
    same on every supported Python. Inversion by waiting times when ``n * min(p, 1 - p) < 10``,
    Hörmann's BTRS otherwise; ``n == 0``, ``p == 0`` and ``p == 1`` draw nothing.
    """
    if n < 0 or not 0.0 <= p <= 1.0:
        raise ArgumentError(f"expected n >= 0 and 0 <= p <= 1, found n={n!r}, p={p!r}")
    if n == 0 or p == 0.0:
        return 0
    if p == 1.0:
        return n
    if p > 0.5:
        # Both samplers need p <= 1/2; 1 - p is exact for p in [1/2, 1].
        return n - _binomial(rng, n, 1.0 - p)
    if n * p < 10.0:
        return _binomial_inversion(rng, n, p)
    return _binomial_btrs(rng, n, p)


def _binomial_inversion(rng: random.Random, n: int, p: float) -> int:
    """Count successes in ``n`` trials by jumping from one success to the next.

    The failures before a success are geometric, ``floor(log(U) / log(1 - p))`` by inversion, so a
    draw costs about ``n * p + 1`` uniforms: cheap exactly where BTRS does not apply.
    """
    log_q = math.log1p(-p)  # log1p keeps tiny p from rounding 1 - p to 1
    successes = 0
    left = n  # trials after the last success
    while True:
        # 1 - random() lies in (0, 1], so the logarithm is finite.
        gap = math.log(1.0 - rng.random()) / log_q
        # The next success falls at trial floor(gap) + 1 from here: beyond the last one when
        # floor(gap) >= left, which for an integer `left` is gap >= left (and catches gap = inf).
        if gap >= left:
            return successes
        successes += 1
        left -= math.floor(gap) + 1


def _binomial_btrs(rng: random.Random, n: int, p: float) -> int:
    """Hörmann's BTRS, transformed rejection with squeeze, for ``n * p >= 10`` and ``p <= 1/2``.

    W. Hörmann (1993), "The generation of binomial random variates", Journal of Statistical
    Computation and Simulation 46, 101-110. The expected cost does not grow with ``n``, and the
    squeeze accepts many draws before any logarithm is taken (most when ``n * p * (1 - p)`` is
    large).
    """
    q = 1.0 - p
    spq = math.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = math.log(p / q)
    mode = math.floor((n + 1) * p)
    h = math.lgamma(mode + 1) + math.lgamma(n - mode + 1)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        if us == 0.0:  # u = -1/2 exactly: the transform has a pole there
            continue
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        if us >= 0.07 and v <= v_r:
            return k
        # Accept when log(V), V rescaled to the hat at k, is at most log(f(k) / f(mode)).
        v *= alpha / (a / (us * us) + b)
        bound = h - math.lgamma(k + 1) - math.lgamma(n - k + 1) + (k - mode) * lpq
        if v == 0.0 or math.log(v) <= bound:
            return k


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
        raise ArgumentError("agreement of no answers")
    return Counter(answers).most_common(1)[0][1] / len(answers)


def cohen_kappa(pairs: Iterable[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items: ``(po - pe) / (1 - pe)``.

    ``po`` is the share of items both raters labeled alike, ``pe`` the share expected by chance
    from each rater's own label frequencies. 1 is perfect agreement, 0 no better than chance,
    below 0 worse. ``None`` when it is undefined: no item, or both raters gave one and the same
    label to every item (``pe`` = 1).

    Example:
        >>> round(cohen_kappa([(1, 1), (1, 1), (0, 0), (0, 1)]), 4)
        0.5
    """
    rated = list(pairs)
    n = len(rated)
    if not n:
        return None
    first = Counter(a for a, _ in rated)
    second = Counter(b for _, b in rated)
    observed = sum(a == b for a, b in rated) / n
    chance = math.fsum(first[label] * second[label] for label in first) / (n * n)
    if chance >= 1.0:
        return None
    return (observed - chance) / (1.0 - chance)


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


def token_cost(prices: Mapping[str, float], prompt: int, completion: int) -> float | None:
    """USD for ``prompt`` and ``completion`` tokens at ``prices`` (``input_per_mtok``,
    ``output_per_mtok``), or ``None`` when neither price is given: the one formula of the
    report, the run-cost estimate and the run log's data frame.

    Example:
        >>> token_cost({"input_per_mtok": 2.0, "output_per_mtok": 8.0}, 1000, 500)
        0.006
    """
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
        cost_usd=token_cost(prices or {}, prompt, completion),
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
