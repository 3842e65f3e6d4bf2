"""pytest-xdist scheduling by call group (imported only when xdist runs).

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

from arcanos_eval.session import ArcanosSession

__all__ = ["CallGroupScheduling"]


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
