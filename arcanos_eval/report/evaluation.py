"""From a run log to a decision: :func:`evaluate` (base vs candidate) and :func:`diff_runs`.

Both read only the log (and, for the data gate, a training-data report), so any past run can be
re-evaluated and re-rendered.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any, Literal

from arcanos_eval.compare import CategoryStats, Comparison, compare_records
from arcanos_eval.errors import GateConfigError, UsageError
from arcanos_eval.gates import (
    ChecklistItem,
    GateResult,
    GateSet,
    Verdict,
    checklist,
    evaluate_gates,
    parse_gates,
    require_gates,
    verdict,
)
from arcanos_eval.model import (
    CalibrationRecord,
    PairwiseRecord,
    ResultRecord,
    RunHeader,
    TargetInfo,
)
from arcanos_eval.report.graders import LabelAgreement, label_agreement
from arcanos_eval.runlog import RunLog
from arcanos_eval.scorers._registry import unknown_name_message
from arcanos_eval.stats import TargetStats, target_stats

__all__ = [
    "Alternative",
    "Evaluation",
    "Fallback",
    "PartialRun",
    "RunDiff",
    "diff_runs",
    "evaluate",
    "fallback_of",
    "partial_run",
]


@dataclass(frozen=True)
class Fallback:
    """What to serve when the release is held, as the verdict's action line names it.

    Attributes:
        action: ``roll back to`` a configured previous release (the ``rollback`` target, or the
            ``rollback_model`` id), or ``keep serving`` the base target.
        target: the target that serves it (``None`` for a ``rollback_model`` no target calls).
        model: its model id (``None`` when the run recorded none).
    """

    action: Literal["roll back to", "keep serving"]
    target: str | None
    model: str | None

    def describe(self, quote: Callable[[str], str] = str) -> str:
        """``roll back to `previous` (`ft:...`)``, ``keep serving `base` (`gpt-4.1`)``, each name
        passed through ``quote``."""
        if self.target is None:
            return f"{self.action} {quote(self.model or '?')}"
        if self.model is None:
            # Only a log that recorded no model for the base lacks the id to name.
            return (
                f"{self.action} {quote(self.target)} (its model id is not in the run log); "
                "no rollback target is configured"
            )
        return f"{self.action} {quote(self.target)} ({quote(self.model)})"


def fallback_of(header: RunHeader) -> Fallback:
    """The release a held candidate leaves in service: the ``rollback`` target, the
    ``rollback_model``, or else the base target's model."""
    if header.rollback:
        return Fallback("roll back to", header.rollback, header.target(header.rollback).model)
    if header.roles.rollback_model is not None:
        return Fallback("roll back to", None, header.roles.rollback_model)
    return Fallback("keep serving", header.baseline, header.target(header.baseline).model)


@dataclass(frozen=True)
class Alternative:
    """The candidate against a target the gates do not compare it with (one the team weighed
    against the fine-tune, say a prompt-only specialization, or the previous release).

    Attributes:
        target: that target's name; it plays base in ``comparison``.
        comparison: every case, that target against the candidate.
        categories: pass rates and paired statistics per category, then ``all``.
    """

    target: str
    comparison: Comparison
    categories: tuple[CategoryStats, ...]


@dataclass(frozen=True)
class Evaluation:
    """Everything a release report shows, computed from one run log.

    Attributes:
        header: the run log header (targets, suites, gates, provenance).
        baseline / candidate: the target names compared; ``rollback`` the configured fallback.
        comparison: every case, base against candidate.
        categories: pass rates and paired statistics per category, then ``all``.
        targets: latency, tokens and cost per target (baseline, candidate, then others).
        gate_set: the parsed gates; ``gates`` their results; ``checklist`` the four invariants.
        verdict: PROMOTE or HOLD.
        errored: every errored answer, sorted.
        answers: result records in the log (the latest per case, target and repeat).
        torn_lines: unreadable trailing lines of an interrupted run.
        incomplete: why the run cannot decide the release (a partial selection of the cases, an
            interrupted log), ``None`` for a complete run; the verdict is then HOLD.
        partial: what the log lacks of the planned answers and how to resume it, when it lacks
            some (then ``incomplete`` says the same in one line).
        data_report: the training-data report, when one was supplied.
        log_name: the run log's file name.
        pairwise: the pairwise comparisons of candidate and baseline answers, in log order.
        calibration: each grader's calibration (per role), in log order.
        labels: each grader's agreement with the human labels of the cases, when any.
        fallback: what to serve when the release is held (the action line).
        alternatives: the candidate against every other target that answered (not gated).
    """

    header: RunHeader
    baseline: str
    candidate: str
    rollback: str | None
    comparison: Comparison
    categories: tuple[CategoryStats, ...]
    targets: tuple[TargetStats, ...]
    gate_set: GateSet
    gates: tuple[GateResult, ...]
    checklist: tuple[ChecklistItem, ...]
    verdict: Verdict
    errored: tuple[ResultRecord, ...]
    answers: int
    torn_lines: int = 0
    incomplete: str | None = None
    partial: PartialRun | None = None
    data_report: Mapping[str, Any] | None = None
    log_name: str | None = None
    pairwise: tuple[PairwiseRecord, ...] = ()
    calibration: tuple[CalibrationRecord, ...] = ()
    labels: tuple[LabelAgreement, ...] = ()
    alternatives: tuple[Alternative, ...] = ()

    @property
    def run_id(self) -> str:
        return self.header.run_id or ""

    @property
    def fallback(self) -> Fallback:
        return fallback_of(self.header)


def _target_order(records: Sequence[ResultRecord], first: Sequence[str]) -> list[str]:
    # Targets configured but without a single answer (a rollback target, say) have no figures.
    others = sorted({r.target for r in records} - set(first))
    return [*dict.fromkeys(first), *others]


def _exclude_paths(header: RunHeader, given: Sequence[str] | None) -> tuple[str, ...]:
    if given is not None:
        return tuple(given)
    return header.exclude_paths or ()


@dataclass(frozen=True)
class PartialRun:
    """A run log that lacks planned answers: it was interrupted (no footer), or holds fewer
    answers than the run planned.

    Attributes:
        answers: the answers the log holds (errored ones included; a resume retries those).
        planned: the answers the run planned (case x target x repeat); ``None`` when the log did
            not record it.
        log: the log as ``--resume`` takes it in the project folder.
    """

    answers: int
    planned: int | None
    log: str

    @property
    def resume_command(self) -> str:
        return f"arcanos-eval run --resume {shlex.quote(self.log)}"

    @property
    def counts(self) -> str:
        """``80 of 500 planned answers`` (``80 answers, planned count unknown``)."""
        if self.planned is None:
            return f"{self.answers} answers, planned count unknown"
        return f"{self.answers} of {self.planned} planned answers"

    @property
    def text(self) -> str:
        """``80 of 500 planned answers; resume with: arcanos-eval run --resume PATH``."""
        return f"{self.counts}; resume with: {self.resume_command}"


def partial_run(log: RunLog, path: str | None = None) -> PartialRun | None:
    """What ``log`` lacks, or ``None`` when it finished with every planned answer.

    The command names ``path`` when given, else the path the run recorded in the log's header
    when it still matches the log's file name (a log renamed since, or a pytest-xdist worker's,
    is named by its file name): the same log always gives the same text, wherever it lives.
    """
    header = log.header
    answers = len(log.results)
    planned = header.planned if header.planned and header.planned >= answers else None
    if header.footer is not None and (planned is None or answers >= planned):
        return None
    if path is None:
        name = log.path.name if log.path is not None else "RUN.jsonl"
        recorded = header.log
        path = recorded if recorded and PurePath(recorded).name == name else name
    return PartialRun(answers, planned, path)


def incompleteness(log: RunLog, baseline: str, candidate: str) -> str | None:
    """Why ``log`` cannot decide a release, or ``None``: the run must have finished with every
    planned answer (see :func:`partial_run`), and every case of its suites must be answered by
    both the baseline and the candidate (a ``-k``/``-m`` or ``--targets`` selection is not)."""
    partial = partial_run(log)
    if partial is not None:
        return f"partial run: {partial.text}"
    header = log.header
    cases = {(sid, cid) for sid, info in header.suites.items() for cid in info.case_inputs}
    if cases:
        both = {(r.suite_id, r.case_id) for r in log.records() if r.target == baseline} & {
            (r.suite_id, r.case_id) for r in log.records() if r.target == candidate
        }
        if cases - both:
            return (
                f"partial run: {len(cases & both)} of {len(cases)} cases answered by both "
                f"{baseline} and {candidate}"
            )
    return None


def evaluate(
    log: RunLog,
    gates_config: Mapping[str, Any] | None = None,
    *,
    data_report: Mapping[str, Any] | None = None,
    exclude_paths: Sequence[str] | None = None,
    seed: int = 0,
) -> Evaluation:
    """Compare base and candidate in ``log``, evaluate the gates and decide.

    Args:
        log: a run log (see :func:`arcanos_eval.read_run_log`).
        gates_config: a ``[tool.arcanos_eval.gates]`` table; by default the one the run recorded
            in its header.
        data_report: the training-data report (its JSON) for the ``data`` gate and checklist item;
            by default the one the run recorded in its header, if any.
        exclude_paths: JSON paths left out of output diffs (default: the header's
            ``compare.exclude_paths``, if any).
        seed: seeds the bootstrap, so the same log always gives the same report.

    Raises:
        GateConfigError: the gates table is invalid or configures no gate, or the data report has
            no ``passed`` field.
    """
    header = log.header
    baseline, candidate, rollback = header.baseline, header.candidate, header.rollback
    if data_report is None:  # the report the run was given, as its header recorded it
        data_report = header.data_report
    table = header.gates if gates_config is None else gates_config
    gate_set = parse_gates(table or {})
    # A log that recorded no gates says so; a table given here was the caller's to complete.
    require_gates(
        gate_set, where=f"run log {log.path or header.run_id}" if gates_config is None else None
    )
    if data_report is not None and not isinstance(data_report.get("passed"), bool):
        raise GateConfigError(
            "training-data report: expected a 'passed' field of true or false, "
            f"found {data_report.get('passed')!r}"
        )
    gate_set = gate_set.with_data_report(data_report is not None and gate_set.data is not False)
    gate_set = gate_set.with_fine_tune(candidate in header.fine_tunes)
    records = log.records()

    def against(other: str) -> Comparison:
        return compare_records(
            records,
            other,
            candidate,
            exclude_paths=_exclude_paths(header, exclude_paths),
            schemas=header.response_schemas(),
            seed=seed,
        )

    comparison = against(baseline)
    pairwise = tuple(log.pairwise.values())
    results = evaluate_gates(
        gate_set,
        comparison,
        records,
        header,
        data_report=data_report,
        pairwise=pairwise,
        calibration=log.calibration,
    )
    items = checklist(results, gate_set)
    errored = tuple(sorted((r for r in records if r.errored), key=lambda r: r.key))
    decision = verdict(results, rollback=rollback, items=items, errored_answers=len(errored))
    incomplete = incompleteness(log, baseline, candidate)
    if incomplete is not None:  # the gates' own outcome stands, but a release needs the whole run
        decision = replace(decision, decision="HOLD")
    order = _target_order(records, (baseline, candidate))
    targets = tuple(target_stats(t, records, header.target(t).prices) for t in order)
    # Every other target that answered (a prompt-only alternative, a previous release): shown
    # beside the candidate, never gated.
    alternatives = tuple(
        Alternative(other, compared, compared.category_stats())
        for other in order[2:]
        for compared in [against(other)]
    )
    return Evaluation(
        header=header,
        baseline=baseline,
        candidate=candidate,
        rollback=rollback,
        comparison=comparison,
        categories=comparison.category_stats(),
        targets=targets,
        gate_set=gate_set,
        gates=results,
        checklist=items,
        verdict=decision,
        errored=errored,
        answers=len(records),
        torn_lines=log.torn_lines,
        incomplete=incomplete,
        partial=partial_run(log),
        data_report=data_report,
        log_name=log.path.name if log.path else None,
        pairwise=pairwise,
        calibration=tuple(log.calibration.values()),
        labels=label_agreement(records, header),
        alternatives=alternatives,
    )


@dataclass(frozen=True)
class RunDiff:
    """This release's run against the last release's: the same case-level statistics.

    The older run's answers play base and the newer run's play candidate in ``comparison``; a
    case whose request changed between the runs is ``changed`` there (see :func:`diff_runs`).
    ``old_errored`` and ``new_errored`` are the errored answers of each run.
    """

    old_header: RunHeader
    new_header: RunHeader
    old_target: str
    new_target: str
    comparison: Comparison
    categories: tuple[CategoryStats, ...]
    targets: tuple[TargetStats, TargetStats]
    old_errored: tuple[ResultRecord, ...]
    new_errored: tuple[ResultRecord, ...]
    old_name: str | None = None
    new_name: str | None = None


def _pick_target(log: RunLog, given: str | None, which: str) -> str:
    present = sorted({r.target for r in log.records()})
    name = given or log.header.candidate
    if name not in present:
        raise UsageError(
            f"{log.path}: {unknown_name_message('target', name, present)} "
            f"({which} run has answers from {', '.join(present) or 'no target'})"
        )
    return name


# What a target contributes to each request's fingerprint besides the case (see ``Request``).
def _request_settings(info: TargetInfo) -> tuple[Any, ...]:
    return (
        info.model,
        info.api,
        info.structured_outputs,
        sorted(info.params.items()),
        info.system_prompt_sha256,
    )


def _changed_requests(
    old: RunLog,
    new: RunLog,
    old_records: Sequence[ResultRecord],
    new_records: Sequence[ResultRecord],
    old_target: str,
    new_target: str,
) -> set[tuple[str, str]]:
    """(suite id, case id) of each case asked differently in the two runs.

    A case is changed when its input, as each run's header records it, differs; and, when both
    targets send the same settings (model, API, parameters, system prompt), when the request
    fingerprint of a repeat found in both runs differs, since only the case's part of the request
    (messages, tools, response schema) can then account for it. Across targets that differ the
    fingerprints differ for every case, so they tell nothing about the case.
    """
    changed: set[tuple[str, str]] = set()
    for key in {(r.suite_id, r.case_id) for r in old_records}:
        before = old.header.suite(key[0]).case_inputs.get(key[1])
        after = new.header.suite(key[0]).case_inputs.get(key[1])
        if before is not None and after is not None and before != after:
            changed.add(key)
    same_settings = _request_settings(old.header.target(old_target)) == _request_settings(
        new.header.target(new_target)
    )
    if same_settings:
        asked = {(r.suite_id, r.case_id, r.repeat): r.fingerprint for r in old_records}
        for record in new_records:
            before = asked.get((record.suite_id, record.case_id, record.repeat))
            if before and record.fingerprint and before != record.fingerprint:
                changed.add((record.suite_id, record.case_id))
    return changed


def diff_runs(
    old: RunLog,
    new: RunLog,
    *,
    old_target: str | None = None,
    new_target: str | None = None,
    exclude_paths: Sequence[str] | None = None,
    seed: int = 0,
) -> RunDiff:
    """Compare the candidate's answers of ``old`` (the last release) with those of ``new``.

    A case whose request changed between the runs (its input, or the request fingerprint when
    both targets send the same settings) is a ``changed`` case: listed and counted apart, never
    fixed or regressed.

    Args:
        old / new: the two run logs.
        old_target / new_target: which target of each run (default: each run's candidate).
        exclude_paths: JSON paths left out of output diffs.
        seed: bootstrap seed.

    Raises:
        UsageError: a run has no answer from the chosen target.
    """
    first, second = _pick_target(old, old_target, "first"), _pick_target(new, new_target, "second")
    # Both sides may carry the same name ("candidate"); the comparison tells them apart by side.
    old_records = [r for r in old.records() if r.target == first]
    new_records = [r for r in new.records() if r.target == second]
    comparison = compare_records(
        old_records,
        first,
        second,
        candidate_records=new_records,
        exclude_paths=_exclude_paths(new.header, exclude_paths),
        schemas=new.header.response_schemas(),
        seed=seed,
        changed=_changed_requests(old, new, old_records, new_records, first, second),
    )
    return RunDiff(
        old_header=old.header,
        new_header=new.header,
        old_target=first,
        new_target=second,
        comparison=comparison,
        categories=comparison.category_stats(),
        targets=(
            target_stats(first, old_records, old.header.target(first).prices),
            target_stats(second, new_records, new.header.target(second).prices),
        ),
        old_errored=tuple(sorted((r for r in old_records if r.errored), key=lambda r: r.key)),
        new_errored=tuple(sorted((r for r in new_records if r.errored), key=lambda r: r.key)),
        old_name=old.path.name if old.path else None,
        new_name=new.path.name if new.path else None,
    )
