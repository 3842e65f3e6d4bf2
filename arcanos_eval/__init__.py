"""arcanos-eval: may this fine-tuned model replace its base model?

The public surface, for notebooks and scripts::

    from arcanos_eval import load_config, load_suites, execute_run

    config = load_config(mode="replay")
    outcome = execute_run(config, load_suites(config.suites))

Scorers live in :mod:`arcanos_eval.scorers`; the loopback OpenAI-protocol server for tests in
:mod:`arcanos_eval.testing`. This module never imports pytest.

Names resolve on first use (PEP 562): ``import arcanos_eval``, which every pytest run in an
environment with the plugin installed pays for, loads neither the engine, the targets, the run nor
their dependencies (openai, deepdiff, hypothesis) until a name that needs them is read.
"""

from __future__ import annotations

import typing

from arcanos_eval._version import __version__

if typing.TYPE_CHECKING:
    from arcanos_eval.config import RunConfig, TargetConfig, load_config
    from arcanos_eval.errors import (
        ArcanosError,
        ConfigError,
        DuplicateCaseError,
        GateConfigError,
        ReplayMissingError,
        RunLogError,
        SuiteError,
        UnknownCheckError,
        UsageError,
    )
    from arcanos_eval.model import (
        Case,
        Check,
        Response,
        ResultRecord,
        Score,
        Suite,
        ToolCall,
        Usage,
    )
    from arcanos_eval.run import RunOutcome, execute_run
    from arcanos_eval.runlog import RunLog, read_run_log
    from arcanos_eval.scorers._registry import scorer
    from arcanos_eval.suite.loader import load_suite, load_suites

__all__ = [
    "ArcanosError",
    "Case",
    "Check",
    "ConfigError",
    "DuplicateCaseError",
    "GateConfigError",
    "ReplayMissingError",
    "Response",
    "ResultRecord",
    "RunConfig",
    "RunLog",
    "RunLogError",
    "RunOutcome",
    "Score",
    "Suite",
    "SuiteError",
    "TargetConfig",
    "ToolCall",
    "UnknownCheckError",
    "Usage",
    "UsageError",
    "__version__",
    "execute_run",
    "load_config",
    "load_suite",
    "load_suites",
    "read_run_log",
    "scorer",
]

# Where each public name lives; kept in step with the TYPE_CHECKING imports above (a test checks).
_SOURCES = {
    "ArcanosError": "arcanos_eval.errors",
    "Case": "arcanos_eval.model",
    "Check": "arcanos_eval.model",
    "ConfigError": "arcanos_eval.errors",
    "DuplicateCaseError": "arcanos_eval.errors",
    "GateConfigError": "arcanos_eval.errors",
    "ReplayMissingError": "arcanos_eval.errors",
    "Response": "arcanos_eval.model",
    "ResultRecord": "arcanos_eval.model",
    "RunConfig": "arcanos_eval.config",
    "RunLog": "arcanos_eval.runlog",
    "RunLogError": "arcanos_eval.errors",
    "RunOutcome": "arcanos_eval.run",
    "Score": "arcanos_eval.model",
    "Suite": "arcanos_eval.model",
    "SuiteError": "arcanos_eval.errors",
    "TargetConfig": "arcanos_eval.config",
    "ToolCall": "arcanos_eval.model",
    "UnknownCheckError": "arcanos_eval.errors",
    "Usage": "arcanos_eval.model",
    "UsageError": "arcanos_eval.errors",
    "execute_run": "arcanos_eval.run",
    "load_config": "arcanos_eval.config",
    "load_suite": "arcanos_eval.suite.loader",
    "load_suites": "arcanos_eval.suite.loader",
    "read_run_log": "arcanos_eval.runlog",
    "scorer": "arcanos_eval.scorers._registry",
}


def __getattr__(name: str) -> object:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'arcanos_eval' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(source), name)
    globals()[name] = value  # read once: later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
