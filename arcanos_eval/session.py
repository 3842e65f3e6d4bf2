"""The state of one evaluation session, shared by the pytest plugin and ``arcanos-eval run``.

A session holds the resolved configuration and loaded suites, runs the engine once for what was
selected, and answers "what did target T say for case C" for the items that assert. When calls go
to a model, the engine runs on a thread of its own (:meth:`start`) while pytest runs the items: an
item waits for its own answers only, so the items' work overlaps the model's latency instead of
following the last answer.

Under pytest-xdist the work is shared: cases that send a common request form one *call group*, the
plugin schedules each group on one worker, and a worker makes a group's calls when the group's first
item runs (:meth:`ensure`), appending to its own run log. The controller then merges the workers'
logs into the run log of the session (:meth:`merge`) and evaluates the gates once, on everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from arcanos_eval._gc import bulk_work
from arcanos_eval._interrupt import HARD_S, run_interruptible
from arcanos_eval.compare import ALL_CATEGORIES
from arcanos_eval.config import RunConfig
from arcanos_eval.cost import Budget
from arcanos_eval.engine import EngineStats
from arcanos_eval.errors import ArcanosError, EndpointError, ExitCode
from arcanos_eval.fine_tunes import has_fine_tune
from arcanos_eval.gates import GateResult, GateSet, GateSpec, parse_gates
from arcanos_eval.model import Case, ResultRecord, Suite
from arcanos_eval.modes import Mode
from arcanos_eval.report import Evaluation, evaluate
from arcanos_eval.report.cli import publish, read_data_report
from arcanos_eval.report.explain import explain_case, explain_gates, explain_regression
from arcanos_eval.run import (
    IncrementalRun,
    RunInterrupted,
    RunOutcome,
    added_stats,
    default_log_path,
    execute_run,
    plan_calls,
    planned_repeats,
    project_path,
    run_async,
)
from arcanos_eval.runlog import RunLog, merge_run_logs, read_run_log
from arcanos_eval.startup import check_startup
from arcanos_eval.stats import format_percent

__all__ = ["ArcanosSession", "gate_name"]


def _shown_path(path: Path) -> Path:
    """``path`` relative to the current folder when inside it."""
    with contextlib.suppress(ValueError, OSError):
        return path.resolve().relative_to(Path.cwd().resolve())
    return path


def gate_name(spec: GateSpec) -> str:
    """A configured gate as pytest names its item: ``pass_rate[happy_path]@support``."""
    return spec.name if spec.suite is None else f"{spec.name}@{spec.suite}"


class _Background:
    """One run of the engine on a thread of its own, which the main thread can wait on or stop."""

    def __init__(
        self,
        session: ArcanosSession,
        select: Collection[tuple[str, str]] | None,
    ) -> None:
        self.changed = threading.Condition()
        self.done = False
        self.outcome: RunOutcome | None = None
        self.error: BaseException | None = None
        self.log: Path | None = None  # the run log, once the run has opened it
        self._session = session
        self._select = select
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self.thread = threading.Thread(target=self._work, name="arcanos-calls", daemon=True)

    def _work(self) -> None:
        try:
            with bulk_work():
                self.outcome = run_interruptible(self._main())
        except BaseException as exc:  # every ending, KeyboardInterrupt included, goes to the caller
            self.error = exc
        finally:
            with self.changed:
                self.done = True
                self.changed.notify_all()

    async def _main(self) -> RunOutcome:
        with self.changed:
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
            if self._stopping:
                raise asyncio.CancelledError
        session = self._session
        return await run_async(
            session.config,
            session.suites,
            progress=False,  # pytest's own progress follows the items, which follow the answers
            select=self._select,
            on_record=self._arrived,
            on_log=self._opened,
        )

    def _opened(self, path: Path) -> None:
        self.log = path

    def _arrived(self, record: ResultRecord) -> None:
        with self.changed:
            self._session._index((record,))
            self.changed.notify_all()

    def wait(self, ready: Callable[[], bool]) -> None:
        """Block until ``ready()`` holds (checked on every new result) or the run has ended."""
        with self.changed:
            while not self.done and not ready():
                self.changed.wait()

    def stop(self) -> None:
        """Cancel the calls still running and wait for the thread: the run log keeps every answer
        already written, without a footer, so the run can be resumed. A thread still busy after
        ``HARD_S`` (a check that does not give way) is left behind: it is a daemon."""
        with self.changed:
            self._stopping = True
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the run had ended
                loop.call_soon_threadsafe(task.cancel)
        self.thread.join(HARD_S)


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
    # pytest-xdist worker state: case key -> call group, and the calls of groups not yet run.
    _groups: dict[str, str] = field(default_factory=dict)
    _pending: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    _share: IncrementalRun | None = None
    # A run on its own thread (:meth:`start`): how many results each selected key waits for.
    _background: _Background | None = None
    _expected: dict[tuple[str, str], int] = field(default_factory=dict)
    _failure: BaseException | None = None
    # The log of a run that Ctrl-C stopped: what to resume.
    interrupted_log: Path | None = None
    # The run's cost limit (--max-cost), once it ran: whether it stopped the run.
    budget: Budget | None = None
    # A pytest-xdist worker's pre-flight found a server it cannot reach: the controller exits
    # with status 3 on it, as a single process does.
    endpoint_error: str | None = None

    def __post_init__(self) -> None:
        # Parsed up front: a bad gate table is a usage error before any model call. A candidate
        # with a fine-tune gets the implicit fine_tune gate its run will evaluate (a gate item).
        candidate = self.config.targets.get(self.config.candidate)
        self.gates = parse_gates(self.config.gates).with_fine_tune(
            candidate is not None and has_fine_tune(candidate)
        )

    @classmethod
    def open(cls, config: RunConfig, *, data_report: str | Path | None = None) -> ArcanosSession:
        """The session of ``config``: its gates checked, its suites and the training-data report
        (``data_report``, else the configured one, if any) loaded.

        Raises:
            ArcanosError: a bad or missing gate table, suite or data report, before any model
                call.
        """
        # The checks `arcanos-eval validate` runs too: the gates' errors come before those of the
        # suites; no gate at all is one of them.
        with bulk_work():
            startup = check_startup(config)
        startup.raise_first()
        if data_report is not None:  # the run header records the report the session judges by
            config = dataclasses.replace(config, data_report=Path(data_report))
        return cls(config, startup.suites, data_report=read_data_report(config.data_report))

    @functools.cached_property
    def target_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.config.active_targets)

    @functools.cached_property
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
        with bulk_work():
            try:
                outcome = execute_run(self.config, self.suites, select=select, progress=progress)
            except RunInterrupted as exc:
                self.interrupted_log = exc.log
                raise
            self.budget = outcome.budget
            self._absorb(outcome.log, outcome.stats)
        return outcome.log

    def overlaps(self) -> bool:
        """Whether :meth:`start` pays: calls may go to a model (a resumed run stays in one piece:
        its earlier errored answers are superseded, which waiting per answer cannot tell)."""
        return self.config.mode.calls_one_by_one and self.config.resume is None

    def start(self, select: Collection[tuple[str, str]] | None = None) -> None:
        """Begin the calls of ``select`` on a thread of their own and return once the first answer
        is in; :meth:`records` then waits for the answers it is asked for, and :meth:`finish`
        for the whole run.

        Raises:
            ArcanosError: the run stopped before its first answer (missing recordings, a target
                that cannot be called...), as :meth:`run` would.
        """
        self._expected = {
            (case.key, target): planned_repeats(self.config, case)
            for case in self.cases()
            for target in self.target_names
            if select is None or (case.key, target) in select
        }
        self._background = _Background(self, select)
        self._background.thread.start()
        try:
            self._background.wait(lambda: bool(self._by_key))
        except BaseException:  # Ctrl-C before the first answer: the calls stop too
            self.stop()
            raise
        if self._background.done:
            self.finish()

    def finish(self) -> None:
        """Wait for the run :meth:`start` began and evaluate it, like :meth:`run`; nothing to do
        without one. Raises the error that ended the run, each time it is called."""
        background = self._background
        if background is not None:
            background.thread.join()
            self._background = None
            if background.outcome is not None:
                self.budget = background.outcome.budget
                with bulk_work():
                    self._absorb(background.outcome.log, background.outcome.stats)
            self._failure = background.error
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        """Cancel the calls of a run :meth:`start` began (the run log stays resumable)."""
        if self._background is not None:
            self._background.stop()
            if self._background.outcome is None:  # it had not finished: what to resume
                self.interrupted_log = self._background.log
            self._background = None

    def _absorb(self, log: RunLog, stats: EngineStats) -> None:
        """Take ``log`` as this session's results and evaluate it."""
        self.log, self.stats = log, stats
        self._by_key = {}
        self._index(log.records())
        self.evaluation = evaluate(log, data_report=self.data_report)

    def _index(self, records: Iterable[ResultRecord]) -> None:
        """Make ``records`` answer :meth:`records` (a later one replaces the same repeat)."""
        touched = set()
        for record in records:
            key = (f"{record.suite_id}::{record.case_id}", record.target)
            kept = [r for r in self._by_key.get(key, []) if r.repeat != record.repeat]
            self._by_key[key] = [*kept, record]
            touched.add(key)
        for key in touched:
            self._by_key[key].sort(key=lambda r: r.repeat)

    # ------------------------------------------------------------------ decision

    def gate_results(self, spec: GateSpec) -> list[GateResult]:
        """The evaluated results of one configured gate (a gate over categories has several)."""
        if self.evaluation is None:
            return []
        scope = f"suite {spec.suite}" if spec.suite else None
        return [
            r
            for r in self.evaluation.gates
            if r.key == spec.key
            and (spec.category is None or r.name == spec.name)
            and ((r.scope == scope) if scope else not r.scope.startswith("suite "))
        ]

    def gate_failure(self, spec: GateSpec) -> str | None:
        """Why the gate ``spec`` failed, or ``None`` when it passed."""
        return explain_gates(self.gate_results(spec))

    def case_failure(self, case: Case, target: str, records: Sequence[ResultRecord]) -> str | None:
        """Why ``target``'s ``records`` for ``case`` failed, with the baseline's answer beside
        the candidate's; ``None`` when every repeat passed."""
        baseline: str | None = None
        base_records: tuple[ResultRecord, ...] = ()
        if self.comparison is not None and target == self.comparison[0]:
            baseline = self.comparison[1]
            base_records = tuple(self.records(case, baseline))
        return explain_case(
            key=case.key,
            location=case.location,
            prompt=case.input,
            target=target,
            records=records,
            baseline=baseline,
            base_records=base_records,
        )

    def regression(
        self, case: Case, candidate: Sequence[ResultRecord], base: Sequence[ResultRecord]
    ) -> str | None:
        """Why ``case`` regressed from the baseline to the candidate, or ``None``."""
        candidate_name, baseline = self.comparison or (self.config.candidate, self.config.baseline)
        return explain_regression(
            key=case.key,
            location=case.location,
            prompt=case.input,
            baseline=baseline,
            candidate=candidate_name,
            base_records=base,
            candidate_records=candidate,
        )

    def excuse(self, case: Case, target: str, records: Sequence[ResultRecord]) -> str | None:
        """Why failing answers of ``target`` to ``case`` do not fail a gated session by themselves,
        or ``None`` when they do: a reference target's answers are evidence for the gates, and a
        candidate's failure that a gate counts is that gate's to judge."""
        if target != self.config.candidate:
            return f"{target} is a reference target: its answers are evidence, not a test"
        failed = {s.check for r in records for s in r.scores if not s.passed}
        counted = [
            f"{gate_name(spec)} >= {format_percent(spec.threshold)}"
            if spec.key == "pass_rate"
            else f"{gate_name(spec)} <= {spec.threshold:g}"
            for spec in self._gates_over(case)
            if (spec.key == "pass_rate" and spec.category in (case.category, ALL_CATEGORIES))
            or (spec.key == "schema_violations" and "schema" in failed)
        ]
        return f"counted by {', '.join(counted)}" if counted else None

    def regression_excuse(self, case: Case) -> str | None:
        """Why a regression of ``case`` does not fail a gated session by itself (a regression
        gate judges it), or ``None``."""
        counted = [gate_name(s) for s in self._gates_over(case) if s.key == "max_regression"]
        return f"counted by {', '.join(counted)}" if counted else None

    def _gates_over(self, case: Case) -> list[GateSpec]:
        """The configured gates whose scope holds ``case``'s suite: its own overrides, and the
        run-wide gates it does not override."""
        own = [s for s in self.gates.specs if s.suite == case.suite_id]
        replaced = {s.identity for s in own}
        return own + [s for s in self.gates.specs if s.suite is None and s.identity not in replaced]

    def publish(
        self,
        json_path: str | Path | None = None,
        html_path: str | Path | None = None,
        charts_dir: str | Path | None = None,
    ) -> str | None:
        """Write the report, chart images, JSON summary, HTML report and step summary asked for;
        returns the verdict line (``None`` before any result)."""
        if self.evaluation is None:
            return None
        return publish(
            self.evaluation,
            output=self.config.report,
            json_path=Path(json_path) if json_path else None,
            charts_dir=charts_dir or None,
            html_path=Path(html_path) if html_path else None,
        )

    def stats_line(self) -> str | None:
        """``run log: PATH (N live, N replayed, ...)``: where the results are and where they
        came from (``None`` before any result); after an interruption, how to resume."""
        if self.log is None and self.interrupted_log is not None:
            shown = _shown_path(self.interrupted_log)
            return (
                f"run log: {shown} (interrupted: --arcanos-resume {shown}, or arcanos-eval run "
                f"--resume {shown}, completes it)"
            )
        if self.log is None or self.stats is None:
            return None
        s, path = self.stats, self.log.path
        with contextlib.suppress(ValueError, TypeError):  # outside the current folder: as it is
            path = path.resolve().relative_to(Path.cwd().resolve())  # type: ignore[union-attr]
        return (
            f"run log: {path} ({s.live} live, "
            + (f"{s.batched} batched, " if s.batched else "")
            + f"{s.replayed} replayed, {s.cached} cached, {s.retries} retries, {s.errored} errored)"
        )

    def golden_line(self) -> str | None:
        """``golden: wrote 34 new recordings (34 from the cache, 0 from live calls) into
        golden/``: what a run that records (``record``, ``refresh``) wrote into the golden store;
        ``None`` for a mode that does not record, or before any result."""
        if self.stats is None or not self.config.mode.writes_golden:
            return None
        s = self.stats
        folder = f"{_shown_path(self.config.golden)}/"
        total = s.golden_from_cache + s.golden_from_live
        if total == 0:
            return f"golden: wrote no new recording: {folder} held every answer of this run"
        new = "new " if self.config.mode is Mode.RECORD else ""
        line = (
            f"golden: wrote {total} {new}recording{'s' if total != 1 else ''} "
            f"({s.golden_from_cache} from the cache, {s.golden_from_live} from live calls) "
            f"into {folder}"
        )
        if s.golden_provenance_unknown:
            line += (
                f"; {s.golden_provenance_unknown} of them from cache entries that did not keep "
                "the time of the call or the SDK version, which their provenance says "
                "(arcanos-eval golden verify lists them)"
            )
        return line

    @property
    def budget_line(self) -> str | None:
        """``stopped at $X of $Y budget; resume with: ...`` when the cost limit stopped the run
        (its log has no footer: the verdict is HOLD, the run resumable), else ``None``."""
        if self.budget is None or self.log is None or self.log.path is None:
            return None
        return self.budget.stop_line(str(_shown_path(self.log.path)))

    @property
    def stopped_targets(self) -> list[str]:
        """One line per target the run stopped calling because its server refused the key (401)
        or the access (403), naming the key's variable (once, whatever the workers)."""
        return list(dict.fromkeys(self.stats.stopped)) if self.stats is not None else []

    @property
    def exit_status(self) -> ExitCode:
        """The verdict's exit status (0 promote, 1 hold, 3 calls errored); 3 whatever the gates
        when a target was stopped: its cases were never asked, so the gates judged nothing."""
        if self.evaluation is None:
            raise ArcanosError("no results to decide on: no case was run")
        if self.stopped_targets:
            return ExitCode.ERRORED
        return self.evaluation.verdict.exit_status

    # ------------------------------------------------------------------ pytest-xdist

    def call_groups(self) -> dict[str, str]:
        """Case key -> its call group, named after one of its cases: cases that send a common
        request (same target, request fingerprint and repeat), directly or through others, share
        a group; a case that shares nothing is a group of its own."""
        parent: dict[str, str] = {}

        def root(key: str) -> str:
            while parent.setdefault(key, key) != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        owner: dict[tuple[str, str, int], str] = {}
        for call in plan_calls(self.config, self.suites):
            key = call.case.key
            first = owner.setdefault(call.dedupe_key, key)
            a, b = root(first), root(key)
            if a != b:
                parent[max(a, b)] = min(a, b)
        return {key: root(key) for key in parent}

    def share(self, select: Collection[tuple[str, str]], path: Path) -> None:
        """Become one worker's share of the run: the calls of ``select``, made group by group
        into the run log ``path`` (seeded from the resumed log, if any)."""
        self._groups = self.call_groups()
        self._pending = {}
        for case_key, target in select:
            self._pending.setdefault(self._groups[case_key], set()).add((case_key, target))
        self._share = IncrementalRun(self.config, self.suites, path, resume=self.config.resume)
        self._index(self._share.records)

    def ensure(self, case: Case, *, progress: bool = False) -> None:
        """Make the calls of ``case``'s group now, unless they were made already."""
        select = self._pending.pop(self._groups.get(case.key, case.key), None)
        if select and self._share is not None:
            try:
                self._index(self._share.execute(select, progress=progress))
            except EndpointError as exc:
                self.endpoint_error = str(exc)
                raise
            self.stats = self._share.stats
            self.budget = self._share.budget

    def close_share(self) -> dict[str, Any] | None:
        """Finish this worker's run log; what the controller needs to merge it."""
        if self._share is None:
            return None
        path = self._share.close()
        share: dict[str, Any] = {"log": str(path), "stats": self._share.stats.to_dict()}
        if not self._share.records:  # this worker ran no case: nothing to merge
            path.unlink(missing_ok=True)
            share = {}
        if self.endpoint_error is not None:
            share["endpoint_error"] = self.endpoint_error
        return share or None

    def merge(self, shares: Sequence[Mapping[str, Any]], path: Path | None = None) -> RunLog | None:
        """Merge the workers' ``shares`` (``{"log": path, "stats": {...}}``) into this session's
        run log and evaluate it; returns ``None`` when no worker ran a call."""
        shares = [s for s in shares if s.get("log") and Path(s["log"]).is_file()]
        if not shares:
            return None
        stats = EngineStats()
        for item in shares:
            stats = added_stats(stats, EngineStats(**item.get("stats", {})))
        target = path or self.config.resume or self.config.log or default_log_path(self.config)
        footer = {
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "stats": stats.to_dict(),
            "workers": len(shares),
        }
        logs = [read_run_log(s["log"]) for s in shares]
        merged = merge_run_logs(
            logs, target, footer=footer, log=project_path(Path(target), self.config.root)
        )
        for item in shares:
            if Path(item["log"]).resolve() != Path(target).resolve():
                Path(item["log"]).unlink(missing_ok=True)
        self._absorb(merged, stats)
        return merged

    def records(self, case: Case, target: str) -> list[ResultRecord]:
        """Every repeat's result for ``case`` from ``target`` (empty when it was not run); while
        a run :meth:`start` began goes on, waits until they are all in.

        Raises:
            ArcanosError: the run ended before answering them, with this error.
        """
        key = (case.key, target)
        background = self._background
        if background is not None and key in self._expected:
            wanted = self._expected[key]
            background.wait(lambda: len(self._by_key.get(key, ())) >= wanted)
            error = background.error  # set before the run counts as done
            if isinstance(error, ArcanosError) and len(self._by_key.get(key, ())) < wanted:
                raise error
        return self._by_key.get(key, [])
