"""pytest plugin (``pytest11: arcanos``): ``pytest --arcanos-suite suites/``.

Glue only: options come from :mod:`arcanos_eval.options`, state and decisions from
:class:`~arcanos_eval.session.ArcanosSession` (the object ``arcanos-eval run`` drives too), the
items from :mod:`arcanos_eval._items`. Each suite file is collected; each case x target
becomes an item ``suites/x.yaml::case-id[candidate]``, each case a comparison item
``[candidate-vs-base]``, each gate an item ``arcanos::gate[name]``. After deselection, the calls the
selected items need run in the engine: on a thread of their own when they go to a model (each item
waits for its own answers, gates for the whole run), before the first item for a replay. Under
pytest-xdist, :mod:`arcanos_eval._xdist` schedules call groups and reports the gates. pytest's
exit status is the verdict's (0 promote, 1 hold, 3 calls errored), as the CLI's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arcanos_eval._gc import freeze_heap, thaw_heap
from arcanos_eval._items import (
    GateItem,
    SuiteFile,
    marker_name,
    marks_key,
    selected_calls,
    session_key,
    strict_key,
)
from arcanos_eval.errors import ArcanosError, EndpointError
from arcanos_eval.options import add_pytest_options, overrides_from, values_from_pytest

# The session's fixtures, and the loopback OpenAI-protocol server's, for this project's tests and
# for users who contract-test their own pipelines.
pytest_plugins = ["arcanos_eval._fixtures", "arcanos_eval.testing.fixtures"]

_files_key = pytest.StashKey[set[Path]]()
_verdict_key = pytest.StashKey[str]()
log_key = pytest.StashKey[Path]()  # xdist controller: the merged run log
shares_key = pytest.StashKey[list[dict[str, Any]]]()  # xdist controller: the workers' logs


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser)


def _values(config: pytest.Config) -> dict[str, Any]:
    try:
        return values_from_pytest(config)
    except ArcanosError as exc:
        raise pytest.UsageError(str(exc)) from None


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
        session = ArcanosSession.open(run_config)
    except ArcanosError as exc:
        raise pytest.UsageError(str(exc)) from None
    if is_worker(config) and run_config.max_cost_usd is not None:
        # Each pytest-xdist worker spends its share of the budget: together, no more than it.
        share = run_config.max_cost_usd / int(config.workerinput.get("workercount", 1))  # type: ignore[attr-defined]
        session.config = dataclasses.replace(run_config, max_cost_usd=share)
    config.stash[session_key] = session
    config.stash[strict_key] = values.get("outcome") == "strict"
    config.stash[_files_key] = {s.path.resolve() for s in session.suites if s.path is not None}
    config.stash[marks_key] = {}
    cases = list(session.cases())
    names = {c.category for c in cases} | {marker_name(t) for c in cases for t in c.tags}
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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    arcanos = session.config.stash.get(session_key, None)
    if arcanos is None:
        return (yield)
    if not session.config.option.collectonly and session.items:
        select = selected_calls(session.items, arcanos)
        worker_log = getattr(session.config, "workerinput", {}).get("arcanos_log")
        try:
            if worker_log:  # a worker learns its items one call group at a time
                arcanos.share(select or set(), Path(worker_log))
            elif select is None or select:
                if arcanos.overlaps():  # calls on a thread of their own, items wait for theirs
                    arcanos.start(select)
                else:
                    arcanos.run(select, progress=session.config.get_verbosity() >= 0)
        except EndpointError as exc:  # no model can be called: status 3, as the CLI's
            pytest.exit(f"arcanos-eval: error: {exc}", returncode=3)
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
    except EndpointError as exc:
        pytest.exit(f"arcanos-eval: error: {exc}", returncode=3)
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
    if arcanos is not None and line is not None:
        terminalreporter.write_sep("-", "arcanos-eval")
        for stopped in arcanos.stopped_targets:
            terminalreporter.write_line(f"arcanos: error: {stopped}", red=True)
        if arcanos.budget_line is not None:
            terminalreporter.write_line(f"arcanos: {arcanos.budget_line}", red=True)
        terminalreporter.write_line(line)
        golden = arcanos.golden_line()
        if golden is not None:
            terminalreporter.write_line(golden)
        verdict = config.stash.get(_verdict_key, None)
        if verdict is not None:
            terminalreporter.write_line(f"arcanos: {verdict}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    arcanos = session.config.stash.get(session_key, None)
    if arcanos is None or is_worker(session.config):
        return  # a worker hands its share over in _xdist.pytest_sessionfinish
    try:
        values = _values(session.config)
        line = arcanos.publish(
            json_path=values.get("json"),
            html_path=values.get("html"),
            charts_dir=values.get("charts"),
        )
    except ArcanosError as exc:
        line = f"could not write the report: {exc}"
    if line is not None:
        session.config.stash[_verdict_key] = line
    if arcanos.evaluation is not None and session.exitstatus in (0, 1):
        # The verdict's status, as the CLI exits (0 promote, 1 hold, 3 calls errored); a failure
        # the gates do not judge (a strict case, a test of the user's own) still fails the run.
        session.exitstatus = max(int(session.exitstatus), int(arcanos.exit_status))
