"""Gate parsing (errors at start-up), each gate passing and failing, scopes, checklist, verdict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from arcanos_eval.errors import GateConfigError, UsageError
from arcanos_eval.gates import GATE_KEYS, GateSpec, Measurement, NoEvidence, Scope, parse_gates
from arcanos_eval.gates import _spec as gate_registry
from arcanos_eval.gates import gate as register_gate
from arcanos_eval.gates._scope import Sufficiency
from arcanos_eval.model import (
    CalibrationAnswer,
    CalibrationRecord,
    CheckResult,
    Response,
    ResultRecord,
    RunHeader,
    Score,
    Usage,
)
from arcanos_eval.report import evaluate
from arcanos_eval.runlog import RunLog


def rec(
    case: str,
    target: str,
    passed: bool = True,
    *,
    suite: str = "s",
    category: str = "happy_path",
    latency: float = 100.0,
    ttft: float | None = None,
    tokens: tuple[int, int] = (100, 20),
    errored: bool = False,
    repeat: int = 0,
    checks: Iterable[tuple[str, bool]] | None = None,
    details: Mapping[str, Any] | None = None,
) -> ResultRecord:
    if errored:
        return ResultRecord(
            suite, case, target, repeat, category, "fp", Response.failed("boom", "http_500")
        )
    pairs = list(checks) if checks is not None else [("contains", passed)]
    scores = tuple(
        CheckResult(
            name, {}, Score(ok, float(ok), "ok" if ok else f"{name} failed", dict(details or {}))
        )
        for name, ok in pairs
    )
    response = Response(text="answer", usage=Usage(*tokens), latency_ms=latency, ttft_ms=ttft)
    return ResultRecord(suite, case, target, repeat, category, "fp", response, scores)


# The gates that count cases, and so fail below min_cases.
COUNTING = ("pass_rate", "pass_rate_base", "max_regression")


def make_log(
    records: Iterable[ResultRecord],
    gates: Mapping[str, Any] | None = None,
    *,
    default_floor: bool = False,
    **header: Any,
) -> RunLog:
    """A run log of ``records`` judged by ``gates``.

    Most tests here measure one gate on a handful of cases, so the counting gates get
    ``min_cases = 1`` unless the table sets it or ``default_floor`` keeps the default; the
    evidence floor has tests of its own.
    """
    gates = dict(gates or {})
    if not default_floor and any(key in gates for key in COUNTING):
        gates.setdefault("min_cases", 1)
    log = RunLog(
        None,
        RunHeader.from_dict(
            {
                "run_id": "r",
                "roles": {
                    "baseline": "base",
                    "candidate": "candidate",
                    "rollback": header.pop("rollback", None),
                },
                "gates": dict(gates or {}),
                "footer": {"finished_at": "2026-12-01T00:00:00+00:00"},  # a finished run
                **header,
            }
        ),
    )
    for record in records:
        log.results[record.key] = record
    return log


def paired(outcomes: Iterable[tuple[bool, bool]], **kwargs: Any) -> list[ResultRecord]:
    records = []
    for i, (b, c) in enumerate(outcomes):
        records += [rec(f"c{i}", "base", b, **kwargs), rec(f"c{i}", "candidate", c, **kwargs)]
    return records


# Waivers for the invariants a test's gates leave unevaluated, so its verdict turns on its gates.
WAIVE_ALL_BUT_QA = {
    "waive": {
        "schema_stable": "no suite here has a response schema",
        "data_sanitized": "synthetic records, no training data",
        "latency": "latency is not what this test measures",
    }
}


def gate(evaluation, name: str, scope: str = "all suites"):  # type: ignore[no-untyped-def]
    matches = [g for g in evaluation.gates if g.name == name and g.scope == scope]
    assert len(matches) == 1, [(g.name, g.scope) for g in evaluation.gates]
    return matches[0]


# ------------------------------------------------------------------------------ parsing


def test_parse_reads_every_documented_key():
    table = {
        "pass_rate": {"happy_path": 0.95, "adversarial": 1},
        "pass_rate_base": {"all": 0.5},
        "max_regression": 0.02,
        "regression_test": "mcnemar",
        "alpha": 0.1,
        "latency_p50_ms": 800,
        "latency_p95_ms": 2500,
        "ttft_p95_ms": 600,
        "latency_p95_ratio": 1.1,
        "tokens_ratio": 1.0,
        "cost_ratio": 1.2,
        "schema_violations": 0,
        "moderation_drift": 0.0,
        "data": True,
        "schema_compat": True,
        "suites": {"puzzle": {"pass_rate": {"happy_path": 0.9}, "alpha": 0.01}},
    }
    gates = parse_gates(table)
    names = sorted(spec.name + (f"@{spec.suite}" if spec.suite else "") for spec in gates.specs)
    assert names == sorted(
        [
            "pass_rate[adversarial]",
            "pass_rate[happy_path]",
            "pass_rate_base[all]",
            "max_regression",
            "latency_p50_ms",
            "latency_p95_ms",
            "ttft_p95_ms",
            "latency_p95_ratio",
            "tokens_ratio",
            "cost_ratio",
            "schema_violations",
            "moderation_drift",
            "data",
            "schema_compat",
            "pass_rate[happy_path]@puzzle",
            "max_regression@puzzle",
        ]
    )
    suite_regression = next(s for s in gates.specs if s.key == "max_regression" and s.suite)
    # A per-suite alpha inherits the run-wide gate it modifies.
    assert suite_regression == GateSpec(
        "max_regression", 0.02, test="mcnemar", alpha=0.01, suite="puzzle"
    )
    assert gates.data is True
    assert set(table) <= set(GATE_KEYS)


def test_no_table_means_no_gate():
    assert parse_gates(None).specs == () and not parse_gates({}).configured


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"latency_p59_ms": 1},
            "[tool.arcanos_eval.gates]: unknown gate 'latency_p59_ms' (did you "
            "mean 'latency_p95_ms' or 'latency_p50_ms'",
        ),
        ({"pass_rate": 0.9}, "field 'pass_rate': expected a table of category = minimum pass rate"),
        (
            {"pass_rate": {"happy_path": 1.5}},
            "[tool.arcanos_eval.gates] field 'pass_rate.happy_path': expected a number >= 0 and <= 1",
        ),
        ({"pass_rate": {"happy_path": True}}, "found True"),
        (
            {"latency_p95_ms": 0},
            "field 'latency_p95_ms': expected a number > 0 (milliseconds), found 0",
        ),
        ({"latency_p95_ms": "2s"}, "found '2s'"),
        ({"schema_violations": 0.5}, "field 'schema_violations': expected an integer >= 0"),
        ({"max_regression": -0.1}, "field 'max_regression': expected a number >= 0 and <= 1"),
        ({"alpha": 0.05}, "field 'alpha': only applies to max_regression, which is not set"),
        (
            {"max_regression": 0, "regression_test": "observed", "alpha": 0.05},
            "field 'alpha': only applies with regression_test = 'noninferiority' or 'mcnemar'",
        ),
        (
            {"max_regression": 0, "regression_test": "ttest"},
            "expected 'noninferiority', 'mcnemar' or 'observed', found 'ttest'",
        ),
        ({"max_regression": 0, "regression_test": "mcnemar", "alpha": 0.9}, "field 'alpha'"),
        ({"data": "yes"}, "field 'data': expected true or false, found 'yes'"),
        ({"schema_compat": 1}, "field 'schema_compat': expected true or false"),
        ({"suites": ["a"]}, "field 'suites': expected a table of suite id = gates"),
        (
            {"suites": {"a": {"data": True}}},
            "[tool.arcanos_eval.gates.suites.a] field 'data': applies to the whole run",
        ),
        (
            {"suites": {"a": {"pass_rat": {}}}},
            "[tool.arcanos_eval.gates.suites.a]: unknown gate 'pass_rat' (did you mean 'pass_rate'",
        ),
        ({"suites": {"a": 3}}, "[tool.arcanos_eval.gates.suites.a]: expected a table"),
    ],
)
def test_bad_configuration_fails_with_a_message_naming_the_field(table, message):
    with pytest.raises(GateConfigError) as info:
        parse_gates(table)
    assert message in str(info.value)
    assert isinstance(info.value, UsageError)


def test_evaluate_validates_the_header_gates():
    with pytest.raises(GateConfigError, match="unknown gate"):
        evaluate(make_log([], {"pass_rates": {}}))


# ------------------------------------------------------------------------------ each gate


def test_pass_rate_passes_at_the_threshold_and_fails_below():
    records = paired([(True, True)] * 19 + [(True, False)])
    ok = evaluate(make_log(records, {"pass_rate": {"happy_path": 0.95}}))
    result = gate(ok, "pass_rate[happy_path]")
    assert result.passed and result.measured == 0.95
    assert result.evidence.startswith("19/20 candidate cases passed, Wilson 95% [")
    hold = evaluate(make_log(records, {"pass_rate": {"happy_path": 0.96}}))
    assert not gate(hold, "pass_rate[happy_path]").passed


def test_pass_rate_all_and_base_target():
    records = paired([(False, True), (True, True)])
    evaluation = evaluate(
        make_log(records, {"pass_rate": {"all": 1.0}, "pass_rate_base": {"happy_path": 0.6}})
    )
    assert gate(evaluation, "pass_rate[all]").passed
    base = gate(evaluation, "pass_rate_base[happy_path]")
    assert not base.passed and base.measured == 0.5 and "base cases" in base.evidence


def test_pass_rate_for_a_category_with_no_case_fails_as_not_evaluable():
    evaluation = evaluate(make_log(paired([(True, True)]), {"pass_rate": {"adversarial": 1.0}}))
    result = gate(evaluation, "pass_rate[adversarial]")
    assert not result.passed and result.measured is None
    assert "not evaluable: no 'adversarial' case answered by candidate" in result.evidence


def test_errored_cases_are_left_out_of_pass_rates_and_said_so():
    records = [*paired([(True, True)]), rec("e", "base"), rec("e", "candidate", errored=True)]
    result = gate(
        evaluate(make_log(records, {"pass_rate": {"happy_path": 1.0}})), "pass_rate[happy_path]"
    )
    assert result.passed and "1 errored case(s) not counted" in result.evidence


def test_max_regression_plain():
    records = paired([(True, True)] * 9 + [(True, False)])
    observed = {"regression_test": "observed"}
    strict = evaluate(make_log(records, {"max_regression": 0.0, **observed}))
    result = gate(strict, "max_regression[happy_path]")
    assert not result.passed and result.measured == pytest.approx(-0.1)
    assert result.evidence == "10 paired cases: 1 regressed, 0 fixed, delta -10.0 pp"
    assert gate(
        evaluate(make_log(records, {"max_regression": 0.1, **observed})),
        "max_regression[happy_path]",
    ).passed


def test_max_regression_with_mcnemar_fails_only_on_a_significant_drop():
    one_drop = paired([(True, True)] * 9 + [(True, False)])
    gates = {"max_regression": 0.0, "regression_test": "mcnemar", "alpha": 0.05}
    result = gate(evaluate(make_log(one_drop, gates)), "max_regression[happy_path]")
    assert result.passed and "one-sided exact McNemar p=0.5000" in result.evidence
    six_drops = paired([(True, True)] * 4 + [(True, False)] * 6)
    result = gate(evaluate(make_log(six_drops, gates)), "max_regression[happy_path]")
    # P(X >= 6 | n=6, p=1/2) = 1/64 < 0.05.
    assert not result.passed and "p=0.0156" in result.evidence


def test_max_regression_is_per_category_and_needs_paired_cases():
    records = [*paired([(True, True)]), rec("a", "candidate", category="adversarial")]
    evaluation = evaluate(make_log(records, {"max_regression": 0.0, "regression_test": "observed"}))
    assert gate(evaluation, "max_regression[happy_path]").passed
    missing = gate(evaluation, "max_regression[adversarial]")
    assert not missing.passed and "no 'adversarial' case answered by both" in missing.evidence


def test_max_regression_defaults_to_non_inferiority_and_fails_three_of_three_regressions():
    # Three cases, all regressed: McNemar's one-sided p = 0.125 reads that as "not significant"
    # and passes; the non-inferiority bound of the drop is 100%, far past any margin.
    three = paired([(True, False)] * 3)
    mcnemar = {"max_regression": 0.05, "regression_test": "mcnemar"}
    assert gate(evaluate(make_log(three, mcnemar)), "max_regression[happy_path]").passed
    result = gate(evaluate(make_log(three, {"max_regression": 0.05})), "max_regression[happy_path]")
    assert not result.passed and result.measured == pytest.approx(-1.0)
    assert result.evidence == (
        "3 paired cases: 3 regressed, 0 fixed, delta -100.0 pp, "
        "one-sided 95% Newcombe bound -100.0 pp"
    )
    assert result.threshold_text == ">= -5.0 pp at 95% confidence"
    assert result.sufficiency is not None and result.sufficiency.needed is None


def test_non_inferiority_needs_the_bound_within_the_margin():
    # The same rates (2 in 40 regressed, 2 in 40 fixed) on 40 and on 400 cases: no drop either
    # way, but only 400 cases put the one-sided 95% bound within 5 points.
    gates = {"max_regression": 0.05}
    few = paired([(True, True)] * 36 + [(True, False)] * 2 + [(False, True)] * 2)
    unsure = gate(evaluate(make_log(few, gates)), "max_regression[happy_path]")
    assert not unsure.passed and unsure.measured == pytest.approx(-0.0979, abs=1e-4)
    assert unsure.sufficiency is not None
    assert (unsure.sufficiency.cases, unsure.sufficiency.needed) == (40, 443)
    assert unsure.sufficiency.more == 403
    many = paired([(True, True)] * 360 + [(True, False)] * 20 + [(False, True)] * 20)
    result = gate(evaluate(make_log(many, gates)), "max_regression[happy_path]")
    assert result.passed and -0.05 < result.measured < 0
    assert result.sufficiency is not None and result.sufficiency.more == 0
    # alpha sets the level of the one-sided bound.
    loose = gate(evaluate(make_log(few, {**gates, "alpha": 0.3})), "max_regression[happy_path]")
    assert unsure.measured is not None and loose.measured is not None
    assert unsure.measured < loose.measured < 0
    assert "one-sided 70% Newcombe bound" in loose.evidence


@pytest.mark.parametrize("n", [29, 30])
def test_a_counting_gate_below_min_cases_fails_as_insufficient_evidence(n):
    gates = {
        "pass_rate": {"happy_path": 1.0},
        "max_regression": 0.1,
        "regression_test": "observed",
        **WAIVE_ALL_BUT_QA,
    }
    evaluation = evaluate(make_log(paired([(True, True)] * n), gates, default_floor=True))
    for name in ("pass_rate[happy_path]", "max_regression[happy_path]"):
        result = gate(evaluation, name)
        assert result.passed is (n >= 30)
        assert result.sufficiency is not None
        assert (result.sufficiency.needed, result.sufficiency.more) == (30, max(0, 30 - n))
        if n < 30:
            assert result.evidence.startswith("insufficient evidence (n=29, min_cases 30): ")
    assert evaluation.verdict.promote is (n >= 30)


def test_min_cases_is_set_run_wide_and_per_suite():
    records = paired([(True, True)] * 5, suite="small") + paired([(True, True)] * 12, suite="big")
    gates = {
        "pass_rate": {"happy_path": 0.9},
        "min_cases": 10,
        "suites": {"small": {"min_cases": 5}},
    }
    evaluation = evaluate(make_log(records, gates))
    small = gate(evaluation, "pass_rate[happy_path]", "suite small")
    assert small.passed and small.threshold == 0.9  # the suite inherits the run-wide bar
    assert gate(evaluation, "pass_rate[happy_path]", "all suites except small").passed
    higher = evaluate(make_log(records, {**gates, "suites": {"small": {"min_cases": 6}}}))
    assert not gate(higher, "pass_rate[happy_path]", "suite small").passed
    strict = evaluate(make_log(records, {**gates, "suites": {}}))
    result = gate(strict, "pass_rate[happy_path]")
    assert result.passed and result.sufficiency == Sufficiency(17, 17)
    floor = evaluate(make_log(records, {**gates, "min_cases": 20, "suites": {}}))
    short = gate(floor, "pass_rate[happy_path]")
    assert not short.passed and short.sufficiency == Sufficiency(17, 20)
    assert short.sufficiency.more == 3


def test_a_pass_rate_below_its_bar_cannot_pass_at_these_rates():
    result = gate(
        evaluate(make_log(paired([(True, False)] * 40), {"pass_rate": {"happy_path": 0.5}})),
        "pass_rate[happy_path]",
    )
    assert not result.passed and result.sufficiency == Sufficiency(40, None)
    assert result.sufficiency.more is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"min_cases": 10}, "[tool.arcanos_eval.gates] field 'min_cases': only applies to"),
        (
            {"latency_p95_ms": 10, "suites": {"a": {"min_cases": 10}}},
            "[tool.arcanos_eval.gates.suites.a] field 'min_cases': only applies to pass_rate",
        ),
        ({"pass_rate": {"all": 1}, "min_cases": 0}, "field 'min_cases': expected an integer >= 1"),
        ({"pass_rate": {"all": 1}, "min_cases": 2.5}, "field 'min_cases': expected an integer"),
    ],
)
def test_min_cases_needs_a_counting_gate(table, message):
    with pytest.raises(GateConfigError) as info:
        parse_gates(table)
    assert message in str(info.value)


def test_min_cases_with_counting_gates_only_in_suite_tables_is_accepted():
    gates = parse_gates({"min_cases": 5, "suites": {"a": {"pass_rate": {"all": 0.9}}}})
    assert [(s.name, s.suite, s.min_cases) for s in gates.specs] == [("pass_rate[all]", "a", 5)]


@pytest.mark.parametrize(
    ("key", "threshold", "passes"),
    [
        ("latency_p50_ms", 300, True),
        ("latency_p50_ms", 299, False),
        ("latency_p95_ms", 480, True),
        ("latency_p95_ms", 479, False),
    ],
)
def test_latency_budgets(key, threshold, passes):
    records = [rec(f"c{i}", "candidate", latency=100.0 * (i + 1)) for i in range(5)]
    records += [rec("slow", "base", latency=9999.0)]  # the base does not count
    result = gate(evaluate(make_log(records, {key: threshold})), key)
    assert result.passed is passes
    assert result.measured == (300.0 if key == "latency_p50_ms" else 480.0)


def test_errored_answers_are_left_out_of_latency():
    records = [rec("a", "candidate", latency=100.0), rec("b", "candidate", errored=True)]
    result = gate(evaluate(make_log(records, {"latency_p95_ms": 100})), "latency_p95_ms")
    assert result.passed and result.evidence.endswith("over 1 answers")


def test_ttft_needs_streamed_answers():
    plain = [rec("a", "candidate")]
    result = gate(evaluate(make_log(plain, {"ttft_p95_ms": 500})), "ttft_p95_ms")
    assert not result.passed and "no streamed answer" in result.evidence
    streamed = [rec("a", "candidate", ttft=300.0), rec("b", "candidate", ttft=700.0)]
    result = gate(evaluate(make_log(streamed, {"ttft_p95_ms": 500})), "ttft_p95_ms")
    assert not result.passed and result.measured == pytest.approx(680.0)


def test_latency_ratio():
    records = [rec("a", "base", latency=1000.0), rec("a", "candidate", latency=1100.0)]
    assert gate(evaluate(make_log(records, {"latency_p95_ratio": 1.1})), "latency_p95_ratio").passed
    result = gate(evaluate(make_log(records, {"latency_p95_ratio": 1.05})), "latency_p95_ratio")
    assert not result.passed and result.measured == pytest.approx(1.1)


def test_tokens_ratio():
    records = [rec("a", "base", tokens=(100, 100)), rec("a", "candidate", tokens=(100, 150))]
    result = gate(evaluate(make_log(records, {"tokens_ratio": 1.2})), "tokens_ratio")
    assert not result.passed and result.measured == pytest.approx(1.25)
    assert gate(evaluate(make_log(records, {"tokens_ratio": 1.25})), "tokens_ratio").passed


def test_cost_ratio_uses_each_targets_prices():
    records = [rec("a", "base", tokens=(1000, 100)), rec("a", "candidate", tokens=(1000, 100))]
    prices = {
        "base": {"prices": {"input_per_mtok": 2.0, "output_per_mtok": 8.0}},
        "candidate": {"prices": {"input_per_mtok": 3.0, "output_per_mtok": 12.0}},
    }
    result = gate(evaluate(make_log(records, {"cost_ratio": 1.5}, targets=prices)), "cost_ratio")
    assert result.passed and result.measured == pytest.approx(1.5)
    assert not gate(
        evaluate(make_log(records, {"cost_ratio": 1.4}, targets=prices)), "cost_ratio"
    ).passed
    no_prices = gate(evaluate(make_log(records, {"cost_ratio": 1.5})), "cost_ratio")
    assert not no_prices.passed and "target 'base' has no prices" in no_prices.evidence


SCHEMA_SUITES = {
    "bound": {"response_schema": {"type": "object"}},
    "free": {"response_schema": None},
}


def test_schema_violations_count_candidate_answers_in_schema_bound_suites():
    records = [
        rec("a", "candidate", suite="bound", checks=[("schema", True), ("json", False)]),
        rec("b", "candidate", suite="bound", checks=[("schema", False)]),
        rec("c", "base", suite="bound", checks=[("schema", False)]),
        rec("d", "candidate", suite="free", checks=[("schema", False)]),  # no schema: ignored
    ]
    result = gate(
        evaluate(make_log(records, {"schema_violations": 0}, suites=SCHEMA_SUITES)),
        "schema_violations",
    )
    assert not result.passed and result.measured == 1
    assert result.evidence == (
        "1 of 2 candidate answers in bound failed the schema check (base: 1 of 1)"
    )
    assert gate(
        evaluate(make_log(records, {"schema_violations": 1}, suites=SCHEMA_SUITES)),
        "schema_violations",
    ).passed


def test_schema_violations_without_a_schema_bound_suite_fails():
    records = [rec("a", "candidate", suite="free")]
    result = gate(
        evaluate(
            make_log(records, {"schema_violations": 0}, suites={"free": {"response_schema": None}})
        ),
        "schema_violations",
    )
    assert not result.passed and "no suite in scope declares a response_schema" in result.evidence
    without_check = [rec("a", "candidate", suite="bound")]
    result = gate(
        evaluate(make_log(without_check, {"schema_violations": 0}, suites=SCHEMA_SUITES)),
        "schema_violations",
    )
    assert not result.passed and "ran the schema check" in result.evidence


def calibrated(log: RunLog, *graders: tuple[str, str]) -> RunLog:
    """``log`` with each (target, role) grader calibrated, so its gates count its checks."""
    for target, role in graders:
        log.calibration[(target, role)] = CalibrationRecord(target, role, "calibrated")  # type: ignore[arg-type]
    return log


def test_moderation_drift():
    records = [rec(f"b{i}", "base", checks=[("moderation", True)]) for i in range(4)]
    records += [rec(f"c{i}", "candidate", checks=[("moderation", i != 0)]) for i in range(4)]

    def drift(log: RunLog) -> Any:
        # The moderation check's default grader is the target named "moderation".
        return gate(evaluate(calibrated(log, ("moderation", "moderation"))), "moderation_drift")

    result = drift(make_log(records, {"moderation_drift": 0.2}))
    assert not result.passed and result.measured == pytest.approx(0.25)
    assert result.evidence == "flagged: candidate 1/4 (25.0%), base 0/4 (0.0%)"
    assert drift(make_log(records, {"moderation_drift": 0.25})).passed
    # An explicit ``flagged`` detail wins over pass/fail.
    flagged = [
        rec("b", "base", checks=[("moderation", True)], details={"flagged": False}),
        rec("c", "candidate", checks=[("moderation", True)], details={"flagged": True}),
    ]
    assert drift(make_log(flagged, {"moderation_drift": 0.5})).measured == 1.0
    none = drift(make_log(paired([(True, True)]), {"moderation_drift": 0.0}))
    assert not none.passed and "no moderation check ran" in none.evidence


def test_a_gate_resting_on_an_uncalibrated_grader_fails_saying_why():
    records = [rec(f"b{i}", "base", checks=[("moderation", True)]) for i in range(4)]
    records += [rec(f"c{i}", "candidate", checks=[("moderation", True)]) for i in range(4)]
    table = {"moderation_drift": 0.0, "pass_rate": {"all": 0.5}, "latency_p95_ms": 1000}
    # No calibration in the log: the grader is not trusted, and the gates reading it fail.
    missing = evaluate(make_log(records, table))
    drift = gate(missing, "moderation_drift")
    assert not drift.passed and drift.measured == 0.0
    assert drift.evidence == (
        "grader not calibrated: moderation 'moderation': no calibration in the run log "
        "(run again to calibrate it); flagged: candidate 0/4 (0.0%), base 0/4 (0.0%)"
    )
    assert not gate(missing, "pass_rate[all]").passed
    assert gate(missing, "latency_p95_ms").passed, "a gate that reads no check is not affected"
    # A grader that failed calibration: the gates say so, with its figures.
    log = make_log(records, table)
    answers = tuple(CalibrationAnswer(f"i{i}", expected=i < 5, verdict=True) for i in range(10))
    log.calibration[("moderation", "moderation")] = CalibrationRecord(
        "moderation", "moderation", "failed", answers, 0.8, 0.0
    )
    failed = gate(evaluate(log), "moderation_drift")
    assert not failed.passed
    assert failed.evidence.startswith(
        "grader failed calibration: moderation 'moderation' agreed on 5 of 10 calibration "
        "items (flags all); flagged: "
    )
    # Calibrated, the same records pass.
    log.calibration[("moderation", "moderation")] = CalibrationRecord(
        "moderation", "moderation", "calibrated"
    )
    assert gate(evaluate(log), "moderation_drift").passed
    assert gate(evaluate(log), "pass_rate[all]").passed


def test_only_the_categories_whose_checks_use_the_grader_fail():
    records = paired([(True, True)] * 2, category="happy_path")
    records += [
        rec(f"m{i}", target, category="adversarial", checks=[("judge", True)])
        for i in range(2)
        for target in ("base", "candidate")
    ]
    table = {
        "pass_rate": {"happy_path": 0.5, "adversarial": 0.5},
        "max_regression": 0.0,
        "regression_test": "observed",
    }
    ev = evaluate(make_log(records, table))
    assert gate(ev, "pass_rate[happy_path]").passed
    assert gate(ev, "max_regression[happy_path]").passed
    for name in ("pass_rate[adversarial]", "max_regression[adversarial]"):
        result = gate(ev, name)
        assert not result.passed and result.evidence.startswith(
            "grader not calibrated: judge 'judge'"
        )


def test_data_gate():
    log = make_log(paired([(True, True)]), {"data": True})
    missing = evaluate(log)
    assert not gate(missing, "data").passed
    assert "no training-data report was supplied" in gate(missing, "data").evidence
    good = evaluate(log, data_report={"passed": True, "verdict": "PASS: 0 errors"})
    assert gate(good, "data").passed and gate(good, "data").evidence == "PASS: 0 errors"
    bad = evaluate(log, data_report={"passed": False, "verdict": "FAIL: 3 PII findings"})
    assert not gate(bad, "data").passed and bad.verdict.decision == "HOLD"


def test_a_supplied_data_report_is_evaluated_unless_data_is_false():
    qa = {"pass_rate": {"happy_path": 1.0}}
    log = make_log(paired([(True, True)]), qa)
    implicit = evaluate(log, data_report={"passed": False, "verdict": "FAIL: secrets"})
    assert not gate(implicit, "data").passed
    ignored = evaluate(
        make_log(paired([(True, True)]), {**qa, "data": False}),
        data_report={"passed": False, "verdict": "FAIL"},
    )
    assert [g.name for g in ignored.gates] == ["pass_rate[happy_path]"]
    item = next(i for i in ignored.checklist if i.invariant == "data_sanitized")
    assert item.status == "not evaluated" and "data = false" in item.evidence
    with pytest.raises(GateConfigError, match="'passed' field"):
        evaluate(log, data_report={"verdict": "PASS"})


# ------------------------------------------------------------------------------ custom gates


@pytest.fixture
def registry():  # type: ignore[no-untyped-def]
    """The gate registry as it was, restored after the test registers its own gates."""
    saved = dict(gate_registry._REGISTRY)
    yield gate_registry._REGISTRY
    gate_registry._REGISTRY.clear()
    gate_registry._REGISTRY.update(saved)


def _longest_answer(spec: GateSpec, scope: Scope) -> list[Measurement]:
    lengths = [len(r.response.text or "") for r in scope.records if r.target == scope.candidate]
    if not lengths:
        raise NoEvidence(f"no answer from {scope.candidate}")
    longest = max(lengths)
    evidence = f"longest {scope.candidate} answer: {longest} characters"
    return [Measurement(None, float(longest), longest <= spec.threshold, evidence)]


def test_a_registered_gate_is_configured_evaluated_and_listed(registry):
    with pytest.raises(GateConfigError, match=r"unknown gate 'answer_chars_max'"):
        parse_gates({"answer_chars_max": 10})
    register_gate("answer_chars_max", unit="count", invariant="latency")(_longest_answer)
    records = paired([(True, True)] * 3)  # every answer is "answer": 6 characters

    waive = {"waive": {"qa": "not measured here", "schema": "no schema", "data": "no data"}}
    passing = evaluate(make_log(records, {"latency_p95_ms": 2500, "answer_chars_max": 10, **waive}))
    result = gate(passing, "answer_chars_max")
    assert (result.passed, result.measured, result.threshold) == (True, 6.0, 10.0)
    assert result.evidence == "longest candidate answer: 6 characters"
    assert result.threshold_text == "<= 10" and result.invariant == "latency"
    # Custom gates follow the built-ins in the report's gate table.
    assert [g.name for g in passing.gates] == ["latency_p95_ms", "answer_chars_max"]
    latency = next(i for i in passing.checklist if i.invariant == "latency")
    assert latency.status == "pass" and "answer_chars_max" in latency.gates
    assert passing.verdict.promote

    failing = evaluate(make_log(records, {"answer_chars_max": 5}))
    assert not gate(failing, "answer_chars_max").passed
    assert failing.verdict.failing == ("answer_chars_max",)

    # Per-suite overrides take the custom key too; a scope without evidence fails.
    scoped = evaluate(make_log(records, {"suites": {"s": {"answer_chars_max": 5}}}))
    assert not gate(scoped, "answer_chars_max", "suite s").passed
    empty = evaluate(make_log(paired([]), {"answer_chars_max": 5}))
    assert gate(empty, "answer_chars_max").evidence == "not evaluable: no answer from candidate"


def test_a_custom_gate_reads_case_verdicts_unless_it_says_what_it_reads(registry):
    register_gate("answer_chars_max", unit="count")(_longest_answer)
    register_gate("answer_chars_min", unit="count", reads=())(_longest_answer)
    register_gate("answer_chars_mod", unit="count", reads=("moderation",))(_longest_answer)
    # Every case has a judge check, and the judge was never calibrated.
    records = [
        rec(f"c{i}", target, checks=[("judge", True)])
        for i in range(2)
        for target in ("base", "candidate")
    ]
    table = {"answer_chars_max": 10, "answer_chars_min": 10, "answer_chars_mod": 10}
    ev = evaluate(make_log(records, table))
    fails = gate(ev, "answer_chars_max")
    assert not fails.passed and fails.evidence.startswith("grader not calibrated: judge 'judge'")
    assert gate(ev, "answer_chars_min").passed, "it reads no check"
    assert gate(ev, "answer_chars_mod").passed, "it reads no judge check"


def test_a_custom_gate_takes_a_finite_number(registry):
    register_gate("answer_chars_max", unit="count")(_longest_answer)
    for value in ("long", True, float("nan")):
        with pytest.raises(GateConfigError) as info:
            parse_gates({"answer_chars_max": value})
        assert str(info.value) == (
            "[tool.arcanos_eval.gates] field 'answer_chars_max': expected a finite number, "
            f"found {value!r}"
        )


def test_registering_a_gate_checks_its_key_and_description(registry):
    with pytest.raises(GateConfigError, match="reserved"):
        register_gate("alpha", unit="count")(_longest_answer)
    with pytest.raises(GateConfigError, match="unit must be one of"):
        register_gate("answer_chars_max", unit="chars")(_longest_answer)  # type: ignore[arg-type]
    with pytest.raises(GateConfigError, match="invariant must be one of"):
        register_gate("answer_chars_max", unit="count", invariant="speed")(_longest_answer)  # type: ignore[arg-type]
    with pytest.raises(GateConfigError, match="'pass_rate' is already registered"):
        register_gate("pass_rate", unit="rate")(_longest_answer)
    assert "answer_chars_max" not in registry


# ------------------------------------------------------------------------------ scopes


def test_per_suite_overrides_replace_the_run_wide_gate_for_that_suite():
    records = paired([(True, True), (True, False)], suite="hard")
    records += paired([(True, True)] * 3, suite="easy")
    gates = {
        "pass_rate": {"happy_path": 0.9},
        "suites": {"hard": {"pass_rate": {"happy_path": 0.5}}},
        **WAIVE_ALL_BUT_QA,
    }
    evaluation = evaluate(make_log(records, gates))
    rest = gate(evaluation, "pass_rate[happy_path]", "all suites except hard")
    hard = gate(evaluation, "pass_rate[happy_path]", "suite hard")
    assert rest.passed and rest.measured == 1.0
    assert hard.passed and hard.measured == 0.5
    assert hard.label == "pass_rate[happy_path] (suite hard)"
    assert evaluation.verdict.promote


def test_a_run_wide_gate_with_nothing_left_after_overrides_is_skipped():
    records = [rec("a", "candidate", suite="only", latency=100.0)]
    gates = {"latency_p95_ms": 50, "suites": {"only": {"latency_p95_ms": 200}}}
    evaluation = evaluate(make_log(records, gates))
    assert [(g.name, g.scope, g.passed) for g in evaluation.gates] == [
        ("latency_p95_ms", "suite only", True)
    ]


def test_an_override_for_a_suite_absent_from_the_run_fails():
    gates = {"suites": {"ghost": {"latency_p95_ms": 200}}}
    result = gate(
        evaluate(make_log([rec("a", "candidate")], gates)), "latency_p95_ms", "suite ghost"
    )
    assert not result.passed and "suite 'ghost' has no result in this run" in result.evidence


# ------------------------------------------------------------------------------ verdict


def test_promote_when_every_gate_passes():
    evaluation = evaluate(
        make_log(
            paired([(True, True)] * 3),
            {
                "pass_rate": {"happy_path": 1.0},
                "max_regression": 0.0,
                "regression_test": "observed",
                **WAIVE_ALL_BUT_QA,
            },
        )
    )
    assert evaluation.verdict.decision == "PROMOTE" and evaluation.verdict.exit_status == 0
    assert evaluation.verdict.failing == () and evaluation.verdict.gates == 2


def test_hold_names_the_failing_gates_and_the_rollback_target():
    evaluation = evaluate(
        make_log(
            paired([(True, False)]),
            {"pass_rate": {"happy_path": 1.0}, "latency_p95_ms": 1000},
            rollback="previous",
        )
    )
    v = evaluation.verdict
    assert v.decision == "HOLD" and v.failing == ("pass_rate[happy_path]",)
    assert v.rollback == "previous" and v.exit_status == 1


def test_errored_calls_do_not_change_the_verdict_but_the_exit_status():
    records = [*paired([(True, True)]), rec("e", "candidate", errored=True)]
    evaluation = evaluate(make_log(records, {"pass_rate": {"happy_path": 1.0}, **WAIVE_ALL_BUT_QA}))
    assert evaluation.verdict.promote and evaluation.verdict.exit_status == 3
    failing = evaluate(make_log(records, {"pass_rate": {"happy_path": 1.0}, "latency_p95_ms": 1}))
    assert failing.verdict.exit_status == 1


def test_no_gate_is_a_usage_error_saying_how_to_add_them():
    for table in (None, {}, {"data": False}, {"waive": {"data": "synthetic"}}):
        with pytest.raises(GateConfigError) as info:
            evaluate(make_log(paired([(True, False)]), table))
        assert str(info.value).startswith("run log r recorded no release gates: add ")
        assert "--gates-from PYPROJECT" in str(info.value)
    with pytest.raises(GateConfigError) as given:
        evaluate(make_log(paired([(True, False)]), {"pass_rate": {"all": 1.0}}), {})
    assert str(given.value) == (
        "no release gates configured: add [tool.arcanos_eval.gates] to pyproject.toml "
        "(pass_rate, max_regression, ...; the bundled pyproject.toml has an example)"
    )
    # A supplied data report alone is evidence, not a release policy.
    with pytest.raises(GateConfigError, match="no release gates"):
        evaluate(make_log(paired([(True, True)])), data_report={"passed": True})


def test_an_invariant_neither_evaluated_nor_waived_holds_the_release():
    records = paired([(True, True)] * 3)
    evaluation = evaluate(make_log(records, {"pass_rate": {"happy_path": 1.0}}))
    v = evaluation.verdict
    assert v.decision == "HOLD" and v.exit_status == 1 and v.failing == ()
    assert v.unmet == (
        "schema stable: not evaluated and not waived",
        "data sanitized: not evaluated and not waived",
        "latency targets: not evaluated and not waived",
    )
    data = next(i for i in evaluation.checklist if i.invariant == "data_sanitized")
    assert data.status == "not evaluated" and data.waiver is None
    assert data.evidence.startswith("not evaluated and not waived: supply a training-data report")
    # Waiving two of the three still holds, on the one left.
    two = {"waive": {"schema": "no schema", "latency": "offline"}}
    held = evaluate(make_log(records, {"pass_rate": {"happy_path": 1.0}, **two})).verdict
    assert not held.promote and held.unmet == ("data sanitized: not evaluated and not waived",)


def test_a_waiver_with_a_reason_lets_an_unevaluated_invariant_pass():
    records = paired([(True, True)] * 3)
    gates = {
        "pass_rate": {"happy_path": 1.0},
        "latency_p95_ms": 2500,
        "waive": {"data": "  trained on synthetic data only ", "schema_stable": "free text"},
    }
    evaluation = evaluate(make_log(records, gates))
    v = evaluation.verdict
    assert v.promote and v.unmet == ()
    assert v.waived == (
        ("schema stable", "free text"),
        ("data sanitized", "trained on synthetic data only"),
    )
    items = {i.invariant: i for i in evaluation.checklist}
    assert items["data_sanitized"].status == "waived"
    assert items["data_sanitized"].evidence == "waived: trained on synthetic data only"
    assert items["latency"].status == "pass" and items["latency"].waiver is None
    # A waived invariant whose gate was evaluated anyway (a supplied data report) is decided by
    # the evidence: a failing report holds.
    reported = evaluate(
        make_log(records, gates), data_report={"passed": False, "verdict": "FAIL: secrets"}
    )
    item = next(i for i in reported.checklist if i.invariant == "data_sanitized")
    assert item.status == "fail" and item.waiver is None and "waiver is not used" in item.evidence
    assert reported.verdict.failing == ("data",)
    assert reported.verdict.waived == (("schema stable", "free text"),)


@pytest.mark.parametrize(
    ("waive", "message"),
    [
        (
            {"data_sanitised": "x"},
            "field 'waive.data_sanitised': unknown field 'data_sanitised' "
            "(did you mean 'data_sanitized'?)",
        ),
        ({"data": ""}, "field 'waive.data': expected a non-empty reason"),
        ({"data": "   "}, "field 'waive.data': expected a non-empty reason"),
        ({"latency": True}, "field 'waive.latency': expected a non-empty reason"),
        ("data", "field 'waive': expected a table of invariant = reason"),
        ({"data": "a", "data_sanitized": "b"}, "data_sanitized is waived twice"),
        (
            {"qa": "trust me"},
            "field 'waive.qa': baseline_qa is backed by the configured gate(s) "
            "pass_rate[happy_path]; a waiver is for an invariant no gate evaluates",
        ),
    ],
)
def test_waivers_are_validated_at_start_up(waive, message):
    with pytest.raises(GateConfigError) as info:
        parse_gates({"pass_rate": {"happy_path": 1.0}, "waive": waive})
    assert message in str(info.value)
    with pytest.raises(GateConfigError, match="applies to the whole run"):
        parse_gates({"suites": {"s": {"latency_p95_ms": 1, "waive": {"data": "x"}}}})


def test_waivers_accept_the_ids_and_the_short_aliases():
    ids = parse_gates({"pass_rate": {"all": 1.0}, "waive": dict.fromkeys(_INVARIANTS[1:], "r")})
    aliases = parse_gates(
        {"pass_rate": {"all": 1.0}, "waive": {"latency": "r", "schema": "r", "data": "r"}}
    )
    assert ids.waivers == aliases.waivers == tuple((i, "r") for i in _INVARIANTS[1:])
    assert parse_gates({"latency_p95_ms": 1, "waive": {"qa": "r"}}).waivers == (
        ("baseline_qa", "r"),
    )


_INVARIANTS = ("baseline_qa", "schema_stable", "data_sanitized", "latency")


def test_checklist_maps_gates_to_the_four_invariants():
    records = paired([(True, True)], latency=500.0)
    evaluation = evaluate(
        make_log(
            records, {"pass_rate": {"happy_path": 1.0}, "latency_p95_ms": 100, "tokens_ratio": 1.0}
        )
    )
    items = {i.invariant: i for i in evaluation.checklist}
    assert items["baseline_qa"].status == "pass"
    assert items["baseline_qa"].gates == ("pass_rate[happy_path]",)
    assert items["latency"].status == "fail"
    assert (
        items["latency"].evidence
        == "1 of 1 gate(s) failed: latency_p95_ms 500 ms (needs <= 100 ms)"
    )
    assert items["schema_stable"].status == "not evaluated"
    assert items["data_sanitized"].status == "not evaluated"
    # tokens_ratio backs no invariant but still decides the verdict.
    assert evaluation.verdict.failing == ("latency_p95_ms",)


def test_gates_from_the_argument_replace_the_header_table():
    log = make_log(paired([(True, False)]), {"pass_rate": {"happy_path": 1.0}})
    assert evaluate(log).verdict.decision == "HOLD"
    given = {"pass_rate": {"happy_path": 0.0}, "min_cases": 1, **WAIVE_ALL_BUT_QA}
    assert evaluate(log, given).verdict.decision == "PROMOTE"


# ------------------------------------------------------------------------------ schema_compat

OLD_SCHEMA = {
    "type": "object",
    "required": ["category"],
    "properties": {"category": {"enum": ["riddle", "logic"]}},
}


def _compat_log(new_schema: Any, record: Any = OLD_SCHEMA, **extra: Any) -> RunLog:
    suites = {"bound": {"response_schema": new_schema, "schema_of_record": record}, **extra}
    return make_log([rec("a", "candidate", suite="bound")], {"schema_compat": True}, suites=suites)


def test_schema_compat_passes_when_the_schema_is_unchanged_or_narrowed():
    same = gate(evaluate(_compat_log(OLD_SCHEMA)), "schema_compat")
    assert same.passed and same.measured == 0
    assert same.evidence == "1 schema-bound suite(s): 1 unchanged, 0 changed compatibly"
    narrowed = {**OLD_SCHEMA, "properties": {"category": {"enum": ["riddle"]}}}
    result = gate(evaluate(_compat_log(narrowed)), "schema_compat")
    assert result.passed and "1 changed compatibly" in result.evidence


def test_schema_compat_fails_on_a_breaking_change_naming_the_path():
    widened = {**OLD_SCHEMA, "properties": {"category": {"enum": ["riddle", "logic", "cipher"]}}}
    evaluation = evaluate(_compat_log(widened))
    result = gate(evaluation, "schema_compat")
    assert not result.passed and result.measured == 1
    assert "breaking: bound $.properties.category:" in result.evidence
    assert "cipher" in result.evidence
    assert next(i for i in evaluation.checklist if i.invariant == "schema_stable").status == "fail"


def test_schema_compat_without_a_schema_of_record_fails():
    result = gate(evaluate(_compat_log(OLD_SCHEMA, record=None)), "schema_compat")
    assert not result.passed and "no schema of record for bound" in result.evidence
    nothing = make_log(
        [rec("a", "candidate", suite="free")],
        {"schema_compat": True},
        suites={"free": {"response_schema": None}},
    )
    result = gate(evaluate(nothing), "schema_compat")
    assert not result.passed and "no suite in scope declares a response_schema" in result.evidence
