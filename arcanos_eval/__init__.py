"""arcanos-eval: may this fine-tuned model replace its base model?

The public surface, for notebooks and scripts::

    from arcanos_eval import load_config, load_suites, execute_run

    config = load_config(mode="replay")
    outcome = execute_run(config, load_suites(config.suites))

Scorers live in :mod:`arcanos_eval.scorers`; the loopback OpenAI-protocol server for tests in
:mod:`arcanos_eval.testing`. This module never imports pytest.
"""

from __future__ import annotations

__version__ = "0.1.0"

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
from arcanos_eval.model import Case, Check, Response, ResultRecord, Score, Suite, ToolCall, Usage
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
