"""The state of one evaluation session, shared by the pytest plugin and ``arcanos-eval run``.

A session holds the resolved configuration and loaded suites, runs the engine once for what was
selected, and afterwards answers "what did target T say for case C" for the items that assert.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arcanos_eval.config import RunConfig
from arcanos_eval.engine import EngineStats
from arcanos_eval.gates import GateSet, parse_gates
from arcanos_eval.report import Evaluation, evaluate
from arcanos_eval.run import execute_run
from arcanos_eval.runlog import ResultRecord, RunLog
from arcanos_eval.suite.model import Case, Suite

__all__ = ["ArcanosSession"]


@dataclass
class ArcanosSession:
    """Configuration, suites and, once :meth:`run` has been called, the results."""

    config: RunConfig
    suites: list[Suite]
    data_report: Mapping[str, Any] | None = None
    log: RunLog | None = None
    stats: EngineStats | None = None
    evaluation: Evaluation | None = None
    gates: GateSet = field(init=False)
    _by_key: dict[tuple[str, str], list[ResultRecord]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Parsed up front: a bad gate table is a usage error before any model call.
        self.gates = parse_gates(self.config.gates)

    @property
    def target_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.config.active_targets)

    @property
    def comparison(self) -> tuple[str, str] | None:
        """(candidate, baseline) when both take part in this run."""
        names = self.target_names
        if self.config.candidate in names and self.config.baseline in names:
            return self.config.candidate, self.config.baseline
        return None

    def suite_for(self, path: Path) -> Suite | None:
        resolved = path.resolve()
        for suite in self.suites:
            if suite.path is not None and suite.path.resolve() == resolved:
                return suite
        return None

    def cases(self) -> Iterator[Case]:
        for suite in self.suites:
            yield from suite.cases

    def run(
        self, select: Collection[tuple[str, str]] | None = None, *, progress: bool = True
    ) -> RunLog:
        """Execute the calls of ``select`` ((``suite::case``, target) pairs; all when ``None``)."""
        outcome = execute_run(self.config, self.suites, select=select, progress=progress)
        self.log, self.stats = outcome.log, outcome.stats
        self._by_key = {}
        for record in outcome.log.records():
            key = (f"{record.suite_id}::{record.case_id}", record.target)
            self._by_key.setdefault(key, []).append(record)
        for records in self._by_key.values():
            records.sort(key=lambda r: r.repeat)
        self.evaluation = evaluate(outcome.log, data_report=self.data_report)
        return outcome.log

    def records(self, case: Case, target: str) -> list[ResultRecord]:
        """Every repeat's result for ``case`` from ``target`` (empty when it was not run)."""
        return self._by_key.get((case.key, target), [])
