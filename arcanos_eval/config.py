"""One frozen :class:`RunConfig` from ``[tool.arcanos_eval]`` in pyproject.toml plus overrides.

Configuration is resolved once (by the CLI or the pytest plugin at configure time) and then only
read. API keys never enter it: a target names the *environment variable* that holds its key, and
the key is read at call time by :meth:`TargetConfig.api_key`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

from arcanos_eval.errors import ConfigError
from arcanos_eval.scorers._registry import unknown_name_message

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["MODES", "BatchConfig", "RunConfig", "TargetConfig", "load_config"]

Mode = Literal["replay", "record", "refresh", "live", "auto", "batch"]
MODES: tuple[str, ...] = ("replay", "record", "refresh", "live", "auto", "batch")
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

    def api_key(self) -> str | None:
        """The key from the environment variable this target names (never stored anywhere)."""
        return os.environ.get(self.api_key_env) or None


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
    mode: Mode = "auto"
    concurrency: int = 16
    timeout_s: float = 60.0
    max_retries: int = 5
    repeats: int | None = None
    targets: Mapping[str, TargetConfig] = field(default_factory=dict)
    selected: tuple[str, ...] = ()
    baseline: str = "base"
    candidate: str = "candidate"
    rollback: str | None = None
    gates: Mapping[str, Any] = field(default_factory=dict)
    log: Path | None = None
    report: Path | None = None
    resume: Path | None = None
    batch: BatchConfig = field(default_factory=BatchConfig)

    @property
    def active_targets(self) -> tuple[TargetConfig, ...]:
        """The targets this run evaluates: the selection, or every configured target except
        those only consulted by checks (``scorer_only``, e.g. a judge)."""
        names = self.selected or tuple(n for n, t in self.targets.items() if not t.scorer_only)
        return tuple(self.targets[n] for n in names)

    def with_overrides(self, **overrides: Any) -> RunConfig:
        """A copy with command-line overrides applied (``None`` values are ignored)."""
        return _apply_overrides(self, {k: v for k, v in overrides.items() if v is not None})


# ----------------------------------------------------------------------------- parsing helpers


class _Table:
    """Typed reads from one TOML table, with errors that name the file, table and field."""

    def __init__(self, data: Mapping[str, Any], source: str, name: str) -> None:
        self.data = data
        self.source = source
        self.name = name

    def error(self, field_name: str | None, problem: str) -> ConfigError:
        where = f"[{self.name}]" + (f" field {field_name!r}" if field_name else "")
        return ConfigError(f"{self.source}: {where}: {problem}")

    def reject_unknown(self, allowed: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.error(key, unknown_name_message("field", key, list(allowed)))

    def get(
        self, key: str, kinds: type | tuple[type, ...], default: Any = None, expected: str = ""
    ) -> Any:
        value = self.data.get(key, default)
        if value is default:
            return default
        ok = isinstance(value, kinds) and not (
            isinstance(value, bool)
            and bool not in (kinds if isinstance(kinds, tuple) else (kinds,))
        )
        if not ok:
            raise self.error(key, f"expected {expected or _kind_names(kinds)}, found {value!r}")
        return value

    def positive_int(self, key: str, default: int | None) -> int | None:
        value = self.get(key, int, default, "a positive integer")
        if value is not None and value < 1:
            raise self.error(key, f"expected a positive integer, found {value!r}")
        return cast("int | None", value)

    def positive_number(self, key: str, default: float | None) -> float | None:
        value = self.get(key, (int, float), default, "a positive number")
        if value is not None and value <= 0:
            raise self.error(key, f"expected a positive number, found {value!r}")
        return None if value is None else float(value)


def _kind_names(kinds: type | tuple[type, ...]) -> str:
    names = {
        str: "text",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    seq = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in seq))


_RUN_FIELDS = (
    "suites",
    "golden",
    "cache",
    "mode",
    "concurrency",
    "timeout_s",
    "max_retries",
    "repeats",
    "targets",
    "baseline",
    "candidate",
    "rollback",
    "gates",
    "log",
    "report",
    "batch",
)
_BATCH_FIELDS = ("max_requests", "max_bytes", "poll_interval_s", "completion_window")
_TARGET_FIELDS = (
    "model",
    "provider",
    "api",
    "base_url",
    "api_key_env",
    "system_prompt",
    "stream",
    "structured_outputs",
    "transport",
    "params",
    "prices",
    "concurrency",
    "rpm",
    "tpm",
    "timeout_s",
    "max_retries",
    "description",
    "scorer_only",
)
_PRICE_FIELDS = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok")


def _resolve_prompt(table: _Table, root: Path) -> tuple[str | None, str | None]:
    value = table.get("system_prompt", str, None)
    if value is None:
        return None, None
    candidate = root / value
    looks_like_path = "\n" not in value and value.lower().endswith(_PROMPT_SUFFIXES)
    if looks_like_path:
        try:
            return candidate.read_text(encoding="utf-8"), value
        except FileNotFoundError:
            raise table.error(
                "system_prompt", f"prompt file {str(candidate)!r} not found"
            ) from None
        except OSError as exc:
            raise table.error(
                "system_prompt", f"cannot read {str(candidate)!r}: {exc.strerror}"
            ) from None
    return value, "inline"


def _parse_target(name: str, data: Any, source: str, root: Path) -> TargetConfig:
    table = _Table(data if isinstance(data, Mapping) else {}, source, f"{_TABLE}.targets.{name}")
    if not isinstance(data, Mapping):
        raise table.error(None, f"expected a table, found {data!r}")
    table.reject_unknown(_TARGET_FIELDS)
    model = table.get("model", str, None)
    if not model:
        raise table.error("model", "missing required field (the model id to call)")
    api = table.get("api", str, "chat")
    if api not in ("chat", "responses"):
        raise table.error("api", f"expected 'chat' or 'responses', found {api!r}")
    provider = table.get("provider", str, "openai")
    if provider != "openai":
        raise table.error(
            "provider",
            f"expected 'openai' (any OpenAI-compatible server via base_url), found {provider!r}",
        )
    structured = table.get("structured_outputs", (bool, str), False)
    if structured is True:
        structured = "json_schema"
    elif structured is False:
        structured = "off"
    elif structured not in ("json_schema", "json_object"):
        raise table.error(
            "structured_outputs",
            f"expected true, false, 'json_schema' or 'json_object', found {structured!r}",
        )
    transport = table.get("transport", str, "aiohttp")
    if transport not in ("aiohttp", "httpx"):
        raise table.error("transport", f"expected 'aiohttp' or 'httpx', found {transport!r}")
    prices = table.get("prices", Mapping, {})
    prices_table = _Table(prices, source, f"{table.name}.prices")
    prices_table.reject_unknown(_PRICE_FIELDS)
    for key in prices:
        prices_table.get(key, (int, float), None, "a number (USD per million tokens)")
    prompt, prompt_source = _resolve_prompt(table, root)
    key_env = table.get("api_key_env", str, "OPENAI_API_KEY")
    if key_env.startswith(("sk-", "Bearer ")):
        raise table.error(
            "api_key_env",
            "expected the NAME of an environment variable holding "
            "the key, found what looks like a key itself",
        )
    return TargetConfig(
        name=name,
        model=model,
        provider=provider,
        api=api,
        base_url=table.get("base_url", str, None),
        api_key_env=key_env,
        system_prompt=prompt,
        system_prompt_source=prompt_source,
        stream=table.get("stream", bool, False),
        structured_outputs=structured,
        transport=transport,
        params=dict(table.get("params", Mapping, {})),
        prices={k: float(v) for k, v in prices.items()},
        concurrency=table.positive_int("concurrency", None),
        rpm=table.positive_int("rpm", None),
        tpm=table.positive_int("tpm", None),
        timeout_s=table.positive_number("timeout_s", None),
        max_retries=table.get("max_retries", int, None, "an integer >= 0"),
        description=table.get("description", str, ""),
        scorer_only=table.get("scorer_only", bool, False),
    )


def _parse_batch(data: Any, source: str) -> BatchConfig:
    table = _Table(data if isinstance(data, Mapping) else {}, source, f"{_TABLE}.batch")
    if not isinstance(data, Mapping):
        raise table.error(None, f"expected a table, found {data!r}")
    table.reject_unknown(_BATCH_FIELDS)
    default = BatchConfig()
    window = table.get("completion_window", str, default.completion_window)
    if window != "24h":
        raise table.error(
            "completion_window", f"expected '24h' (the only window), found {window!r}"
        )
    return BatchConfig(
        max_requests=table.positive_int("max_requests", default.max_requests)
        or default.max_requests,
        max_bytes=table.positive_int("max_bytes", default.max_bytes) or default.max_bytes,
        poll_interval_s=table.positive_number("poll_interval_s", default.poll_interval_s)
        or default.poll_interval_s,
        completion_window=window,
    )


def _check_mode(value: Any, where: str) -> Mode:
    if value not in MODES:
        raise ConfigError(f"{where}: expected a mode among {', '.join(MODES)}, found {value!r}")
    return cast(Mode, value)


def _parse_run(data: Mapping[str, Any], source: str, root: Path) -> RunConfig:
    table = _Table(data, source, _TABLE)
    table.reject_unknown(_RUN_FIELDS)
    suites = table.get("suites", (list, str), ["suites"])
    if isinstance(suites, str):
        suites = [suites]
    if not all(isinstance(s, str) for s in suites):
        raise table.error("suites", f"expected a list of paths, found {suites!r}")
    targets_data = table.get("targets", Mapping, {})
    targets = {name: _parse_target(name, spec, source, root) for name, spec in targets_data.items()}
    cache = table.get("cache", (str, bool), ".arcanos/cache")
    max_retries = table.get("max_retries", int, 5, "an integer >= 0")
    if max_retries < 0:
        raise table.error("max_retries", f"expected an integer >= 0, found {max_retries}")
    config = RunConfig(
        root=root,
        source=Path(source) if source != "<defaults>" else None,
        suites=tuple(root / s for s in suites),
        golden=root / table.get("golden", str, "golden"),
        cache=None if cache is False else root / (".arcanos/cache" if cache is True else cache),
        mode=_check_mode(table.get("mode", str, "auto"), f"{source}: [{_TABLE}] field 'mode'"),
        concurrency=table.positive_int("concurrency", 16) or 16,
        timeout_s=table.positive_number("timeout_s", 60.0) or 60.0,
        max_retries=max_retries,
        repeats=table.positive_int("repeats", None),
        targets=targets,
        baseline=table.get("baseline", str, "base"),
        candidate=table.get("candidate", str, "candidate"),
        rollback=table.get("rollback", str, None),
        gates=dict(table.get("gates", Mapping, {})),
        log=_optional_path(root, table.get("log", str, None)),
        report=_optional_path(root, table.get("report", str, None)),
        batch=_parse_batch(data.get("batch", {}), source),
    )
    _check_target_roles(config, source)
    return config


def _optional_path(root: Path, value: str | None) -> Path | None:
    return None if value is None else root / value


def _check_target_roles(config: RunConfig, source: str) -> None:
    if not config.targets:
        return
    for role in ("baseline", "candidate", "rollback"):
        name = getattr(config, role)
        if name is not None and name not in config.targets:
            raise ConfigError(
                f"{source}: [{_TABLE}] field {role!r}: "
                + unknown_name_message("target", name, list(config.targets))
            )


def _apply_overrides(config: RunConfig, overrides: Mapping[str, Any]) -> RunConfig:
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key == "suites":
            changes["suites"] = tuple(Path(p) for p in value)
        elif key in ("golden", "log", "report", "resume", "cache"):
            changes[key] = Path(value)
        elif key == "mode":
            changes["mode"] = _check_mode(value, "--mode")
            if overrides.get("batch") and value != "batch":
                raise ConfigError(f"--batch and --mode {value}: choose one")
        elif key == "batch":
            # A flag for the mode: --batch is --mode batch; leaving it off changes nothing.
            if value:
                changes["mode"] = "batch"
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


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` that has a ``[tool.arcanos_eval]`` table."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, OSError):
                return candidate  # let load_config report it
            if "arcanos_eval" in data.get("tool", {}):
                return candidate
    return None


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
            ``concurrency``, ``repeats``, ``golden``, ``log``, ``report``, ``resume``); ``None``
            means not given.

    Raises:
        ConfigError: unreadable file, unknown field, wrong type, unknown target or mode.
    """
    path = Path(pyproject) if pyproject is not None else find_pyproject(start or Path.cwd())
    if path is None:
        config = _parse_run({}, "<defaults>", (start or Path.cwd()).resolve())
    else:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        section = document.get("tool", {}).get("arcanos_eval", {})
        if not isinstance(section, Mapping):
            raise ConfigError(f"{path}: [{_TABLE}] must be a table")
        config = _parse_run(section, str(path), path.resolve().parent)
    return config.with_overrides(**overrides)
