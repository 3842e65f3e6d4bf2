"""One frozen :class:`RunConfig` from ``[tool.arcanos_eval]`` in pyproject.toml plus overrides.

Configuration is resolved once (by the CLI or the pytest plugin at configure time) and then only
read. API keys never enter it: a target names the *environment variable* that holds its key, and
the key is read at call time by :meth:`TargetConfig.api_key`.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

import jsonschema
from jsonschema.exceptions import ValidationError

from arcanos_eval._bounded import DocumentError, read_text
from arcanos_eval._paths import ProjectRoots
from arcanos_eval._schema_errors import Style, field_name, schema_problem
from arcanos_eval.errors import ConfigError, quote, shorten, unknown_name_message
from arcanos_eval.modes import MODES, Mode

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "CONFIG_SCHEMA_PATH",
    "MODES",
    "BatchConfig",
    "RunConfig",
    "TargetConfig",
    "TomlLines",
    "config_error",
    "config_errors",
    "config_schema",
    "load_config",
]

StructuredOutputs = Literal["off", "json_schema", "json_object"]
Transport = Literal["aiohttp", "httpx"]

_TABLE = "tool.arcanos_eval"
_PROMPT_SUFFIXES = (".md", ".txt", ".prompt")


@dataclass(frozen=True)
class TargetConfig:
    """A named model configuration (``base``, ``candidate``, ...).

    ``structured_outputs`` is ``"json_schema"`` for OpenAI's ``response_format`` form, or
    ``"json_object"`` for servers such as llama.cpp that take ``{"type": "json_object", "schema": ...}``.
    ``transport`` is the SDK's HTTP layer: ``"aiohttp"`` (the SDK's ``DefaultAioHttpClient``, about
    half the CPU per call of the default) or ``"httpx"`` (the SDK's own default client).
    ``check_model = false`` skips the pre-flight check of ``model`` against the server's
    ``/v1/models``, for servers that answer to any model name.
    ``fine_tune_job`` names the fine-tuning job that produced the model, ``fine_tune_record`` a
    local training script's record of it (see :mod:`arcanos_eval.fine_tunes`).
    """

    name: str
    model: str
    provider: str = "openai"
    api: Literal["chat", "responses"] = "chat"
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    system_prompt: str | None = None
    system_prompt_source: str | None = None
    stream: bool = False
    structured_outputs: StructuredOutputs = "off"
    transport: Transport = "aiohttp"
    params: Mapping[str, Any] = field(default_factory=dict)
    prices: Mapping[str, float] = field(default_factory=dict)
    concurrency: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    timeout_s: float | None = None
    max_retries: int | None = None
    description: str = ""
    scorer_only: bool = False
    check_model: bool = True
    key_required: bool | None = None
    fine_tune_job: str | None = None
    fine_tune_record: Path | None = None

    def api_key(self) -> str | None:
        """The key from the environment variable this target names (never stored anywhere)."""
        return os.environ.get(self.api_key_env) or None

    @property
    def needs_key(self) -> bool:
        """Whether a call needs the key: ``key_required`` when set (a pyproject.toml target that
        names ``api_key_env`` does), else only on the public API (no ``base_url``); a server of
        one's own may take none."""
        return self.key_required if self.key_required is not None else self.base_url is None


@dataclass(frozen=True)
class BatchConfig:
    """How batch mode uses the OpenAI Batch API (``[tool.arcanos_eval.batch]``).

    The limits default to the API's own (50,000 requests and 200 MB per input file); a job larger
    than either is split into several batches. They are settings so a provider with other limits,
    or a test, can lower them.
    """

    max_requests: int = 50_000
    max_bytes: int = 200 * 1024 * 1024
    poll_interval_s: float = 30.0
    completion_window: str = "24h"


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, resolved once."""

    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None
    suites: tuple[Path, ...] = ()
    golden: Path = Path("golden")
    cache: Path | None = Path(".arcanos/cache")
    mode: Mode = Mode.AUTO
    concurrency: int = 16
    timeout_s: float = 60.0
    max_retries: int = 5
    repeats: int | None = None
    targets: Mapping[str, TargetConfig] = field(default_factory=dict)
    selected: tuple[str, ...] = ()
    baseline: str = "base"
    candidate: str = "candidate"
    rollback: str | None = None
    rollback_model: str | None = None
    gates: Mapping[str, Any] = field(default_factory=dict)
    log: Path | None = None
    report: Path | None = None
    # The training-data report (`arcanos-eval data check --json`) of the candidate's fine-tune.
    data_report: Path | None = None
    resume: Path | None = None
    batch: BatchConfig = field(default_factory=BatchConfig)
    allowed_roots: tuple[Path, ...] = ()
    max_cost_usd: float | None = None
    # Suites named on the command line, other than the configured ones: the run covers a part of
    # the project, so a gate on a category only the others have is not a configuration error.
    partial_suites: bool = False

    def __post_init__(self) -> None:
        # A script may pass the mode as text: every decision asks the Mode it names.
        object.__setattr__(self, "mode", Mode(self.mode))

    @property
    def roots(self) -> ProjectRoots:
        """Where paths written in suites may point: the project root and ``allowed_roots``."""
        return ProjectRoots.of(self.root, self.allowed_roots)

    @property
    def active_targets(self) -> tuple[TargetConfig, ...]:
        """The targets this run evaluates: the selection, or every configured target except
        those only consulted by checks (``scorer_only``, e.g. a judge)."""
        names = self.selected or tuple(n for n, t in self.targets.items() if not t.scorer_only)
        return tuple(self.targets[n] for n in names)

    def with_overrides(self, **overrides: Any) -> RunConfig:
        """A copy with command-line overrides applied (``None`` values are ignored)."""
        return _apply_overrides(self, {k: v for k, v in overrides.items() if v is not None})


# ----------------------------------------------------------------------------- the schema

CONFIG_SCHEMA_PATH = Path(__file__).with_name("config.schema.json")

# Tables are named as a user writes them in TOML; anything below a table is a field of it.
_TABLES: tuple[tuple[str | None, ...], ...] = (
    ("targets", None, "prices"),
    ("targets", None),
    ("gates", "suites", None),
    ("gates",),
    ("batch",),
    (),
)


def _toml_value(value: Any) -> str:
    """A found value as Python reads it from TOML (``'requests'``, ``8.0``), cut when long."""
    return quote(value, 80) if isinstance(value, str) else shorten(repr(value), 200)


_TOML_STYLE = Style(
    describe=_toml_value,
    type_names={
        "string": "text",
        "integer": "an integer",
        "number": "a number",
        "object": "a table",
        "array": "a list",
        "boolean": "true or false",
    },
)


@cache
def config_schema() -> dict[str, Any]:
    """The JSON Schema of ``[tool.arcanos_eval]`` shipped in the package (``config.schema.json``)."""
    schema: dict[str, Any] = json.loads(CONFIG_SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def _is_integer(_checker: Any, instance: Any) -> bool:
    # TOML tells 8 from 8.0: a count written as a float is a mistake worth reporting.
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def _validator() -> jsonschema.protocols.Validator:
    base = jsonschema.Draft202012Validator
    strict = jsonschema.validators.extend(
        base, type_checker=base.TYPE_CHECKER.redefine("integer", _is_integer)
    )
    return cast("jsonschema.protocols.Validator", strict(config_schema()))


def table_name(path: Sequence[str | int]) -> tuple[str, str | None]:
    """``("[tool.arcanos_eval.targets.base]", "prices.input_per_mtok")``-style split of a path
    inside ``[tool.arcanos_eval]`` into the TOML table and the field in it."""
    for pattern in _TABLES:
        head = tuple(path[: len(pattern)])
        if len(head) == len(pattern) and all(
            isinstance(part, str) and want in (None, part)
            for part, want in zip(head, pattern, strict=True)
        ):
            table = ".".join((_TABLE, *(str(p) for p in head)))
            rest = path[len(pattern) :]
            return f"[{table}]", field_name(rest) if rest else None
    return f"[{_TABLE}]", field_name(path) or None  # pragma: no cover - () always matches


def config_error(
    data: Any, *, source: str | None = None, lines: TomlLines | None = None
) -> str | None:
    """The first problem the config schema finds in a ``[tool.arcanos_eval]`` table, as one line
    (``pyproject.toml:42: [tool.arcanos_eval.targets.candidate] field 'transport': expected
    'aiohttp' or 'httpx', found 'requests'``), or ``None`` when the table is valid."""
    found = config_errors(data, source=source, lines=lines)
    return found[0] if found else None


def config_errors(
    data: Any, *, source: str | None = None, lines: TomlLines | None = None
) -> list[str]:
    """Every problem the config schema finds in a ``[tool.arcanos_eval]`` table, one line each as
    :func:`config_error` writes the first, in the order of the file's lines (on one line, the
    most specific problem; without ``lines``, only the first problem)."""
    locate = lines.line if lines is not None else (lambda _path: None)
    errors = list(_validator().iter_errors(data))
    # A table that misses a key and has a misspelt one: the misspelling says more ("did you mean").
    inner = [
        e
        for e in errors
        if e.validator != "required"
        or not any(
            o is not e and tuple(o.absolute_path)[: len(e.absolute_path)] == tuple(e.absolute_path)
            for o in errors
        )
    ]

    def order(error: ValidationError) -> tuple[int, int]:
        return (locate(tuple(error.absolute_path)) or 0, -len(error.absolute_path))

    first_on_line: dict[int, ValidationError] = {}
    for error in sorted(inner, key=order):
        first_on_line.setdefault(order(error)[0], error)
    return [_problem_line(e, source, locate) for e in first_on_line.values()]


def _problem_line(
    error: ValidationError, source: str | None, locate: Callable[[Sequence[Any]], int | None]
) -> str:
    problem = schema_problem(error, _TOML_STYLE)
    table, field_text = table_name(problem.field)
    if problem.field != problem.path and problem.field[:-1] == problem.path:
        # A missing key: the table lacks it, so the table is the place to point at.
        table, _ = table_name(problem.path)
    where = table + (f" field {quote(field_text, 200)}" if field_text else "")
    line = locate(problem.path)
    if "propertyNames" in error.schema_path and isinstance(error.instance, str):
        # A table name that breaks its rule (a target called "../x"): its own line says more.
        line = locate((*problem.path, error.instance))
    if source is None:
        return f"{where}: {problem.message}"
    return f"{source}{f':{line}' if line else ''}: {where}: {problem.message}"


class TomlLines:
    """The line of each key of ``[tool.arcanos_eval]`` in a pyproject.toml text.

    ``tomllib`` keeps no positions, so table headers (``[tool.arcanos_eval.targets.base]``) and
    ``key = value`` lines (dotted keys too) are found by reading the text line by line.
    Multi-line strings are skipped, so a prompt that contains ``x = y`` is not taken for a key.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        prefix = tuple(_TABLE.split("."))
        table: tuple[str, ...] | None = None
        in_string: str | None = None
        for number, raw in enumerate(text.splitlines(), start=1):
            if in_string is not None:
                if raw.count(in_string) % 2:
                    in_string = None
                continue
            header = _HEADER.match(raw)
            if header:
                full = _split_key(header.group("key"))
                table = full[len(prefix) :] if full[: len(prefix)] == prefix else None
                if table is not None:
                    self.lines.setdefault(table, number)
                continue
            assignment = _ASSIGNMENT.match(raw)
            if assignment is None:
                continue
            rest = raw[assignment.end() :]
            for quotes in ('"""', "'''"):
                if rest.count(quotes) % 2:
                    in_string = quotes
            if table is None:
                continue
            key = (*table, *_split_key(assignment.group("key")))
            # The keys of an inline table (``pass_rate = { happy_path = 0.95 }``) are on this
            # line too: line() finds them through this, their nearest ancestor.
            self.lines.setdefault(key, number)

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its nearest ancestor with a known line."""
        key = tuple(str(p) for p in path if isinstance(p, str))
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get(())


_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"\s*\[\s*(?P<key>{_DOTTED})\s*\]")
_ASSIGNMENT = re.compile(rf"\s*(?P<key>{_DOTTED})\s*=")
_KEY_PART = re.compile(_KEY)


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for match in _KEY_PART.finditer(dotted):
        part = match.group()
        if part[0] == '"':
            part = json.loads(part)
        elif part[0] == "'":
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


# ----------------------------------------------------------------------------- building the config


def _resolve_prompt(
    value: str | None, roots: ProjectRoots, where: str
) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    looks_like_path = "\n" not in value and value.lower().endswith(_PROMPT_SUFFIXES)
    if not looks_like_path:
        return value, "inline"
    candidate = roots.project / value
    # Checked before reading: a prompt file is sent to the model, so a path (or a symlink) out of
    # the project would send whatever it points at.
    outside = roots.outside(candidate, value)
    if outside is not None:
        raise ConfigError(f"{where} field 'system_prompt': prompt file {outside}")
    try:
        if candidate.exists() and not candidate.is_file():
            raise ConfigError(
                f"{where} field 'system_prompt': prompt file {str(candidate)!r} is not a regular "
                "file"
            )
        return candidate.read_text(encoding="utf-8"), value
    except FileNotFoundError:
        raise ConfigError(
            f"{where} field 'system_prompt': prompt file {str(candidate)!r} not found"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{where} field 'system_prompt': prompt file {str(candidate)!r} is not UTF-8 text "
            f"({exc.reason} at byte {exc.start})"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{where} field 'system_prompt': cannot read {str(candidate)!r}: {exc.strerror}"
        ) from None


_STRUCTURED: Mapping[bool | str, StructuredOutputs] = {
    True: "json_schema",
    False: "off",
    "json_schema": "json_schema",
    "json_object": "json_object",
}


def _build_target(
    name: str, data: Mapping[str, Any], roots: ProjectRoots, where: Callable[[str], str]
) -> TargetConfig:
    """The target ``name``; ``where(key)`` says where its field ``key`` is written."""
    prompt, prompt_source = _resolve_prompt(
        data.get("system_prompt"), roots, where("system_prompt")
    )
    record = data.get("fine_tune_record")
    return TargetConfig(
        name=name,
        model=data["model"],
        provider=data.get("provider", "openai"),
        api=data.get("api", "chat"),
        base_url=data.get("base_url"),
        api_key_env=data.get("api_key_env", "OPENAI_API_KEY"),
        system_prompt=prompt,
        system_prompt_source=prompt_source,
        stream=data.get("stream", False),
        structured_outputs=_STRUCTURED[data.get("structured_outputs", False)],
        transport=data.get("transport", "aiohttp"),
        params=dict(data.get("params", {})),
        prices={k: float(v) for k, v in data.get("prices", {}).items()},
        concurrency=data.get("concurrency"),
        rpm=data.get("rpm"),
        tpm=data.get("tpm"),
        timeout_s=_float(data.get("timeout_s")),
        max_retries=data.get("max_retries"),
        description=data.get("description", ""),
        scorer_only=data.get("scorer_only", False),
        check_model=data.get("check_model", True),
        key_required=True if "api_key_env" in data else None,
        fine_tune_job=data.get("fine_tune_job"),
        # Read when a run starts (a training script may write it after this check), never out of
        # the project: its content goes into the run log and the report.
        fine_tune_record=None
        if record is None
        else _confined(roots, record, f"{where('fine_tune_record')} field 'fine_tune_record'"),
    )


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _build_batch(data: Mapping[str, Any]) -> BatchConfig:
    default = BatchConfig()
    return BatchConfig(
        max_requests=data.get("max_requests", default.max_requests),
        max_bytes=data.get("max_bytes", default.max_bytes),
        poll_interval_s=float(data.get("poll_interval_s", default.poll_interval_s)),
        completion_window=data.get("completion_window", default.completion_window),
    )


def _check_mode(value: Any, where: str) -> Mode:
    if value not in MODES:
        raise ConfigError(f"{where}: expected a mode among {', '.join(MODES)}, found {value!r}")
    return Mode(value)


def _parse_run(
    data: Mapping[str, Any], source: str, root: Path, lines: TomlLines | None = None
) -> RunConfig:
    problems = config_errors(data, source=source, lines=lines)
    if problems:
        raise ConfigError(problems[0], others=problems[1:])
    allowed = tuple(data.get("allowed_roots", ()))
    roots = ProjectRoots.of(root, allowed)

    def confined(value: str, key: str) -> Path:
        return _confined(roots, value, _where(source, lines, (key,)) + f" field {key!r}")

    suites = data.get("suites", ["suites"])
    if isinstance(suites, str):
        suites = [suites]
    cache = data.get("cache", ".arcanos/cache")
    log, report, data_report = data.get("log"), data.get("report"), data.get("data_report")
    config = RunConfig(
        root=root,
        source=Path(source) if source != "<defaults>" else None,
        suites=tuple(confined(s, "suites") for s in suites),
        golden=confined(data.get("golden", "golden"), "golden"),
        cache=None
        if cache is False
        else confined(".arcanos/cache" if cache is True else cache, "cache"),
        mode=Mode(data.get("mode", "auto")),
        concurrency=data.get("concurrency", 16),
        timeout_s=float(data.get("timeout_s", 60.0)),
        max_retries=data.get("max_retries", 5),
        repeats=data.get("repeats"),
        targets={
            name: _build_target(name, spec, roots, _placer(source, lines, name))
            for name, spec in data.get("targets", {}).items()
        },
        baseline=data.get("baseline", "base"),
        candidate=data.get("candidate", "candidate"),
        rollback=data.get("rollback"),
        rollback_model=data.get("rollback_model"),
        gates=dict(data.get("gates", {})),
        log=None if log is None else confined(log, "log"),
        report=None if report is None else confined(report, "report"),
        data_report=None if data_report is None else confined(data_report, "data_report"),
        batch=_build_batch(data.get("batch", {})),
        allowed_roots=roots.allowed,
        max_cost_usd=_float(data.get("max_cost_usd")),
    )
    _check_target_roles(config, source, lines)
    return config


def _placer(source: str, lines: TomlLines | None, target: str) -> Callable[[str], str]:
    """Where a field of target ``target`` is written (see :func:`_where`)."""
    return lambda key: _where(source, lines, ("targets", target, key))


def _where(source: str, lines: TomlLines | None, path: tuple[str, ...]) -> str:
    """``pyproject.toml:12: [tool.arcanos_eval.targets.base]``: where a rule the schema cannot
    state (a file exists, a name is configured) was broken."""
    line = lines.line(path) if lines is not None else None
    table, _ = table_name(path[:-1])
    return f"{source}{f':{line}' if line else ''}: {table}"


def _confined(roots: ProjectRoots, value: str, where: str) -> Path:
    """``value`` (relative to the project root, or absolute) as a path, if it lies inside the
    project root or an allowed root; a :class:`ConfigError` saying ``where`` otherwise."""
    path = roots.project / value
    outside = roots.outside(path, value)
    if outside is not None:
        raise ConfigError(f"{where}: {outside}")
    return path


def _check_target_roles(config: RunConfig, source: str, lines: TomlLines | None) -> None:
    if not config.targets:
        return
    for role in ("baseline", "candidate", "rollback"):
        name = getattr(config, role)
        if name is not None and name not in config.targets:
            raise ConfigError(
                f"{_where(source, lines, (role,))} field {role!r}: "
                + unknown_name_message("target", name, list(config.targets))
            )


def _apply_overrides(config: RunConfig, overrides: Mapping[str, Any]) -> RunConfig:
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key == "suites":
            changes["suites"] = tuple(Path(p) for p in value)
            # realpath, unlike Path.resolve, never raises (a symlink loop is the loader's to say)
            changes["partial_suites"] = {os.path.realpath(p) for p in changes["suites"]} != {
                os.path.realpath(p) for p in config.suites
            }
        elif key in ("golden", "log", "report", "data_report", "resume", "cache"):
            changes[key] = Path(value)
        elif key == "mode":
            changes["mode"] = _check_mode(value, "--mode")
            if overrides.get("batch") and value != "batch":
                raise ConfigError(f"--batch and --mode {value}: choose one")
        elif key == "batch":
            # A flag for the mode: --batch is --mode batch; leaving it off changes nothing.
            if value:
                changes["mode"] = Mode.BATCH
        elif key == "max_cost_usd":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"--max-cost: expected a positive amount in USD, found {value!r}")
            if not math.isfinite(value):
                raise ConfigError(f"--max-cost: expected a finite amount in USD, found {value!r}")
            changes[key] = float(value)
        elif key in ("concurrency", "repeats"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"--{key}: expected a positive integer, found {value!r}")
            changes[key] = value
        elif key == "targets":
            names = tuple(
                n.strip()
                for n in (value.split(",") if isinstance(value, str) else value)
                if n.strip()
            )
            for name in names:
                if name not in config.targets:
                    raise ConfigError(
                        "--targets: " + unknown_name_message("target", name, list(config.targets))
                    )
            changes["selected"] = names
        else:
            raise ConfigError(f"unknown override {key!r}")
    return replace(config, **changes)


# A pyproject.toml is a few KB. tomllib is pure Python: 1 MiB reads in about a second.
MAX_PYPROJECT_BYTES = 1024 * 1024


def _read_pyproject(path: Path) -> tuple[str, dict[str, Any]]:
    """The text of ``path`` and its TOML document, read with bounded time and memory.

    Raises:
        ConfigError: not a regular file (a FIFO or a device is refused before it is opened),
            larger than :data:`MAX_PYPROJECT_BYTES`, not UTF-8, or not TOML (a duplicate key, an
            integer of more than 4,300 digits, arrays nested past Python's recursion limit).
    """
    try:
        text = read_text(path, limit=MAX_PYPROJECT_BYTES)
    except DocumentError as exc:
        where = f"{path}:{exc.line}" if exc.line is not None else str(path)
        raise ConfigError(f"{where}: {exc.problem}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: arrays or tables nested too deep") from None
    except ValueError as exc:  # an integer over Python's conversion limit (4,300 digits)
        limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
        problem = f"an integer of more than {limit:,} digits" if limit else shorten(str(exc), 100)
        raise ConfigError(f"{path}: invalid TOML: {problem}") from None


def _non_finite(value: Any) -> tuple[str | int, ...] | None:
    """The path of the first NaN or infinity in ``value`` (TOML writes them ``nan``, ``inf``).

    A loop, not a recursion: TOML table headers nest as deep as a file is long.
    """
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path
        if isinstance(item, dict):
            stack.extend(((*path, k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(item))))
    return None


def _check_finite(section: Any, source: Path, lines: TomlLines) -> None:
    # Every number of [tool.arcanos_eval] is a count, a threshold, a budget or a price: NaN
    # passes every comparison a schema makes, so it is refused here.
    where = _non_finite(section)
    if where is None:
        return
    value = section
    for part in where:
        value = value[part]
    table, field_text = table_name(where)
    line = lines.line(where)
    place = f"{source}:{line}" if line else str(source)
    named = f"{table} field {quote(field_text, 200)}" if field_text else table
    raise ConfigError(f"{place}: {named}: expected a finite number, found {value!r}")


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` that has a ``[tool.arcanos_eval]`` table."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                _, data = _read_pyproject(candidate)
            except ConfigError:
                return candidate  # let load_config report it
            if "arcanos_eval" in data.get("tool", {}):
                return candidate
    return None


def project_roots(start: Path) -> ProjectRoots:
    """The roots of the project holding ``start``: the folder of the nearest pyproject.toml with a
    ``[tool.arcanos_eval]`` table and its ``allowed_roots``, or ``start`` itself without one.

    For a suite loaded without a configuration (``load_suite(path)`` in a notebook). A file that
    cannot be read, or an ``allowed_roots`` that is not a list of text, allows no other root:
    a broken setting confines more, never less.
    """
    pyproject = find_pyproject(start.resolve())
    if pyproject is None:
        return ProjectRoots.of(start)
    try:
        table = _read_pyproject(pyproject)[1]["tool"]["arcanos_eval"]
        allowed = table.get("allowed_roots", [])
    except (ConfigError, KeyError, TypeError, AttributeError):
        allowed = []
    if not isinstance(allowed, list) or not all(isinstance(a, str) and a for a in allowed):
        allowed = []
    return ProjectRoots.of(pyproject.resolve().parent, allowed)


def load_config(
    pyproject: str | Path | None = None, *, start: Path | None = None, **overrides: Any
) -> RunConfig:
    """Read ``[tool.arcanos_eval]`` and apply overrides.

    Args:
        pyproject: an explicit pyproject.toml; by default the nearest one at or above ``start``
            (default: the current folder) holding a ``[tool.arcanos_eval]`` table. Without one,
            built-in defaults apply (no targets).
        start: where to look for pyproject.toml.
        **overrides: command-line values (``mode``, ``batch``, ``suites``, ``targets``,
            ``concurrency``, ``repeats``, ``golden``, ``log``, ``report``, ``resume``,
            ``max_cost_usd``); ``None`` means not given.

    Raises:
        ConfigError: unreadable file, or a table that breaks ``config.schema.json`` (unknown
            field, wrong type or range) or a rule beside it (a missing prompt file, a role naming
            no configured target, a path outside the project root and ``allowed_roots``); the
            message names the file, line, table and field. Paths given as overrides (the command
            line) are the user's own choice and are not confined.
    """
    path = Path(pyproject) if pyproject is not None else find_pyproject(start or Path.cwd())
    if path is None:
        config = _parse_run({}, "<defaults>", (start or Path.cwd()).resolve())
    else:
        text, document = _read_pyproject(path)
        section = document.get("tool", {}).get("arcanos_eval", {})
        lines = TomlLines(text)
        _check_finite(section, path, lines)
        config = _parse_run(section, str(path), path.resolve().parent, lines)
    return config.with_overrides(**overrides)
