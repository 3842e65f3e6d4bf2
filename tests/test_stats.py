"""Statistics against published values and scipy/numpy (test-only references), and properties."""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from scipy.stats import binom, binomtest, chisquare

from arcanos_eval.model import Response, ResultRecord, Usage
from arcanos_eval.stats import (
    _MULTINOMIAL_PAIRS_PER_VALUE,
    Interval,
    _binomial,
    _choice_means,
    _multinomial_means,
    agreement,
    binomial_cdf,
    cohen_kappa,
    format_interval,
    format_ms,
    format_p,
    format_percent,
    format_points,
    is_flaky,
    mcnemar_exact,
    noninferiority_cases_needed,
    paired_bootstrap,
    paired_difference_interval,
    percentile,
    target_stats,
    wilson_interval,
)

# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3.
NEWCOMBE = [
    ((81, 263), (0.2553, 0.3662)),
    ((15, 148), (0.0624, 0.1605)),
    ((0, 20), (0.0, 0.1611)),
    ((1, 29), (0.0061, 0.1718)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE)
def test_wilson_matches_newcombes_published_intervals(counts, expected):
    interval = wilson_interval(*counts)
    assert (round(interval.low, 4), round(interval.high, 4)) == expected


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (3, 7), (19, 20), (50, 100), (999, 1000)])
def test_wilson_matches_scipy(k, n, confidence):
    expected = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    got = wilson_interval(k, n, confidence)
    assert got.low == pytest.approx(expected.low, abs=1e-12)
    assert got.high == pytest.approx(expected.high, abs=1e-12)


@given(st.integers(0, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_estimate_and_stays_in_the_unit_interval(counts):
    k, n = counts
    interval = wilson_interval(k, n)
    assert 0.0 <= interval.low <= interval.high <= 1.0
    if n:
        assert k / n in interval


def test_wilson_without_trials_is_the_whole_unit_interval():
    assert wilson_interval(0, 0) == Interval(0.0, 1.0)


@pytest.mark.parametrize(("k", "n", "confidence"), [(3, 2, 0.95), (-1, 5, 0.95), (1, 5, 1.0)])
def test_wilson_rejects_impossible_input(k, n, confidence):
    with pytest.raises(ValueError):
        wilson_interval(k, n, confidence)


@pytest.mark.parametrize(("b", "c"), [(0, 0), (0, 6), (1, 9), (5, 5), (12, 3), (40, 61), (7, 0)])
def test_mcnemar_matches_scipy_binomial_test(b, c):
    n = b + c
    if n == 0:
        assert mcnemar_exact(b, c) == 1.0
        return
    assert mcnemar_exact(b, c) == pytest.approx(binomtest(b, n, 0.5).pvalue, rel=1e-12)
    greater = binomtest(b, n, 0.5, alternative="greater").pvalue
    less = binomtest(b, n, 0.5, alternative="less").pvalue
    assert mcnemar_exact(b, c, "greater") == pytest.approx(greater, rel=1e-12)
    assert mcnemar_exact(b, c, "less") == pytest.approx(less, rel=1e-12)


def test_mcnemar_hand_computed_value():
    # Six discordant pairs all one way: 2 * (1/2)^6.
    assert mcnemar_exact(0, 6) == 2 / 64
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)


@given(st.integers(0, 300), st.integers(0, 300))
def test_mcnemar_is_a_probability_and_symmetric(b, c):
    p = mcnemar_exact(b, c)
    assert 0.0 <= p <= 1.0
    assert p == mcnemar_exact(c, b)
    assert mcnemar_exact(b, c, "greater") == mcnemar_exact(c, b, "less")
    assert 0.0 <= mcnemar_exact(b, c, "greater") <= 1.0


def test_mcnemar_rejects_bad_input():
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)
    with pytest.raises(ValueError):
        mcnemar_exact(1, 2, "sideways")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ paired pass rates


def test_paired_interval_matches_the_published_worked_example():
    # Complete response before and after consolidation therapy (Cavo et al. 2012), worked in
    # Fagerland, Lydersen and Laake (2014), Statistics in Medicine 33: Newcombe's hybrid score
    # interval -0.1186 to -0.0046 for the difference 0.3665 - 0.4286 = -0.0621.
    interval = paired_difference_interval(59, 6, 16, 80)
    assert (round(interval.low, 4), round(interval.high, 4)) == (-0.1186, -0.0046)


def _newcombe_reference(a: int, b: int, c: int, d: int, confidence: float) -> tuple[float, float]:
    """Newcombe (1998) method 10 assembled from scipy's Wilson intervals, written from the
    paper's formulas independently of arcanos_eval.stats."""
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    ci1 = binomtest(a + b, n).proportion_ci(confidence_level=confidence, method="wilson")
    ci2 = binomtest(a + c, n).proportion_ci(confidence_level=confidence, method="wilson")
    product = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    if product == 0 or 0 <= cross <= n / 2:
        phi = 0.0
    else:
        phi = (cross - n / 2 if cross > 0 else cross) / math.sqrt(product)
    dl1, du1, dl2, du2 = p1 - ci1.low, ci1.high - p1, p2 - ci2.low, ci2.high - p2
    low = p1 - p2 - math.sqrt(max(0.0, dl1**2 - 2 * phi * dl1 * du2 + du2**2))
    high = p1 - p2 + math.sqrt(max(0.0, dl2**2 - 2 * phi * dl2 * du1 + du1**2))
    return max(-1.0, low), min(1.0, high)


@given(
    st.tuples(*[st.integers(0, 60)] * 4).filter(lambda t: sum(t) > 0),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_paired_interval_matches_an_independent_computation(cells, confidence):
    low, high = _newcombe_reference(*cells, confidence)
    interval = paired_difference_interval(*cells, confidence)
    assert interval.low == pytest.approx(low, abs=1e-9)
    assert interval.high == pytest.approx(high, abs=1e-9)
    _, b, c, _ = cells
    assert -1.0 <= interval.low <= (b - c) / sum(cells) <= interval.high <= 1.0


def _multinomial_pmf(counts: Sequence[int], probabilities: Sequence[float]) -> float:
    log = math.lgamma(sum(counts) + 1)
    for k, p in zip(counts, probabilities, strict=True):
        if k:
            log += k * math.log(p) - math.lgamma(k + 1)
    return math.exp(log)


@pytest.mark.parametrize(
    "shares",
    [
        (0.80, 0.05, 0.05, 0.10),  # unchanged, few discordant cases
        (0.50, 0.20, 0.20, 0.10),  # unchanged, many discordant cases
        (0.70, 0.15, 0.05, 0.10),  # 10 points worse
        (0.85, 0.10, 0.00, 0.05),  # worse on every discordant case
    ],
)
def test_paired_interval_upper_bound_covers_the_true_drop_at_small_n(shares):
    # Exact one-sided coverage over every table of 20 cases: the bound the non-inferiority gate
    # uses must not sit below the true drop more often than its nominal 5%.
    n, drop = 20, shares[1] - shares[2]
    covered = 0.0
    for b in range(n + 1):
        for c in range(n + 1 - b):
            for a in range(n + 1 - b - c):
                cells = (a, b, c, n - a - b - c)
                if any(k and not p for k, p in zip(cells, shares, strict=True)):
                    continue
                if paired_difference_interval(*cells, 0.90).high >= drop - 1e-12:
                    covered += _multinomial_pmf(cells, shares)
    assert covered >= 0.95


def test_paired_interval_edges():
    assert paired_difference_interval(0, 0, 0, 0) == Interval(-1.0, 1.0)
    # Three regressions out of three: the drop may be anything from 33% to 100%.
    three = paired_difference_interval(0, 3, 0, 0, 0.90)
    assert three.high == 1.0 and 0.3 < three.low < 0.35
    with pytest.raises(ValueError):
        paired_difference_interval(1, -1, 0, 0)
    with pytest.raises(ValueError):
        paired_difference_interval(1, 1, 0, 0, confidence=1.0)


def test_cases_needed_for_a_perfect_record_is_where_the_wilson_bound_meets_the_margin():
    # Every case passes on both sides: the bound is z^2 / (n + z^2) and no spread is left, so
    # the gate passes from n >= z^2 (1 - margin) / margin on.
    z = NormalDist().inv_cdf(0.95)
    for margin in (0.02, 0.05, 0.1):
        needed = noninferiority_cases_needed(10, 0, 0, 0, margin)
        assert needed == math.ceil(z * z * (1 - margin) / margin)
        assert paired_difference_interval(needed, 0, 0, 0, 0.90).high <= margin
        assert paired_difference_interval(needed - 1, 0, 0, 0, 0.90).high > margin


def test_cases_needed_approaches_the_normal_approximation_sample_size():
    # Many discordant cases: (z_alpha + z_power)^2 (q - d^2) / (margin - d)^2, the textbook
    # sample size of a paired non-inferiority test (Connor 1987; Nam 1997), at 95% power.
    z = 2 * NormalDist().inv_cdf(0.95)
    for cells, margin in [((60, 10, 10, 20), 0.05), ((50, 14, 10, 26), 0.1)]:
        n = sum(cells)
        discordant, drop = (cells[1] + cells[2]) / n, (cells[1] - cells[2]) / n
        textbook = z * z * (discordant - drop * drop) / (margin - drop) ** 2
        assert noninferiority_cases_needed(*cells, margin) == pytest.approx(textbook, rel=0.05)


def test_at_the_cases_needed_the_gate_passes_nineteen_times_in_twenty():
    # Draw tables at the recommended size from the observed shares: the non-inferiority bound
    # falls within the margin about 95% of the time, and far less often at half the size.
    shares, margin = (0.80, 0.06, 0.06, 0.08), 0.05
    needed = noninferiority_cases_needed(80, 6, 6, 8, margin)
    assert needed is not None
    rng = np.random.default_rng(7)

    def pass_share(size: int) -> float:
        tables = rng.multinomial(size, shares, size=3000)
        return float(np.mean([paired_difference_interval(*t, 0.90).high <= margin for t in tables]))

    assert 0.93 <= pass_share(needed) <= 0.97
    assert pass_share(needed // 2) < 0.8


def test_cases_needed_is_none_when_the_drop_reaches_the_margin():
    assert noninferiority_cases_needed(80, 10, 5, 5, 0.05) is None  # drop 5 points
    assert noninferiority_cases_needed(90, 5, 5, 0, 0.0) is None  # no drop, no margin
    assert noninferiority_cases_needed(0, 0, 0, 0, 0.05) is None
    assert noninferiority_cases_needed(80, 5, 10, 5, 0.0) is not None  # a better candidate
    with pytest.raises(ValueError):
        noninferiority_cases_needed(1, 0, 0, 0, 1.5)


@given(st.integers(0, 60).flatmap(lambda n: st.tuples(st.integers(-1, n + 1), st.just(n))))
def test_binomial_cdf_is_exact(args):
    k, n = args
    expected = sum(math.comb(n, i) for i in range(max(0, min(k, n) + 1))) / 2**n if k >= 0 else 0
    assert binomial_cdf(k, n) == pytest.approx(expected, rel=1e-15)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_matches_numpy_linear(values, q):
    assert percentile(values, q) == pytest.approx(
        float(np.percentile(values, q)), rel=1e-9, abs=1e-6
    )


def test_percentile_rejects_empty_and_out_of_range():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_paired_bootstrap_is_seeded_and_centred_on_the_mean_difference():
    base = [float(i % 3 == 0) for i in range(200)]
    cand = [float(i % 4 != 0) for i in range(200)]
    first = paired_bootstrap(base, cand, seed=7)
    again = paired_bootstrap(base, cand, seed=7)
    assert first == again
    assert first is not None
    deltas = [b - a for a, b in zip(base, cand, strict=True)]
    assert first.delta == pytest.approx(statistics.fmean(deltas))
    assert first.delta in first.interval
    # With 200 pairs the percentile interval is close to the normal approximation.
    half = 1.96 * statistics.stdev(deltas) / math.sqrt(len(deltas))
    assert first.interval.low == pytest.approx(first.delta - half, abs=0.02)
    assert first.interval.high == pytest.approx(first.delta + half, abs=0.02)


def test_paired_bootstrap_of_identical_differences_is_a_point():
    result = paired_bootstrap([0.0] * 5, [1.0] * 5)
    assert result is not None and result.interval == Interval(1.0, 1.0)


def test_paired_bootstrap_edge_cases():
    assert paired_bootstrap([], []) is None
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0], resamples=0)


# ------------------------------------------------------------------------------ binomial sampler


def _chi_square_p(draws: Sequence[int], n: int, p: float) -> float:
    """p-value of draws against Binomial(n, p), neighbouring outcomes pooled to expect >= 5 each."""
    assert all(0 <= k <= n for k in draws)
    seen = Counter(draws)
    expected_all = binom.pmf(np.arange(n + 1), n, p) * len(draws)
    observed: list[float] = []
    expected: list[float] = []
    pending_obs, pending_exp = 0.0, 0.0
    for k in range(n + 1):
        pending_obs += seen[k]
        pending_exp += expected_all[k]
        if pending_exp >= 5.0:
            observed.append(pending_obs)
            expected.append(pending_exp)
            pending_obs, pending_exp = 0.0, 0.0
    observed[-1] += pending_obs
    expected[-1] += pending_exp
    assert len(observed) >= 2, "too few bins to test anything"
    scaled = np.array(expected) * (len(draws) / sum(expected))  # pmf sums to 1 only to rounding
    return float(chisquare(observed, scaled).pvalue)


# n * min(p, 1 - p) below 10: inversion; from 10: BTRS. p > 1/2 goes through symmetry.
INVERSION = [(1, 0.5), (5, 0.3), (50, 0.1), (19, 0.5), (1000, 0.002), (30, 0.9), (10_000, 0.0009)]
BTRS = [(20, 0.5), (100, 0.5), (1000, 0.02), (10_000, 0.3), (200, 0.93), (50_000, 0.4999)]


@pytest.mark.parametrize(("n", "p"), INVERSION + BTRS)
def test_binomial_sampler_fits_the_binomial_distribution(n, p):
    rng = random.Random(n + int(p * 1000))
    draws = [_binomial(rng, n, p) for _ in range(20_000)]
    assert _chi_square_p(draws, n, p) > 1e-4


@pytest.mark.parametrize(("n", "p"), [(20, 0.5), (1000, 0.02), (50, 0.1)])
def test_the_goodness_of_fit_check_rejects_a_slightly_wrong_p(n, p):
    rng = random.Random(1)
    shifted = [_binomial(rng, n, p * 1.03) for _ in range(20_000)]
    assert _chi_square_p(shifted, n, p) < 1e-4


@pytest.mark.parametrize(("n", "p"), [(1000, 0.02), (50, 0.1)])
def test_the_goodness_of_fit_check_rejects_a_normal_approximation(n, p):
    # Rounded normal draws are symmetric about n * p, where these binomials are skewed.
    rng = random.Random(1)
    sd = math.sqrt(n * p * (1 - p))
    normal = [min(n, max(0, round(rng.gauss(n * p, sd)))) for _ in range(20_000)]
    assert _chi_square_p(normal, n, p) < 1e-4


def test_binomial_sampler_edge_cases_draw_nothing():
    rng = random.Random(3)
    state = rng.getstate()
    assert _binomial(rng, 0, 0.3) == 0
    assert _binomial(rng, 0, 1.0) == 0
    assert _binomial(rng, 7, 0.0) == 0
    assert _binomial(rng, 7, 1.0) == 7
    assert rng.getstate() == state


def test_binomial_sampler_extremes():
    rng = random.Random(4)
    # p so small that log(1 - p) is the smallest subnormal: the first gap is infinite.
    assert _binomial(rng, 10**6, 5e-324) == 0
    assert _binomial(rng, 10**6, 1.0 - 2**-53) in (10**6 - 1, 10**6)
    assert all(_binomial(rng, 1, 0.5) in (0, 1) for _ in range(100))
    huge = [_binomial(rng, 10**12, 0.5) for _ in range(200)]
    assert all(abs(k - 5 * 10**11) < 10 * 5 * 10**5 for k in huge)  # within 10 sd of the mean
    assert statistics.fmean(huge) == pytest.approx(5e11, abs=5 * 5e5 / math.sqrt(200))


def test_binomial_sampler_is_symmetric_in_p():
    for seed in range(50):
        assert _binomial(random.Random(seed), 40, 0.75) == 40 - _binomial(
            random.Random(seed), 40, 0.25
        )


@pytest.mark.parametrize(("n", "p"), [(-1, 0.5), (3, -0.1), (3, 1.5), (3, math.nan)])
def test_binomial_sampler_rejects_impossible_parameters(n, p):
    with pytest.raises(ValueError):
        _binomial(random.Random(0), n, p)


@given(st.integers(0, 10**7), st.floats(0.0, 1.0), st.integers(0, 2**32))
def test_binomial_sampler_stays_in_its_support(n, p, seed):
    assert 0 <= _binomial(random.Random(seed), n, p) <= n


# ------------------------------------------------------------------------------ bootstrap paths


def _percentile_interval(means: list[float]) -> Interval:
    ordered = sorted(means)
    return Interval(percentile(ordered, 2.5), percentile(ordered, 97.5))


def _scored_pairs(n: int, seed: int) -> tuple[list[float], list[float]]:
    """Check values 0, 1/2, 1 drawn from known shares: the true mean difference is 0.10."""
    generator = random.Random(seed)
    scores = [0.0, 0.5, 1.0]
    base = generator.choices(scores, weights=[0.3, 0.3, 0.4], k=n)
    cand = generator.choices(scores, weights=[0.2, 0.3, 0.5], k=n)
    return base, cand


TRUE_DELTA = (0.3 * 0.5 + 0.5) - (0.3 * 0.5 + 0.4)


def test_multinomial_counts_have_the_right_marginals():
    # Values far enough apart that a resample mean decodes back into its counts (every count
    # stays below 1024); the 6 of 600 category is drawn by inversion, the others by BTRS.
    values = [0.0, 1.0, 1024.0, 2.0**20, 2.0**30]
    multiplicities = [60, 6, 240, 144, 150]
    n = sum(multiplicities)
    categories = list(zip(values, multiplicities, strict=True))
    means = _multinomial_means(categories, n, 4000, random.Random(5))
    counts: list[list[int]] = [[] for _ in values]
    for mean in means:
        total = round(mean * n)
        tail = [(total >> 30) & 1023, (total >> 20) & 1023, (total >> 10) & 1023, total & 1023]
        for j, count in enumerate([n - sum(tail), *reversed(tail)]):
            counts[j].append(count)
    assert all(count >= 0 for column in counts for count in column)
    for column, multiplicity in zip(counts, multiplicities, strict=True):
        assert _chi_square_p(column, n, multiplicity / n) > 1e-4
    # Two categories together are one binomial too (the counts are not drawn independently).
    pooled = [a + b for a, b in zip(counts[2], counts[3], strict=True)]
    assert _chi_square_p(pooled, n, (240 + 144) / n) > 1e-4


def test_multinomial_and_choices_paths_agree_and_cover_the_true_difference():
    base, cand = _scored_pairs(5000, seed=11)
    deltas = [b - a for a, b in zip(base, cand, strict=True)]
    categories = sorted(Counter(deltas).items())
    assert len(categories) == 5
    multinomial = _percentile_interval(_multinomial_means(categories, 5000, 2000, random.Random(0)))
    choices = _percentile_interval(_choice_means(deltas, 2000, random.Random(0)))
    # Each endpoint has a Monte Carlo standard error near 0.0005 here; the width is about 0.03.
    assert multinomial.low == pytest.approx(choices.low, abs=0.002)
    assert multinomial.high == pytest.approx(choices.high, abs=0.002)
    half = 1.96 * statistics.stdev(deltas) / math.sqrt(len(deltas))
    mean = statistics.fmean(deltas)
    for interval in (multinomial, choices):
        assert TRUE_DELTA in interval
        assert interval.low == pytest.approx(mean - half, abs=0.002)
        assert interval.high == pytest.approx(mean + half, abs=0.002)


def test_multinomial_intervals_cover_the_true_difference_at_the_nominal_rate():
    covered = 0
    for dataset in range(80):
        base, cand = _scored_pairs(400, seed=100 + dataset)
        result = paired_bootstrap(base, cand, resamples=500, seed=dataset)
        assert result is not None
        covered += TRUE_DELTA in result.interval
    # 95% nominal; 80 datasets give a standard error near 2.5 points.
    assert 0.85 <= covered / 80 <= 1.0


def test_large_inputs_take_the_multinomial_path(monkeypatch):
    base, cand = _scored_pairs(10_000, seed=2)

    def forbidden(*args: object) -> list[float]:
        raise AssertionError("10,000 pairs with 5 distinct differences drawn pair by pair")

    monkeypatch.setattr("arcanos_eval.stats._choice_means", forbidden)
    assert paired_bootstrap(base, cand) is not None


def test_paired_bootstrap_pins_its_random_stream():
    # Every report's intervals come from this stream: a change here moves them all.
    base, cand = _scored_pairs(2000, seed=7)
    result = paired_bootstrap(base, cand, seed=0)
    assert result is not None
    assert result.interval == Interval(0.09049375000000001, 0.13975)
    assert paired_bootstrap(base, cand, seed=1) != result
    small = paired_bootstrap(base[:40], cand[:40], seed=0)  # 40 pairs: the choices path
    assert small is not None
    assert small.interval == Interval(0.1375, 0.425)


HALVES = st.sampled_from([0.0, 0.5, 1.0])
GRID = st.sampled_from([0.0, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0])
# Any few pairs (the `choices` path), or a few pairs repeated and shuffled: few distinct
# differences, the multinomial path once there are enough pairs per distinct difference.
PAIRS = st.one_of(
    st.lists(st.tuples(GRID, GRID), min_size=1, max_size=40),
    st.builds(
        lambda pairs, repeats: pairs * repeats,
        st.lists(st.tuples(GRID, GRID), min_size=1, max_size=5),
        st.integers(1, 40),
    ).flatmap(st.permutations),
)


@given(PAIRS, st.integers(1, 60), st.integers(0, 2**32))
def test_paired_bootstrap_interval_stays_within_the_differences(pairs, resamples, seed):
    base = [a for a, _ in pairs]
    cand = [b for _, b in pairs]
    deltas = [b - a for a, b in pairs]
    result = paired_bootstrap(base, cand, resamples=resamples, seed=seed)
    assert result is not None
    assert result == paired_bootstrap(base, cand, resamples=resamples, seed=seed)
    assert result.delta == math.fsum(deltas) / len(deltas)
    assert (result.pairs, result.resamples, result.seed) == (len(pairs), resamples, seed)
    low, high = result.interval.low, result.interval.high
    assert low <= high
    if len(set(deltas)) * _MULTINOMIAL_PAIRS_PER_VALUE <= len(deltas):
        event("multinomial path")
        # Multinomial path: every resample mean is rounded once from its exact value.
        assert min(deltas) <= low and high <= max(deltas)
        if len(set(deltas)) == 1:
            assert low == high == deltas[0]
    else:
        # `choices` path: fsum then / n rounds twice, which can step an ulp past the extremes.
        slack = 4 * math.ulp(max(abs(min(deltas)), abs(max(deltas)), 1.0))
        assert min(deltas) - slack <= low and high <= max(deltas) + slack


@given(
    st.lists(st.tuples(HALVES, HALVES), min_size=80, max_size=300),
    st.randoms(use_true_random=False),
    st.integers(0, 2**32),
)
def test_multinomial_path_ignores_the_order_of_the_pairs(pairs, shuffler, seed):
    # At most 5 distinct differences in at least 80 pairs: the multinomial path.
    assert len({b - a for a, b in pairs}) * _MULTINOMIAL_PAIRS_PER_VALUE <= len(pairs)
    shuffled = list(pairs)
    shuffler.shuffle(shuffled)
    assert paired_bootstrap(
        [a for a, _ in pairs], [b for _, b in pairs], resamples=50, seed=seed
    ) == paired_bootstrap(
        [a for a, _ in shuffled], [b for _, b in shuffled], resamples=50, seed=seed
    )


def test_flakiness_and_agreement():
    assert is_flaky([True, False, True])
    assert not is_flaky([True, True])
    assert not is_flaky([])
    assert agreement(["a", "a", "b", "a"]) == 0.75
    assert agreement(["x"]) == 1.0
    with pytest.raises(ValueError):
        agreement([])


def _record(
    target: str,
    latency: float | None,
    *,
    errored: bool = False,
    ttft: float | None = None,
    origin: str = "live",
) -> ResultRecord:
    response = (
        Response.failed("boom", "http_500")
        if errored
        else Response(
            text="ok", usage=Usage(100, 50, 150), latency_ms=latency, ttft_ms=ttft, origin=origin
        )
    )  # type: ignore[arg-type]
    return ResultRecord("s", f"c{latency}", target, 0, "happy_path", "fp", response)


def test_target_stats_excludes_errored_answers_and_prices_tokens():
    records = [
        _record("cand", 100.0, ttft=20.0),
        _record("cand", 300.0, origin="replayed"),
        _record("cand", None, errored=True),
        _record("base", 50.0),
    ]
    stats = target_stats("cand", records, {"input_per_mtok": 2.0, "output_per_mtok": 10.0})
    assert stats.answers == 2 and stats.errored == 1
    assert stats.latencies == (100.0, 300.0) and stats.latency(50) == 200.0
    assert stats.ttfts == (20.0,) and stats.ttft(95) == 20.0
    assert stats.origins == {"live": 1, "replayed": 1}
    assert (stats.prompt_tokens, stats.completion_tokens) == (200, 100)
    assert stats.cost_usd == pytest.approx((200 * 2.0 + 100 * 10.0) / 1e6)
    assert stats.tokens_per_answer == 150.0
    assert target_stats("cand", records).cost_usd is None
    assert target_stats("nobody", records).latency(95) is None


def test_fixed_formats():
    assert format_percent(0.95) == "95.0%" and format_percent(None) == "n/a"
    assert format_points(-0.05) == "-5.0 pp" and format_points(0.0) == "+0.0 pp"
    assert format_ms(1234.56) == "1235 ms"
    assert format_p(0.00001) == "<0.0001" and format_p(0.5) == "0.5000"
    assert format_interval(Interval(0.4902, 0.9433)) == "[49.0%, 94.3%]"
    assert format_interval(Interval(-0.25, 0.125), percent=False) == "[-0.250, +0.125]"


# ------------------------------------------------------------------------------ Cohen's kappa


def test_cohen_kappa_matches_a_hand_computed_example():
    # 50 items: both say yes 20, only A yes 5, only B yes 10, both no 15.
    # po = 35/50 = 0.70; A says yes 25/50, B 30/50; pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.50;
    # kappa = (0.70 - 0.50) / (1 - 0.50) = 0.40.
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    # Three labels: po = 6/9; A says a, b, c 3 times each, B 4, 4, 1 times;
    # pe = (3*4 + 3*4 + 3*1) / 81 = 1/3; kappa = (6/9 - 1/3) / (1 - 1/3) = 0.5.
    three = [("a", "a")] * 2 + [("a", "b")] + [("b", "b")] * 3 + [("c", "c")] + [("c", "a")] * 2
    assert cohen_kappa(three) == pytest.approx(0.5)


def test_cohen_kappa_edges():
    assert cohen_kappa([]) is None
    assert cohen_kappa([(True, True)] * 4) is None, "one label throughout: chance agreement is 1"
    assert cohen_kappa([(True, True), (False, False)]) == 1.0
    assert cohen_kappa([(True, False), (False, True)]) == -1.0
    # A rater that gives one label to every item agrees only by chance: kappa 0.
    assert cohen_kappa([(True, True), (False, True)] * 5) == 0.0


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("abc")), min_size=1))
def test_cohen_kappa_is_symmetric_and_at_most_one(pairs: list[tuple[str, str]]) -> None:
    kappa = cohen_kappa(pairs)
    swapped = cohen_kappa([(b, a) for a, b in pairs])
    if kappa is None:
        assert swapped is None
    else:
        assert swapped == pytest.approx(kappa) and kappa <= 1.0 + 1e-12
