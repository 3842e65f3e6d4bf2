"""The fine-tune provenance gate: the candidate is the model its fine-tuning job produced, from the
data the training-data report checked.

:func:`assess_fine_tune` judges one target's provenance (see :class:`~arcanos_eval.model.FineTune`):

* it must be known: a job that could not be read (``provenance unavailable``) or a replay without
  its recording (``provenance not recorded``) is a problem;
* the job must have ``succeeded``;
* the target must serve the job's ``fine_tuned_model`` (or one of its checkpoints);
* with a training-data report (``--data-report``), each of the job's files must be a file the
  report checked: the same SHA-256 when the job's side knows it (a local training record does),
  else the same file name (the API gives names, not hashes). A file of that name with another
  hash, or a file the report does not cover, is a problem: the report's verdict is not evidence
  about data the model was not trained on.

The ``fine_tune`` gate applies it to the candidate. It is evaluated without configuration when the
run recorded provenance for the candidate (which it does for every candidate that names its job or
a local record, or serves an ``ft:`` model), unless ``waive = { fine_tune = "..." }`` accepts the
release without it; ``fine_tune = true`` in ``[tool.arcanos_eval.gates]`` requires it, so a
candidate without any provenance holds the release. Every problem is named in the evidence.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from arcanos_eval.gates._scope import Measurement, NoEvidence, Scope
from arcanos_eval.gates._spec import GateSpec, gate
from arcanos_eval.model import FineTune, FineTuneFile

__all__ = ["FileCheck", "FineTuneAssessment", "assess_fine_tune"]

FileRole = Literal["training", "validation"]


@dataclass(frozen=True)
class FileCheck:
    """One file of a job against the training-data report.

    Attributes:
        role: ``training`` or ``validation``.
        file: the job's file, with the data report's SHA-256 filled in when it was matched by name.
        checked_as: the path the data report checked it under, ``None`` when not covered (or no
            report was supplied).
        by: how it was matched: ``sha256``, ``name``, or ``None``.
        problem: why the data report does not vouch for it, ``None`` when it does (or when there
            is no report to ask).
    """

    role: FileRole
    file: FineTuneFile
    checked_as: str | None = None
    by: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class FineTuneAssessment:
    """What :func:`assess_fine_tune` found about one target: its files and every problem."""

    target: str
    fine_tune: FineTune
    files: tuple[FileCheck, ...]
    problems: tuple[str, ...]

    @property
    def verified(self) -> bool:
        return not self.problems

    @property
    def checkpoint_step(self) -> int | None:
        """The step of the checkpoint the target serves, when it serves one."""
        for checkpoint in self.fine_tune.checkpoints:
            if checkpoint.model == self.fine_tune.target_model and checkpoint.model:
                return checkpoint.step
        return None


def _report_files(data_report: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(path, sha256) of every file the data report checked."""
    files = data_report.get("files")
    found = []
    for entry in files if isinstance(files, list) else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("path"), str):
            digest = entry.get("sha256")
            found.append((entry["path"], digest if isinstance(digest, str) else None))
    return found


def _base(name: str) -> str:
    return posixpath.basename(name.replace("\\", "/"))


def _short(digest: str | None) -> str:
    return "unknown" if digest is None else digest[:12]


def _check_file(
    role: FileRole, file: FineTuneFile, checked: Sequence[tuple[str, str | None]]
) -> FileCheck:
    label = f"{role} file {file.id}" + (
        f" ({file.filename})" if file.filename and file.filename != file.id else ""
    )
    listed = ", ".join(path for path, _ in checked) or "no file"
    names = {_base(n) for n in (file.filename, file.id) if n}
    same_name = [(path, digest) for path, digest in checked if _base(path) in names]
    if file.sha256 is not None:
        for path, digest in checked:
            if digest == file.sha256:
                return FileCheck(role, file, path, "sha256")
        if same_name:
            path, digest = same_name[0]
            return FileCheck(
                role,
                file,
                problem=f"{label} has sha256 {_short(file.sha256)}, but the data report checked "
                f"{path} with sha256 {_short(digest)}: the model was not trained on the data "
                "the report checked",
            )
        return FileCheck(
            role,
            file,
            problem=f"{label} (sha256 {_short(file.sha256)}) is not covered by the data report "
            f"(it checked {listed})",
        )
    if same_name:
        path, digest = same_name[0]
        return FileCheck(role, replace(file, sha256=digest), path, "name")
    if file.filename is None and file.id.startswith("file-"):
        why = "its name is unknown (the file could not be read from the API)"
    else:
        why = f"the data report checked {listed}"
    return FileCheck(role, file, problem=f"{label} is not covered by the data report: {why}")


def assess_fine_tune(
    target: str, fine_tune: FineTune, data_report: Mapping[str, Any] | None = None
) -> FineTuneAssessment:
    """Judge ``target``'s provenance (see the module docstring); never raises."""
    if not fine_tune.available:
        return FineTuneAssessment(target, fine_tune, (), (fine_tune.problem or "",))
    problems: list[str] = []
    job = fine_tune.job_id or "?"
    if fine_tune.status != "succeeded":
        problems.append(
            f"job {job} has status {fine_tune.status or 'unknown'}, not succeeded"
            + (f" ({fine_tune.error})" if fine_tune.error else "")
        )
    served = fine_tune.target_model
    checkpoints = {c.model for c in fine_tune.checkpoints if c.model}
    if fine_tune.fine_tuned_model != served and served not in checkpoints:
        problems.append(
            f"job {job} produced {fine_tune.fine_tuned_model or 'no model'}, but {target} "
            f"serves {served}"
        )
    checks: list[FileCheck] = []
    checked = _report_files(data_report) if data_report is not None else None
    files: tuple[tuple[FileRole, FineTuneFile | None], ...] = (
        ("training", fine_tune.training_file),
        ("validation", fine_tune.validation_file),
    )
    for role, file in files:
        if file is None:
            continue
        if checked is None:
            checks.append(FileCheck(role, file))
            continue
        check = _check_file(role, file, checked)
        checks.append(check)
        if check.problem is not None:
            problems.append(check.problem)
    if checked is not None and fine_tune.training_file is None:
        problems.append(f"job {job} names no training file to compare with the data report")
    return FineTuneAssessment(target, fine_tune, tuple(checks), tuple(problems))


_SOURCES = {
    "api": "read from the API",
    "golden": "recorded in golden/",
    "record": "local training record",
}


def _summary(found: FineTuneAssessment) -> str:
    ft = found.fine_tune
    served = f"{found.target} serves {ft.target_model}"
    step = found.checkpoint_step
    if step is not None:
        served += f" (checkpoint at step {step})"
    source = _SOURCES.get(ft.source, ft.source)
    parts = [f"job {ft.job_id} succeeded ({source}); {served}"]
    for check in found.files:
        if check.checked_as is not None:
            parts.append(
                f"{check.role} file {check.file.id} checked by the data report as "
                f"{check.checked_as} (matched by {check.by})"
            )
    return "; ".join(parts)


@gate("fine_tune", unit="check", invariant="fine_tune", reads=())
def _fine_tune(spec: GateSpec, scope: Scope) -> list[Measurement]:
    fine_tune = scope.header.fine_tunes.get(scope.candidate)
    if fine_tune is None:
        raise NoEvidence(
            f"fine_tune = true, and the run recorded no fine-tune provenance for "
            f"{scope.candidate}: set fine_tune_job (or fine_tune_record) in "
            f"[tool.arcanos_eval.targets.{scope.candidate}]"
        )
    found = assess_fine_tune(scope.candidate, fine_tune, scope.data_report)
    if found.problems:
        return [Measurement(None, 0.0, False, "; ".join(found.problems))]
    return [Measurement(None, 1.0, True, _summary(found))]
