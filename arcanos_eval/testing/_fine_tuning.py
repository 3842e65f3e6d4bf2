"""The fine-tuning endpoints of the loopback server: jobs, their events and their checkpoints.

Read-only, like what arcanos-eval asks of the real API when it reads a target's provenance:
``GET /v1/fine_tuning/jobs`` (newest first, ``after``/``limit`` cursor pagination),
``GET /v1/fine_tuning/jobs/{id}``, ``GET /v1/fine_tuning/jobs/{id}/events`` and
``GET /v1/fine_tuning/jobs/{id}/checkpoints``. The jobs are scripted with :class:`FineTuneJob`; the
bodies have the shapes of the SDK's ``FineTuningJob``, ``FineTuningJobEvent`` and
``FineTuningJobCheckpoint`` (the tests validate them against those types).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from arcanos_eval.testing._batches import DeskError

__all__ = ["FineTuneJob", "FineTuningDesk"]

_TERMINAL = ("succeeded", "failed", "cancelled")
_DEFAULT_EVENTS = (
    "Created fine-tuning job",
    "Validating training file",
    "Files validated, moving job to queued state",
    "Fine-tuning job started",
    "New fine-tuned model created",
    "The job has successfully completed",
)


@dataclass(frozen=True)
class FineTuneJob:
    """A fine-tuning job the loopback server knows.

    Attributes:
        id: the job id (``ftjob-...``).
        model: the base model it fine-tuned.
        fine_tuned_model: the model it produced (``None`` while it runs or when it failed).
        status: ``validating_files``, ``queued``, ``running``, ``succeeded``, ``failed`` or
            ``cancelled``.
        training_file / validation_file: file ids (upload them with ``POST /v1/files`` to make
            ``GET /v1/files/{id}`` answer).
        trained_tokens: billable tokens, ``None`` while it runs.
        hyperparameters: ``n_epochs``, ``batch_size``, ``learning_rate_multiplier``.
        created_at: Unix seconds; events follow a minute apart and a finished job ends an hour
            later.
        error: ``(code, message)`` of a failed job.
        events: the messages of its events, oldest first (listed newest first, as the API does).
        checkpoints: ``(step, metrics)`` of each checkpoint (listed latest step first).
    """

    id: str
    model: str = "gpt-4.1-2025-04-14"
    fine_tuned_model: str | None = "ft:gpt-4.1-2025-04-14:personal:arca"
    status: str = "succeeded"
    training_file: str = "file-training"
    validation_file: str | None = None
    trained_tokens: int | None = 120_000
    hyperparameters: Mapping[str, Any] = field(
        default_factory=lambda: {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 2.0}
    )
    created_at: int = 1_750_000_000
    seed: int = 42
    error: tuple[str, str] | None = None
    events: Sequence[str] = _DEFAULT_EVENTS
    checkpoints: Sequence[tuple[int, Mapping[str, float]]] = (
        (100, {"train_loss": 0.82, "train_mean_token_accuracy": 0.71}),
        (200, {"train_loss": 0.41, "train_mean_token_accuracy": 0.86}),
    )
    organization_id: str = "org-loopback"

    def to_dict(self) -> dict[str, Any]:
        """The job as ``GET /v1/fine_tuning/jobs/{id}`` returns it."""
        finished = self.created_at + 3600 if self.status in _TERMINAL else None
        hyper = dict(self.hyperparameters)
        return {
            "id": self.id,
            "object": "fine_tuning.job",
            "created_at": self.created_at,
            "error": None
            if self.error is None
            else {"code": self.error[0], "message": self.error[1], "param": None},
            "fine_tuned_model": self.fine_tuned_model,
            "finished_at": finished,
            "hyperparameters": hyper,
            "model": self.model,
            "organization_id": self.organization_id,
            "result_files": [f"file-result-{self.id}"] if self.status == "succeeded" else [],
            "seed": self.seed,
            "status": self.status,
            "trained_tokens": self.trained_tokens,
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "estimated_finish": None,
            "integrations": [],
            "metadata": None,
            "method": {"type": "supervised", "supervised": {"hyperparameters": hyper}},
        }

    def event_list(self) -> list[dict[str, Any]]:
        """Its events, newest first."""
        last = len(self.events)
        events: list[dict[str, Any]] = [
            {
                "id": f"ftevent-{self.id}-{number}",
                "object": "fine_tuning.job.event",
                "created_at": self.created_at + 60 * number,
                "level": "error" if self.status == "failed" and number == last else "info",
                "message": message,
                "data": {},
                "type": "message",
            }
            for number, message in enumerate(self.events, start=1)
        ]
        return events[::-1]

    def checkpoint_list(self) -> list[dict[str, Any]]:
        """Its checkpoints, latest step first."""
        served = self.fine_tuned_model or f"ft:{self.model}:loopback"
        return [
            {
                "id": f"ftckpt-{self.id}-{step}",
                "object": "fine_tuning.job.checkpoint",
                "created_at": self.created_at + 10 * step,
                "fine_tuned_model_checkpoint": f"{served}:ckpt-step-{step}",
                "fine_tuning_job_id": self.id,
                "metrics": {"step": float(step), **metrics},
                "step_number": step,
            }
            for step, metrics in sorted(self.checkpoints, key=lambda c: c[0], reverse=True)
        ]


def _page(items: Sequence[dict[str, Any]], query: str, page_max: int) -> dict[str, Any]:
    """One page of a cursor-paginated list: the items after the one whose id is ``after``, at
    most ``limit`` (default 20) and never more than ``page_max``."""
    params = parse_qs(query)
    after = params.get("after", [None])[-1]
    raw_limit = params.get("limit", ["20"])[-1]
    try:
        limit = int(raw_limit)
    except ValueError:
        raise DeskError(400, f"Invalid value for 'limit': {raw_limit!r}.") from None
    if limit < 1:
        raise DeskError(400, f"Invalid value for 'limit': {limit}; expected at least 1.")
    start = 0
    if after is not None:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise DeskError(400, f"Invalid value for 'after': no object with id {after!r}.")
        start = ids.index(after) + 1
    size = min(limit, page_max)
    data = list(items[start : start + size])
    return {"object": "list", "data": data, "has_more": start + size < len(items)}


class FineTuningDesk:
    """The scripted jobs of one server. Only the server's event loop reads it.

    Args:
        jobs: the jobs, newest first (the order ``GET /v1/fine_tuning/jobs`` lists them in).
        page_max: the most items one page of a list holds, whatever ``limit`` asks.
    """

    def __init__(self, jobs: Sequence[FineTuneJob] = (), *, page_max: int = 100) -> None:
        self.jobs: list[FineTuneJob] = list(jobs)
        self.page_max = page_max

    def handle(self, method: str, route: str, query: str) -> dict[str, Any]:
        """Answer a ``/fine_tuning/...`` request with its JSON body.

        Raises:
            DeskError: an unknown route or job, or a bad ``after`` or ``limit``.
        """
        parts = route.strip("/").split("/")
        if method != "GET" or parts[:2] != ["fine_tuning", "jobs"] or len(parts) > 4:
            raise DeskError(404, f"Invalid URL ({method} /v1{route})")
        if len(parts) == 2:
            return _page([job.to_dict() for job in self.jobs], query, self.page_max)
        job = self._job(parts[2])
        if len(parts) == 3:
            return job.to_dict()
        if parts[3] == "events":
            return _page(job.event_list(), query, self.page_max)
        if parts[3] == "checkpoints":
            return _page(job.checkpoint_list(), query, self.page_max)
        raise DeskError(404, f"Invalid URL ({method} /v1{route})")

    def _job(self, job_id: str) -> FineTuneJob:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise DeskError(404, f"Could not find fine-tuning job: {job_id}")
