"""pytest plugin (``pytest11: arcanos``): ``pytest --arcanos-suite suites/``.

Glue only: options come from :mod:`arcanos_eval.options`, state and decisions from
:class:`~arcanos_eval.session.ArcanosSession` (the object ``arcanos-eval run`` drives too), failure
texts from :mod:`arcanos_eval.report.explain`. Each suite file is collected; each case x target
becomes an item ``suites/x.yaml::case-id[candidate]``, each case a comparison item
``[candidate-vs-base]``, each gate an item ``arcanos::gate[name]``. After deselection, the calls the
selected items need run in the engine: on a thread of their own when they go to a model (each item
waits for its own answers, gates for the whole run), before the first item for a replay. Under
pytest-xdist, :mod:`arcanos_eval._xdist` schedules call groups and reports the gates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from arcanos_eval._gc import bulk_work, freeze_heap, thaw_heap
from arcanos_eval.errors import ArcanosError
from arcanos_eval.options import add_pytest_options, overrides_from, values_from_pytest

if TYPE_CHECKING:  # the rest of the package is imported only by a run that names a suite
    from arcanos_eval.gates import GateSpec
    from arcanos_eval.model import Case, ResultRecord, Suite
    from arcanos_eval.session import ArcanosSession

# The session's fixtures, and the loopback OpenAI-protocol server's, for this project's tests and
# for users who contract-test their own pipelines.
pytest_plugins = ["arcanos_eval._fixtures", "arcanos_eval.testing.fixtures"]

session_key = pytest.StashKey["ArcanosSession"]()
_files_key = pytest.StashKey[set[Path]]()
_verdict_key = pytest.StashKey[str]()
_marks_key = pytest.StashKey[dict[str, pytest.MarkDecorator]]()  # category and tag markers
_strict_key = pytest.StashKey[bool]()  # outcome policy "strict": every candidate case must pass
log_key = pytest.StashKey[Path]()  # xdist controller: the merged run log
shares_key = pytest.StashKey[list[dict[str, Any]]]()  # xdist controller: the workers' logs


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser)


def _values(config: pytest.Config) -> dict[str, Any]:
    try:
        return values_from_pytest(config)
    except ArcanosError as exc:
        raise pytest.UsageError(str(exc)) from None


def _marker_name(text: str) -> str:
    return re.sub(r"\W+", "_", text).strip("_").lower() or "_"


def pytest_configure(config: pytest.Config) -> None:
    values = _values(config)
    if not values.get("suites"):
        return  # not an arcanos run: the plugin stays out of the way
    from arcanos_eval.config import load_config
    from arcanos_eval.run import default_log_path
    from arcanos_eval.session import ArcanosSession
    from arcanos_eval.suite.loader import discover_suite_files

    given = [str(Path.cwd() / p) for p in values["suites"]]  # an absolute p stays as it is
    try:
        run_config = load_config(
            start=config.rootpath, **overrides_from({**values, "suites": given})
        )
        session = ArcanosSession.open(run_config, data_report=values.get("data_report"))
    except ArcanosError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[session_key] = session
    config.stash[_strict_key] = values.get("outcome") == "strict"
    config.stash[_files_key] = {s.path.resolve() for s in session.suites if s.path is not None}
    config.stash[_marks_key] = {}
    cases = list(session.cases())
    names = {c.category for c in cases} | {_marker_name(t) for c in cases for t in c.tags}
    for name in sorted(names):
        config.addinivalue_line("markers", f"{name}: arcanos-eval category or tag")
    config.addinivalue_line("markers", "arcanos_gate: an arcanos-eval release gate")
    if is_controller(config):
        config.stash[log_key] = Path(
            run_config.resume or run_config.log or default_log_path(run_config)
        )
        config.stash[shares_key] = []
    if is_controller(config) or is_worker(config):
        from arcanos_eval import _xdist  # xdist is optional: loaded when it runs

        config.pluginmanager.register(_xdist, "arcanos-xdist")
    # Collect the suites even when they lie outside the paths pytest would visit.
    for path in discover_suite_files(run_config.suites):
        if str(path) not in config.args:
            config.args.append(str(path))


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """The pytest-xdist process that hands items to workers and runs none itself."""
    return not is_worker(config) and getattr(config.option, "dist", "no") != "no"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    files = parent.config.stash.get(_files_key, None)
    if files is None:
        return None
    from arcanos_eval.suite.loader import SUITE_SUFFIXES

    if file_path.suffix.lower() not in SUITE_SUFFIXES:
        return None
    return SuiteFile.from_parent(parent, path=file_path) if file_path.resolve() in files else None


class CallErrored(Exception):
    """The model call failed after retries: reported as a pytest *error*, not a failure."""


class CheckFailed(AssertionError):
    """A case, comparison or gate failed; the message is the rendered explanation."""


def _session(node: pytest.Item | pytest.Collector) -> ArcanosSession:
    return node.config.stash[session_key]


class SuiteFile(pytest.File):
    """A suite file: one item per case x target, and per case a comparison item."""

    def collect(self) -> list[pytest.Item]:
        session = _session(self)
        suite = session.suite_for(self.path)
        if suite is None:
            return []
        items: list[pytest.Item] = []
        with bulk_work():  # thousands of long-lived items: no full collections while they are made
            for case in suite.cases:
                for target in session.target_names:
                    name = f"{case.id}[{target}]"
                    items.append(
                        CaseItem.from_parent(self, name=name, case=case, target=target, suite=suite)
                    )
                if session.comparison is not None:
                    candidate, baseline = session.comparison
                    name = f"{case.id}[{candidate}-vs-{baseline}]"
                    items.append(
                        ComparisonItem.from_parent(
                            self, name=name, case=case, target=candidate, suite=suite
                        )
                    )
        return items


class _ArcanosItem(pytest.Item):
    def __init__(self, *, case: Case, target: str, suite: Suite, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case, self.target, self.suite = case, target, suite
        # Markers built once per name: ``pytest.mark.<name>`` checks the registered markers on
        # every lookup, a measurable share of collecting thousands of items.
        known = self.config.stash[_marks_key]
        for name in (case.category, *(_marker_name(tag) for tag in case.tags)):
            if name not in known:
                known[name] = getattr(pytest.mark, name)
            self.add_marker(known[name])
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

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (CheckFailed, CallErrored)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _fail_unless_excused(item: _ArcanosItem, failure: str, excuse: str | None) -> None:
    """Under the ``gated`` policy a failure that a gate judges (or a reference target's) is
    reported as xfail with that reason, and the gates decide the session; otherwise it fails."""
    strict = item.config.stash[_strict_key] and item.target == _session(item).config.candidate
    if excuse is None or strict:
        raise CheckFailed(failure)
    pytest.xfail(excuse)


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
        first = self.records[0]
        self.user_properties.extend(
            [
                ("target", self.target),
                ("origin", first.response.origin),
                ("latency_ms", first.response.latency_ms),
                ("tokens", first.response.usage.total_tokens),
                *((f"score.{s.check}", s.value) for s in first.scores),
            ]
        )
        session = _session(self)
        failure = session.case_failure(self.case, self.target, self.records)
        if failure is not None:
            _fail_unless_excused(
                self, failure, session.excuse(self.case, self.target, self.records)
            )


class ComparisonItem(_ArcanosItem):
    """Candidate against base on one case: fails when the candidate regressed."""

    def setup(self) -> None:
        _, baseline = _session(self).comparison or ("", "")
        self.candidate_records = self._records(self.target)
        self.base_records = self._records(baseline)

    def runtest(self) -> None:
        for name, records in (("candidate", self.candidate_records), ("base", self.base_records)):
            self.user_properties.append(
                (f"{name}_pass_rate", sum(r.passed for r in records) / len(records))
            )
        session = _session(self)
        failure = session.regression(self.case, self.candidate_records, self.base_records)
        if failure is not None:
            _fail_unless_excused(self, failure, session.regression_excuse(self.case))


class GateItem(pytest.Item):
    """One configured gate, evaluated over every answer of the run."""

    def __init__(self, *, spec: GateSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.add_marker("arcanos_gate")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        from arcanos_eval.session import gate_name

        source = _session(self).config.source or self.config.rootpath
        return source, None, f"arcanos gate {gate_name(self.spec)}"

    def runtest(self) -> None:
        session = _session(self)
        try:
            session.finish()  # a gate judges the whole run
        except ArcanosError as exc:
            raise CallErrored(f"the run could not finish: {exc}") from None
        if session.evaluation is None:
            raise CallErrored("no results to evaluate the gate on: no case was run")
        self.user_properties.extend(
            (r.label, r.measured_text) for r in session.gate_results(self.spec)
        )
        failure = session.gate_failure(self.spec)
        if failure is not None:
            raise CheckFailed(failure)

    repr_failure = _ArcanosItem.repr_failure


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    arcanos = config.stash.get(session_key, None)
    if arcanos is None or is_worker(config):
        return  # workers: the controller reports the gates, over every worker's answers
    from arcanos_eval.session import gate_name

    # Added before -k/-m deselection runs, so gates are selected like any other item.
    for spec in arcanos.gates.specs:
        items.append(
            GateItem.from_parent(
                session,
                name=f"gate[{gate_name(spec)}]",
                nodeid=f"arcanos::gate[{gate_name(spec)}]",
                spec=spec,
            )
        )


def _selected_calls(
    items: list[pytest.Item], session: ArcanosSession
) -> set[tuple[str, str]] | None:
    """The (case, target) pairs the selected items read; ``None`` (all) when a gate is selected."""
    if any(isinstance(item, GateItem) for item in items):
        return None
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
    if arcanos is None:
        return (yield)
    if not session.config.option.collectonly and session.items:
        select = _selected_calls(session.items, arcanos)
        worker_log = getattr(session.config, "workerinput", {}).get("arcanos_log")
        try:
            if worker_log:  # a worker learns its items one call group at a time
                arcanos.share(select or set(), Path(worker_log))
            elif select is None or select:
                if arcanos.overlaps():  # calls on a thread of their own, items wait for theirs
                    arcanos.start(select)
                else:
                    arcanos.run(select, progress=session.config.get_verbosity() >= 0)
        except ArcanosError as exc:
            raise pytest.UsageError(str(exc)) from None
    if _values(session.config).get("gc_freeze"):
        # Opt-in: the items, suites and results live until the session ends; frozen, they are
        # left out of the collector's full walks, and rejoin it in the last clean-up.
        freeze_heap()
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
    early_config.add_cleanup(thaw_heap)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    arcanos = config.stash.get(session_key, None)
    line = arcanos.stats_line() if arcanos is not None else None
    if line is not None:
        terminalreporter.write_sep("-", "arcanos-eval")
        terminalreporter.write_line(line)
        verdict = config.stash.get(_verdict_key, None)
        if verdict is not None:
            terminalreporter.write_line(f"arcanos: {verdict}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    arcanos = session.config.stash.get(session_key, None)
    if arcanos is None or is_worker(session.config):
        return  # a worker hands its share over in _xdist.pytest_sessionfinish
    try:
        line = arcanos.publish(json_path=_values(session.config).get("json"))
    except ArcanosError as exc:
        line = f"could not write the report: {exc}"
    if line is not None:
        session.config.stash[_verdict_key] = line
    if arcanos.evaluation is not None and session.exitstatus in (0, 1):
        # The verdict's status, as the CLI exits (0 promote, 1 hold, 3 calls errored); a failure
        # the gates do not judge (a strict case, a test of the user's own) still fails the run.
        session.exitstatus = max(int(session.exitstatus), int(arcanos.exit_status))
