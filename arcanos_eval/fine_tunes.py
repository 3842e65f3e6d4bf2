"""Each fine-tuned target's provenance, read once when a run starts, for the run header.

A target has a fine-tune to account for when it names its job (``fine_tune_job = "ftjob-..."``),
names a local training record (``fine_tune_record = "path.json"``), or serves an ``ft:`` model
(whose job is then found by listing the jobs). Where the provenance comes from follows the run's
mode, like the answers (see :mod:`arcanos_eval.modes`):

==========================  =========================================================
``fine_tune_record``        the record file, in every mode (reading it is no call)
replay                      ``golden/_fine_tunes/<target>.json``; without it, "not recorded"
record, auto, batch         that recording when it is of the target's current model and job;
                            otherwise the API (auto and batch: when the target can be called)
refresh, live               the API
==========================  =========================================================

A reading from the API is recorded into ``golden/_fine_tunes/<target>.json`` by the modes that
write golden (record, refresh), so a later replay shows it without a call. The file is one sealed
JSON line (see :mod:`arcanos_eval._jsonl`): an edited recording is not used (the report says so).

**The local record** (``fine_tune_record``), written by a training script, is one JSON object in
the API's own shapes::

    {
      "kind": "arcanos-eval/fine-tune-record",
      "version": 1,
      "job": {"id": "local-...", "model": "<base model>", "fine_tuned_model": "<served model id>",
              "status": "succeeded", "training_file": "examples/training-data/train.jsonl",
              "validation_file": null, "trained_tokens": 123456, "created_at": 1750000000,
              "finished_at": 1750003600,
              "hyperparameters": {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 1.0}},
      "events": [{"created_at": 1750003600, "level": "info", "message": "..."}],
      "checkpoints": [{"step_number": 200, "fine_tuned_model_checkpoint": "...",
                       "metrics": {"train_loss": 0.41}}],
      "files": {"examples/training-data/train.jsonl": {"filename": "train.jsonl",
                                                        "bytes": 81234, "sha256": "..."}},
      "artifacts": {"examples/fine-tune/adapter.gguf": "<sha256>"}
    }

``job`` follows ``FineTuningJob`` (its ``training_file`` and ``validation_file`` are the files'
paths or ids), ``events`` ``FineTuningJobEvent`` and ``checkpoints`` ``FineTuningJobCheckpoint``
(both latest first, as the API lists them); ``files`` describes the job's files by id, with their
SHA-256 when known, which the report compares with the training-data report's; ``artifacts``
names what the training produced (an adapter, a merged model) with their SHA-256. Only ``kind``,
``version`` and ``job.id`` are required. A record that cannot be read leaves the target's
provenance unavailable, saying why; the run goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from arcanos_eval._bounded import DocumentError, load_json, read_text
from arcanos_eval._jsonl import dump_line, seal_line, seal_state, write_atomic
from arcanos_eval._version import sdk_version
from arcanos_eval.config import RunConfig, TargetConfig
from arcanos_eval.model import FineTune
from arcanos_eval.targets.base import Target
from arcanos_eval.targets.fine_tuning import read_fine_tune

__all__ = [
    "RECORD_KIND",
    "FineTuneStore",
    "collect_fine_tunes",
    "has_fine_tune",
    "read_fine_tune_record",
    "recorded_weights",
]

RECORD_KIND = "arcanos-eval/fine-tune-record"
RECORD_VERSION = 1
MAX_RECORD_BYTES = 1024 * 1024
STORE_FOLDER = "_fine_tunes"  # suite ids start with a letter or digit: no suite's folder


def has_fine_tune(target: TargetConfig) -> bool:
    """Whether ``target`` has a fine-tune to account for: it names its job or a local record, or
    serves an ``ft:`` model."""
    return (
        target.fine_tune_job is not None
        or target.fine_tune_record is not None
        or target.model.startswith("ft:")
    )


def recorded_weights(
    config: RunConfig, fine_tunes: Mapping[str, FineTune]
) -> dict[str, dict[str, Any]]:
    """Per target that names its fine-tune (``fine_tune_job`` or ``fine_tune_record``), what each
    of its recordings keeps of the weights that answered, from the provenance the run read when
    it started: the job's id, and for a local training record the record's SHA-256 and the
    artifacts it names (the adapter file, say) with theirs."""
    weights: dict[str, dict[str, Any]] = {}
    for name, fine_tune in fine_tunes.items():
        target = config.targets.get(name)
        if target is None or (target.fine_tune_job is None and target.fine_tune_record is None):
            continue
        identity: dict[str, Any] = {"job": fine_tune.job_id or target.fine_tune_job}
        if fine_tune.record_sha256 is not None:
            identity["record_sha256"] = fine_tune.record_sha256
        if fine_tune.artifacts:
            identity["artifacts"] = dict(fine_tune.artifacts)
        weights[name] = identity
    return weights


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except (ValueError, OSError):
        return str(path)


def read_fine_tune_record(path: Path, target: TargetConfig, root: Path) -> FineTune:
    """The provenance a local training record holds (format in the module docstring); a record
    that cannot be read gives ``provenance unavailable: <path>: <why>``."""
    shown = _shown(path, root)

    def unavailable(why: str) -> FineTune:
        return FineTune.missing(
            "record", target.model, f"provenance unavailable: {shown}: {why}", record=shown
        )

    try:
        text = read_text(path, limit=MAX_RECORD_BYTES)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        data = load_json(text)
    except DocumentError as exc:
        return unavailable(str(exc))
    except OSError as exc:
        return unavailable(f"cannot read file: {exc.strerror}")
    if not isinstance(data, Mapping):
        return unavailable("expected a JSON object (a fine-tune record)")
    if data.get("kind") != RECORD_KIND:
        return unavailable(f"field 'kind': expected {RECORD_KIND!r}, found {data.get('kind')!r}")
    if data.get("version") != RECORD_VERSION:
        return unavailable(
            f"field 'version': expected {RECORD_VERSION}, found {data.get('version')!r}"
        )
    job = data.get("job")
    if not isinstance(job, Mapping) or not isinstance(job.get("id"), str) or not job["id"]:
        return unavailable("field 'job': expected an object with a non-empty 'id'")
    artifacts = data.get("artifacts")
    return FineTune.from_job(
        job,
        source="record",
        target_model=target.model,
        events=data.get("events"),
        checkpoints=data.get("checkpoints"),
        files=data.get("files"),
        record=shown,
        record_sha256=digest,
        artifacts={str(k): v for k, v in (artifacts or {}).items() if isinstance(v, str)}
        if isinstance(artifacts, Mapping)
        else {},
    )


class FineTuneStore:
    """Readings of fine-tuning jobs recorded in the golden store: ``<golden>/_fine_tunes/<target>.json``.

    Each file is one sealed line: the target, the model and job it was read for, where and with
    which SDK, and the provenance.
    """

    def __init__(self, golden: Path, project: Path | None = None) -> None:
        self.root = Path(golden) / STORE_FOLDER
        self.project = project

    def path(self, target: str) -> Path:
        return self.root / f"{target}.json"

    def shown(self, target: str) -> str:
        """The recording's path as messages show it: relative to the project root when inside."""
        path = self.path(target)
        return str(path) if self.project is None else _shown(path, self.project)

    def get(self, target: TargetConfig) -> tuple[FineTune | None, str | None]:
        """The recorded provenance of ``target`` when it is of its current model and job, else
        ``None`` and why not (``None`` when there is no recording at all). An edited recording is
        returned as a provenance that is unavailable, saying so."""
        path, shown = self.path(target.name), self.shown(target.name)
        if not path.exists() and not path.is_symlink():
            return None, None
        try:
            line = read_text(path, limit=MAX_RECORD_BYTES)
            data = load_json(line)
        except DocumentError as exc:
            return self._broken(target, shown, f"cannot be read ({exc})"), None
        if not isinstance(data, Mapping) or not isinstance(data.get("fine_tune"), Mapping):
            return self._broken(target, shown, "is not a recording of a fine-tuning job"), None
        state = seal_state(line, data)
        if state != "sealed":
            why = "was edited after recording (content hash mismatch)"
            if state == "unsealed":
                why = "has no content hash"
            return self._broken(target, shown, why), None
        if data.get("model") != target.model or data.get("fine_tune_job") != target.fine_tune_job:
            return None, (
                f"{shown} was recorded for model {data.get('model')!r}"
                + (f" and job {data['fine_tune_job']!r}" if data.get("fine_tune_job") else "")
                + f", the target now serves {target.model!r}"
                + (f" from job {target.fine_tune_job!r}" if target.fine_tune_job else "")
            )
        recorded = FineTune.from_dict(data["fine_tune"])
        return replace(recorded, source="golden", target_model=target.model), None

    def _broken(self, target: TargetConfig, shown: str, why: str) -> FineTune:
        return FineTune.missing(
            "golden",
            target.model,
            f"provenance unavailable: {shown} {why}; restore it from version control, or record "
            "it again with arcanos-eval run --mode refresh",
        )

    def put(self, target: TargetConfig, endpoint: str, fine_tune: FineTune) -> Path:
        """Record ``fine_tune`` (read from the API just now) for ``target``."""
        record: dict[str, Any] = {
            "target": target.name,
            "model": target.model,
            "fine_tune_job": target.fine_tune_job,
            "endpoint": endpoint,
            "sdk": sdk_version(),
            "fine_tune": fine_tune.to_dict(),
        }
        path = self.path(target.name)
        write_atomic(path, [seal_line(dump_line(record))])
        return path


async def collect_fine_tunes(
    config: RunConfig, targets: Mapping[str, Target]
) -> dict[str, FineTune]:
    """The provenance of every target of ``targets`` that has a fine-tune (see
    :func:`has_fine_tune`), by target name, from the source the run's mode allows."""
    found: dict[str, FineTune] = {}
    store = FineTuneStore(config.golden, config.root)
    mode = config.mode
    for name, target in targets.items():
        settings = target.config
        if not has_fine_tune(settings):
            continue
        if settings.fine_tune_record is not None:
            found[name] = read_fine_tune_record(settings.fine_tune_record, settings, config.root)
            continue
        recorded, stale = store.get(settings) if mode.reads_golden else (None, None)
        if recorded is not None:
            found[name] = recorded
            continue
        callable_now = mode.may_call and (not mode.needs_credentials_to_call or _can_call(target))
        if not callable_now:
            found[name] = FineTune.missing(
                "golden",
                settings.model,
                "provenance not recorded: "
                + (stale or f"{store.shown(name)} does not exist")
                + "; record it with arcanos-eval run --mode record (it reads the fine-tuning "
                "job through the API)",
            )
            continue
        read = await read_fine_tune(settings, timeout_s=settings.timeout_s or config.timeout_s)
        if read.available and mode.writes_golden:
            store.put(settings, target.endpoint, read)
        found[name] = read
    return found


def _can_call(target: Target) -> bool:
    can_call = getattr(target, "can_call", None)
    return bool(can_call()) if callable(can_call) else True
