"""What a run checks before its first model call, in one place for every front end.

``arcanos-eval run`` and the pytest plugin (through
:meth:`~arcanos_eval.session.ArcanosSession.open`) stop at the first problem;
``arcanos-eval validate`` runs the same checks, calls no model, and shows every problem at once.
The checks, in order:

* the gate table: known gate names, values, modifiers and waivers, and at least one gate;
* every suite file (each file's schema problems, else each case's: unknown checks, duplicate
  ids...), paths that name nothing, suite ids used twice;
* every model a check consults (a judge, a moderation model) is a configured target, and some
  target answers the cases;
* every category and suite a gate names has cases in the run's suites (when the run covers the
  configured suites: a part of them named on the command line leaves the other categories out,
  and their gates fail closed when judged instead);
* the golden store and the cache are folders, and each suite's schema of record is readable;
* the training-data report (``data_report``, or ``--data-report`` for a run) is a readable JSON
  object.

Not checked here: whether the golden store holds every answer (``arcanos-eval golden verify``; a
replay lists what it lacks before any call); the pre-flight of the targets a run will call (key,
model id, server: :mod:`arcanos_eval._preflight`), which asks the servers and depends on what
golden and the cache leave to call; and the run log named by ``--resume``, read when the run
starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from arcanos_eval.backends import unconfigured_model_targets
from arcanos_eval.config import RunConfig, TomlLines
from arcanos_eval.data.report import read_evidence
from arcanos_eval.errors import (
    ArcanosError,
    ConfigError,
    GateConfigError,
    RunLogError,
    UsageError,
)
from arcanos_eval.gates import parse_gates, require_gates, unmatched_scopes
from arcanos_eval.model import Suite
from arcanos_eval.run import require_targets
from arcanos_eval.suite.loader import collect_suites
from arcanos_eval.targets.replay import GoldenStore, ResponseCache

__all__ = ["MAX_PROBLEMS", "Startup", "check_startup"]

#: Problems ``validate`` shows, in all files; then one line says how many more there are.
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Startup:
    """The suites that loaded and every problem found, in the order a run meets them."""

    suites: list[Suite]
    problems: list[ArcanosError] = field(default_factory=list)

    def raise_first(self) -> None:
        """Raise the first problem, as a run stops on it (nothing when there is none)."""
        if self.problems:
            raise self.problems[0]


def check_startup(config: RunConfig) -> Startup:
    """Every check a run makes before its first model call (see the module docstring), each
    problem kept instead of raised. No model is called and nothing is written."""
    problems: list[ArcanosError] = []
    gates = None
    try:
        gates = parse_gates(config.gates)
        require_gates(gates, config=str(config.source or "") or None)
    except GateConfigError as exc:
        problems.append(_located(exc, config))
    # A file with more problems than validate shows says so on a line of its own: that fits too.
    suites, suite_problems = collect_suites(
        config.suites, roots=config.roots, limit=MAX_PROBLEMS - 1
    )
    problems.extend(suite_problems)
    problems.extend(unconfigured_model_targets(suites, list(config.targets)))
    try:
        require_targets(config)
    except ConfigError as exc:
        problems.append(exc)
    if gates is not None and not suite_problems:  # a suite that did not load has categories too
        unmatched = unmatched_scopes(gates, suites, every_suite=not config.partial_suites)
        problems.extend(_located(exc, config) for exc in unmatched)
    problems.extend(_store_problems(config, suites))
    if config.data_report is not None:
        try:
            read_evidence(config.data_report)  # the run header records it
        except UsageError as exc:
            problems.append(exc)
    return Startup(suites, problems)


def _store_problems(config: RunConfig, suites: Sequence[Suite]) -> list[ArcanosError]:
    problems: list[ArcanosError] = []
    try:
        golden = GoldenStore(config.golden, answers_only=True)
        for suite in suites:
            golden.schema_of_record(suite.id)  # the run log's header records it
    except (ConfigError, RunLogError) as exc:
        problems.append(exc)
    if config.cache is not None:
        try:
            ResponseCache(config.cache)
        except ConfigError as exc:
            problems.append(exc)
    return problems


def _located(error: GateConfigError, config: RunConfig) -> GateConfigError:
    """``error`` with the pyproject.toml file and line of the field it names in front, as the
    configuration's own errors are shown (unchanged when either is unknown)."""
    if error.field is None or config.source is None:
        return error
    try:
        text = config.source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return error
    line = TomlLines(text).line(error.field)
    where = f"{config.source}:{line}" if line else str(config.source)
    return GateConfigError(f"{where}: {error}", field=error.field)
