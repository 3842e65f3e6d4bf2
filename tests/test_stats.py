"""Statistics against published values and scipy/numpy (test-only references), and properties."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest

from arcanos_eval.response import Response, Usage
from arcanos_eval.runlog import ResultRecord
from arcanos_eval.stats import (
    Interval,
    agreement,
    binomial_cdf,
    format_interval,
    format_ms,
    format_p,
    format_percent,
    format_points,
    is_flaky,
    mcnemar_exact,
    paired_bootstrap,
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
