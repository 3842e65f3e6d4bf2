"""The "Fine-tune provenance" section's content, for the markdown and HTML reports alike.

One :class:`FineTuneView` per target whose provenance the run recorded (candidate first, then base,
then the others by name): whether it was verified and every problem found (see
:func:`~arcanos_eval.gates.assess_fine_tune`), the job's facts, its checkpoints and its last
events, all as plain text rows that each report lays out in its own tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from arcanos_eval.gates import FileCheck, FineTuneAssessment, assess_fine_tune
from arcanos_eval.model import FineTune
from arcanos_eval.report.evaluation import Evaluation

__all__ = ["FineTuneView", "fine_tune_views"]


@dataclass(frozen=True)
class FineTuneView:
    """One target's provenance as the report shows it.

    Attributes:
        target / role / model: the target, its role (``candidate``, ``base``, ``rollback`` or
            empty) and the model id it serves.
        assessment: what was verified and every problem.
        facts: (what, value) rows: where the provenance came from, the job, its models, files,
            tokens, epochs and hyperparameters.
        checkpoints: (step, model id, metrics) rows, latest first.
        events: (time, level, message) rows, latest first.
    """

    target: str
    role: str
    model: str
    assessment: FineTuneAssessment
    facts: tuple[tuple[str, str], ...]
    checkpoints: tuple[tuple[str, str, str], ...]
    events: tuple[tuple[str, str, str], ...]

    @property
    def verdict(self) -> str:
        """``verified``, or how many problems."""
        problems = len(self.assessment.problems)
        return "verified" if not problems else f"{problems} problem(s)"


def _time(seconds: int | None) -> str:
    if seconds is None:
        return "n/a"
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _source(ft: FineTune) -> str:
    if ft.source == "record":
        digest = f", sha256 {ft.record_sha256[:12]}" if ft.record_sha256 else ""
        return f"local training record {ft.record or '?'}{digest}"
    if ft.source == "golden":
        when = f", read from the API {ft.recorded_at}" if ft.recorded_at else ""
        return f"recorded in golden/ (no call in this run{when})"
    return "read from the API (fine_tuning.jobs.retrieve)" + (
        f" at {ft.recorded_at}" if ft.recorded_at else ""
    )


def _file(check: FileCheck | None, missing: str = "none") -> str:
    if check is None:
        return missing
    file = check.file
    parts = [file.id]
    if file.filename and file.filename != file.id:
        parts.append(f"({file.filename})")
    if file.bytes is not None:
        parts.append(f"{file.bytes:,} bytes")
    if file.sha256 is not None:
        parts.append(f"sha256 {file.sha256[:12]}")
    if check.checked_as is not None:
        parts.append(f"= data report's {check.checked_as} (by {check.by})")
    elif check.problem is not None:
        parts.append("(not the data report's)")
    return " ".join(parts)


def _facts(
    found: FineTuneAssessment, data_report: Mapping[str, Any] | None
) -> list[tuple[str, str]]:
    ft = found.fine_tune
    if not ft.available:
        return [("provenance", ft.problem or "unavailable")]
    files = {check.role: check for check in found.files}
    hyper = ", ".join(
        f"{k} {_number(v)}" for k, v in sorted(ft.hyperparameters.items()) if k != "n_epochs"
    )
    served = ft.fine_tuned_model or "none"
    step = found.checkpoint_step
    if step is not None:
        served += f" (the target serves its checkpoint at step {step})"
    facts = [
        ("source", _source(ft)),
        ("job", ft.job_id or "?"),
        ("status", (ft.status or "unknown") + (f": {ft.error}" if ft.error else "")),
        ("base model", ft.base_model or "?"),
        ("result model", served),
        ("training file", _file(files.get("training"))),
        ("validation file", _file(files.get("validation"))),
        (
            "data report",
            "not supplied (arcanos-eval report --data-report PATH compares its files' hashes)"
            if data_report is None
            else "supplied: "
            + ("files compared" if found.files else "the job names no file to compare"),
        ),
        ("trained tokens", "n/a" if ft.trained_tokens is None else f"{ft.trained_tokens:,}"),
        ("epochs", "n/a" if ft.epochs is None else _number(ft.epochs)),
        ("hyperparameters", hyper or "n/a"),
        ("method", ft.method or "n/a"),
        ("created", _time(ft.created_at)),
        ("finished", _time(ft.finished_at)),
    ]
    facts += [(f"artifact {name}", f"sha256 {digest}") for name, digest in ft.artifacts.items()]
    return facts


def fine_tune_views(ev: Evaluation) -> list[FineTuneView]:
    """Every target's recorded provenance, candidate first."""
    header = ev.header
    roles = {ev.baseline: "base", ev.candidate: "candidate"}
    if ev.rollback:
        roles.setdefault(ev.rollback, "rollback")
    order = {ev.candidate: 0, ev.baseline: 1}
    views = []
    for target in sorted(header.fine_tunes, key=lambda t: (order.get(t, 2), t)):
        ft = header.fine_tunes[target]
        found = assess_fine_tune(target, ft, ev.data_report)
        checkpoints = tuple(
            (
                "n/a" if c.step is None else str(c.step),
                c.model or "?",
                ", ".join(f"{k} {v:.4g}" for k, v in sorted(c.metrics.items())) or "n/a",
            )
            for c in ft.checkpoints
        )
        events = tuple((_time(e.created_at), e.level, e.message) for e in ft.events)
        views.append(
            FineTuneView(
                target,
                roles.get(target, ""),
                ft.target_model or header.target(target).model or "?",
                found,
                tuple(_facts(found, ev.data_report)),
                checkpoints,
                events,
            )
        )
    return views
