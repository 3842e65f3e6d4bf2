"""Run options defined once, for both front-ends.

The pytest plugin registers each as ``--arcanos-<name>`` with an ini twin ``arcanos_<name>``; the CLI
registers the same names as ``arcanos-eval run --<name>``. Values left unset fall back to
``[tool.arcanos_eval]`` in pyproject.toml, then to built-in defaults.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from arcanos_eval.errors import ConfigError
from arcanos_eval.modes import MODES

__all__ = ["OPTIONS", "Option", "add_cli_options", "add_pytest_options", "values_from_pytest"]


@dataclass(frozen=True)
class Option:
    """One run option: its name, help text, type and how it maps onto :func:`load_config`."""

    name: str
    help: str
    metavar: str
    type: Callable[[str], Any] = str
    repeatable: bool = False
    choices: tuple[str, ...] | None = None
    config_key: str | None = None  # the load_config override it feeds (None: front-end only)
    flag: bool = False  # takes no value: on when given (ini: true/false)
    pytest_only: bool = False  # a choice about the pytest process, not about the run

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def ini_type(self) -> Literal["linelist", "string", "bool"]:
        if self.flag:
            return "bool"
        return "linelist" if self.repeatable else "string"


OPTIONS: tuple[Option, ...] = (
    Option(
        "suite", "suite file or folder (repeatable)", "PATH", repeatable=True, config_key="suites"
    ),
    Option(
        "targets",
        "comma-separated targets to run (default: all configured)",
        "A,B",
        config_key="targets",
    ),
    Option(
        "mode",
        "replay | record | refresh | live | auto | batch (default: auto)",
        "MODE",
        choices=MODES,
        config_key="mode",
    ),
    Option(
        "batch",
        "send the calls through the OpenAI Batch API (half price, up to 24 h; same as mode batch)",
        "",
        config_key="batch",
        flag=True,
    ),
    Option("golden", "golden store folder (default: golden)", "DIR", config_key="golden"),
    Option("report", "write the markdown release report here", "PATH.md", config_key="report"),
    Option("json", "write the machine-readable JSON summary here", "PATH.json"),
    Option("html", "write the release report as one self-contained HTML page here", "PATH.html"),
    Option(
        "charts",
        "write the chart images (latency CDF, pass rate per category) into this folder; the "
        "markdown report links them (needs the charts extra)",
        "DIR",
    ),
    Option(
        "log",
        "write the run log here (default: .arcanos/runs/<time>.jsonl)",
        "RUN.jsonl",
        config_key="log",
    ),
    Option(
        "resume",
        "continue an interrupted run log: only what it lacks is called",
        "RUN.jsonl",
        config_key="resume",
    ),
    Option(
        "concurrency",
        "model calls in flight at most (default: 16)",
        "N",
        type=int,
        config_key="concurrency",
    ),
    Option(
        "repeats",
        "answers per case and target (default: the suite's)",
        "N",
        type=int,
        config_key="repeats",
    ),
    Option(
        "max-cost",
        "stop sending model calls before they could cost more than USD at the targets' prices; "
        "the run log stays resumable (default: max_cost_usd, else no limit)",
        "USD",
        type=float,
        config_key="max_cost_usd",
    ),
    Option(
        "data-report",
        "training-data report JSON for the data gate (default: data_report)",
        "PATH.json",
        config_key="data_report",
    ),
    Option(
        "outcome",
        "gated (default): a failing candidate case that a gate counts is reported as xfail and "
        "the gates decide; strict: every candidate case must pass. Reference targets (base) never "
        "fail the session",
        "POLICY",
        choices=("gated", "strict"),
        pytest_only=True,
    ),
    Option(
        "gc-freeze",
        "hold the run's objects out of the garbage collector until the session ends (faster on "
        "large suites; the arcanos-eval CLI always does this)",
        "",
        flag=True,
        pytest_only=True,
    ),
)


def add_cli_options(parser: argparse.ArgumentParser) -> None:
    """Add every option to an ``arcanos-eval`` subcommand (``suite`` is positional there)."""
    for option in OPTIONS:
        if option.pytest_only:
            continue
        if option.name == "suite":
            parser.add_argument(
                "suites",
                nargs="*",
                metavar="SUITE",
                help="suite files or folders (default: the configured suites)",
            )
            continue
        if option.flag:
            parser.add_argument(
                f"--{option.name}", dest=option.dest, action="store_true", help=option.help
            )
            continue
        parser.add_argument(
            f"--{option.name}",
            dest=option.dest,
            metavar=option.metavar,
            type=option.type,
            choices=option.choices,
            help=option.help,
        )


def overrides_from(values: dict[str, Any]) -> dict[str, Any]:
    """``load_config`` overrides from option values keyed by ``Option.dest`` (unset: None)."""
    out: dict[str, Any] = {}
    for option in OPTIONS:
        if option.config_key is None:
            continue
        value = values.get("suites" if option.name == "suite" else option.dest)
        if value in (None, [], ()) or value is False:
            continue
        out[option.config_key] = value
    return out


def add_pytest_options(parser: Any) -> None:
    """Register every option with pytest's ``parser``: ``--arcanos-<name>`` in the ``arcanos``
    group, each with an ini twin ``arcanos_<name>``."""
    group = parser.getgroup("arcanos", "arcanos-eval: base vs candidate model evaluation")
    for option in OPTIONS:
        ini = f"arcanos_{option.dest}"
        help_text = f"{option.help} [ini: {ini}]"
        kwargs: dict[str, Any]
        if option.flag:  # takes no value (e.g. --arcanos-batch)
            kwargs = {"dest": ini, "action": "store_true", "help": help_text}
        else:
            kwargs = {"dest": ini, "metavar": option.metavar, "help": help_text}
            if option.repeatable:
                kwargs["action"] = "append"
            if option.choices:
                kwargs["choices"] = option.choices
            if option.type is not str:
                kwargs["type"] = option.type
        group.addoption(f"--arcanos-{option.name}", **kwargs)
        parser.addini(ini, f"arcanos-eval: {option.help}", type=option.ini_type)


def values_from_pytest(config: Any) -> dict[str, Any]:
    """Option values keyed by ``Option.dest`` (``suites`` for ``suite``): the flag, else the ini
    setting, else ``None``.

    Raises:
        ConfigError: an ini value of the wrong type.
    """
    values: dict[str, Any] = {}
    for option in OPTIONS:
        ini = f"arcanos_{option.dest}"
        value = config.getoption(ini) or config.getini(ini) or None
        if value is not None and option.type is not str and isinstance(value, str):
            try:
                value = option.type(value)
            except ValueError:
                raise ConfigError(f"{ini}: expected {option.metavar}, found {value!r}") from None
        if value is not None and option.choices and value not in option.choices:
            # The flag's choices are argparse's to check; an ini value reaches here unchecked.
            raise ConfigError(
                f"{ini}: expected one of {', '.join(option.choices)}, found {value!r}"
            )
        values["suites" if option.name == "suite" else option.dest] = value
    return values
