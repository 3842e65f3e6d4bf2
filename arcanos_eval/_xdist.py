"""pytest-xdist: scheduling by call group, workers' run logs, the controller's gates.

Registered as a plugin by :mod:`arcanos_eval.pytest_plugin` only in processes that xdist runs (the
controller and its workers), so a single-process session never imports xdist.

A case's items (one per target, and the comparison) read the same answers, and cases that send the
same request read one answer: a *call group*. Scheduling whole groups on one worker means each
request is made by exactly one worker and never twice. xdist's own ``loadgroup`` would need an
``xdist_group`` mark per item and renames node ids; this scheduler reads the groups from the suites
instead, and leaves node ids as a single process names them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from arcanos_eval._items import session_key
from arcanos_eval.errors import ArcanosError
from arcanos_eval.pytest_plugin import is_worker, log_key, shares_key
from arcanos_eval.session import ArcanosSession, gate_name

__all__ = ["CallGroupScheduling"]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    log = node.config.stash.get(log_key, None)
    if log is not None:
        worker_log = log.with_name(f"{log.stem}.{node.gateway.id}{log.suffix}")
        node.workerinput["arcanos_log"] = str(worker_log)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.option.dist not in ("load", "loadgroup", "worksteal"):
        return None  # loadfile, loadscope and each keep a case's items together already
    return CallGroupScheduling(config, log, session=config.stash[session_key])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    share = getattr(node, "workeroutput", {}).get("arcanos")
    if share:
        node.config.stash[shares_key].append(share)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A worker hands its run log over; the controller merges them and reports the gates
    (before the plugin publishes the report)."""
    config = session.config
    arcanos = config.stash[session_key]
    if is_worker(config):
        share = arcanos.close_share()
        if share is not None:
            config.workeroutput["arcanos"] = share  # type: ignore[attr-defined]
        return
    try:
        shares: list[dict[str, Any]] = config.stash[shares_key]
        merged = arcanos.merge(shares, config.stash[log_key])
    except ArcanosError as exc:
        raise pytest.UsageError(f"could not merge the workers' run logs: {exc}") from None
    unreachable = [s["endpoint_error"] for s in shares if s.get("endpoint_error")]
    if unreachable:  # no model could be called: status 3, as a single process and the CLI say
        pytest.exit(f"arcanos-eval: error: {unreachable[0]}", returncode=3)
    if merged is not None and _report_gates(session, arcanos):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
        name = gate_name(spec)
        message = arcanos.gate_failure(spec)
        failed |= message is not None
        report = pytest.TestReport(
            nodeid=f"arcanos::gate[{name}]",
            location=(location, None, f"arcanos gate {name}"),
            keywords={"arcanos_gate": 1},
            outcome="failed" if message is not None else "passed",
            longrepr=message,
            when="call",
            user_properties=[(r.label, r.measured_text) for r in arcanos.gate_results(spec)],
        )
        session.config.hook.pytest_runtest_logreport(report=report)
    return failed


class CallGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """``load`` distribution, with each call group as one indivisible unit of work."""

    def __init__(self, config: pytest.Config, log: Any, *, session: ArcanosSession) -> None:
        super().__init__(config, log)
        self.groups = item_groups(session, config.rootpath)

    def _split_scope(self, nodeid: str) -> str:
        """``suites/x.yaml::case-id[target]`` -> the case's call group; other tests stand alone."""
        where, sep, rest = nodeid.partition("::")
        case_id = rest.rsplit("[", 1)[0]
        return self.groups.get((where, case_id), nodeid) if sep else nodeid


def item_groups(session: ArcanosSession, rootpath: Path) -> dict[tuple[str, str], str]:
    """(suite file as in node ids, case id) -> call group, for scheduling by node id."""
    groups = session.call_groups()
    result: dict[tuple[str, str], str] = {}
    for suite in session.suites:
        if suite.path is None:
            continue
        try:
            where = suite.path.resolve().relative_to(rootpath.resolve()).as_posix()
        except ValueError:
            where = suite.path.as_posix()
        for case in suite.cases:
            result[(where, case.id)] = groups[case.key]
    return result
