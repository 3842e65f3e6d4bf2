"""The run pipeline shared by the CLI and the pytest plugin: plan, execute, score, log.

``execute_run`` loads nothing it is not given, calls the engine, scores each answer as it arrives and
appends it to the run log; gates and reports are computed afterwards from that log. Ctrl-C stops a
run within two seconds and leaves the log resumable (see :mod:`arcanos_eval._interrupt`): the run
raises :class:`RunInterrupted`, which names the log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import platform
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from arcanos_eval._interrupt import RunInterrupted, run_interruptible, stopping, uninterrupted
from arcanos_eval._preflight import Preflight
from arcanos_eval._progress import RunProgress
from arcanos_eval._version import __version__
from arcanos_eval.backends import EngineBackend, check_model_targets, model_targets, scoring_case
from arcanos_eval.batch import run_batches
from arcanos_eval.calibration import Calibration
from arcanos_eval.config import RunConfig, TargetConfig
from arcanos_eval.cost import Budget, CostPlan, plan_cost, require_prices
from arcanos_eval.data.report import read_evidence
from arcanos_eval.engine import Call, Engine, EngineStats, first_few
from arcanos_eval.errors import ConfigError, ReplayMissingError, RunLogError
from arcanos_eval.fine_tunes import collect_fine_tunes, recorded_weights
from arcanos_eval.model import (
    CalibrationRecord,
    Case,
    CheckResult,
    FineTune,
    GraderKey,
    PairKey,
    Provenance,
    Response,
    ResultKey,
    ResultRecord,
    Roles,
    RunHeader,
    Suite,
    SuiteInfo,
    TargetInfo,
)
from arcanos_eval.modes import Mode
from arcanos_eval.pairing import PAIRWISE_CHECK, Pairing
from arcanos_eval.runlog import RunLog, RunLogWriter, read_run_log
from arcanos_eval.scorers._budgets import use_prices
from arcanos_eval.scorers._calibration import label_verdict
from arcanos_eval.scorers._models import use_backends
from arcanos_eval.scorers._registry import score_check
from arcanos_eval.targets.base import Target, build_request
from arcanos_eval.targets.openai import OpenAITarget, sdk_version
from arcanos_eval.targets.replay import GoldenStore, ResponseCache

__all__ = [
    "RunInterrupted",
    "RunOutcome",
    "execute_run",
    "make_target",
    "plan_calls",
    "plan_run_cost",
    "require_targets",
    "score_case",
]


@dataclass
class RunOutcome:
    """What a finished run produced: its log (re-read from disk) and engine statistics; with a
    cost limit, the budget (which says whether it stopped the run)."""

    log: RunLog
    stats: EngineStats
    budget: Budget | None = None


def make_target(config: TargetConfig, run: RunConfig) -> Target:
    """The Target implementation for a configuration (only ``openai`` today)."""
    if config.provider != "openai":
        raise ConfigError(f"target {config.name!r}: unknown provider {config.provider!r}")
    return OpenAITarget(config, timeout_s=run.timeout_s)


def plan_calls(
    config: RunConfig, suites: Sequence[Suite], select: Collection[tuple[str, str]] | None = None
) -> list[Call]:
    """Every (case, target, repeat) of the run, case by case.

    Each repeat sends its own seed when the target sets ``params.seed`` (see
    :func:`~arcanos_eval.targets.base.repeat_seed`); the request, and so the recording and cache
    entry, of repeat 0 is the one a single answer would send.

    ``select`` limits the plan to these (``suite::case``, target) pairs (what pytest selected).
    """
    require_targets(config)
    targets = config.active_targets
    calls: list[Call] = []
    for suite in suites:
        for case in suite.cases:
            repeats = planned_repeats(config, case)
            for target in targets:
                if select is not None and (case.key, target.name) not in select:
                    continue
                first = build_request(target, case)
                calls.append(Call(case, target.name, 0, first))
                seeded = "seed" in target.params  # without a seed every repeat asks the same
                calls.extend(
                    Call(case, target.name, r, build_request(target, case, r) if seeded else first)
                    for r in range(1, repeats)
                )
    return calls


def require_targets(config: RunConfig) -> None:
    """A run needs a target to answer its cases.

    Raises:
        ConfigError: no target is configured (or only ones consulted by checks).
    """
    if not config.active_targets:
        raise ConfigError(
            "no targets configured: add [tool.arcanos_eval.targets.base] and "
            "[tool.arcanos_eval.targets.candidate] to pyproject.toml"
        )


def planned_repeats(config: RunConfig, case: Case) -> int:
    """How many times each target answers ``case``: the run's ``repeats``, else the case's."""
    return config.repeats or case.repeats


def score_case(case: Case, response: Response) -> list[CheckResult]:
    """Run every check of ``case`` on ``response`` (nothing for an errored response).

    A ``pairwise`` check compares two answers: it is judged once both are in (see
    :mod:`arcanos_eval.pairing`), not here.
    """
    if response.errored:
        return []
    return [
        CheckResult(check.name, check.args, score_check(check, response, case))
        for check in case.checks
        if check.name != PAIRWISE_CHECK
    ]


def _sha(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def describe_target(target: Target) -> TargetInfo:
    """What the report says about a target: everything but credentials."""
    cfg = target.config
    return TargetInfo(
        model=cfg.model,
        api=cfg.api,
        endpoint=target.endpoint,
        stream=cfg.stream,
        structured_outputs=cfg.structured_outputs,
        params=dict(cfg.params),
        prices=dict(cfg.prices),
        description=cfg.description,
        system_prompt_source=cfg.system_prompt_source,
        system_prompt_sha256=_sha(cfg.system_prompt),
    )


def build_header(
    config: RunConfig, suites: Sequence[Suite], targets: Mapping[str, Target], total: int
) -> RunHeader:
    golden = GoldenStore(config.golden)
    started = datetime.now(timezone.utc)
    return RunHeader(
        run_id=started.strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6],
        started_at=started.isoformat(timespec="seconds"),
        mode=config.mode.value,
        concurrency=config.concurrency,
        roles=Roles(config.baseline, config.candidate, config.rollback, config.rollback_model),
        targets={name: describe_target(t) for name, t in targets.items()},
        suites={
            s.id: SuiteInfo(
                version=s.version,
                path=str(s.path),
                description=s.description,
                categories=s.categories,
                cases=len(s.cases),
                response_schema=dict(s.response_schema) if s.response_schema else None,
                schema_of_record=golden.schema_of_record(s.id),
                case_inputs={c.id: c.input[:500] for c in s.cases},
                labels=human_labels(s),
            )
            for s in suites
        },
        gates=dict(config.gates),
        planned=total,
        data_report=None
        if config.data_report is None
        else read_evidence(config.data_report, project_path(config.data_report, config.root)),
        provenance=Provenance(
            arcanos_eval=__version__,
            sdk=sdk_version(),
            python=platform.python_version(),
            platform=platform.platform(terse=True),
            git_commit=_git_commit(config.root),
        ),
    )


def human_labels(suite: Suite) -> dict[str, bool]:
    """The human labels of ``suite``'s cases (``metadata.label``) that are a grader's verdict
    (see :func:`~arcanos_eval.scorers._calibration.label_verdict`), by case id."""
    labels = {}
    for case in suite.cases:
        verdict = label_verdict(case.metadata.get("label"))
        if verdict is not None:
            labels[case.id] = verdict
    return labels


def _consulted_targets(config: RunConfig, suites: Sequence[Suite]) -> set[str]:
    """The configured targets that checks consult as models (judges, moderation)."""
    names = list(config.targets)
    used: set[str] = set()
    for suite in suites:
        for case in suite.cases:
            used |= model_targets(case, names)
    return used


def _scorer_backends(config: RunConfig, used: set[str], engine: Engine) -> dict[str, EngineBackend]:
    """Engine-backed models for the targets that checks consult (judges, moderation)."""
    if not used:
        return {}
    targets = {name: make_target(config.targets[name], config) for name in sorted(used)}
    scorer_engine = Engine(
        targets,
        mode=config.mode,
        golden=engine.golden,
        cache=engine.cache,
        concurrency=config.concurrency,
        max_retries=config.max_retries,
        timeout_s=config.timeout_s,
        progress=False,
        budget=engine.budget.for_checks() if engine.budget is not None else None,
    )
    loop = asyncio.get_running_loop()
    return {name: EngineBackend(name, t, scorer_engine, loop) for name, t in targets.items()}


def _score_with_models(
    case: Case, response: Response, backends: Mapping[str, EngineBackend]
) -> list[CheckResult]:
    token = scoring_case.set(case)
    try:
        with use_backends(backends):
            return score_case(case, response)
    finally:
        scoring_case.reset(token)


def _check_resumable(log: RunLog, header: RunHeader) -> None:
    def calls(h: RunHeader) -> dict[str, tuple[Any, ...]]:
        return {n: (t.model, t.system_prompt_sha256, dict(t.params)) for n, t in h.targets.items()}

    if calls(log.header) != calls(header):
        raise RunLogError(
            f"{log.path}: cannot resume: its targets differ from this run's "
            "(model, system prompt or params changed)"
        )
    if set(log.header.suites) != set(header.suites):
        raise RunLogError(
            f"{log.path}: cannot resume: it covers suites "
            f"{sorted(log.header.suites)}, this run "
            f"{sorted(header.suites)}"
        )


async def _execute(
    config: RunConfig,
    suites: Sequence[Suite],
    targets: Mapping[str, Target],
    log_path: Path,
    resume: Path | None,
    progress: bool,
    select: Collection[tuple[str, str]] | None,
    on_record: Callable[[ResultRecord], None] | None = None,
    on_log: Callable[[Path], None] | None = None,
) -> tuple[EngineStats, RunLog | None, Budget | None]:
    check_model_targets(suites, list(config.targets))
    shared = _Shared.open(config, suites)
    calls = plan_calls(config, suites, select)
    header = build_header(config, suites, targets, len(calls))
    stored_batches: list[dict[str, Any]] = []
    answers: dict[ResultKey, ResultRecord] = {}
    judged: set[PairKey] = set()
    calibrated: dict[GraderKey, CalibrationRecord] = {}
    planned_cases = {c.case.key: c.case for c in calls}.values()
    pairing = Pairing.of(config, planned_cases, answers, judged)
    calibration = Calibration(planned_cases, calibrated, set(), concurrency=config.concurrency)
    if resume is not None:
        writer, previous = RunLogWriter.open_for_resume(resume)
        _check_resumable(previous, header)
        stored_batches = previous.batches
        answers.update(previous.results)
        judged.update(previous.pairwise)
        calibrated.update(previous.calibration)
        done = {key for key, record in previous.results.items() if not record.errored}
        calls = [c for c in calls if (c.case.key, c.target, c.repeat) not in done]
        shared.fine_tunes.update(previous.header.fine_tunes)
    else:
        header = dataclasses.replace(header, log=project_path(log_path, config.root))
        # Read once, before any answer: a resumed run keeps the provenance its log recorded.
        shared.fine_tunes.update(await collect_fine_tunes(config, targets))
        writer = RunLogWriter.create(
            log_path, dataclasses.replace(header, fine_tunes=shared.fine_tunes)
        )
    if on_log is not None:
        on_log(writer.path)
    try:
        stats, unrecorded = await _answer(
            config, suites, targets, calls, writer, progress, stored_batches, on_record,
            shared, pairing, calibration,
        )  # fmt: skip
        if shared.budget is None or not shared.budget.stopped:  # else: resumable, no footer
            with uninterrupted():
                writer.footer(
                    {
                        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "stats": stats.to_dict(),
                    }
                )
    finally:
        writer.close()
    _check_recorded(config, unrecorded, writer.path)
    return stats, writer.log, shared.budget


@dataclasses.dataclass(frozen=True)
class _Shared:
    """What every execution of one run shares: the golden store and the cache (each file read at
    most once) and the targets checks consult. A pytest-xdist worker executes thousands of call
    groups; building these for each would make its run quadratic in the suite's size."""

    golden: GoldenStore
    cache: ResponseCache | None
    consulted: set[str]
    preflight: Preflight
    budget: Budget | None
    # The fine-tunes' provenance as the run log's header holds it, once the log is open.
    fine_tunes: dict[str, FineTune] = dataclasses.field(default_factory=dict)

    @classmethod
    def open(cls, config: RunConfig, suites: Sequence[Suite]) -> _Shared:
        """Raises ConfigError: a cost limit, and a target it may call without prices."""
        consulted = _consulted_targets(config, suites)
        return cls(
            GoldenStore(config.golden, answers_only=not config.mode.writes_golden),
            ResponseCache(config.cache) if config.cache else None,
            consulted,
            Preflight(),
            _budget(config, consulted),
        )


def _budget(config: RunConfig, consulted: Collection[str]) -> Budget | None:
    """The run's cost limit, over every target it may call, or ``None`` without one."""
    if config.max_cost_usd is None:
        return None
    names = [t.name for t in config.active_targets] + sorted(set(consulted))
    prices = {name: config.targets[name].prices for name in names}
    require_prices(prices)
    return Budget(config.max_cost_usd, prices, batch=config.mode is Mode.BATCH)


async def _answer(
    config: RunConfig,
    suites: Sequence[Suite],
    targets: Mapping[str, Target],
    calls: Sequence[Call],
    writer: RunLogWriter,
    progress: bool,
    stored_batches: Sequence[Mapping[str, Any]] = (),
    on_record: Callable[[ResultRecord], None] | None = None,
    shared: _Shared | None = None,
    pairing: Pairing | None = None,
    calibration: Calibration | None = None,
) -> tuple[EngineStats, list[str]]:
    """Calibrate the graders of ``calibration`` not calibrated yet; answer ``calls``, score each
    answer and append it to ``writer`` (then hand it to ``on_record``); then judge the pairwise
    comparisons of ``pairing`` these answers completed.

    Returns the statistics and the check calls replay could not answer (see ``_check_recorded``).
    """
    shared = shared or _Shared.open(config, suites)
    engine = Engine(
        targets,
        mode=config.mode,
        golden=shared.golden,
        cache=shared.cache,
        concurrency=config.concurrency,
        max_retries=config.max_retries,
        timeout_s=config.timeout_s,
        progress=progress,
        budget=shared.budget,
        fine_tunes=recorded_weights(config, shared.fine_tunes),
    )

    backends = _scorer_backends(config, shared.consulted, engine)

    async def preflight(names: Sequence[str]) -> None:
        # The targets about to be called, and the ones their answers' checks will consult.
        await shared.preflight.check(
            [*(targets[n] for n in names), *(b.target for b in backends.values())]
        )

    async def preflight_graders(names: Sequence[str]) -> None:
        # A grader called before the targets, or for answers golden held (calibration, a
        # judge's new questions): checked before its first call too.
        await shared.preflight.check([backends[n].target for n in names if n in backends])

    engine.before_calls = preflight
    for backend in backends.values():
        backend.engine.before_calls = preflight_graders
    model_names = list(backends)
    answered: list[ResultRecord] = []
    status = RunProgress(
        Counter(call.target for call in calls),
        concurrency=config.concurrency,
        enabled=progress,
        retries=lambda: engine.stats.retries,
    )

    async def on_result(call: Call, response: Response) -> None:
        if stopping():  # interrupted: an answer that arrives now is not scored (resume asks again)
            raise asyncio.CancelledError
        case = call.case
        # A cost check without prices of its own prices the answer at its target's.
        with use_prices(targets[call.target].config.prices):
            if backends and not response.errored and model_targets(case, model_names):
                # Model-backed checks block on their own calls: score them off the event loop.
                scores = await asyncio.to_thread(_score_with_models, case, response, backends)
            else:
                scores = score_case(case, response)
        record = ResultRecord(
            suite_id=case.suite_id,
            case_id=case.id,
            target=call.target,
            repeat=call.repeat,
            category=case.category,
            fingerprint=call.request.fingerprint,
            response=response,
            scores=tuple(scores),
            tags=case.tags,
            xfail=case.xfail,
            seed=_sent_seed(call),
            reduce=case.reduce,
        )
        with uninterrupted():  # a forced interruption waits for the line to be written
            writer.append(record)
        answered.append(record)
        status.add(
            call.target,
            errored=record.errored,
            passed=record.passed,
            recorded=response.origin != "live",
            latency_s=None if response.latency_ms is None else response.latency_ms / 1000,
        )
        if on_record is not None:
            on_record(record)

    try:
        async with status.running():
            if calibration is not None and backends:
                await calibration.run(backends, writer, notes=status.notes if progress else None)
            if config.mode is Mode.BATCH:
                stats = await run_batches(
                    engine,
                    calls,
                    on_result,
                    settings=config.batch,
                    journal=writer.batch,
                    previous=stored_batches,
                    stream=status.notes,
                )
            else:
                stats = await engine.run(calls, on_result)
        if pairing is not None:
            await pairing.judge(answered, backends, writer)
    finally:
        for target in [*targets.values(), *(b.target for b in backends.values())]:
            await target.aclose()
    _count_check_calls(stats, backends)
    return stats, sorted({key for b in backends.values() for key in b.unrecorded})


def _count_check_calls(stats: EngineStats, backends: Mapping[str, EngineBackend]) -> None:
    """Add what the checks' own calls (judges, moderation), which go through an engine of their
    own, leave for the run to say to ``stats``: the golden records they wrote, and each grader
    stopped because its server refused the key (its checks were not graded: exit status 3)."""
    for engine in {id(b.engine): b.engine for b in backends.values()}.values():
        stats.golden_from_cache += engine.stats.golden_from_cache
        stats.golden_from_live += engine.stats.golden_from_live
        stats.golden_provenance_unknown += engine.stats.golden_provenance_unknown
        stats.stopped.extend(line for line in engine.stats.stopped if line not in stats.stopped)


def _sent_seed(call: Call) -> int | None:
    """The integer seed ``call`` sent, as the run log records it (``None``: none)."""
    seed = call.request.params.get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _check_recorded(config: RunConfig, unrecorded: Sequence[str], log: Path) -> None:
    """Answers can be checked before a run, a judge's questions only once the answers are in:
    replay lists the missing ones after scoring, as one error, not as quietly failed checks."""
    if unrecorded:
        raise ReplayMissingError(
            f"{len(unrecorded)} check call(s) have no recording in {config.golden} "
            f"({first_few(unrecorded)}); record them with --mode record "
            f"(the run log {log} is complete otherwise)"
        )


class IncrementalRun:
    """One run log filled by several executions, e.g. the call groups of a pytest-xdist worker,
    which arrive one at a time: planned, opened and read once, not once per execution.
    """

    def __init__(
        self, config: RunConfig, suites: Sequence[Suite], path: Path, *, resume: Path | None
    ) -> None:
        check_model_targets(suites, list(config.targets))
        self._shared = _Shared.open(config, suites)
        self.config, self.suites = config, suites
        self.targets = {t.name: make_target(t, config) for t in config.active_targets}
        header = build_header(config, suites, self.targets, 0)
        self.records: list[ResultRecord] = []
        self.batches: list[dict[str, Any]] = []
        if resume is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(resume, path)  # the resumed log stays as it was
            self.writer, previous = RunLogWriter.open_for_resume(path)
            _check_resumable(previous, header)
            self.records = previous.records()
            self.batches = previous.batches
            self._shared.fine_tunes.update(previous.header.fine_tunes)
        else:
            fine_tunes = run_interruptible(collect_fine_tunes(config, self.targets))
            self._shared.fine_tunes.update(fine_tunes)
            self.writer = RunLogWriter.create(
                path, dataclasses.replace(header, fine_tunes=fine_tunes)
            )
        self.done = {r.key for r in self.records if not r.errored}
        self.stats = EngineStats()
        self.interrupted = False  # an interrupted log gets no footer: it stays resumable
        # What pairwise checks compare: every answer so far, and the comparisons already made.
        self._answers: dict[ResultKey, ResultRecord] = {r.key: r for r in self.records}
        self._judged: set[PairKey] = set(previous.pairwise) if resume is not None else set()
        self._calibrated: dict[GraderKey, CalibrationRecord] = (
            dict(previous.calibration) if resume is not None else {}
        )
        self._calibrating: set[GraderKey] = set()
        self._plan: dict[tuple[str, str], list[Call]] = {}
        for call in plan_calls(config, suites):
            self._plan.setdefault((call.case.key, call.target), []).append(call)

    def execute(
        self, select: Collection[tuple[str, str]], *, progress: bool = False
    ) -> list[ResultRecord]:
        """Make the calls of ``select`` not answered yet; returns their new records."""
        calls = [
            c
            for pair in sorted(select)
            for c in self._plan.get(pair, ())
            if (c.case.key, c.target, c.repeat) not in self.done
        ]
        new: list[ResultRecord] = []
        cases = {c.case.key: c.case for pair in select for c in self._plan.get(pair, ())}
        pairing = Pairing.of(self.config, cases.values(), self._answers, self._judged)
        calibration = Calibration(
            cases.values(),
            self._calibrated,
            self._calibrating,
            concurrency=self.config.concurrency,
        )
        try:
            stats, unrecorded = run_interruptible(
                _answer(
                    self.config, self.suites, self.targets, calls, self.writer, progress,
                    self.batches, new.append, self._shared, pairing, calibration,
                )
            )  # fmt: skip
        except KeyboardInterrupt:
            self.interrupted = True
            raise RunInterrupted(self.writer.path) from None
        self.stats = added_stats(self.stats, stats)
        self.records.extend(new)
        self.done.update(r.key for r in new if not r.errored)
        _check_recorded(self.config, unrecorded, self.writer.path)
        return new

    @property
    def budget(self) -> Budget | None:
        """The run's cost limit, if it has one."""
        return self._shared.budget

    def close(self) -> Path:
        """Write the footer (unless the run was interrupted, or stopped by its budget) and close
        the log; returns its path."""
        if self.interrupted or (self.budget is not None and self.budget.stopped):
            self.writer.close()
            return self.writer.path
        self.writer.footer(
            {
                "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "stats": self.stats.to_dict(),
            }
        )
        self.writer.close()
        return self.writer.path


def added_stats(total: EngineStats, more: EngineStats) -> EngineStats:
    """The sum of two executions' statistics."""
    values = {
        f.name: getattr(total, f.name) + getattr(more, f.name) for f in dataclasses.fields(more)
    }
    return EngineStats(**values)


def project_path(path: Path, root: Path) -> str:
    """``path`` as a command run in the project folder ``root`` names it: relative when inside."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return str(path.resolve())


def default_log_path(config: RunConfig) -> Path:
    """Where a run's log goes when none is named: ``.arcanos/runs/<UTC time>.jsonl``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return config.root / ".arcanos" / "runs" / f"{stamp}.jsonl"


def execute_run(
    config: RunConfig,
    suites: Sequence[Suite],
    *,
    log_path: Path | None = None,
    targets: Mapping[str, Target] | None = None,
    progress: bool = True,
    select: Collection[tuple[str, str]] | None = None,
) -> RunOutcome:
    """Run ``suites`` against the configured targets and return the run log (as written).

    Args:
        config: the resolved configuration (mode, targets, golden, cache, concurrency...).
        suites: loaded suites.
        log_path: where to write the run log (default: ``config.log`` or
            ``.arcanos/runs/<time>.jsonl``); ignored when ``config.resume`` is set, which appends
            to that log instead and runs only what it lacks (errored calls are retried).
        targets: Target instances to use instead of building them from configuration.
        progress: show progress on stderr.
        select: run only these (``suite::case``, target) pairs.

    Raises:
        RunInterrupted: Ctrl-C stopped the run; the log it names can be resumed.
    """
    opened: list[Path] = []
    try:
        return run_interruptible(
            run_async(
                config, suites, log_path=log_path, targets=targets, progress=progress,
                select=select, on_log=opened.append,
            )
        )  # fmt: skip
    except KeyboardInterrupt:
        raise RunInterrupted(opened[-1] if opened else None) from None


async def run_async(
    config: RunConfig,
    suites: Sequence[Suite],
    *,
    log_path: Path | None = None,
    targets: Mapping[str, Target] | None = None,
    progress: bool = True,
    select: Collection[tuple[str, str]] | None = None,
    on_record: Callable[[ResultRecord], None] | None = None,
    on_log: Callable[[Path], None] | None = None,
) -> RunOutcome:
    """:func:`execute_run` in a running event loop; ``on_record`` gets each new result as soon as
    it is scored and written (on the loop's thread), ``on_log`` the run log's path as soon as it
    is created or opened for resuming (what to resume, should the run be interrupted)."""
    if targets is None:
        targets = {t.name: make_target(t, config) for t in config.active_targets}
    resume = config.resume
    path = Path(resume or log_path or config.log or default_log_path(config))
    stats, log, budget = await _execute(
        config, suites, targets, path, resume, progress, select, on_record, on_log
    )
    return RunOutcome(log or read_run_log(path), stats, budget)


def plan_run_cost(config: RunConfig, suites: Sequence[Suite]) -> CostPlan:
    """What a run of ``suites`` would send and cost (``arcanos-eval run --dry-run``), after
    golden and the cache answer what they hold; nothing is called or written."""
    check_model_targets(suites, list(config.targets))
    calls = plan_calls(config, suites)
    targets = {t.name: make_target(t, config) for t in config.active_targets}
    engine = Engine(
        targets,
        mode=config.mode,
        golden=GoldenStore(config.golden, answers_only=True),
        cache=ResponseCache(config.cache) if config.cache else None,
        progress=False,
    )
    return plan_cost(engine, calls, consulted=sorted(_consulted_targets(config, suites)))


def summarize(log: RunLog) -> list[tuple[str, str, int, int, int, int]]:
    """(suite, target, cases, passed, failed, errored) rows for a terminal summary."""
    rows: dict[tuple[str, str], list[int]] = {}
    for record in log.records():
        row = rows.setdefault((record.suite_id, record.target), [0, 0, 0, 0])
        row[0] += 1
        if record.errored:
            row[3] += 1
        elif record.passed:
            row[1] += 1
        else:
            row[2] += 1
    return [(s, t, *counts) for (s, t), counts in sorted(rows.items())]  # type: ignore[misc]
