"""Release gates: specs parsed from ``[tool.arcanos_eval.gates]``, their results, and the verdict.

A gate is data: :func:`parse_gates` turns the table into :class:`GateSpec` objects (and rejects a bad
table at start-up with :class:`~arcanos_eval.errors.GateConfigError`); each spec is evaluated over a
*scope* of the run into a :class:`GateResult` with the measured value, the threshold, pass/fail and
evidence. Keys:

* ``pass_rate = {category = min}``: candidate pass rate per category (``all``: every case).
* ``pass_rate_base = {category = min}``: the same bar for the base target.
* ``max_regression``: per category, the candidate pass rate may trail base by at most this, over
  cases judged on both sides (0.02 = 2 points). With ``regression_test = "mcnemar"`` a larger drop
  fails only when significant (one-sided exact McNemar p < ``alpha``, default 0.05): "not
  significantly worse".
* ``latency_p50_ms``, ``latency_p95_ms``, ``ttft_p95_ms``: candidate budgets in ms (time to first
  token needs streamed answers).
* ``latency_p95_ratio``: candidate p95 <= ratio x base p95.
* ``tokens_ratio``, ``cost_ratio``: candidate tokens (cost, from the targets' ``prices``) per answer
  <= ratio x base.
* ``schema_violations``: at most this many candidate answers fail the ``schema`` check in suites
  that have a ``response_schema``.
* ``moderation_drift``: candidate flagged rate minus base flagged rate (``moderation`` check)
  <= this.
* ``data``: ``true`` requires a passing training-data report; ``false`` ignores one. Unset, a
  supplied report is evaluated and a missing one leaves the checklist item "not evaluated".
* ``schema_compat = true``: each suite's ``response_schema`` must be backward compatible with the
  schema of record stored with its recordings.

``[tool.arcanos_eval.gates.suites.<suite-id>]`` takes the same keys (but ``data``) and overrides the
run-wide value for that suite: the run-wide gate is then evaluated over the other suites.

A gate that is configured but cannot be evaluated (no case of the category, nothing streamed, no
prices, no data report...) **fails**, saying why: a release is not promoted on missing evidence.
In a batch-mode run the latency gates fail as "not measurable in batch mode".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from arcanos_eval.compare import ALL_CATEGORIES, CaseComparison, Comparison, TargetOutcome
from arcanos_eval.errors import GateConfigError
from arcanos_eval.model import ResultRecord, RunHeader, SuiteInfo
from arcanos_eval.scorers._registry import unknown_name_message
from arcanos_eval.stats import (
    TargetStats,
    format_ms,
    format_p,
    format_percent,
    format_points,
    format_ratio,
    format_usd,
    mcnemar_exact,
    target_stats,
    wilson_interval,
)

__all__ = [
    "CHECKLIST",
    "GATE_KEYS",
    "ChecklistItem",
    "GateResult",
    "GateSet",
    "GateSpec",
    "Verdict",
    "checklist",
    "evaluate_gates",
    "parse_gates",
    "verdict",
]

TABLE = "[tool.arcanos_eval.gates]"

Invariant = Literal["baseline_qa", "schema_stable", "data_sanitized", "latency"]
Unit = Literal["rate", "points", "ms", "ratio", "count", "check"]

# (key, invariant, unit): the order is the order of the report's gate table.
_GATES: tuple[tuple[str, Invariant | None, Unit], ...] = (
    ("pass_rate", "baseline_qa", "rate"),
    ("pass_rate_base", "baseline_qa", "rate"),
    ("max_regression", "baseline_qa", "points"),
    ("schema_violations", "schema_stable", "count"),
    ("schema_compat", "schema_stable", "count"),
    ("data", "data_sanitized", "check"),
    ("latency_p50_ms", "latency", "ms"),
    ("latency_p95_ms", "latency", "ms"),
    ("ttft_p95_ms", "latency", "ms"),
    ("latency_p95_ratio", "latency", "ratio"),
    ("tokens_ratio", None, "ratio"),
    ("cost_ratio", None, "ratio"),
    ("moderation_drift", None, "points"),
)
_MODIFIERS = ("regression_test", "alpha")
GATE_KEYS: tuple[str, ...] = (*(g[0] for g in _GATES), *_MODIFIERS, "suites")
_INVARIANT = {key: inv for key, inv, _ in _GATES}
_UNIT = {key: unit for key, _, unit in _GATES}
_ORDER = {key: i for i, (key, _, _) in enumerate(_GATES)}

CHECKLIST: tuple[tuple[Invariant, str], ...] = (
    ("baseline_qa", "Model passes baseline QA"),
    ("schema_stable", "Schema remains stable"),
    ("data_sanitized", "Data is sanitized"),
    ("latency", "Latency targets met"),
)
_HINTS: Mapping[Invariant, str] = {
    "baseline_qa": "configure pass_rate and max_regression",
    "schema_stable": "configure schema_violations and/or schema_compat",
    "data_sanitized": "supply a training-data report (arcanos-eval data check --json PATH, then --data-report PATH) or set "
    "data = true",
    "latency": "configure latency_p95_ms and/or latency_p95_ratio",
}
_EPSILON = 1e-12  # thresholds are compared with a hair of slack against float rounding


# ------------------------------------------------------------------------------ specs


@dataclass(frozen=True)
class GateSpec:
    """One configured gate.

    Attributes:
        key: the gate key (``pass_rate``, ``latency_p95_ms``...).
        threshold: the bar (a number; ``1.0`` for the on/off gates ``data`` and ``schema_compat``).
        category: for ``pass_rate`` and ``pass_rate_base``.
        test: ``"mcnemar"`` when ``max_regression`` asks for significance.
        alpha: significance level of that test.
        suite: the suite of a per-suite override, ``None`` for run-wide.
        implicit: the ``data`` gate evaluated because a report was supplied, not configured.
    """

    key: str
    threshold: float
    category: str | None = None
    test: str | None = None
    alpha: float = 0.05
    suite: str | None = None
    implicit: bool = False

    @property
    def name(self) -> str:
        return f"{self.key}[{self.category}]" if self.category is not None else self.key

    @property
    def identity(self) -> tuple[str, str | None]:
        """What a per-suite override replaces: the key, and the category for pass rates."""
        return self.key, self.category

    @property
    def invariant(self) -> Invariant | None:
        return _INVARIANT[self.key]


@dataclass(frozen=True)
class GateSet:
    """Parsed gates: run-wide specs, per-suite overrides, and the ``data`` setting."""

    specs: tuple[GateSpec, ...] = ()
    data: bool | None = None

    @property
    def configured(self) -> bool:
        return bool(self.specs) or self.data is not None

    def with_data_report(self, supplied: bool) -> GateSet:
        """Add the implicit ``data`` gate when a report is supplied and ``data`` is unset."""
        if supplied and self.data is None:
            return replace(self, specs=(*self.specs, GateSpec("data", 1.0, implicit=True)))
        return self


def _where(suite: str | None) -> str:
    return TABLE if suite is None else f"[tool.arcanos_eval.gates.suites.{suite}]"


def _number(
    table: Mapping[str, Any],
    key: str,
    where: str,
    *,
    low: float = 0.0,
    high: float | None = None,
    strict: bool = False,
    integer: bool = False,
    what: str = "",
) -> float:
    value = table[key]
    typed = not isinstance(value, bool) and (
        isinstance(value, int) or (not integer and isinstance(value, float))
    )
    number = float(value) if typed else math.nan
    in_range = (
        math.isfinite(number)
        and (number > low if strict else number >= low)
        and (high is None or number <= high)
    )
    if not in_range:
        bound = f"> {low:g}" if strict else f">= {low:g}"
        if high is not None:
            bound += f" and <= {high:g}"
        kind = "an integer" if integer else "a number"
        raise GateConfigError(
            f"{where} field {key!r}: expected {kind} {bound}"
            f"{f' ({what})' if what else ''}, found {value!r}"
        )
    return number


def _flag(table: Mapping[str, Any], key: str, where: str) -> bool:
    value = table[key]
    if not isinstance(value, bool):
        raise GateConfigError(f"{where} field {key!r}: expected true or false, found {value!r}")
    return value


_NUMERIC: Mapping[str, dict[str, Any]] = {
    "max_regression": {"high": 1.0, "what": "a pass-rate drop, 0.02 = 2 points"},
    "latency_p50_ms": {"strict": True, "what": "milliseconds"},
    "latency_p95_ms": {"strict": True, "what": "milliseconds"},
    "ttft_p95_ms": {"strict": True, "what": "milliseconds"},
    "latency_p95_ratio": {"strict": True, "what": "candidate p95 / base p95"},
    "tokens_ratio": {"strict": True, "what": "candidate / base tokens per answer"},
    "cost_ratio": {"strict": True, "what": "candidate / base cost per answer"},
    "schema_violations": {"integer": True, "what": "answers"},
    "moderation_drift": {"low": -1.0, "high": 1.0, "what": "candidate minus base flagged rate"},
}


def _parse_table(
    table: Any, suite: str | None, inherited: Mapping[str, Any]
) -> tuple[list[GateSpec], bool | None]:
    where = _where(suite)
    if not isinstance(table, Mapping):
        raise GateConfigError(f"{where}: expected a table, found {table!r}")
    allowed = [k for k in GATE_KEYS if suite is None or k not in ("suites", "data")]
    for key in table:
        if key not in allowed:
            if suite is not None and key in ("suites", "data"):
                raise GateConfigError(
                    f"{where} field {key!r}: applies to the whole run, set it in {TABLE}"
                )
            raise GateConfigError(f"{where}: {unknown_name_message('gate', key, allowed)}")
    specs: list[GateSpec] = []
    for key in ("pass_rate", "pass_rate_base"):
        if key not in table:
            continue
        mapping = table[key]
        if not isinstance(mapping, Mapping) or not mapping:
            raise GateConfigError(
                f"{where} field {key!r}: expected a table of category = minimum "
                f"pass rate, e.g. {{ happy_path = 0.95 }}, found {mapping!r}"
            )
        for category in sorted(mapping):
            minimum = _number(
                mapping,
                category,
                f"{where} field {key!r}",
                high=1.0,
                what="a pass rate between 0 and 1",
            )
            specs.append(GateSpec(key, minimum, category=str(category), suite=suite))
    modifiers = [k for k in _MODIFIERS if k in table]
    if "max_regression" in table or modifiers:
        merged = {
            **{k: inherited[k] for k in ("max_regression", *_MODIFIERS) if k in inherited},
            **{k: table[k] for k in ("max_regression", *_MODIFIERS) if k in table},
        }
        if "max_regression" not in merged:
            raise GateConfigError(
                f"{where} field {modifiers[0]!r}: only applies to max_regression, which is not set"
            )
        test = merged.get("regression_test")
        if test is not None and test != "mcnemar":
            raise GateConfigError(
                f"{where} field 'regression_test': expected 'mcnemar', found {test!r}"
            )
        alpha = (
            _number(merged, "alpha", where, strict=True, high=0.5, what="a significance level")
            if "alpha" in merged
            else 0.05
        )
        if "alpha" in merged and test is None:
            raise GateConfigError(
                f"{where} field 'alpha': only applies with regression_test = 'mcnemar'"
            )
        specs.append(
            GateSpec(
                "max_regression",
                _number(merged, "max_regression", where, **_NUMERIC["max_regression"]),
                test=test,
                alpha=alpha,
                suite=suite,
            )
        )
    for key, options in _NUMERIC.items():
        if key in table and key != "max_regression":
            specs.append(GateSpec(key, _number(table, key, where, **options), suite=suite))
    if "schema_compat" in table and _flag(table, "schema_compat", where):
        specs.append(GateSpec("schema_compat", 0.0, suite=suite))
    data = _flag(table, "data", where) if "data" in table else None
    if data:
        specs.append(GateSpec("data", 1.0))
    return specs, data


def parse_gates(table: Mapping[str, Any] | None) -> GateSet:
    """Validate a ``[tool.arcanos_eval.gates]`` table.

    Raises:
        GateConfigError: an unknown gate (with the nearest known name), a wrong type or range, a
            modifier without its gate; the message names the table and the field.

    Example:
        >>> gates = parse_gates({"pass_rate": {"adversarial": 1.0}, "latency_p95_ms": 2500})
        >>> [spec.name for spec in gates.specs]
        ['pass_rate[adversarial]', 'latency_p95_ms']
    """
    if table is None:
        return GateSet()
    specs, data = _parse_table(table, None, {})
    suites = table.get("suites", {})
    if not isinstance(suites, Mapping):
        raise GateConfigError(
            f"{TABLE} field 'suites': expected a table of suite id = gates, found {suites!r}"
        )
    for suite in sorted(suites):
        suite_specs, _ = _parse_table(suites[suite], str(suite), table)
        specs.extend(suite_specs)
    return GateSet(tuple(specs), data)


# ------------------------------------------------------------------------------ results


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
        alpha: for ``max_regression`` with a significance test, its level: a drop past the
            threshold fails only when the one-sided p-value is below it.
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
        if self.key in ("pass_rate", "pass_rate_base"):
            return f">= {format_percent(self.threshold)}"
        if self.key == "max_regression":
            bar = f">= {format_points(-self.threshold if self.threshold else 0.0)}"
            return bar if self.alpha is None else f"{bar} or p >= {self.alpha:g}"
        if self.key == "data":
            return "report passes"
        if self.key == "schema_compat":
            return "0 breaking"
        return f"<= {self._format(self.threshold)}"


@dataclass
class _Scope:
    """The part of a run one gate looks at."""

    label: str
    suites: frozenset[str]
    explicit: bool
    records: Sequence[ResultRecord]
    cases: Sequence[CaseComparison]
    header: RunHeader
    baseline: str
    candidate: str
    data_report: Mapping[str, Any] | None
    _stats: dict[str, TargetStats] = field(default_factory=dict)

    def stats(self, target: str) -> TargetStats:
        if target not in self._stats:
            prices = self.header.target(target).prices
            self._stats[target] = target_stats(target, self.records, prices)
        return self._stats[target]

    def suite_info(self, suite: str) -> SuiteInfo:
        return self.header.suite(suite)


class _NoEvidence(Exception):
    """The scope holds nothing this gate can measure (the message says what is missing)."""


class _NotMeasurable(_NoEvidence):
    """The run's mode cannot produce this evidence at all (the message is the evidence)."""


def _latency_measured(scope: _Scope) -> None:
    if scope.header.mode == "batch":
        # Batch answers carry no per-request latency; a gate must not pass on replayed leftovers.
        raise _NotMeasurable(
            "not measurable in batch mode: the Batch API reports no per-request latency "
            "(measure latency with a live run)"
        )


Measurement = tuple[str | None, float, bool, str]  # (category or None, measured, passed, evidence)
Evaluator = Callable[[GateSpec, _Scope], list[Measurement]]


def _outcomes(scope: _Scope, target: str, category: str) -> list[TargetOutcome]:
    side = "base" if target == scope.baseline else "candidate"
    chosen = []
    for case in scope.cases:
        outcome: TargetOutcome | None = getattr(case, side)
        if category in (ALL_CATEGORIES, case.category) and outcome is not None:
            chosen.append(outcome)
    return chosen


def _pass_rate(spec: GateSpec, scope: _Scope) -> list[Measurement]:
    target = scope.baseline if spec.key == "pass_rate_base" else scope.candidate
    category = spec.category or ALL_CATEGORIES
    outcomes = _outcomes(scope, target, category)
    judged = [o for o in outcomes if not o.errored]
    if not judged:
        what = "case" if category == ALL_CATEGORIES else f"{category!r} case"
        raise _NoEvidence(f"no {what} answered by {target} without error")
    passed = sum(o.passed for o in judged)
    rate = passed / len(judged)
    interval = wilson_interval(passed, len(judged))
    errored = len(outcomes) - len(judged)
    evidence = (
        f"{passed}/{len(judged)} {target} cases passed, Wilson 95% "
        f"[{format_percent(interval.low)}, {format_percent(interval.high)}]"
        + (f"; {errored} errored case(s) not counted" if errored else "")
    )
    return [(None, rate, rate >= spec.threshold - _EPSILON, evidence)]


def _max_regression(spec: GateSpec, scope: _Scope) -> list[Measurement]:
    categories = sorted({c.category for c in scope.cases})
    results: list[Measurement] = []
    for category in categories:
        cases = [c for c in scope.cases if c.category == category and c.paired]
        if not cases:
            # Configured and not measurable for this category: fails, like any gate without
            # evidence.
            results.append(
                (
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
        delta = (fixed - regressed) / len(cases)
        too_far = delta < -spec.threshold - _EPSILON
        evidence = (
            f"{len(cases)} paired cases: {regressed} regressed, {fixed} fixed, "
            f"delta {format_points(delta)}"
        )
        ok = not too_far
        if spec.test == "mcnemar":
            p = mcnemar_exact(regressed, fixed, "greater")
            evidence += f", one-sided exact McNemar p={format_p(p)} (alpha {spec.alpha:g})"
            ok = not (too_far and p < spec.alpha)
        results.append((category, delta, ok, evidence))
    if not results:
        raise _NoEvidence("no case in scope")
    return results


def _latency(spec: GateSpec, scope: _Scope) -> list[Measurement]:
    _latency_measured(scope)
    stats = scope.stats(scope.candidate)
    if spec.key == "ttft_p95_ms":
        value, what, count = stats.ttft(95), "time to first token p95", len(stats.ttfts)
        if value is None:
            raise _NoEvidence(
                f"{scope.candidate} has no streamed answer (set stream = true "
                "on the target to measure time to first token)"
            )
    else:
        q = 50 if spec.key == "latency_p50_ms" else 95
        value, what, count = stats.latency(q), f"latency p{q}", len(stats.latencies)
        if value is None:
            raise _NoEvidence(f"{scope.candidate} has no answer with a latency")
    evidence = f"{scope.candidate} {what} {format_ms(value)} over {count} answers"
    return [(None, value, value <= spec.threshold + _EPSILON, evidence)]


def _ratio(spec: GateSpec, scope: _Scope) -> list[Measurement]:
    base, cand = scope.stats(scope.baseline), scope.stats(scope.candidate)
    if spec.key == "latency_p95_ratio":
        _latency_measured(scope)
        top, bottom = cand.latency(95), base.latency(95)
        describe: Callable[[float | None], str] = format_ms
        what = "latency p95"
    elif spec.key == "tokens_ratio":
        top, bottom = cand.tokens_per_answer, base.tokens_per_answer
        describe, what = (lambda v: "n/a" if v is None else f"{v:.1f}"), "tokens per answer"
    else:
        for stats in (base, cand):
            if stats.cost_usd is None:
                raise _NoEvidence(
                    f"target {stats.target!r} has no prices (set prices = "
                    "{ input_per_mtok = ..., output_per_mtok = ... })"
                )
        top, bottom = cand.cost_per_answer, base.cost_per_answer
        describe, what = (lambda v: format_usd(v, 6)), "cost per answer"
    if top is None or not bottom:
        raise _NoEvidence(
            f"no {what} to compare ({scope.baseline}: {describe(bottom)}, "
            f"{scope.candidate}: {describe(top)})"
        )
    ratio = top / bottom
    evidence = (
        f"{what}: {scope.candidate} {describe(top)} over {cand.answers} answers, "
        f"{scope.baseline} {describe(bottom)} over {base.answers}"
    )
    return [(None, ratio, ratio <= spec.threshold + _EPSILON, evidence)]


def _schema_violations(spec: GateSpec, scope: _Scope) -> list[Measurement]:
    bound = sorted(s for s in scope.suites if scope.suite_info(s).response_schema)
    if not bound:
        raise _NoEvidence("no suite in scope declares a response_schema")
    counts: dict[str, list[int]] = {scope.baseline: [0, 0], scope.candidate: [0, 0]}
    for record in scope.records:
        if record.suite_id in bound and record.target in counts and not record.errored:
            failed = record.failed("schema")
            if failed is not None:
                counts[record.target][0] += failed
                counts[record.target][1] += 1
    violations, checked = counts[scope.candidate]
    if not checked:
        raise _NoEvidence(f"no {scope.candidate} answer in {', '.join(bound)} ran the schema check")
    base_v, base_n = counts[scope.baseline]
    evidence = (
        f"{violations} of {checked} {scope.candidate} answers in {', '.join(bound)} "
        f"failed the schema check ({scope.baseline}: {base_v} of {base_n})"
    )
    return [(None, float(violations), violations <= spec.threshold, evidence)]


def _moderation_drift(spec: GateSpec, scope: _Scope) -> list[Measurement]:
    counts: dict[str, list[int]] = {scope.baseline: [0, 0], scope.candidate: [0, 0]}
    for record in scope.records:
        if record.target in counts and not record.errored:
            flagged = record.flagged("moderation")
            if flagged is not None:
                counts[record.target][0] += flagged
                counts[record.target][1] += 1
    (bf, bn), (cf, cn) = counts[scope.baseline], counts[scope.candidate]
    if not bn or not cn:
        raise _NoEvidence("no moderation check ran on both targets")
    drift = cf / cn - bf / bn
    evidence = (
        f"flagged: {scope.candidate} {cf}/{cn} ({format_percent(cf / cn)}), "
        f"{scope.baseline} {bf}/{bn} ({format_percent(bf / bn)})"
    )
    return [(None, drift, drift <= spec.threshold + _EPSILON, evidence)]


def _data(spec: GateSpec, scope: _Scope) -> list[Measurement]:
    report = scope.data_report
    if report is None:
        raise _NoEvidence(
            "data = true, and no training-data report was supplied "
            "(arcanos-eval report --data-report PATH)"
        )
    passed = report.get("passed")
    if not isinstance(passed, bool):
        raise GateConfigError(
            f"training-data report: expected a 'passed' field of true or false, found {passed!r}"
        )
    verdict = str(report.get("verdict") or ("PASS" if passed else "FAIL"))
    return [(None, 1.0 if passed else 0.0, passed, verdict)]


def _schema_compat(spec: GateSpec, scope: _Scope) -> list[Measurement]:
    bound = sorted(s for s in scope.suites if scope.suite_info(s).response_schema)
    if not bound:
        raise _NoEvidence("no suite in scope declares a response_schema")
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
        raise _NoEvidence(
            f"no schema of record for {', '.join(missing)} (record golden answers "
            "to approve the schema)"
        )
    evidence = (
        f"{len(bound)} schema-bound suite(s): {unchanged} unchanged, {changed} changed "
        "compatibly" + (f"; breaking: {'; '.join(breaking)}" if breaking else "")
    )
    return [(None, float(len(breaking)), not breaking, evidence)]


_EVALUATORS: Mapping[str, Evaluator] = {
    "pass_rate": _pass_rate,
    "pass_rate_base": _pass_rate,
    "max_regression": _max_regression,
    "latency_p50_ms": _latency,
    "latency_p95_ms": _latency,
    "ttft_p95_ms": _latency,
    "latency_p95_ratio": _ratio,
    "tokens_ratio": _ratio,
    "cost_ratio": _ratio,
    "schema_violations": _schema_violations,
    "moderation_drift": _moderation_drift,
    "data": _data,
    "schema_compat": _schema_compat,
}


def _scopes(
    spec: GateSpec, overridden: set[str], run_suites: Sequence[str]
) -> tuple[str, frozenset[str]]:
    if spec.suite is not None:
        return f"suite {spec.suite}", frozenset({spec.suite})
    rest = frozenset(s for s in run_suites if s not in overridden)
    if not overridden:
        return "all suites", rest
    return f"all suites except {', '.join(sorted(overridden))}", rest


def evaluate_gates(
    gates: GateSet,
    comparison: Comparison,
    records: Sequence[ResultRecord],
    header: RunHeader,
    *,
    data_report: Mapping[str, Any] | None = None,
) -> tuple[GateResult, ...]:
    """Evaluate every gate over its scope; results in the order of the gate table.

    A run-wide gate whose remaining suites hold no evidence is left out when a per-suite override
    of it was measured; otherwise missing evidence is a failing result saying what is missing.
    """
    run_suites = sorted({r.suite_id for r in records} | set(header.suites))
    overrides: dict[tuple[str, str | None], set[str]] = {}
    for spec in gates.specs:
        if spec.suite is not None:
            overrides.setdefault(spec.identity, set()).add(spec.suite)
    results: list[tuple[tuple[int, bool, str, str], GateResult]] = []
    for spec in gates.specs:
        overridden = overrides.get(spec.identity, set()) if spec.suite is None else set()
        label, suites = _scopes(spec, overridden, run_suites)
        scope = _Scope(
            label,
            suites,
            spec.suite is not None,
            [r for r in records if r.suite_id in suites],
            [c for c in comparison.cases if c.suite_id in suites],
            header,
            comparison.baseline,
            comparison.candidate,
            data_report,
        )
        unit, invariant = _UNIT[spec.key], spec.invariant
        try:
            if spec.suite is not None and spec.suite not in run_suites:
                raise _NoEvidence(f"suite {spec.suite!r} has no result in this run")
            measured = _EVALUATORS[spec.key](spec, scope)
        except _NoEvidence as missing:
            if overridden:
                continue  # the overriding suites report on their own
            evidence = str(missing) if isinstance(missing, _NotMeasurable) else None
            measured = [(None, math.nan, False, evidence or f"not evaluable: {missing}")]
        for category, value, passed, evidence in measured:
            name = spec.name if category is None else f"{spec.key}[{category}]"
            order = (
                _ORDER[spec.key],
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
                        unit,
                        evidence,
                        invariant,
                        spec.alpha if spec.test is not None else None,
                    ),
                )
            )
    return tuple(result for _, result in sorted(results, key=lambda item: item[0]))


# ------------------------------------------------------------------------------ verdict


@dataclass(frozen=True)
class ChecklistItem:
    """One audit invariant of the release checklist.

    ``status`` is ``pass`` (every gate behind it passed), ``fail`` (one failed), or
    ``not evaluated`` (no gate backs it in this run: shown, never counted as a pass).
    """

    invariant: Invariant
    title: str
    status: Literal["pass", "fail", "not evaluated"]
    evidence: str
    gates: tuple[str, ...] = ()


def checklist(results: Iterable[GateResult], gates: GateSet) -> tuple[ChecklistItem, ...]:
    """The four audit invariants, each with its status and evidence from the gate results."""
    chosen = list(results)
    items = []
    for invariant, title in CHECKLIST:
        behind = [r for r in chosen if r.invariant == invariant]
        if not behind:
            hint = _HINTS[invariant]
            if invariant == "data_sanitized" and gates.data is False:
                hint = "data = false: the training-data report is ignored"
            items.append(ChecklistItem(invariant, title, "not evaluated", hint))
            continue
        failing = [r for r in behind if not r.passed]
        if invariant == "data_sanitized":  # one gate: the data report's own verdict line
            evidence = behind[0].evidence
        elif failing:
            # Short on purpose: the gate table right below has the full evidence.
            evidence = f"{len(failing)} of {len(behind)} gate(s) failed: " + "; ".join(
                f"{r.label} {r.measured_text} (needs {r.threshold_text})"
                if r.measured is not None
                else f"{r.label}: {r.evidence}"
                for r in failing
            )
        else:
            evidence = f"{len(behind)} gate(s) passed: " + ", ".join(r.label for r in behind)
        items.append(
            ChecklistItem(
                invariant,
                title,
                "fail" if failing else "pass",
                evidence,
                tuple(r.label for r in behind),
            )
        )
    return tuple(items)


@dataclass(frozen=True)
class Verdict:
    """``PROMOTE`` when every gate passes, otherwise ``HOLD`` naming the failing gates.

    Errored answers do not change the decision (they are left out of every figure and listed), but
    they make the CLI exit with status 3 instead of 0, since the evidence is incomplete.
    """

    decision: Literal["PROMOTE", "HOLD"]
    failing: tuple[str, ...]
    rollback: str | None
    gates: int
    errored_answers: int = 0

    @property
    def promote(self) -> bool:
        return self.decision == "PROMOTE"

    @property
    def exit_status(self) -> int:
        """0 promote, 1 hold, 3 promote but some calls errored."""
        if not self.promote:
            return 1
        return 3 if self.errored_answers else 0


def verdict(
    results: Sequence[GateResult], *, rollback: str | None, errored_answers: int = 0
) -> Verdict:
    """The decision from the gate results."""
    failing = tuple(r.label for r in results if not r.passed)
    return Verdict(
        "HOLD" if failing else "PROMOTE", failing, rollback, len(results), errored_answers
    )
