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

from arcanos_eval.config import MODES

__all__ = ["OPTIONS", "Option", "add_cli_options"]


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
    Option("data-report", "training-data report JSON for the data gate", "PATH.json"),
)


def add_cli_options(parser: argparse.ArgumentParser) -> None:
    """Add every option to an ``arcanos-eval`` subcommand (``suite`` is positional there)."""
    for option in OPTIONS:
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
