"""The built-in gates: one evaluator per key, registered with :func:`~arcanos_eval.gates.gate`.

The order of definition is the order of the report's gate table. Each evaluator measures one
:class:`~arcanos_eval.gates.Scope` and returns :class:`~arcanos_eval.gates.Measurement` values,
or raises :class:`~arcanos_eval.gates.NoEvidence` saying what is missing (the gate then fails).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from arcanos_eval.compare import ALL_CATEGORIES, TargetOutcome, format_count, pass_count
from arcanos_eval.errors import GateConfigError
from arcanos_eval.gates._scope import Measurement, NoEvidence, NotMeasurable, Scope, Sufficiency
from arcanos_eval.gates._spec import GateSpec, gate
from arcanos_eval.stats import (
    TargetStats,
    format_ms,
    format_p,
    format_percent,
    format_points,
    format_usd,
    mcnemar_exact,
    noninferiority_cases_needed,
    paired_difference_interval,
    wilson_interval,
)

__all__: list[str] = []

_EPSILON = 1e-12  # thresholds are compared with a hair of slack against float rounding


def _latency_measured(scope: Scope) -> None:
    if scope.header.mode == "batch":
        # Batch answers carry no per-request latency; a gate must not pass on replayed leftovers.
        raise NotMeasurable(
            "not measurable in batch mode: the Batch API reports no per-request latency "
            "(measure latency with a live run)"
        )


def _outcomes(scope: Scope, target: str, category: str) -> list[TargetOutcome]:
    side = "base" if target == scope.baseline else "candidate"
    chosen = []
    for case in scope.cases:
        outcome: TargetOutcome | None = getattr(case, side)
        if category in (ALL_CATEGORIES, case.category) and outcome is not None:
            chosen.append(outcome)
    return chosen


def _pass_rate(spec: GateSpec, scope: Scope, target: str) -> list[Measurement]:
    category = spec.category or ALL_CATEGORIES
    outcomes = _outcomes(scope, target, category)
    judged = [o for o in outcomes if not o.errored]
    if not judged:
        what = "case" if category == ALL_CATEGORIES else f"{category!r} case"
        raise NoEvidence(f"no {what} answered by {target} without error")
    passed = pass_count(judged)  # fractional when `mean` cases count part of themselves
    rate = passed / len(judged)
    interval = wilson_interval(passed, len(judged))
    errored = len(outcomes) - len(judged)
    evidence = (
        f"{format_count(passed)}/{len(judged)} {target} cases passed, Wilson 95% "
        f"[{format_percent(interval.low)}, {format_percent(interval.high)}]"
        + (f"; {errored} errored case(s) not counted" if errored else "")
    )
    reaches = rate >= spec.threshold - _EPSILON
    sufficiency = _sufficiency(spec, len(judged), reaches, None)
    return [_floored(spec, Measurement(None, rate, reaches, evidence, sufficiency))]


def _sufficiency(spec: GateSpec, cases: int, passes: bool, needed: int | None) -> Sufficiency:
    """What a counting gate needs: a passing one, ``min_cases``; a failing one, the cases at
    which it would pass at the observed rates (``needed``; ``None`` when no number would do)."""
    if passes:
        return Sufficiency(cases, max(cases, spec.min_cases))
    return Sufficiency(cases, None if needed is None else max(needed, spec.min_cases))


def _floored(spec: GateSpec, measurement: Measurement) -> Measurement:
    """Fail a counting gate measured on fewer than ``min_cases`` cases, whatever it found: a
    handful of cases passes a pass-rate bar by luck far too often to promote on."""
    sufficiency = measurement.sufficiency
    if sufficiency is None or sufficiency.cases >= spec.min_cases:
        return measurement
    return measurement._replace(
        passed=False,
        evidence=f"insufficient evidence (n={sufficiency.cases}, min_cases {spec.min_cases}): "
        + measurement.evidence,
    )


def _regression_verdict(
    spec: GateSpec, delta: float, both: int, regressed: int, fixed: int, neither: int
) -> tuple[float, bool, str, int | None]:
    """What ``max_regression`` makes of one category's paired table under its test.

    ``delta`` is the observed mean difference of the paired pass values (``(fixed - regressed) /
    n`` unless a suite reduces repeats by their mean). Returns the value the threshold is
    compared with (a delta, candidate minus base, in points),
    whether it passes, the test's clause of the evidence, and, when it fails, the cases at which
    it would pass at these rates (``None``: no number would do).
    """
    margin = spec.threshold
    within = delta >= -margin - _EPSILON
    if spec.test == "noninferiority":
        confidence = 1.0 - spec.alpha
        # The one-sided bound is the upper end of the two-sided interval at 1 - 2 alpha.
        interval = paired_difference_interval(both, regressed, fixed, neither, 1 - 2 * spec.alpha)
        bound = -interval.high
        passes = bound >= -margin - _EPSILON
        # Failing, the cases at which it would pass 19 times in 20 if these rates held.
        needed = (
            None
            if passes
            else noninferiority_cases_needed(
                both, regressed, fixed, neither, margin, alpha=spec.alpha
            )
        )
        clause = (
            f", one-sided {format_percent(confidence, 0)} Newcombe bound {format_points(bound)}"
        )
        return bound, passes, clause, needed
    # Failing, these tests fail on the observed drop itself: more cases would not pass them.
    if spec.test == "mcnemar":
        p = mcnemar_exact(regressed, fixed, "greater")
        clause = f", one-sided exact McNemar p={format_p(p)} (alpha {spec.alpha:g})"
        return delta, not (not within and p < spec.alpha), clause, None
    return delta, within, "", None


def _max_regression(spec: GateSpec, scope: Scope) -> list[Measurement]:
    categories = sorted({c.category for c in scope.cases})
    results: list[Measurement] = []
    for category in categories:
        cases = [c for c in scope.cases if c.category == category and c.paired]
        if not cases:
            # Configured and not measurable for this category: fails, like any gate without
            # evidence.
            results.append(
                Measurement(
                    category,
                    math.nan,
                    False,
                    f"not evaluable: no {category!r} case answered by both "
                    f"{scope.baseline} and {scope.candidate} without error",
                )
            )
            continue
        fixed = sum(c.transition == "fixed" for c in cases)
        regressed = sum(c.transition == "regressed" for c in cases)
        both = sum(c.transition == "both_pass" for c in cases)
        neither = len(cases) - fixed - regressed - both
        # The mean of the paired pass-value differences (fixed minus regressed over n, unless a
        # suite reduces repeats by their mean); the tests read the paired table.
        delta = math.fsum(c.pass_delta or 0.0 for c in cases) / len(cases)
        value, ok, clause, needed = _regression_verdict(
            spec, delta, both, regressed, fixed, neither
        )
        evidence = (
            f"{len(cases)} paired cases: {regressed} regressed, {fixed} fixed, "
            f"delta {format_points(delta)}{clause}"
        )
        sufficiency = _sufficiency(spec, len(cases), ok, needed)
        results.append(_floored(spec, Measurement(category, value, ok, evidence, sufficiency)))
    if not results:
        raise NoEvidence("no case in scope")
    return results


def _latency(spec: GateSpec, scope: Scope, q: int, *, ttft: bool = False) -> list[Measurement]:
    _latency_measured(scope)
    stats = scope.stats(scope.candidate)
    if ttft:
        value, what, count = stats.ttft(q), f"time to first token p{q}", len(stats.ttfts)
        if value is None:
            raise NoEvidence(
                f"{scope.candidate} has no streamed answer (set stream = true "
                "on the target to measure time to first token)"
            )
    else:
        value, what, count = stats.latency(q), f"latency p{q}", len(stats.latencies)
        if value is None:
            raise NoEvidence(f"{scope.candidate} has no answer with a latency")
    evidence = f"{scope.candidate} {what} {format_ms(value)} over {count} answers"
    return [Measurement(None, value, value <= spec.threshold + _EPSILON, evidence)]


def _ratio(
    spec: GateSpec,
    scope: Scope,
    measure: Callable[[TargetStats], float | None],
    what: str,
    describe: Callable[[float | None], str],
) -> list[Measurement]:
    """Candidate over base of ``measure``, which reads the figure from a target's stats."""
    base, cand = scope.stats(scope.baseline), scope.stats(scope.candidate)
    top, bottom = measure(cand), measure(base)
    if top is None or not bottom:
        raise NoEvidence(
            f"no {what} to compare ({scope.baseline}: {describe(bottom)}, "
            f"{scope.candidate}: {describe(top)})"
        )
    ratio = top / bottom
    evidence = (
        f"{what}: {scope.candidate} {describe(top)} over {cand.answers} answers, "
        f"{scope.baseline} {describe(bottom)} over {base.answers}"
    )
    return [Measurement(None, ratio, ratio <= spec.threshold + _EPSILON, evidence)]


def _schema_violations(spec: GateSpec, scope: Scope) -> list[Measurement]:
    bound = sorted(s for s in scope.suites if scope.suite_info(s).response_schema)
    if not bound:
        raise NoEvidence("no suite in scope declares a response_schema")
    counts: dict[str, list[int]] = {scope.baseline: [0, 0], scope.candidate: [0, 0]}
    for record in scope.records:
        if record.suite_id in bound and record.target in counts and not record.errored:
            failed = record.failed("schema")
            if failed is not None:
                counts[record.target][0] += failed
                counts[record.target][1] += 1
    violations, checked = counts[scope.candidate]
    if not checked:
        raise NoEvidence(f"no {scope.candidate} answer in {', '.join(bound)} ran the schema check")
    base_v, base_n = counts[scope.baseline]
    evidence = (
        f"{violations} of {checked} {scope.candidate} answers in {', '.join(bound)} "
        f"failed the schema check ({scope.baseline}: {base_v} of {base_n})"
    )
    return [Measurement(None, float(violations), violations <= spec.threshold, evidence)]


def _moderation_drift(spec: GateSpec, scope: Scope) -> list[Measurement]:
    counts: dict[str, list[int]] = {scope.baseline: [0, 0], scope.candidate: [0, 0]}
    for record in scope.records:
        if record.target in counts and not record.errored:
            flagged = record.flagged("moderation")
            if flagged is not None:
                counts[record.target][0] += flagged
                counts[record.target][1] += 1
    (bf, bn), (cf, cn) = counts[scope.baseline], counts[scope.candidate]
    if not bn or not cn:
        raise NoEvidence("no moderation check ran on both targets")
    drift = cf / cn - bf / bn
    evidence = (
        f"flagged: {scope.candidate} {cf}/{cn} ({format_percent(cf / cn)}), "
        f"{scope.baseline} {bf}/{bn} ({format_percent(bf / bn)})"
    )
    return [Measurement(None, drift, drift <= spec.threshold + _EPSILON, evidence)]


def _data(spec: GateSpec, scope: Scope) -> list[Measurement]:
    report = scope.data_report
    if report is None:
        raise NoEvidence(
            "data = true, and no training-data report was supplied "
            "(arcanos-eval report --data-report PATH)"
        )
    passed = report.get("passed")
    if not isinstance(passed, bool):
        raise GateConfigError(
            f"training-data report: expected a 'passed' field of true or false, found {passed!r}"
        )
    verdict = str(report.get("verdict") or ("PASS" if passed else "FAIL"))
    return [Measurement(None, 1.0 if passed else 0.0, passed, verdict)]


def _schema_compat(spec: GateSpec, scope: Scope) -> list[Measurement]:
    bound = sorted(s for s in scope.suites if scope.suite_info(s).response_schema)
    if not bound:
        raise NoEvidence("no suite in scope declares a response_schema")
    breaking: list[str] = []
    missing: list[str] = []
    unchanged = changed = 0
    for suite in bound:
        info = scope.suite_info(suite)
        old, new = info.schema_of_record, info.response_schema or {}
        if not old:
            missing.append(suite)
            continue
        if old == new:
            unchanged += 1  # nothing to classify: skip the search for counterexamples
            continue
        # Imported here: only a changed schema needs the compatibility checker.
        from arcanos_eval.contracts import compat

        result = compat(old, new)
        found = [f for f in result.findings if f.breaking]
        if result.breaking:
            breaking.extend(f"{suite} {f.path}: {f.reason}" for f in found or result.findings)
        elif result.findings:
            changed += 1
        else:
            unchanged += 1
    if missing:
        raise NoEvidence(
            f"no schema of record for {', '.join(missing)} (record golden answers "
            "to approve the schema)"
        )
    evidence = (
        f"{len(bound)} schema-bound suite(s): {unchanged} unchanged, {changed} changed "
        "compatibly" + (f"; breaking: {'; '.join(breaking)}" if breaking else "")
    )
    return [Measurement(None, float(len(breaking)), not breaking, evidence)]


# ------------------------------------------------------------------------------ the registry
# One registered function per key, in the order of the report's gate table.


@gate("pass_rate", unit="rate", invariant="baseline_qa")
def pass_rate(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Candidate pass rate of a category (``all``: every case) >= the threshold."""
    return _pass_rate(spec, scope, scope.candidate)


@gate("pass_rate_base", unit="rate", invariant="baseline_qa")
def pass_rate_base(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """The same bar for the base target."""
    return _pass_rate(spec, scope, scope.baseline)


@gate("max_regression", unit="points", invariant="baseline_qa")
def max_regression(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Per category, the candidate may trail base by at most the threshold (or not significantly)."""
    return _max_regression(spec, scope)


@gate("schema_violations", unit="count", invariant="schema_stable", reads=("schema",))
def schema_violations(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """At most this many candidate answers fail the schema check in schema-bound suites."""
    return _schema_violations(spec, scope)


@gate("schema_compat", unit="count", invariant="schema_stable", reads=())
def schema_compat(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Each response_schema is backward compatible with the schema of record."""
    return _schema_compat(spec, scope)


@gate("data", unit="check", invariant="data_sanitized", reads=())
def data(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """The training-data report passes."""
    return _data(spec, scope)


@gate("latency_p50_ms", unit="ms", invariant="latency", reads=())
def latency_p50_ms(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Candidate latency p50 within budget."""
    return _latency(spec, scope, 50)


@gate("latency_p95_ms", unit="ms", invariant="latency", reads=())
def latency_p95_ms(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Candidate latency p95 within budget."""
    return _latency(spec, scope, 95)


@gate("ttft_p95_ms", unit="ms", invariant="latency", reads=())
def ttft_p95_ms(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Candidate time to first token p95 within budget (streamed answers)."""
    return _latency(spec, scope, 95, ttft=True)


@gate("latency_p95_ratio", unit="ratio", invariant="latency", reads=())
def latency_p95_ratio(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Candidate p95 <= ratio x base p95."""
    _latency_measured(scope)
    return _ratio(spec, scope, lambda s: s.latency(95), "latency p95", format_ms)


@gate("tokens_ratio", unit="ratio", reads=())
def tokens_ratio(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Candidate tokens per answer <= ratio x base."""
    return _ratio(
        spec,
        scope,
        lambda s: s.tokens_per_answer,
        "tokens per answer",
        lambda v: "n/a" if v is None else f"{v:.1f}",
    )


@gate("cost_ratio", unit="ratio", reads=())
def cost_ratio(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Candidate cost per answer (from the targets' prices) <= ratio x base."""
    for stats in (scope.stats(scope.baseline), scope.stats(scope.candidate)):
        if stats.cost_usd is None:
            raise NoEvidence(
                f"target {stats.target!r} has no prices (set prices = "
                "{ input_per_mtok = ..., output_per_mtok = ... })"
            )
    return _ratio(
        spec, scope, lambda s: s.cost_per_answer, "cost per answer", lambda v: format_usd(v, 6)
    )


@gate("moderation_drift", unit="points", reads=("moderation",))
def moderation_drift(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Candidate flagged rate minus base flagged rate <= the threshold."""
    return _moderation_drift(spec, scope)
