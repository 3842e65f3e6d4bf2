"""The machine-readable summary (JSON) and the GitHub Actions step summary.

:func:`summary_json` holds the same figures as the markdown report, unformatted, for dashboards
and release tooling; its ``schema_version`` changes when a field changes meaning.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arcanos_eval.compare import CaseComparison, CategoryStats, RateStats
from arcanos_eval.report.evaluation import Evaluation
from arcanos_eval.report.markdown import render_summary_sections
from arcanos_eval.stats import TargetStats

__all__ = ["SUMMARY_KIND", "SUMMARY_VERSION", "summary_json", "write_step_summary"]

SUMMARY_KIND = "arcanos-eval/release-summary"
SUMMARY_VERSION = 1
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def _rate(rate: RateStats) -> dict[str, Any]:
    return {
        "passed": rate.passed,
        "total": rate.total,
        "rate": rate.rate,
        "wilson_95": [rate.interval.low, rate.interval.high],
    }


def _category(c: CategoryStats) -> dict[str, Any]:
    score = c.score_delta
    return {
        "category": c.category,
        "base": _rate(c.base),
        "candidate": _rate(c.candidate),
        "transitions": dict(c.transitions),
        "paired": c.paired,
        "delta": c.delta,
        "mcnemar_p": c.mcnemar_p,
        "mcnemar_p_worse": c.worse_p,
        "score_delta": None
        if score is None
        else {
            "mean": score.delta,
            "bootstrap_95": [score.interval.low, score.interval.high],
            "resamples": score.resamples,
            "seed": score.seed,
        },
    }


def _target(s: TargetStats) -> dict[str, Any]:
    return {
        "target": s.target,
        "answers": s.answers,
        "errored": s.errored,
        "origins": dict(s.origins),
        "latency_ms": {"p50": s.latency(50), "p95": s.latency(95), "p99": s.latency(99)},
        "ttft_ms": {"p50": s.ttft(50), "p95": s.ttft(95)},
        "tokens": {
            "prompt": s.prompt_tokens,
            "completion": s.completion_tokens,
            "per_answer": s.tokens_per_answer,
        },
        "cost_usd": s.cost_usd,
    }


def _case(case: CaseComparison) -> dict[str, Any]:
    return {
        "case": case.key,
        "category": case.category,
        "transition": case.transition,
        "base_failures": list(case.base.failures) if case.base else None,
        "candidate_failures": list(case.candidate.failures) if case.candidate else None,
    }


def summary_json(evaluation: Evaluation) -> dict[str, Any]:
    """The evaluation as a JSON-ready dict (deterministic for the same log)."""
    ev = evaluation
    comparison = ev.comparison
    return {
        "schema_version": SUMMARY_VERSION,
        "report": SUMMARY_KIND,
        "run_id": ev.run_id,
        "log": ev.log_name,
        "verdict": {
            "decision": ev.verdict.decision,
            "failing_gates": list(ev.verdict.failing),
            "rollback": ev.verdict.rollback,
            "fallback": {
                "action": ev.fallback.action,
                "target": ev.fallback.target,
                "model": ev.fallback.model,
            },
            "gates": ev.verdict.gates,
            "errored_answers": ev.verdict.errored_answers,
            "exit_status": int(ev.verdict.exit_status),
            "incomplete": ev.incomplete,
            "unmet_invariants": [i.invariant for i in ev.checklist if i.status == "not evaluated"],
            "waived": [
                {"invariant": i.invariant, "reason": i.waiver}
                for i in ev.checklist
                if i.waiver is not None
            ],
        },
        "roles": {"baseline": ev.baseline, "candidate": ev.candidate, "rollback": ev.rollback},
        "checklist": [
            {
                "invariant": i.invariant,
                "title": i.title,
                "status": i.status,
                "evidence": i.evidence,
                "gates": list(i.gates),
                "waiver": i.waiver,
            }
            for i in ev.checklist
        ],
        "gates": [
            {
                "name": g.name,
                "key": g.key,
                "scope": g.scope,
                "passed": g.passed,
                "measured": g.measured,
                "threshold": g.threshold,
                "unit": g.unit,
                "evidence": g.evidence,
                "invariant": g.invariant,
                "alpha": g.alpha,
            }
            for g in ev.gates
        ],
        "categories": [_category(c) for c in ev.categories],
        # The candidate against each target the gates do not compare it with; the other target
        # plays "base" in its categories.
        "alternatives": [
            {"target": a.target, "categories": [_category(c) for c in a.categories]}
            for a in ev.alternatives
        ],
        "targets": [_target(s) for s in ev.targets],
        # Each grader's calibration (a failed one fails the gates it decides), and its agreement
        # with the human labels of the suites' cases.
        "graders": [
            {
                "grader": c.grader,
                "role": c.role,
                "status": c.status,
                "agreed": c.agreed,
                "items": c.items,
                "min_accuracy": c.min_accuracy,
                "kappa": c.kappa,
                "reason": c.reason or None,
            }
            for c in ev.calibration
        ],
        "label_agreement": [
            {"grader": a.grader, "role": a.role, "n": a.n, "agreed": a.agreed, "kappa": a.kappa}
            for a in ev.labels
        ],
        "cases": [_case(c) for c in comparison.cases if c.transition != "both_pass"],
        "flaky": [
            {
                "case": case.key,
                "target": o.target,
                "pass_rate": o.pass_rate,
                "agreement": o.agreement,
            }
            for case, o in comparison.flaky()
        ],
        "errored": [
            {
                "case": f"{r.suite_id}::{r.case_id}",
                "target": r.target,
                "repeat": r.repeat,
                "error_type": r.response.error_type,
                "error": r.response.error,
            }
            for r in ev.errored
        ],
        "drift": [
            {
                "suite": d.suite_id,
                "added": list(d.added_paths),
                "removed": list(d.removed_paths),
                "type_changes": [list(map(_listify, t)) for t in d.type_changes],
                "value_changes": [list(map(_listify, v)) for v in d.value_changes],
            }
            for d in comparison.drift
        ],
        "answers": ev.answers,
        "planned": ev.header.planned,
        "partial": None
        if ev.partial is None
        else {
            "answers": ev.partial.answers,
            "planned": ev.partial.planned,
            "resume": ev.partial.resume_command,
        },
        "data_report": None
        if ev.data_report is None
        else {"passed": ev.data_report.get("passed"), "verdict": ev.data_report.get("verdict")},
        "provenance": ev.header.provenance.to_dict(),
    }


def _listify(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def write_step_summary(
    evaluation: Evaluation, environ: Mapping[str, str] | None = None
) -> Path | None:
    """Append the verdict, checklist, gates and pass rates to ``$GITHUB_STEP_SUMMARY``.

    Returns:
        The file appended to, or ``None`` when the variable is not set (not on GitHub Actions).
    """
    target = (os.environ if environ is None else environ).get(STEP_SUMMARY_ENV)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(render_summary_sections(evaluation) + "\n")
    return path
