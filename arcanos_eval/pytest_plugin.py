"""pytest plugin (``pytest11: arcanos``): ``pytest --arcanos-suite suites/``.

Glue only. Options live in :mod:`arcanos_eval.options`, state in :class:`ArcanosSession`. Each suite
file is collected; each case x target becomes an item ``suites/x.yaml::case-id[candidate]``, each
case a comparison item ``[candidate-vs-base]``, each gate an item ``arcanos::gate[name]``. After
collection and deselection, every model call the *selected* items need runs concurrently in the
engine: when calls go to a model, on a thread of its own while the items run, each item waiting for
its own answers (gates for the whole run); a replay runs before the first item.

Under pytest-xdist (``-n``), cases that share a request form one call group, and the scheduler hands
each group whole to one worker, so each request goes to exactly one worker; a worker makes a group's
calls when the group's first item runs. The controller merges the workers' run logs and
reports the gates (as ``arcanos::gate[...]`` results), the report and the verdict once.
"""

from __future__ import annotations

import functools
import gc
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from arcanos_eval._gc import bulk_work, skip_final_collection
from arcanos_eval.config import load_config
from arcanos_eval.errors import ArcanosError
from arcanos_eval.gates import GateResult, GateSpec
from arcanos_eval.model import Case, Response, ResultRecord, Suite
from arcanos_eval.options import OPTIONS, overrides_from
from arcanos_eval.report.cli import publish, read_data_report
from arcanos_eval.run import default_log_path
from arcanos_eval.runlog import RunLog
from arcanos_eval.session import ArcanosSession
from arcanos_eval.suite.loader import SUITE_SUFFIXES, discover_suite_files, load_suites

# The loopback OpenAI-protocol server fixtures, for this project's tests and for users who
# contract-test their own pipelines.
pytest_plugins = ["arcanos_eval.testing.fixtures"]

session_key = pytest.StashKey[ArcanosSession]()
_files_key = pytest.StashKey[set[Path]]()
_json_key = pytest.StashKey[str | None]()
_verdict_key = pytest.StashKey[str]()
_log_key = pytest.StashKey[Path]()  # xdist controller: the merged run log
_shares_key = pytest.StashKey[list[dict[str, Any]]]()  # xdist controller: the workers' logs
_frozen_key = pytest.StashKey[bool]()  # the run froze the collector's view of its objects
_marks_key = pytest.StashKey[dict[str, pytest.MarkDecorator]]()  # category and tag markers


# ----------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("arcanos", "arcanos-eval: base vs candidate model evaluation")
    for option in OPTIONS:
        flag = f"--arcanos-{option.name}"
        ini = f"arcanos_{option.dest}"
        kwargs: dict[str, Any] = {
            "dest": ini,
            "metavar": option.metavar,
            "help": f"{option.help} [ini: {ini}]",
        }
        if option.repeatable:
            kwargs["action"] = "append"
        if option.choices:
            kwargs["choices"] = option.choices
        if option.type is not str:
            kwargs["type"] = option.type
        if option.flag:  # takes no value (e.g. --arcanos-batch)
            kwargs = {"dest": ini, "action": "store_true", "help": kwargs["help"]}
        group.addoption(flag, **kwargs)
        parser.addini(ini, f"arcanos-eval: {option.help}", type=option.ini_type)


def _option_values(config: pytest.Config) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in OPTIONS:
        ini = f"arcanos_{option.dest}"
        value = config.getoption(ini) or config.getini(ini) or None
        if value is not None and option.type is not str and isinstance(value, str):
            try:
                value = option.type(value)
            except ValueError:
                raise pytest.UsageError(
                    f"{ini}: expected {option.metavar}, found {value!r}"
                ) from None
        values["suites" if option.name == "suite" else option.dest] = value
    return values


# ----------------------------------------------------------------------------- configure


def _marker_name(text: str) -> str:
    return re.sub(r"\W+", "_", text).strip("_").lower() or "_"


def pytest_configure(config: pytest.Config) -> None:
    values = _option_values(config)
    if not values.get("suites"):
        return  # not an arcanos run: the plugin stays out of the way
    rootdir = config.rootpath
    suites_given = [
        str((Path.cwd() / p) if not Path(p).is_absolute() else p) for p in values["suites"]
    ]
    try:
        run_config = load_config(
            start=rootdir, **overrides_from({**values, "suites": suites_given})
        )
        suites = load_suites(run_config.suites)
        data_report = read_data_report(values.get("data_report"))
        session = ArcanosSession(run_config, suites, data_report=data_report)
    except ArcanosError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[session_key] = session
    config.stash[_json_key] = values.get("json")
    config.stash[_files_key] = {s.path.resolve() for s in suites if s.path is not None}
    config.stash[_marks_key] = {}
    names = {case.category for case in session.cases()} | {
        _marker_name(tag) for case in session.cases() for tag in case.tags
    }
    for name in sorted(names):
        config.addinivalue_line("markers", f"{name}: arcanos-eval category or tag")
    config.addinivalue_line("markers", "arcanos_gate: an arcanos-eval release gate")
    if _is_controller(config):
        run = run_config
        config.stash[_log_key] = Path(run.resume or run.log or default_log_path(run))
        config.stash[_shares_key] = []
    # Collect the suites even when they lie outside the paths pytest would visit.
    for path in discover_suite_files(run_config.suites):
        if str(path) not in config.args:
            config.args.append(str(path))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _is_controller(config: pytest.Config) -> bool:
    """The pytest-xdist process that hands items to workers and runs none itself."""
    return not _is_worker(config) and getattr(config.option, "dist", "no") != "no"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    log = node.config.stash.get(_log_key, None)
    if log is not None:
        worker_log = log.with_name(f"{log.stem}.{node.gateway.id}{log.suffix}")
        node.workerinput["arcanos_log"] = str(worker_log)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    arcanos = config.stash.get(session_key, None)
    if arcanos is None or config.option.dist not in ("load", "loadgroup", "worksteal"):
        return None  # loadfile, loadscope and each keep a case's items together already
    from arcanos_eval._xdist import CallGroupScheduling  # xdist is optional

    return CallGroupScheduling(config, log, session=arcanos)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    shares = node.config.stash.get(_shares_key, None)
    share = getattr(node, "workeroutput", {}).get("arcanos")
    if shares is not None and share:
        shares.append(share)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    files = parent.config.stash.get(_files_key, None)
    if files is None or file_path.suffix.lower() not in SUITE_SUFFIXES:
        return None
    if file_path.resolve() not in files:
        return None
    return SuiteFile.from_parent(parent, path=file_path)


# ----------------------------------------------------------------------------- items


class CallErrored(Exception):
    """The model call failed after retries: reported as a pytest *error*, not a failure."""


class CheckFailed(AssertionError):
    """One or more checks failed; the message is the rendered explanation."""


def _session(node: pytest.Item | pytest.Collector) -> ArcanosSession:
    return node.config.stash[session_key]


class SuiteFile(pytest.File):
    """A suite file: one item per case x target, and per case a comparison item."""

    def collect(self) -> list[pytest.Item]:
        with bulk_work():  # thousands of long-lived items: no full collections while they are made
            return list(self._items())

    def _items(self) -> Iterator[pytest.Item]:
        session = _session(self)
        suite = session.suite_for(self.path)
        if suite is None:
            return
        for case in suite.cases:
            for target in session.target_names:
                yield CaseItem.from_parent(
                    self, name=f"{case.id}[{target}]", case=case, target=target, suite=suite
                )
            if session.comparison is not None:
                candidate, baseline = session.comparison
                yield ComparisonItem.from_parent(
                    self,
                    name=f"{case.id}[{candidate}-vs-{baseline}]",
                    case=case,
                    target=candidate,
                    suite=suite,
                )


def _case_marks(config: pytest.Config, case: Case) -> tuple[pytest.MarkDecorator, ...]:
    """The category and tag markers of ``case``, built once per name for the whole session:
    ``pytest.mark.<name>`` checks the name against the registered markers on every lookup, which
    for thousands of items is a measurable share of collection."""
    known = config.stash[_marks_key]
    names = (case.category, *(_marker_name(tag) for tag in case.tags))
    for name in names:
        if name not in known:
            known[name] = getattr(pytest.mark, name)
    return tuple(known[name] for name in names)


class _ArcanosItem(pytest.Item):
    def __init__(self, *, case: Case, target: str, suite: Suite, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.target = target
        self.suite = suite
        marks = _case_marks(self.config, case)
        for mark in marks:
            self.add_marker(mark)
        self.extra_keyword_matches.update({case.category, *case.tags})

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = (self.case.line - 1) if self.case.line else None
        return self.path, line, f"{self.case.key}[{self.target}]"

    def _records(self, target: str) -> list[ResultRecord]:
        try:
            _session(self).ensure(self.case)
            records = _session(self).records(self.case, target)
        except ArcanosError as exc:
            raise CallErrored(f"the calls of this case could not run: {exc}") from None
        if not records:
            raise CallErrored(f"no answer from {target!r}: the call was not run")
        errored = [r for r in records if r.errored]
        if errored:
            first = errored[0].response
            raise CallErrored(
                f"{target!r} call errored after {first.attempts} attempt(s): {first.error}"
            )
        return records

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, (CheckFailed, CallErrored)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _excerpt(response: Response, limit: int = 300) -> str:
    if response.tool_calls and not response.text:
        text = "; ".join(f"{c.name}({c.arguments})" for c in response.tool_calls)
    else:
        text = response.text if response.text is not None else "<no text>"
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


def _failing_lines(record: ResultRecord) -> list[str]:
    return [f"  - {s.check}: {s.reason or 'failed'}" for s in record.scores if not s.passed]


class CaseItem(_ArcanosItem):
    """One case answered by one target: passes when every check passes on every repeat."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.case.xfail:
            # A known gap: expected to fail on every target; the comparison item still guards
            # against the candidate doing worse than base.
            self.add_marker(pytest.mark.xfail(reason=self.case.xfail, strict=False))

    def setup(self) -> None:
        self.records = self._records(self.target)

    def runtest(self) -> None:
        first = self.records[0].response
        self.user_properties.extend(
            [
                ("target", self.target),
                ("origin", first.origin),
                ("latency_ms", first.latency_ms),
                ("tokens", first.usage.total_tokens),
            ]
        )
        for score in self.records[0].scores:
            self.user_properties.append((f"score.{score.check}", score.value))
        failing = [r for r in self.records if not r.passed]
        if not failing:
            return
        lines = [
            f"case {self.case.key} ({self.case.location}) answered by {self.target}",
            f"input:  {self.case.input[:200]!r}",
        ]
        for record in failing:
            label = f" (repeat {record.repeat})" if len(self.records) > 1 else ""
            lines.append(f"answer{label}: {_excerpt(record.response)}")
            lines.extend(_failing_lines(record))
        if len(self.records) > 1:
            lines.append(
                f"passed {len(self.records) - len(failing)} of {len(self.records)} repeats (flaky)"
                if len(failing) < len(self.records)
                else f"failed all {len(self.records)} repeats"
            )
        comparison = _session(self).comparison
        if comparison is not None and self.target == comparison[0]:
            base = _session(self).records(self.case, comparison[1])
            if base and not base[0].errored:
                verdict = "passed" if base[0].passed else "failed too"
                lines.append(f"{comparison[1]} {verdict}: {_excerpt(base[0].response)}")
        raise CheckFailed("\n".join(lines))


class ComparisonItem(_ArcanosItem):
    """Candidate against base on one case: fails when the candidate regressed."""

    def setup(self) -> None:
        _, baseline = _session(self).comparison or ("", "")
        self.baseline = baseline
        self.candidate_records = self._records(self.target)
        self.base_records = self._records(baseline)

    def runtest(self) -> None:
        candidate_pass = sum(r.passed for r in self.candidate_records) / len(self.candidate_records)
        base_pass = sum(r.passed for r in self.base_records) / len(self.base_records)
        self.user_properties.extend(
            [("candidate_pass_rate", candidate_pass), ("base_pass_rate", base_pass)]
        )
        if candidate_pass >= base_pass:
            return
        candidate, base = self.candidate_records[0], self.base_records[0]
        lines = [
            f"regressed: {self.case.key} ({self.case.location}) passes on {self.baseline} "
            f"({base_pass:.0%}) but not on {self.target} ({candidate_pass:.0%})",
            f"input:  {self.case.input[:200]!r}",
            f"{self.baseline}: {_excerpt(base.response)}",
            f"{self.target}: {_excerpt(candidate.response)}",
        ]
        lines.extend(_failing_lines(candidate))
        lines.extend(_diff_lines(base.response, candidate.response))
        raise CheckFailed("\n".join(lines))


def _diff_lines(base: Response, candidate: Response) -> list[str]:
    if base.parsed is None or candidate.parsed is None:
        return []
    from deepdiff import DeepDiff

    diff = DeepDiff(base.parsed, candidate.parsed, verbose_level=2)
    if not diff:
        return []
    return [
        "diff (base -> candidate):",
        *(
            f"  {line}"
            for line in json.dumps(
                json.loads(diff.to_json()), indent=1, sort_keys=True
            ).splitlines()[:20]
        ),
    ]


class GateCollector(pytest.Collector):
    """The virtual ``arcanos`` node holding one item per configured gate."""

    def collect(self) -> list[pytest.Item]:
        session = _session(self)
        return [
            GateItem.from_parent(self, name=f"gate[{_gate_name(spec)}]", spec=spec)
            for spec in session.gates.specs
        ]


def _gate_name(spec: GateSpec) -> str:
    return spec.name if spec.suite is None else f"{spec.name}@{spec.suite}"


def gate_results(session: ArcanosSession, spec: GateSpec) -> list[GateResult]:
    """The evaluated results of one configured gate (a gate over categories has several)."""
    if session.evaluation is None:
        return []
    scope = f"suite {spec.suite}" if spec.suite else None
    return [
        r
        for r in session.evaluation.gates
        if r.key == spec.key
        and (spec.category is None or r.name == spec.name)
        and ((r.scope == scope) if scope else not r.scope.startswith("suite "))
    ]


def _gate_failure(results: list[GateResult]) -> str | None:
    failing = [r for r in results if not r.passed]
    if not failing:
        return None
    return "\n".join(
        f"gate {r.label} failed: measured {r.measured_text}, needs {r.threshold_text}; {r.evidence}"
        for r in failing
    )


class GateItem(pytest.Item):
    """One configured gate, evaluated over every answer of the run."""

    def __init__(self, *, spec: GateSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.add_marker("arcanos_gate")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        config = _session(self).config
        return config.source or self.config.rootpath, None, f"arcanos gate {_gate_name(self.spec)}"

    def runtest(self) -> None:
        session = _session(self)
        try:
            session.finish()  # a gate judges the whole run
        except ArcanosError as exc:
            raise CallErrored(f"the run could not finish: {exc}") from None
        if session.evaluation is None:
            raise CallErrored("no results to evaluate the gate on: no case was run")
        results = gate_results(session, self.spec)
        self.user_properties.extend((r.label, r.measured_text) for r in results)
        message = _gate_failure(results)
        if message is not None:
            raise CheckFailed(message)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, (CheckFailed, CallErrored)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    arcanos = config.stash.get(session_key, None)
    if arcanos is None:
        return
    if _is_worker(config):
        return  # the controller reports the gates, over every worker's answers
    if arcanos.gates.specs:
        # Added before -k/-m deselection runs, so gates are selected like any other item.
        collector = GateCollector.from_parent(session, name="arcanos", nodeid="arcanos")
        items.extend(collector.collect())


# ----------------------------------------------------------------------------- execution


def _selected_calls(
    items: list[pytest.Item], session: ArcanosSession
) -> set[tuple[str, str]] | None:
    if any(isinstance(item, GateItem) for item in items):
        return None  # gates judge the whole run
    select: set[tuple[str, str]] = set()
    for item in items:
        if isinstance(item, _ArcanosItem):
            select.add((item.case.key, item.target))
            if isinstance(item, ComparisonItem) and session.comparison is not None:
                select.add((item.case.key, session.comparison[1]))
    return select


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    arcanos = session.config.stash.get(session_key, None)
    worker_log = getattr(session.config, "workerinput", {}).get("arcanos_log")
    if arcanos is not None and worker_log and not session.config.option.collectonly:
        # A worker learns its items one group at a time: calls are made as groups arrive.
        try:
            arcanos.share(_selected_calls(session.items, arcanos) or set(), Path(worker_log))
        except ArcanosError as exc:
            raise pytest.UsageError(str(exc)) from None
    elif arcanos is not None and not session.config.option.collectonly and session.items:
        select = _selected_calls(session.items, arcanos)
        if select is None or select:
            try:
                if arcanos.overlaps():
                    # Calls on a thread of their own; each item waits for its answers only.
                    arcanos.start(select)
                else:
                    arcanos.run(select, progress=session.config.get_verbosity() >= 0)
            except ArcanosError as exc:
                raise pytest.UsageError(str(exc)) from None
    if arcanos is None:
        return (yield)
    # The items, suites and results live until the session ends: frozen, they are left out of
    # the collector's full walks while thousands of reports pile up and at the end of the
    # session; they rejoin it in the configuration's last clean-up (see below).
    gc.freeze()
    session.config.stash[_frozen_key] = True
    skip_final_collection()  # and at exit, when they are all about to go at once
    try:
        outcome = yield
    except BaseException:
        arcanos.stop()  # interrupted: the calls still running are cancelled, the log resumable
        raise
    try:
        arcanos.finish()  # what no item waited for (-x, deselected items) still completes the run
    except ArcanosError as exc:
        raise pytest.UsageError(str(exc)) from None
    return outcome


def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Registered before the built-in plugins' own clean-ups, so it runs after them (clean-ups run
    # last in, first out): pytest's final collections then skip what the run froze.
    early_config.add_cleanup(functools.partial(_thaw, early_config))


def _thaw(config: pytest.Config) -> None:
    if config.stash.get(_frozen_key, False):
        gc.unfreeze()
        config.stash[_frozen_key] = False


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    arcanos = config.stash.get(session_key, None)
    if arcanos is None or arcanos.log is None:
        return
    stats = arcanos.stats
    assert stats is not None  # set together with log
    terminalreporter.write_sep("-", "arcanos-eval")
    terminalreporter.write_line(
        f"run log: {arcanos.log.path} ({stats.live} live, {stats.replayed} replayed, "
        f"{stats.cached} cached, {stats.retries} retries, {stats.errored} errored)"
    )
    line = config.stash.get(_verdict_key, None)
    if line is not None:
        terminalreporter.write_line(f"arcanos: {line}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    arcanos = session.config.stash.get(session_key, None)
    if arcanos is None:
        return
    config = session.config
    if _is_worker(config):
        share = arcanos.close_share()
        if share is not None:
            config.workeroutput["arcanos"] = share  # type: ignore[attr-defined]
        return
    if _is_controller(config):
        try:
            shares: list[dict[str, Any]] = config.stash[_shares_key]
            merged = arcanos.merge(shares, config.stash[_log_key])
        except ArcanosError as exc:
            raise pytest.UsageError(f"could not merge the workers' run logs: {exc}") from None
        if merged is not None and _report_gates(session, arcanos):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if arcanos.evaluation is None:
        return
    json_path = session.config.stash.get(_json_key, None)
    try:
        line = publish(
            arcanos.evaluation,
            output=arcanos.config.report,
            json_path=Path(json_path) if json_path else None,
        )
    except ArcanosError as exc:
        line = f"could not write the report: {exc}"
    session.config.stash[_verdict_key] = line


def _report_gates(session: pytest.Session, arcanos: ArcanosSession) -> bool:
    """Log one result per gate, as gate items would under a single process; any failed?

    Under xdist the gates judge the merged run, which only the controller sees. Like a worker's
    items they follow ``-k``/``-m`` only as a whole: with a selection, no gate is reported.
    """
    option = session.config.option
    if getattr(option, "keyword", "") or getattr(option, "markexpr", ""):
        return False
    failed = False
    location = str(arcanos.config.source or session.config.rootpath)
    for spec in arcanos.gates.specs:
        results = gate_results(arcanos, spec)
        message = _gate_failure(results)
        failed |= message is not None
        report = pytest.TestReport(
            nodeid=f"arcanos::gate[{_gate_name(spec)}]",
            location=(location, None, f"arcanos gate {_gate_name(spec)}"),
            keywords={"arcanos_gate": 1},
            outcome="failed" if message is not None else "passed",
            longrepr=message,
            when="call",
            user_properties=[(r.label, r.measured_text) for r in results],
        )
        session.config.hook.pytest_runtest_logreport(report=report)
    return failed


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def arcanos_session(request: pytest.FixtureRequest) -> ArcanosSession:
    """The session's configuration, suites and results (requires ``--arcanos-suite``)."""
    session = request.config.stash.get(session_key, None)
    if session is None:
        pytest.fail("arcanos_session needs an arcanos run: pass --arcanos-suite PATH")
    return session


@pytest.fixture(scope="session")
def arcanos_results(arcanos_session: ArcanosSession) -> RunLog:
    """The run log of this session's model calls."""
    try:
        arcanos_session.finish()
    except ArcanosError as exc:
        pytest.fail(f"the arcanos run could not finish: {exc}")
    if arcanos_session.log is None:
        pytest.fail("no arcanos results: no suite item was selected")
    return arcanos_session.log


@pytest.fixture(scope="session")
def arcanos_scorers() -> Any:
    """The scorer library (``arcanos_eval.scorers``)."""
    import arcanos_eval.scorers

    return arcanos_eval.scorers


@pytest.fixture(scope="session")
def arcanos_target(request: pytest.FixtureRequest) -> Callable[[str], Callable[..., Response]]:
    """``arcanos_target("candidate")("prompt")`` returns that target's :class:`Response`, through
    the engine, cache and golden store like every other call (recordings under
    ``golden/adhoc/``)."""
    from arcanos_eval.adhoc import target_caller

    session = request.config.stash.get(session_key, None)
    if session is not None:
        run_config = session.config
    else:
        try:
            run_config = load_config(
                start=request.config.rootpath, **overrides_from(_option_values(request.config))
            )
        except ArcanosError as exc:
            pytest.fail(str(exc))
    return target_caller(run_config)
