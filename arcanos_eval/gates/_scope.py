"""Evaluation over scopes: which part of a run each gate looks at, and what it measured there.

A run-wide gate covers every suite but those with a per-suite override of it; an override covers
its suite. :func:`evaluate_gates` builds the :class:`Scope` of each configured gate, calls the
gate's registered evaluator and turns its :class:`Measurement` values into :class:`GateResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from arcanos_eval.compare import ALL_CATEGORIES, CaseComparison, Comparison
from arcanos_eval.gates._spec import GateDefinition, GateSet, GateSpec, Invariant, Unit, definitions
from arcanos_eval.model import (
    CalibrationRecord,
    GraderKey,
    PairwiseRecord,
    ResultRecord,
    RunHeader,
    SuiteInfo,
)
from arcanos_eval.scorers._calibration import graders_of
from arcanos_eval.stats import (
    TargetStats,
    format_ms,
    format_percent,
    format_points,
    format_ratio,
    target_stats,
)

__all__ = [
    "GateResult",
    "Measurement",
    "NoEvidence",
    "NotMeasurable",
    "Scope",
    "Sufficiency",
    "evaluate_gates",
]


@dataclass(frozen=True)
class Sufficiency:
    """How many cases a counting gate measured, and how many it needs at the observed rates.

    ``needed`` is the total at which the gate would pass (for a statistical test, 19 times out of
    20) if the observed rates held, at least ``min_cases``; ``None`` when it cannot pass at these
    rates (the observed rate misses the bar), so that more cases alone would not help.
    """

    cases: int
    needed: int | None

    @property
    def more(self) -> int | None:
        """Cases still to add (0 when there are enough), ``None`` when no number would do."""
        return None if self.needed is None else max(0, self.needed - self.cases)


@dataclass(frozen=True)
class GateResult:
    """What one gate measured over one scope.

    Attributes:
        name: the gate (``pass_rate[adversarial]``, ``max_regression[happy_path]``...).
        key: the gate key.
        scope: which cases it covered (``all suites``, ``suite puzzle``, ``all suites except...``).
        passed: the bar is met. A gate that could not be measured fails (``measured`` is None).
        measured: the value, in ``unit``.
        threshold: the bar, in ``unit``.
        unit: ``rate``, ``points``, ``ms``, ``ratio``, ``count`` or ``check``.
        evidence: one sentence with the counts behind the number.
        invariant: the checklist item the gate backs, if any.
        alpha: for ``max_regression`` with a statistical test, its level: a drop past the
            threshold fails only when the one-sided p-value is below it (``mcnemar``), or the
            bound of the drop is a one-sided ``1 - alpha`` bound (``noninferiority``).
        test: that test, ``None`` for the plain observed drop.
        sufficiency: for the gates that count cases, how many they measured and need.
    """

    name: str
    key: str
    scope: str
    passed: bool
    measured: float | None
    threshold: float
    unit: Unit
    evidence: str
    invariant: Invariant | None = None
    alpha: float | None = None
    test: str | None = None
    sufficiency: Sufficiency | None = None

    @property
    def label(self) -> str:
        """The name, with the scope when it is not the whole run."""
        return self.name if self.scope == "all suites" else f"{self.name} ({self.scope})"

    def _format(self, value: float | None) -> str:
        if value is None:
            return "n/a"
        if self.unit == "rate":
            return format_percent(value)
        if self.unit == "points":
            return format_points(value)
        if self.unit == "ms":
            return format_ms(value)
        if self.unit == "ratio":
            return format_ratio(value)
        if self.unit == "check":
            return "pass" if value else "fail"
        return f"{value:.0f}"

    @property
    def measured_text(self) -> str:
        """The measured value in its unit (``95.0%``, ``1234 ms``, ``1.08x``...)."""
        return self._format(self.measured)

    @property
    def threshold_text(self) -> str:
        """The bar, with its comparison (``>= 95.0%``, ``<= 2500 ms``...)."""
        if self.key in ("pass_rate", "pass_rate_base", "min_win_rate"):
            return f">= {format_percent(self.threshold)}"
        if self.key == "max_regression":
            bar = f">= {format_points(-self.threshold if self.threshold else 0.0)}"
            if self.test == "noninferiority" and self.alpha is not None:
                return f"{bar} at {format_percent(1 - self.alpha, 0)} confidence"
            return bar if self.alpha is None else f"{bar} or p >= {self.alpha:g}"
        if self.key == "data":
            return "report passes"
        if self.key == "fine_tune":
            return "job verified"
        if self.key == "schema_compat":
            return "0 breaking"
        return f"<= {self._format(self.threshold)}"


class Measurement(NamedTuple):
    """What an evaluator found: a value, whether it meets the spec's threshold, and the evidence
    (one sentence with the counts behind the number). ``category`` names the part measured when
    one gate yields several results (``max_regression`` per category), else ``None``.
    ``sufficiency``: for a gate that counts cases, how many it measured and needs."""

    category: str | None
    value: float
    passed: bool
    evidence: str
    sufficiency: Sufficiency | None = None


@dataclass
class Scope:
    """The part of a run one gate looks at.

    Attributes:
        label: how the report names it (``all suites``, ``suite puzzle``...).
        suites: the suite ids it covers.
        explicit: a per-suite override's scope, rather than what a run-wide gate has left.
        records: every result record (case x target x repeat) of those suites.
        cases: base-vs-candidate comparisons of those suites' cases.
        header: the run log header.
        baseline: the baseline target's name.
        candidate: the candidate target's name.
        data_report: the training-data report, if one was supplied.
        pairwise: the pairwise comparisons of those suites (candidate against baseline).
    """

    label: str
    suites: frozenset[str]
    explicit: bool
    records: Sequence[ResultRecord]
    cases: Sequence[CaseComparison]
    header: RunHeader
    baseline: str
    candidate: str
    data_report: Mapping[str, Any] | None
    pairwise: Sequence[PairwiseRecord] = ()
    _stats: dict[str, TargetStats] = field(default_factory=dict)

    def stats(self, target: str) -> TargetStats:
        if target not in self._stats:
            prices = self.header.target(target).prices
            self._stats[target] = target_stats(target, self.records, prices)
        return self._stats[target]

    def suite_info(self, suite: str) -> SuiteInfo:
        return self.header.suite(suite)


class NoEvidence(Exception):
    """The scope holds nothing this gate can measure (the message says what is missing).

    Raised by an evaluator, it makes the gate fail as "not evaluable": a release is not promoted
    on missing evidence.
    """


class NotMeasurable(NoEvidence):
    """The run's mode cannot produce this evidence at all (the message is the evidence)."""


def _scopes(
    spec: GateSpec, overridden: set[str], run_suites: Sequence[str]
) -> tuple[str, frozenset[str]]:
    if spec.suite is not None:
        return f"suite {spec.suite}", frozenset({spec.suite})
    rest = frozenset(s for s in run_suites if s not in overridden)
    if not overridden:
        return "all suites", rest
    return f"all suites except {', '.join(sorted(overridden))}", rest


# Per (suite, category), the graders behind each check name that consults one.
GraderIndex = Mapping[tuple[str, str], Mapping[str, frozenset[GraderKey]]]


def grader_index(records: Sequence[ResultRecord]) -> GraderIndex:
    """Which graders the checks of ``records`` consult, by suite, category and check: read once
    per evaluation, so a gate asks a few sets rather than every record again."""
    index: dict[tuple[str, str], dict[str, set[GraderKey]]] = {}
    for record in records:
        for result in record.scores:
            graders = graders_of(result.check, result.args)
            if graders:
                checks = index.setdefault((record.suite_id, record.category), {})
                checks.setdefault(result.check, set()).update(graders)
    return {
        where: {check: frozenset(found) for check, found in checks.items()}
        for where, checks in index.items()
    }


def graders_behind(
    definition: GateDefinition,
    scope: Scope,
    index: GraderIndex,
    category: str | None = None,
) -> list[GraderKey]:
    """The graders (target, role) whose verdicts the gate reads over ``scope`` (in
    ``category``, unless ``None`` or ``all``), sorted."""
    reads = definition.reads
    found: set[GraderKey] = set()
    if reads != "verdicts" and "pairwise" in reads:
        found.update((p.judge, "judge") for p in scope.pairwise)
    for (suite, where), checks in index.items():
        if suite not in scope.suites or category not in (None, ALL_CATEGORIES, where):
            continue
        for check, graders in checks.items():
            if reads == "verdicts" or check in reads:
                found.update(graders)
    return sorted(found)


def _calibration_problems(
    graders: Sequence[GraderKey], calibration: Mapping[GraderKey, CalibrationRecord]
) -> list[str]:
    """Why each of ``graders`` cannot be trusted (nothing when all are calibrated)."""
    problems = []
    for target, role in graders:
        record = calibration.get((target, role))
        if record is None:
            problems.append(
                f"grader not calibrated: {role} '{target}': no calibration in the run log "
                "(run again to calibrate it)"
            )
        elif not record.calibrated:
            problems.append(record.summary)
    return problems


def evaluate_gates(
    gates: GateSet,
    comparison: Comparison,
    records: Sequence[ResultRecord],
    header: RunHeader,
    *,
    data_report: Mapping[str, Any] | None = None,
    pairwise: Sequence[PairwiseRecord] = (),
    calibration: Mapping[GraderKey, CalibrationRecord] | None = None,
) -> tuple[GateResult, ...]:
    """Evaluate every gate over its scope; results in the order of the gate table.

    A run-wide gate whose remaining suites hold no evidence is left out when a per-suite override
    of it was measured; otherwise missing evidence is a failing result saying what is missing.
    A gate that reads checks graded by a model fails when that grader is not calibrated
    (``calibration``: the run's calibrations; a grader without one is not calibrated), its
    evidence starting with why: ``grader failed calibration: ...``.
    """
    calibration = calibration or {}
    index = grader_index(records)
    run_suites = sorted({r.suite_id for r in records} | set(header.suites))
    registered = definitions()
    order_of = {key: i for i, key in enumerate(registered)}
    overrides: dict[tuple[str, str | None], set[str]] = {}
    for spec in gates.specs:
        if spec.suite is not None:
            overrides.setdefault(spec.identity, set()).add(spec.suite)
    results: list[tuple[tuple[int, bool, str, str], GateResult]] = []
    for spec in gates.specs:
        overridden = overrides.get(spec.identity, set()) if spec.suite is None else set()
        label, suites = _scopes(spec, overridden, run_suites)
        scope = Scope(
            label,
            suites,
            spec.suite is not None,
            [r for r in records if r.suite_id in suites],
            [c for c in comparison.cases if c.suite_id in suites],
            header,
            comparison.baseline,
            comparison.candidate,
            data_report,
            pairwise=[p for p in pairwise if p.suite_id in suites],
        )
        definition = registered[spec.key]
        try:
            if spec.suite is not None and spec.suite not in run_suites:
                raise NoEvidence(f"suite {spec.suite!r} has no result in this run")
            measured = definition.evaluate(spec, scope)
        except NoEvidence as missing:
            if overridden:
                continue  # the overriding suites report on their own
            evidence = str(missing) if isinstance(missing, NotMeasurable) else None
            measured = [Measurement(None, math.nan, False, evidence or f"not evaluable: {missing}")]
        for measurement in measured:
            # A custom gate may return plain (category, value, passed, evidence) tuples.
            category, value, passed, evidence = measurement[:4]
            sufficiency = getattr(measurement, "sufficiency", None)
            untrusted = _calibration_problems(
                graders_behind(definition, scope, index, category or spec.category), calibration
            )
            if untrusted:
                passed, evidence = False, "; ".join([*untrusted, evidence])
            name = spec.name if category is None else f"{spec.key}[{category}]"
            order = (
                order_of[spec.key],
                spec.suite is not None,
                spec.suite or "",
                category or spec.category or "",
            )
            results.append(
                (
                    order,
                    GateResult(
                        name,
                        spec.key,
                        label,
                        passed,
                        None if math.isnan(value) else value,
                        spec.threshold,
                        definition.unit,
                        evidence,
                        definition.invariant,
                        spec.alpha if spec.test is not None else None,
                        spec.test,
                        sufficiency,
                    ),
                )
            )
    return tuple(result for _, result in sorted(results, key=lambda item: item[0]))
