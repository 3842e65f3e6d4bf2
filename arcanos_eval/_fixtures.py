"""The fixtures of an arcanos-eval pytest run: the session, its results, scorers and targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from arcanos_eval._items import session_key
from arcanos_eval.errors import ArcanosError
from arcanos_eval.options import overrides_from, values_from_pytest

if TYPE_CHECKING:  # imported when a fixture is used, not by every pytest run
    from arcanos_eval.model import Response
    from arcanos_eval.runlog import RunLog
    from arcanos_eval.session import ArcanosSession


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
    the engine, cache and golden store like every other call (recordings under ``golden/adhoc/``)."""
    from arcanos_eval.adhoc import target_caller
    from arcanos_eval.config import load_config

    session = request.config.stash.get(session_key, None)
    if session is not None:
        return target_caller(session.config)
    try:
        run_config = load_config(
            start=request.config.rootpath, **overrides_from(values_from_pytest(request.config))
        )
    except ArcanosError as exc:
        pytest.fail(str(exc))
    return target_caller(run_config)
