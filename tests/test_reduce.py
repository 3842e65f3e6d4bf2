"""Reducers: how a case's repeats become one outcome, the same way in compare.py (transitions,
pass rates, paired statistics), the gates and the pytest items' explanations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcanos_eval.compare import compare_records
from arcanos_eval.model import REDUCERS, ResultRecord, reduce_repeats
from arcanos_eval.report import evaluate
from arcanos_eval.report.explain import explain_case, explain_regression
from tests.test_compare import rec
from tests.test_gates import gate, make_log


def answers(case: str, target: str, passes: Sequence[bool], reduce: str) -> list[ResultRecord]:
    return [
        replace(rec(case, target, ok, repeat=r, text=f"answer {ok}"), reduce=reduce)
        for r, ok in enumerate(passes)
    ]


def pair(base: Sequence[bool], candidate: Sequence[bool], reduce: str, case: str = "c"):  # type: ignore[no-untyped-def]
    return [*answers(case, "base", base, reduce), *answers(case, "candidate", candidate, reduce)]


T, F = True, False


@pytest.mark.parametrize(
    ("reduce", "passes", "value"),
    [
        ("all", [T, T, F], 0.0),
        ("all", [T, T, T], 1.0),
        ("majority", [T, T, F], 1.0),
        ("majority", [T, F], 0.0),  # a tie is not a majority
        ("majority", [T, F, F], 0.0),
        ("any", [F, F, T], 1.0),
        ("any", [F, F, F], 0.0),
        ("mean", [T, T, F], 2 / 3),
        ("mean", [F, F, F, T], 0.25),
    ],
)
def test_each_reducer_gives_the_case_its_pass_value(reduce, passes, value):
    assert reduce_repeats(reduce, passes) == pytest.approx(value)
    (case,) = compare_records(pair([T] * len(passes), passes, reduce), "base", "candidate").cases
    assert case.candidate.reducer == reduce
    assert case.candidate.pass_value == pytest.approx(value)
    assert case.candidate.passed == (value == 1.0)
    assert case.transition == ("both_pass" if value == 1.0 else "regressed")


@given(st.sampled_from(REDUCERS), st.lists(st.booleans(), min_size=1, max_size=9))
def test_pass_values_are_shares_bounded_by_all_and_any(reduce, passes):
    value = reduce_repeats(reduce, passes)
    assert reduce_repeats("all", passes) <= value <= reduce_repeats("any", passes)
    assert 0.0 <= value <= 1.0


def test_an_errored_answer_errs_the_case_under_every_reducer():
    for reduce in REDUCERS:
        records = [
            *pair([T, T], [T, T], reduce),
            replace(rec("c", "candidate", errored=True, repeat=2), reduce=reduce),
        ]
        (case,) = compare_records(records, "base", "candidate").cases
        assert case.transition == "errored" and case.candidate.pass_value == 0.0


def test_majority_and_any_pass_a_flaky_case_but_still_show_it_flaky():
    for reduce in ("majority", "any"):
        comparison = compare_records(pair([T, T, T], [T, F, T], reduce), "base", "candidate")
        assert comparison.cases[0].transition == "both_pass"
        assert [o.target for _, o in comparison.flaky()] == ["candidate"]


def test_mean_counts_fractions_in_pass_rates_and_the_paired_delta():
    records = [
        *pair([T, T, T], [T, T, F], "mean", "a"),  # 1 -> 2/3: regressed by 1/3
        *pair([F, F, F], [T, F, F], "mean", "b"),  # 0 -> 1/3: fixed by 1/3
        *pair([T, T, F], [T, T, F], "mean", "c"),  # 2/3 -> 2/3: neither
    ]
    comparison = compare_records(records, "base", "candidate")
    assert [c.transition for c in comparison.cases] == ["regressed", "fixed", "both_fail"]
    stats = comparison.category_stats()[-1]
    assert stats.base.passed == pytest.approx(5 / 3) and stats.base.passed_text == "1.67"
    assert stats.candidate.rate == pytest.approx((2 / 3 + 1 / 3 + 2 / 3) / 3)
    assert stats.delta == pytest.approx(0.0)
    assert stats.mcnemar_p == 1.0  # one each way: a sign test on the paired values
    # Whole counts stay whole (and print as before).
    whole = compare_records(pair([T], [T], "all"), "base", "candidate").category_stats()[-1]
    assert whole.candidate.passed == 1 and whole.candidate.passed_text == "1"


def test_mean_delta_is_the_mean_of_value_differences_not_of_transitions():
    records = [*pair([T, T, T], [T, T, F], "mean", "a"), *pair([T, T, T], [T, T, T], "mean", "b")]
    stats = compare_records(records, "base", "candidate").category_stats()[-1]
    assert stats.transitions["regressed"] == 1
    assert stats.delta == pytest.approx(-1 / 6)  # (-1/3 + 0) / 2, not -1/2


def test_the_gates_count_reduced_outcomes():
    records = [
        *pair([T, T, T], [T, T, F], "mean", "a"),
        *pair([T, T, T], [T, T, T], "mean", "b"),
        *pair([T, T, T], [T, F, T], "majority", "c"),
    ]
    evaluation = evaluate(
        make_log(
            records,
            {
                "pass_rate": {"happy_path": 0.85},
                "max_regression": 0.1,
                "regression_test": "observed",  # the mean's fractional delta, as observed
                "min_cases": 1,
            },
        )
    )
    rate = gate(evaluation, "pass_rate[happy_path]")
    assert rate.measured == pytest.approx((2 / 3 + 1 + 1) / 3) and rate.passed
    assert rate.evidence.startswith("2.67/3 candidate cases passed")
    regression = gate(evaluation, "max_regression[happy_path]")
    assert regression.measured == pytest.approx(-1 / 9) and not regression.passed


def explain(records: Sequence[ResultRecord]) -> str | None:
    return explain_case(
        key="s::c", location="s.yaml:3", prompt="hi", target="candidate", records=records
    )


def test_the_case_item_fails_exactly_when_the_reduced_case_fails():
    assert explain(answers("c", "candidate", [T, F, T], "majority")) is None
    assert explain(answers("c", "candidate", [F, F, T], "any")) is None
    failed = explain(answers("c", "candidate", [F, F, T], "majority"))
    assert failed is not None and failed.endswith("passed 1 of 3 repeats (flaky); reduce: majority")
    assert explain(answers("c", "candidate", [T, T, F], "mean")) is not None
    assert explain(answers("c", "candidate", [T, T, F], "all")) is not None


def test_the_comparison_item_follows_the_reduced_transition():
    def regression(base: Sequence[bool], candidate: Sequence[bool], reduce: str) -> str | None:
        return explain_regression(
            key="s::c",
            location="s.yaml:3",
            prompt="hi",
            baseline="base",
            candidate="candidate",
            base_records=answers("c", "base", base, reduce),
            candidate_records=answers("c", "candidate", candidate, reduce),
        )

    # Fewer passing repeats, the same reduced outcome: not a regression.
    assert regression([T, T, F], [T, F, F], "all") is None
    assert regression([T, T, T], [T, T, F], "majority") is None
    message = regression([T, T, T], [T, T, F], "all")
    assert message is not None and message.startswith(
        "regressed: s::c (s.yaml:3) passes on base (100%) but not on candidate (67%)"
    )
    assert regression([T, T, T], [T, T, F], "mean") is not None
