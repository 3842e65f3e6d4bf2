"""The decision: the release checklist of audit invariants, and the verdict.

The verdict fails closed. A run with no gate configured is refused before any call
(:func:`require_gates`); each of the four audit invariants must be evaluated (at least one
configured gate behind it produced a result) or waived in ``[tool.arcanos_eval.gates] waive`` with
a reason, and one that is neither holds the release like a failing gate. A fifth, fine-tune
provenance, is on the checklist only when its gate ran or a waiver names it (see
:mod:`arcanos_eval.gates._fine_tune`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from arcanos_eval.errors import ExitCode, GateConfigError
from arcanos_eval.gates._scope import GateResult
from arcanos_eval.gates._spec import TABLE, GateSet, Invariant

__all__ = [
    "CHECKLIST",
    "INVARIANT_NAMES",
    "NO_GATES",
    "ChecklistItem",
    "Verdict",
    "checklist",
    "require_gates",
    "verdict",
]

CHECKLIST: tuple[tuple[Invariant, str], ...] = (
    ("baseline_qa", "Model passes baseline QA"),
    ("schema_stable", "Schema remains stable"),
    ("data_sanitized", "Data is sanitized"),
    ("latency", "Latency targets met"),
    # Only shown when evaluated or waived: a candidate that is no fine-tune has nothing to show.
    ("fine_tune", "Fine-tune provenance verified"),
)
OPTIONAL: tuple[Invariant, ...] = ("fine_tune",)
# How the verdict names an invariant in one line ("data sanitized: not evaluated and not waived").
INVARIANT_NAMES: Mapping[Invariant, str] = {
    "baseline_qa": "baseline QA",
    "schema_stable": "schema stable",
    "data_sanitized": "data sanitized",
    "latency": "latency targets",
    "fine_tune": "fine-tune provenance",
}
_HINTS: Mapping[Invariant, str] = {
    "baseline_qa": "configure pass_rate and max_regression",
    "schema_stable": "configure schema_violations and/or schema_compat",
    "data_sanitized": "supply a training-data report (arcanos-eval data check --json PATH, then --data-report PATH) or set "
    "data = true",
    "latency": "configure latency_p95_ms and/or latency_p95_ratio",
    "fine_tune": "set fine_tune_job or fine_tune_record on the candidate",
}

NO_GATES = (
    f"no release gates configured: add {TABLE} to pyproject.toml (pass_rate, max_regression, "
    "...; the bundled pyproject.toml has an example)"
)


def require_gates(gates: GateSet, *, where: str | None = None, config: str | None = None) -> None:
    """Refuse to decide without a gate: a run with nothing to check would promote anything.

    Args:
        gates: the parsed table (before any implicit ``data`` gate: a supplied data report alone
            is not a release policy).
        where: what recorded the table, when it is not the pyproject.toml of this run (a run
            log), so the message can say where the gates are missing.
        config: the configuration file the gates were read from, named first in the message.

    Raises:
        GateConfigError: no gate is configured (``data = false`` and ``waive`` are not gates).
    """
    if gates.specs:
        return
    if where is None:
        raise GateConfigError(f"{config}: {NO_GATES}" if config else NO_GATES)
    raise GateConfigError(
        f"{where} recorded no release gates: add {TABLE} to pyproject.toml (pass_rate, "
        "max_regression, ...; the bundled pyproject.toml has an example) and pass it with "
        "--gates-from PYPROJECT"
    )


@dataclass(frozen=True)
class ChecklistItem:
    """One audit invariant of the release checklist.

    ``status`` is ``pass`` (every gate behind it passed), ``fail`` (one failed), ``waived`` (no
    gate behind it, and ``waive`` gives the reason in ``waiver``), or ``not evaluated`` (no gate
    behind it and no waiver: the release is held).
    """

    invariant: Invariant
    title: str
    status: Literal["pass", "fail", "waived", "not evaluated"]
    evidence: str
    gates: tuple[str, ...] = ()
    waiver: str | None = None

    @property
    def name(self) -> str:
        """The short name the verdict uses (``data sanitized``)."""
        return INVARIANT_NAMES[self.invariant]


def checklist(results: Iterable[GateResult], gates: GateSet) -> tuple[ChecklistItem, ...]:
    """The audit invariants, each with its status and evidence from the gate results and the
    waivers of ``gates``: the four of every release, then fine-tune provenance when a gate
    evaluated it or a waiver names it."""
    chosen = list(results)
    waived = dict(gates.waivers)
    items = []
    for invariant, title in CHECKLIST:
        behind = [r for r in chosen if r.invariant == invariant]
        if not behind:
            reason = waived.get(invariant)
            if reason is not None:
                items.append(
                    ChecklistItem(invariant, title, "waived", f"waived: {reason}", waiver=reason)
                )
                continue
            if invariant in OPTIONAL:
                continue
            hint = _HINTS[invariant]
            if invariant == "data_sanitized" and gates.data is False:
                hint = "data = false: the training-data report is ignored"
            items.append(
                ChecklistItem(
                    invariant,
                    title,
                    "not evaluated",
                    f"not evaluated and not waived: {hint}, or waive it with a reason "
                    f'(waive = {{ {invariant} = "..." }})',
                )
            )
            continue
        failing = [r for r in behind if not r.passed]
        if invariant in ("data_sanitized", "fine_tune"):  # one gate, whose evidence says it all
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
        if invariant in waived:
            # Only a supplied data report can back a waived invariant (a configured gate and a
            # waiver of its invariant are refused): the evidence decides.
            evidence += " (the waiver is not used: the invariant was evaluated)"
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
    """``PROMOTE`` when every gate passes and every audit invariant is evaluated or waived,
    otherwise ``HOLD`` naming the failing gates and the invariants neither evaluated nor waived.

    Errored answers do not change the decision (they are left out of every figure and listed), but
    they make the CLI exit with status 3 instead of 0, since the evidence is incomplete.

    Attributes:
        failing: labels of the failing gates.
        unmet: ``"<invariant>: not evaluated and not waived"`` for each such invariant.
        waived: (invariant name, reason) for each waived invariant, shown with the decision.
    """

    decision: Literal["PROMOTE", "HOLD"]
    failing: tuple[str, ...]
    rollback: str | None
    gates: int
    errored_answers: int = 0
    unmet: tuple[str, ...] = ()
    waived: tuple[tuple[str, str], ...] = ()

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
    results: Sequence[GateResult],
    *,
    rollback: str | None,
    items: Sequence[ChecklistItem],
    errored_answers: int = 0,
) -> Verdict:
    """The decision from the gate results and the release checklist (``items``, from
    :func:`checklist`)."""
    failing = tuple(r.label for r in results if not r.passed)
    unmet = tuple(
        f"{i.name}: not evaluated and not waived" for i in items if i.status == "not evaluated"
    )
    waived = tuple((i.name, i.waiver) for i in items if i.waiver is not None)
    return Verdict(
        "HOLD" if failing or unmet else "PROMOTE",
        failing,
        rollback,
        len(results),
        errored_answers,
        unmet,
        waived,
    )
