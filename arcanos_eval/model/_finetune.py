"""Where a fine-tuned target came from: the fine-tuning job behind it, as the run header records it.

A target's fine-tune provenance is read once when a run starts (see :mod:`arcanos_eval.fine_tunes`)
from one of three sources, and written into the run header under ``fine_tunes.<target>``:

* ``api``: the fine-tuning job read through the OpenAI SDK (``fine_tuning.jobs.retrieve``, its
  events and checkpoints, and ``files.retrieve`` for the training and validation files);
* ``golden``: that same reading, recorded in ``golden/_fine_tunes/<target>.json`` by a run that
  made it, so a replay shows it without a call;
* ``record``: a JSON record a local training script wrote (``fine_tune_record``), in the same
  shapes as the API's objects.

Every source goes through :meth:`FineTune.from_job`, which reads the API's shapes (``FineTuningJob``,
``FineTuningJobEvent``, ``FineTuningJobCheckpoint``) field by field and never raises: a value of
the wrong kind is left out, long text is cut, and only the last few events are kept, so a header
stays small whatever a server or a file holds. A target whose provenance could not be read carries
``problem`` (``provenance unavailable: ...`` or ``provenance not recorded: ...``) and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FineTune", "FineTuneCheckpoint", "FineTuneEvent", "FineTuneFile"]

EVENTS_KEPT = 10
CHECKPOINTS_KEPT = 20
_TEXT = 300  # characters of any text field kept
_HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate_multiplier", "beta", "seed")
_METRICS = 12


def _text(value: Any, limit: int = _TEXT) -> str | None:
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[: limit - 3] + "..."


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _scalar(value: Any) -> str | int | float | None:
    """A hyperparameter: a number or short text (``"auto"``), else nothing."""
    number = _number(value)
    return number if number is not None else _text(value, 40)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, (list, tuple)) else ()


@dataclass(frozen=True)
class FineTuneFile:
    """A training or validation file of a job: its id (a local record's path), and what is known
    of it: the name it was uploaded under, its size and its SHA-256 (a local record's own, or the
    data report's when :func:`~arcanos_eval.gates.assess_fine_tune` matched it)."""

    id: str
    filename: str | None = None
    bytes: int | None = None
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        for key in ("filename", "bytes", "sha256"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FineTuneFile:
        return cls(
            str(data["id"]),
            _text(data.get("filename")),
            _int(data.get("bytes")),
            _text(data.get("sha256"), 128),
        )


@dataclass(frozen=True)
class FineTuneCheckpoint:
    """A checkpoint of a job: its step, the model id it can be served under, and its metrics."""

    step: int | None
    model: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "model": self.model, "metrics": dict(self.metrics)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FineTuneCheckpoint:
        metrics = {
            str(k): v for k, v in _mapping(data.get("metrics")).items() if _number(v) is not None
        }
        return cls(_int(data.get("step")), _text(data.get("model")), metrics)


@dataclass(frozen=True)
class FineTuneEvent:
    """One event of a job (``created_at`` in Unix seconds)."""

    created_at: int | None
    level: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"created_at": self.created_at, "level": self.level, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FineTuneEvent:
        return cls(
            _int(data.get("created_at")),
            _text(data.get("level"), 20) or "info",
            _text(data.get("message")) or "",
        )


_KEYS = (
    "source",
    "target_model",
    "problem",
    "job_id",
    "base_model",
    "fine_tuned_model",
    "status",
    "error",
    "training_file",
    "validation_file",
    "trained_tokens",
    "hyperparameters",
    "method",
    "created_at",
    "finished_at",
    "checkpoints",
    "events",
    "recorded_at",
    "record",
    "record_sha256",
    "artifacts",
)


@dataclass(frozen=True)
class FineTune:
    """The fine-tune behind one target, as the run read it.

    Attributes:
        source: ``api`` (read now), ``golden`` (recorded by an earlier run), ``record`` (a local
            training script's record).
        target_model: the model id the target serves.
        problem: why there is no provenance (``provenance unavailable: ...``, ``provenance not
            recorded: ...``); ``None`` when the job was read.
        job_id / base_model / fine_tuned_model / status: the job's ``id``, ``model``,
            ``fine_tuned_model`` and ``status``; ``error`` its error message when it failed.
        training_file / validation_file: the job's files.
        trained_tokens / hyperparameters / method: how it trained (``n_epochs`` is the epochs).
        created_at / finished_at: Unix seconds.
        checkpoints: step, model id and metrics of each checkpoint, latest first.
        events: the last few events, latest first.
        recorded_at: when the job was read from the API (ISO 8601 UTC).
        record / record_sha256: a local record's path and the SHA-256 of its bytes.
        artifacts: a local record's artifacts (an adapter file, say) by name, with their SHA-256.
    """

    source: str
    target_model: str
    problem: str | None = None
    job_id: str | None = None
    base_model: str | None = None
    fine_tuned_model: str | None = None
    status: str | None = None
    error: str | None = None
    training_file: FineTuneFile | None = None
    validation_file: FineTuneFile | None = None
    trained_tokens: int | None = None
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    method: str | None = None
    created_at: int | None = None
    finished_at: int | None = None
    checkpoints: tuple[FineTuneCheckpoint, ...] = ()
    events: tuple[FineTuneEvent, ...] = ()
    recorded_at: str | None = None
    record: str | None = None
    record_sha256: str | None = None
    artifacts: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        """The job was read (``problem`` is ``None``)."""
        return self.problem is None

    @property
    def epochs(self) -> Any:
        return self.hyperparameters.get("n_epochs")

    @classmethod
    def missing(cls, source: str, target_model: str, problem: str, **fields: Any) -> FineTune:
        """No provenance, and why (``problem`` is the whole sentence the report prints)."""
        return cls(source, target_model, problem=problem, **fields)

    @classmethod
    def from_job(
        cls,
        job: Any,
        *,
        source: str,
        target_model: str,
        events: Any = (),
        checkpoints: Any = (),
        files: Any = None,
        **fields: Any,
    ) -> FineTune:
        """The provenance in a fine-tuning job and its events, checkpoints and files, each in the
        API's JSON shape (``FineTuningJob``, ``FineTuningJobEvent``, ``FineTuningJobCheckpoint``,
        and ``{file id: {"filename", "bytes", "sha256"}}``). Never raises: values of the wrong
        kind are left out."""
        job = _mapping(job)
        described = _mapping(files)
        hyper = _mapping(job.get("hyperparameters"))
        method = _mapping(job.get("method"))
        kind = _text(method.get("type"), 40)
        if kind is not None and not hyper:
            # Jobs created with `method` carry their hyperparameters inside it.
            hyper = _mapping(_mapping(method.get(kind)).get("hyperparameters"))
        hyperparameters = {
            k: value
            for k in _HYPERPARAMETERS
            if k in hyper and (value := _scalar(hyper[k])) is not None
        }
        seed = _int(job.get("seed"))
        if "seed" not in hyperparameters and seed is not None:
            hyperparameters["seed"] = seed
        error = _mapping(job.get("error"))

        def described_file(key: str) -> FineTuneFile | None:
            file_id = _text(job.get(key))
            if file_id is None:
                return None
            info = _mapping(described.get(file_id))
            return FineTuneFile(
                file_id,
                _text(info.get("filename")),
                _int(info.get("bytes")),
                _text(info.get("sha256"), 128),
            )

        kept_checkpoints = []
        for item in _list(checkpoints)[:CHECKPOINTS_KEPT]:
            item = _mapping(item)
            metrics = _mapping(item.get("metrics"))
            kept_checkpoints.append(
                FineTuneCheckpoint(
                    _int(item.get("step_number")),
                    _text(item.get("fine_tuned_model_checkpoint")),
                    {
                        str(k): float(v)
                        for k, v in list(metrics.items())[:_METRICS]
                        if k != "step" and _number(v) is not None
                    },
                )
            )
        kept_events = [
            FineTuneEvent(
                _int(_mapping(e).get("created_at")),
                _text(_mapping(e).get("level"), 20) or "info",
                _text(_mapping(e).get("message")) or "",
            )
            for e in _list(events)[:EVENTS_KEPT]
        ]
        return cls(
            source,
            target_model,
            job_id=_text(job.get("id")),
            base_model=_text(job.get("model")),
            fine_tuned_model=_text(job.get("fine_tuned_model")),
            status=_text(job.get("status"), 40),
            error=_text(error.get("message")) if error else None,
            training_file=described_file("training_file"),
            validation_file=described_file("validation_file"),
            trained_tokens=_int(job.get("trained_tokens")),
            hyperparameters=hyperparameters,
            method=kind,
            created_at=_int(job.get("created_at")),
            finished_at=_int(job.get("finished_at")),
            checkpoints=tuple(kept_checkpoints),
            events=tuple(kept_events),
            **fields,
        )

    def to_dict(self) -> dict[str, Any]:
        """The header's ``fine_tunes.<target>`` object (unset fields left out)."""
        data: dict[str, Any] = {"source": self.source, "target_model": self.target_model}
        for key in _KEYS[2:]:
            value = getattr(self, key)
            if value is None or value == () or value == {}:
                continue
            if isinstance(value, FineTuneFile):
                value = value.to_dict()
            elif key in ("checkpoints", "events"):
                value = [item.to_dict() for item in value]
            elif isinstance(value, Mapping):
                value = dict(value)
            data[key] = value
        return {**data, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FineTune:
        def file(key: str) -> FineTuneFile | None:
            value = data.get(key)
            return FineTuneFile.from_dict(value) if isinstance(value, Mapping) else None

        return cls(
            source=str(data.get("source") or "api"),
            target_model=str(data.get("target_model") or ""),
            problem=_text(data.get("problem"), 1000),
            job_id=_text(data.get("job_id")),
            base_model=_text(data.get("base_model")),
            fine_tuned_model=_text(data.get("fine_tuned_model")),
            status=_text(data.get("status"), 40),
            error=_text(data.get("error")),
            training_file=file("training_file"),
            validation_file=file("validation_file"),
            trained_tokens=_int(data.get("trained_tokens")),
            hyperparameters={
                str(k): value
                for k, v in _mapping(data.get("hyperparameters")).items()
                if (value := _scalar(v)) is not None
            },
            method=_text(data.get("method"), 40),
            created_at=_int(data.get("created_at")),
            finished_at=_int(data.get("finished_at")),
            checkpoints=tuple(
                FineTuneCheckpoint.from_dict(c)
                for c in _list(data.get("checkpoints"))
                if isinstance(c, Mapping)
            ),
            events=tuple(
                FineTuneEvent.from_dict(e)
                for e in _list(data.get("events"))
                if isinstance(e, Mapping)
            ),
            recorded_at=_text(data.get("recorded_at"), 40),
            record=_text(data.get("record"), 1000),
            record_sha256=_text(data.get("record_sha256"), 128),
            artifacts={
                str(k): str(v)
                for k, v in _mapping(data.get("artifacts")).items()
                if isinstance(v, str)
            },
            extra={k: v for k, v in data.items() if k not in _KEYS},
        )
