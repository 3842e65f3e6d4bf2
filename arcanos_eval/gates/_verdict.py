"""The decision: the release checklist of audit invariants, and the verdict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from arcanos_eval.errors import ExitCode
from arcanos_eval.gates._scope import GateResult
from arcanos_eval.gates._spec import GateSet, Invariant

__all__ = ["CHECKLIST", "ChecklistItem", "Verdict", "checklist", "verdict"]

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
    def exit_status(self) -> ExitCode:
        """PROMOTE (0), HOLD (1), or ERRORED (3) when it would promote but some calls errored."""
        if not self.promote:
            return ExitCode.HOLD
        return ExitCode.ERRORED if self.errored_answers else ExitCode.PROMOTE


def verdict(
    results: Sequence[GateResult], *, rollback: str | None, errored_answers: int = 0
) -> Verdict:
    """The decision from the gate results."""
    failing = tuple(r.label for r in results if not r.passed)
    return Verdict(
        "HOLD" if failing else "PROMOTE", failing, rollback, len(results), errored_answers
    )
