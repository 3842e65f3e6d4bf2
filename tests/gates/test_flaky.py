"""The max_flaky gate: the share of the candidate's repeated cases whose repeats disagree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from arcanos_eval.errors import GateConfigError
from arcanos_eval.gates import GateResult
from arcanos_eval.model import ResultRecord
from arcanos_eval.report import evaluate
from tests.test_gates import gate, make_log, rec


def repeats(
    case: str, target: str, passes: Sequence[bool], reduce: str = "all"
) -> list[ResultRecord]:
    return [replace(rec(case, target, ok, repeat=r), reduce=reduce) for r, ok in enumerate(passes)]


def run(flaky: int, steady: int, threshold: float, reduce: str = "all") -> GateResult:
    records = []
    for i in range(flaky):
        records += repeats(f"f{i}", "candidate", [True, False, True], reduce)
        records += repeats(f"f{i}", "base", [True] * 3)
    for i in range(steady):
        records += repeats(f"s{i}", "candidate", [False] * 3 if i % 2 else [True] * 3, reduce)
        records += repeats(f"s{i}", "base", [True] * 3)
    return gate(evaluate(make_log(records, {"max_flaky": threshold})), "max_flaky")


def test_passes_at_the_threshold_and_fails_above():
    result = run(1, 9, 0.1)
    assert result.passed and result.measured == pytest.approx(0.1)
    assert result.evidence == "1/10 repeated candidate cases flaky (10.0%; 30 answers)"
    assert result.threshold_text == "<= 10.0%"
    assert not run(2, 8, 0.1).passed
    assert run(0, 10, 0.0).passed


def test_a_reducer_does_not_hide_disagreeing_repeats():
    # `any` passes every flaky case, and the gate still counts them.
    result = run(3, 1, 0.5, reduce="any")
    assert not result.passed and result.measured == pytest.approx(0.75)


def test_only_the_candidate_counts_and_only_cases_with_two_answers():
    records = [
        *repeats("a", "base", [True, False]),  # the base's flakiness is not the candidate's
        *repeats("a", "candidate", [True, True]),
        *repeats("b", "candidate", [False]),  # one answer cannot disagree
        *repeats("b", "base", [False]),
        *repeats("c", "base", [True, True]),
        rec("c", "candidate", repeat=0),
        rec("c", "candidate", repeat=1, errored=True),  # one answer left
    ]
    result = gate(evaluate(make_log(records, {"max_flaky": 0.0})), "max_flaky")
    assert result.passed and result.evidence.startswith("0/1 repeated candidate cases flaky")


def test_fails_as_not_evaluable_when_no_case_was_repeated():
    records = [rec("a", "base"), rec("a", "candidate")]
    result = gate(evaluate(make_log(records, {"max_flaky": 0.5})), "max_flaky")
    assert not result.passed and result.measured is None
    assert result.evidence.startswith("not evaluable: no case answered more than once by candidate")


def test_backs_no_checklist_invariant():
    result = run(0, 2, 0.0)
    assert result.invariant is None


@pytest.mark.parametrize("value", [1.5, -0.1, "10%"])
def test_the_threshold_is_a_share(value):
    with pytest.raises(GateConfigError, match="field 'max_flaky'"):
        evaluate(make_log([], {"max_flaky": value}))


def test_per_suite_override():
    records = [*repeats("a", "candidate", [True, False]), *repeats("a", "base", [True, True])]
    log = make_log(records, {"max_flaky": 1.0, "suites": {"s": {"max_flaky": 0.0}}})
    assert not gate(evaluate(log), "max_flaky", "suite s").passed
