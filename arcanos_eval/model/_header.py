"""The run log's header: what was run, against what, under which gates, with which software.

The header line is written once when a run starts; the footer line (when the run finished, engine
statistics) is appended at the end and read back into :attr:`RunHeader.footer`. On disk both stay
plain JSON objects with the keys below, so logs written by any version of this schema read alike;
keys this version does not know are kept in ``extra`` and written back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arcanos_eval.model._finetune import FineTune

__all__ = [
    "SCHEMA_VERSION",
    "SUPPORTED_VERSIONS",
    "Provenance",
    "Roles",
    "RunFooter",
    "RunHeader",
    "SuiteInfo",
    "TargetInfo",
]

# Version 2 added ``fine_tunes``, ``roles.rollback_model`` and ``data_report``. A log is written at the lowest
# version that holds what it records (see ``RunHeader.required_version``): a log with neither reads
# in versions that predate them, and one whose verdict depends on them is refused there rather
# than judged without them.
SCHEMA_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def _extra(data: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in known}


@dataclass(frozen=True)
class Roles:
    """Which targets play base, candidate and the release to roll back to (a target,
    ``rollback``, or a model id no target calls, ``rollback_model``)."""

    baseline: str | None = None
    candidate: str | None = None
    rollback: str | None = None
    rollback_model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"baseline": self.baseline, "candidate": self.candidate, "rollback": self.rollback}
        if self.rollback_model is not None:
            data["rollback_model"] = self.rollback_model
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Roles:
        return cls(
            _text(data.get("baseline")),
            _text(data.get("candidate")),
            _text(data.get("rollback")),
            _text(data.get("rollback_model")),
        )


_TARGET_KEYS = (
    "model",
    "api",
    "endpoint",
    "stream",
    "structured_outputs",
    "params",
    "prices",
    "description",
    "system_prompt_source",
    "system_prompt_sha256",
)


@dataclass(frozen=True)
class TargetInfo:
    """What the report says about a target: everything but credentials (the system prompt only
    by its source and hash)."""

    model: str | None = None
    api: str | None = None
    endpoint: str | None = None
    stream: bool = False
    structured_outputs: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    prices: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    system_prompt_source: str | None = None
    system_prompt_sha256: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "api": self.api,
            "endpoint": self.endpoint,
            "stream": self.stream,
            "structured_outputs": self.structured_outputs,
            "params": dict(self.params),
            "prices": dict(self.prices),
            "description": self.description,
            "system_prompt_source": self.system_prompt_source,
            "system_prompt_sha256": self.system_prompt_sha256,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetInfo:
        return cls(
            model=_text(data.get("model")),
            api=_text(data.get("api")),
            endpoint=_text(data.get("endpoint")),
            stream=bool(data.get("stream")),
            structured_outputs=_text(data.get("structured_outputs")),
            params=dict(_mapping(data.get("params"))),
            prices={str(k): float(v) for k, v in _mapping(data.get("prices")).items()},
            description=str(data.get("description") or ""),
            system_prompt_source=_text(data.get("system_prompt_source")),
            system_prompt_sha256=_text(data.get("system_prompt_sha256")),
            extra=_extra(data, _TARGET_KEYS),
        )


_SUITE_KEYS = (
    "version",
    "path",
    "description",
    "categories",
    "cases",
    "response_schema",
    "schema_of_record",
    "case_inputs",
    "labels",
)


@dataclass(frozen=True)
class SuiteInfo:
    """A suite of the run: enough to report on it without its file (inputs clipped to 500
    characters), and the response schema the run checked against beside the one on record.
    ``labels`` holds the human labels of its cases (``metadata.label``) read as the verdict their
    model-graded checks should reach (``True``: pass), by case id; absent from the log when none.
    """

    version: str | None = None
    path: str | None = None
    description: str = ""
    categories: tuple[str, ...] = ()
    cases: int | None = None
    response_schema: Mapping[str, Any] | None = None
    schema_of_record: Mapping[str, Any] | None = None
    case_inputs: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        labels = {"labels": dict(self.labels)} if self.labels else {}
        return {
            "version": self.version,
            "path": self.path,
            "description": self.description,
            "categories": list(self.categories),
            "cases": self.cases,
            "response_schema": None if self.response_schema is None else dict(self.response_schema),
            "schema_of_record": (
                None if self.schema_of_record is None else dict(self.schema_of_record)
            ),
            "case_inputs": dict(self.case_inputs),
            **labels,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuiteInfo:
        schema, of_record = data.get("response_schema"), data.get("schema_of_record")
        return cls(
            version=_text(data.get("version")),
            path=_text(data.get("path")),
            description=str(data.get("description") or ""),
            categories=tuple(str(c) for c in data.get("categories") or ()),
            cases=_count(data.get("cases")),
            response_schema=dict(schema) if isinstance(schema, Mapping) else None,
            schema_of_record=dict(of_record) if isinstance(of_record, Mapping) else None,
            case_inputs={str(k): str(v) for k, v in _mapping(data.get("case_inputs")).items()},
            extra=_extra(data, _SUITE_KEYS),
            labels={
                str(k): v for k, v in _mapping(data.get("labels")).items() if isinstance(v, bool)
            },
        )


_PROVENANCE_KEYS = ("arcanos_eval", "sdk", "python", "platform", "git_commit")


@dataclass(frozen=True)
class Provenance:
    """The software that produced the run: versions, platform and the commit checked out."""

    arcanos_eval: str | None = None
    sdk: str | None = None
    python: str | None = None
    platform: str | None = None
    git_commit: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "arcanos_eval": self.arcanos_eval,
            "sdk": self.sdk,
            "python": self.python,
            "platform": self.platform,
            "git_commit": self.git_commit,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        return cls(
            arcanos_eval=_text(data.get("arcanos_eval")),
            sdk=_text(data.get("sdk")),
            python=_text(data.get("python")),
            platform=_text(data.get("platform")),
            git_commit=_text(data.get("git_commit")),
            extra=_extra(data, _PROVENANCE_KEYS),
        )


_FOOTER_KEYS = ("type", "finished_at", "stats", "workers")


@dataclass(frozen=True)
class RunFooter:
    """The last line of a finished run: when it ended, the engine's figures and, for a run merged
    from several pytest-xdist workers, how many there were. A log without one was interrupted."""

    finished_at: str | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)
    workers: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "footer"}
        if self.finished_at is not None:
            data["finished_at"] = self.finished_at
        data["stats"] = dict(self.stats)
        if self.workers is not None:
            data["workers"] = self.workers
        return {**data, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunFooter:
        return cls(
            finished_at=_text(data.get("finished_at")),
            stats=dict(_mapping(data.get("stats"))),
            workers=_count(data.get("workers")),
            extra=_extra(data, _FOOTER_KEYS),
        )


_HEADER_KEYS = (
    "type",
    "schema_version",
    "run_id",
    "started_at",
    "mode",
    "concurrency",
    "roles",
    "targets",
    "suites",
    "gates",
    "planned",
    "log",
    "provenance",
    "compare",
    "footer",
    "fine_tunes",
    "data_report",
)


@dataclass(frozen=True)
class RunHeader:
    """The header of a run log, with its footer once the run finished.

    Optional fields are ``None`` when the log did not record them (and are then not written back).
    ``gates`` is the ``[tool.arcanos_eval.gates]`` table the run was configured with, as written:
    the gate parser reads it. ``exclude_paths`` (stored as ``compare.exclude_paths``) are JSON
    paths the run's output diffs leave out. ``planned`` counts the answers the run set out to get
    (case x target x repeat); ``log`` is where the run wrote this log, relative to the project
    folder when inside it: what ``arcanos-eval run --resume`` takes there. ``fine_tunes`` holds,
    per target whose fine-tune was looked up, its provenance (see
    :class:`~arcanos_eval.model.FineTune`). ``data_report`` is what the data gate reads of the
    training-data report the run was given (``source``, its ``sha256``, ``passed``, ``verdict``
    and each checked file's ``path``, ``role`` and ``sha256``), so re-rendering the log judges the
    data as the run did.
    """

    run_id: str | None = None
    started_at: str | None = None
    mode: str | None = None
    concurrency: int | None = None
    roles: Roles = field(default_factory=Roles)
    targets: Mapping[str, TargetInfo] = field(default_factory=dict)
    suites: Mapping[str, SuiteInfo] = field(default_factory=dict)
    gates: Mapping[str, Any] = field(default_factory=dict)
    planned: int | None = None
    log: str | None = None
    provenance: Provenance = field(default_factory=Provenance)
    exclude_paths: tuple[str, ...] | None = None
    footer: RunFooter | None = None
    schema_version: int = SCHEMA_VERSION
    fine_tunes: Mapping[str, FineTune] = field(default_factory=dict)
    data_report: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def required_version(self) -> int:
        """The lowest schema version that holds this header: 2 with fine-tune provenance, a
        rollback model or a training-data report, else 1."""
        later = self.fine_tunes or self.roles.rollback_model is not None or self.data_report
        return 2 if later else 1

    @property
    def baseline(self) -> str:
        """The base target's name (``base`` when the run did not record one)."""
        return self.roles.baseline or "base"

    @property
    def candidate(self) -> str:
        """The candidate target's name (``candidate`` when the run did not record one)."""
        return self.roles.candidate or "candidate"

    @property
    def rollback(self) -> str | None:
        return self.roles.rollback

    def target(self, name: str) -> TargetInfo:
        """What the run recorded about target ``name`` (empty when nothing)."""
        return self.targets.get(name) or TargetInfo()

    def suite(self, suite_id: str) -> SuiteInfo:
        """What the run recorded about suite ``suite_id`` (empty when nothing)."""
        return self.suites.get(suite_id) or SuiteInfo()

    def response_schemas(self) -> dict[str, Mapping[str, Any]]:
        """The response schema of every suite that declares one, by suite id."""
        return {sid: s.response_schema for sid, s in self.suites.items() if s.response_schema}

    def to_dict(self) -> dict[str, Any]:
        """The header line as written (with ``footer`` when one was read)."""
        data: dict[str, Any] = {"type": "header", "schema_version": self.schema_version}
        for key in ("run_id", "started_at", "mode", "concurrency"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        data["roles"] = self.roles.to_dict()
        data["targets"] = {name: t.to_dict() for name, t in self.targets.items()}
        data["suites"] = {sid: s.to_dict() for sid, s in self.suites.items()}
        data["gates"] = dict(self.gates)
        if self.planned is not None:
            data["planned"] = self.planned
        if self.log is not None:
            data["log"] = self.log
        data["provenance"] = self.provenance.to_dict()
        if self.exclude_paths is not None:
            data["compare"] = {"exclude_paths": list(self.exclude_paths)}
        if self.footer is not None:
            data["footer"] = self.footer.to_dict()
        if self.fine_tunes:
            data["fine_tunes"] = {name: f.to_dict() for name, f in self.fine_tunes.items()}
        if self.data_report is not None:
            data["data_report"] = dict(self.data_report)
        return {**data, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunHeader:
        """Read a header (any mapping of its keys); unknown keys go to ``extra``.

        Raises:
            TypeError, ValueError: a known key holds a value of the wrong kind.
        """
        excluded = _mapping(data.get("compare")).get("exclude_paths")
        footer = data.get("footer")
        return cls(
            run_id=_text(data.get("run_id")),
            started_at=_text(data.get("started_at")),
            mode=_text(data.get("mode")),
            concurrency=_count(data.get("concurrency")),
            roles=Roles.from_dict(_mapping(data.get("roles"))),
            targets={
                str(name): TargetInfo.from_dict(_mapping(info))
                for name, info in _mapping(data.get("targets")).items()
            },
            suites={
                str(sid): SuiteInfo.from_dict(_mapping(info))
                for sid, info in _mapping(data.get("suites")).items()
            },
            gates=dict(_mapping(data.get("gates"))),
            planned=_count(data.get("planned")),
            log=_text(data.get("log")),
            provenance=Provenance.from_dict(_mapping(data.get("provenance"))),
            exclude_paths=None if excluded is None else tuple(str(p) for p in excluded),
            footer=RunFooter.from_dict(footer) if isinstance(footer, Mapping) else None,
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            fine_tunes={
                str(name): FineTune.from_dict(info)
                for name, info in _mapping(data.get("fine_tunes")).items()
                if isinstance(info, Mapping)
            },
            data_report=dict(data["data_report"])
            if isinstance(data.get("data_report"), Mapping)
            else None,
            extra=_extra(data, _HEADER_KEYS),
        )
