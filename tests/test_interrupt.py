"""Ctrl-C stops a run within seconds, exits 130, says how to resume, and leaves a log that
``--resume`` completes with every case exactly once: while calls wait on a slow loopback server,
while a check runs, in the CLI and under pytest. A second Ctrl-C exits at once.

The bounds here (10 s) only catch a hang; the measured stop times are in the report of issue #18.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arcanos_eval._interrupt import DaemonPool, RunInterrupted, run_interruptible
from arcanos_eval.config import load_config
from arcanos_eval.errors import ExitCode
from arcanos_eval.run import execute_run
from arcanos_eval.scorers._calibration import calibration_items
from arcanos_eval.suite.loader import load_suites
from arcanos_eval.testing import OpenAIServer, Reply, calibrated, echo
from tests.conftest import (
    KEY_ENV,
    TEST_KEY,
    hang_guard,
    loopback_pyproject,
    simple_cases,
    write_suite,
)

ROOT = Path(__file__).resolve().parent.parent
CASES = 6
FAST = 2  # cases 0 and 1 answer at once; the others take SLOW_S
SLOW_S = 30.0
STOP_BOUND_S = 10.0  # a hang guard, not a speed target (measured: 0.1 s, 0.8 s inside a check)


def _slow_replies() -> dict[Any, Reply | str]:
    return {
        (model, f"question number {i}"): Reply(text=f"question number {i}", latency_s=SLOW_S)
        for model in ("model-base", "model-candidate")
        for i in range(FAST, CASES)
    }


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(replies=_slow_replies(), max_hang_s=SLOW_S) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    (tmp_path / "pyproject.toml").write_text(
        loopback_pyproject(server.base_url, settings="concurrency = 4")
    )
    write_suite(tmp_path / "suites", "demo", simple_cases(CASES))
    return tmp_path


def _results(log: Path) -> list[tuple[str, str, int]]:
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return [(r["case"], r["target"], r["repeat"]) for r in lines if r.get("type") == "result"]


def _footer(log: Path) -> bool:
    return any('"type":"footer"' in line for line in log.read_text().splitlines())


@pytest.fixture(autouse=True)
def _ctrl_c_delivered() -> Iterator[None]:
    """A test run started in the background (``cmd &`` in a script, ``nohup``) inherits SIGINT
    ignored, and a run rightly keeps ignoring it (so do the CLIs these tests start, which inherit
    it too): these tests need Ctrl-C delivered, so SIGINT gets Python's default handler here."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_for(condition: Any, timeout: float = 60.0) -> None:
    ends = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < ends, "the run never got under way"
        time.sleep(0.02)


def _fast_answers_logged(log: Path) -> bool:
    return log.is_file() and len(_results(log)) >= 2 * FAST


def _complete(log: Path) -> None:
    """Every case and target exactly once, and a footer: the resumed run finished."""
    results = _results(log)
    assert sorted(results) == sorted(
        (f"case-{i}", target, 0) for i in range(CASES) for target in ("base", "candidate")
    )
    assert _footer(log)


# --- in process ---------------------------------------------------------------------------------


def _ctrl_c_when(condition: Any) -> threading.Thread:
    """Send this process SIGINT once ``condition()`` holds, if a run still handles it."""

    def watch() -> None:
        with contextlib.suppress(AssertionError):
            _wait_for(condition)
            if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
                os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_run_interruptible_cancels_on_ctrl_c_and_restores_the_handler() -> None:
    started = threading.Event()

    async def waiting() -> None:
        started.set()
        await asyncio.sleep(SLOW_S)

    _ctrl_c_when(started.is_set)
    with hang_guard(doing="running after Ctrl-C"), pytest.raises(RunInterrupted):
        run_interruptible(waiting())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_interrupted_run_names_its_log_which_resume_completes(
    project: Path, server: OpenAIServer
) -> None:
    log = project / "run.jsonl"
    config = load_config(project / "pyproject.toml", mode="live")
    suites = load_suites(config.suites)
    _ctrl_c_when(lambda: _fast_answers_logged(log))
    with hang_guard(doing="running after Ctrl-C"), pytest.raises(RunInterrupted) as info:
        execute_run(config, suites, log_path=log, progress=False)
    assert info.value.log == log
    assert len(_results(log)) == 2 * FAST and not _footer(log)  # the slow calls were dropped
    server.replies = {}  # now every answer comes at once
    resumed = load_config(project / "pyproject.toml", mode="live", resume=str(log))
    execute_run(resumed, suites, progress=False)
    _complete(log)


def _run_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "arcanos-run" and t.is_alive()]


def test_a_run_called_inside_a_running_event_loop_runs_and_ctrl_c_stops_it(
    project: Path, server: OpenAIServer
) -> None:
    """A notebook cell runs inside the kernel's event loop, where no other loop can run: the run
    goes on a thread of its own, Ctrl-C where the cell waits cancels it, and resume completes it."""
    log = project / "run.jsonl"
    config = load_config(project / "pyproject.toml", mode="live")
    suites = load_suites(config.suites)

    async def cell(config: Any) -> Any:
        return execute_run(config, suites, log_path=log, progress=False)

    def ctrl_c() -> None:
        with contextlib.suppress(AssertionError):
            _wait_for(lambda: _fast_answers_logged(log))
            os.kill(os.getpid(), signal.SIGINT)

    loop = asyncio.new_event_loop()  # with no SIGINT handler: a kernel's while a cell runs
    try:
        threading.Thread(target=ctrl_c, daemon=True).start()
        with hang_guard(doing="running after Ctrl-C"), pytest.raises(RunInterrupted) as info:
            loop.run_until_complete(cell(config))
        assert info.value.log == log
        _wait_for(lambda: not _run_threads(), timeout=STOP_BOUND_S)  # cancelled, not left running
        assert len(_results(log)) == 2 * FAST and not _footer(log)
        server.replies = {}
        resumed = load_config(project / "pyproject.toml", mode="live", resume=str(log))
        with hang_guard(doing="resuming inside a running loop"):
            outcome = loop.run_until_complete(cell(resumed))
    finally:
        loop.close()
    assert len(outcome.log.results) == 2 * CASES
    _complete(log)


def test_daemon_pool_threads_never_hold_up_exit() -> None:
    pool = DaemonPool(1)
    running, release = threading.Event(), threading.Event()
    first = pool.submit(lambda: running.set() or release.wait())
    queued = pool.submit(lambda: "never")
    assert running.wait(10)
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("arcanos-worker"))
    pool.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled() and not first.done()
    release.set()
    assert first.result(timeout=10) is True


# --- the command line ---------------------------------------------------------------------------


def _cli(project: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "arcanos_eval.cli", "run", "--mode", "live", "-q", *args]
    return subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _interrupt(process: subprocess.Popen[str], *, twice: bool = False) -> tuple[float, str]:
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    if twice:
        time.sleep(0.1)
        process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=STOP_BOUND_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"the run was still going {STOP_BOUND_S:g} s after Ctrl-C")
    return time.monotonic() - started, err


@pytest.mark.slow
def test_ctrl_c_stops_a_cli_run_waiting_on_a_slow_server(
    project: Path, server: OpenAIServer
) -> None:
    log = project / "run.jsonl"
    process = _cli(project, "--log", "run.jsonl")
    _wait_for(lambda: _fast_answers_logged(log))
    _, err = _interrupt(process)
    assert process.returncode == ExitCode.INTERRUPTED == 130
    assert err == (
        f"arcanos-eval: interrupted: {2 * FAST} of {2 * CASES} planned answers; resume with: "
        "arcanos-eval run --resume run.jsonl (with this run's other options)\n"
    )
    assert len(_results(log)) == 2 * FAST and not _footer(log)
    server.replies = {}
    resumed = _cli(project, "--resume", "run.jsonl")
    assert resumed.wait(timeout=120) == ExitCode.PROMOTE, resumed.communicate()
    _complete(log)


def _long_checks(project: Path, pattern: str = r"(a|aa)+$") -> None:
    """Each answer of case 0 takes 30 s of checks: 30 patterns that time out after 1 s each."""
    cases = simple_cases(CASES)
    cases[0]["checks"] = [{"regex": pattern} for _ in range(30)]
    write_suite(project / "suites", "demo", cases)


def _checking(server: OpenAIServer) -> None:
    """Wait until case 0 is answered (its answers come first, at once): its checks then run."""
    _wait_for(lambda: server.total_requests >= 2)
    time.sleep(1.5)


@pytest.mark.slow
def test_ctrl_c_stops_a_run_while_a_check_runs(project: Path, server: OpenAIServer) -> None:
    _long_checks(project)
    server.replies = {**_slow_replies(), "question number 0": "a" * 40 + "!"}
    log = project / "run.jsonl"
    process = _cli(project, "--log", "run.jsonl")
    _checking(server)
    _, err = _interrupt(process)
    assert process.returncode == ExitCode.INTERRUPTED
    assert err.startswith("arcanos-eval: interrupted: "), err
    assert "; resume with: arcanos-eval run --resume run.jsonl (with" in err
    assert "Traceback" not in err and not _footer(log)
    server.replies = {}
    _long_checks(project, "a+!$")  # the same checks, quick this time: resume checks them again
    resumed = _cli(project, "--resume", "run.jsonl")
    assert resumed.wait(timeout=120) in (ExitCode.PROMOTE, ExitCode.HOLD), resumed.communicate()
    _complete(log)


@pytest.mark.slow
def test_a_second_ctrl_c_exits_at_once(project: Path, server: OpenAIServer) -> None:
    _long_checks(project)
    server.replies = {**_slow_replies(), "question number 0": "a" * 40 + "!"}
    process = _cli(project, "--log", "run.jsonl")
    _checking(server)
    _, err = _interrupt(process, twice=True)
    assert process.returncode == ExitCode.INTERRUPTED
    assert err == "arcanos-eval: interrupted again: stopping at once\n"
    assert not _footer(project / "run.jsonl")


JUDGE = """
[tool.arcanos_eval.targets.judge]
model = "model-judge"
base_url = "{url}"
api_key_env = "{env}"
scorer_only = true
check_model = false  # the loopback server answers to any model name
"""


@pytest.mark.slow
def test_ctrl_c_stops_a_run_while_a_slow_judge_compares_answers(
    project: Path, server: OpenAIServer
) -> None:
    # The comparisons wait, on threads, for the judge's answers from the run's own loop: a pool
    # that waited for its threads on cancellation held that loop, and Ctrl-C hung the run.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + JUDGE.format(url=server.base_url, env=KEY_ENV))
    cases = simple_cases(CASES)
    for case in cases:
        case["checks"] = [{"pairwise": {"rubric": "answers the question", "target": "judge"}}]
    write_suite(project / "suites", "demo", cases)
    verdict = Reply.json({"winner": "tie", "reason": "equivalent"}, latency_s=SLOW_S)
    # Every answer comes at once; the judge passes its calibration at once (asked before the
    # answers) and is slow to compare.
    server.replies = {}
    server.responder = calibrated(
        lambda request: verdict if request.model == "model-judge" else echo(request)
    )
    asked_first = len(calibration_items("judge"))
    process = _cli(project, "--log", "run.jsonl")
    # every answer is in: judging began
    _wait_for(lambda: server.total_requests > asked_first + 2 * CASES)
    _, err = _interrupt(process)
    assert process.returncode == ExitCode.INTERRUPTED
    assert err.startswith("arcanos-eval: interrupted: "), err
    assert "; resume with: arcanos-eval run --resume run.jsonl (with" in err
    assert len(_results(project / "run.jsonl")) == 2 * CASES
    assert not _footer(project / "run.jsonl")


# --- pytest -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_interrupts_a_pytest_session_and_arcanos_resume_completes_it(
    project: Path, server: OpenAIServer
) -> None:
    log = project / "run.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Without hypothesis's plugin, which imports hypothesis (seconds on a loaded machine) to write
    # its summary: the bound is about the run, not about pytest's own reporting.
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
        "-q", "--arcanos-suite", "suites", "--arcanos-mode", "live", "--arcanos-log", "run.jsonl",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for(lambda: _fast_answers_logged(log))
    process.send_signal(signal.SIGINT)
    try:  # pytest renders its KeyboardInterrupt traceback too: a more generous bound
        out, _ = process.communicate(timeout=3 * STOP_BOUND_S)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"pytest was still running {3 * STOP_BOUND_S:g} s after Ctrl-C")
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "run log: run.jsonl (interrupted: --arcanos-resume run.jsonl" in out
    assert not _footer(log)
    server.replies = {}
    resumed = subprocess.run(
        [*command[:-2], "--arcanos-resume", "run.jsonl"], cwd=project, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout[-2000:]
    _complete(log)


def test_ctrl_c_taken_by_another_thread_still_wakes_a_loop_asleep_in_select() -> None:
    # The kernel may deliver SIGINT to any thread; Python runs the handler in the main thread,
    # which sleeps in select() until its next timer (SLOW_S here) unless the signal wakes it.
    started = threading.Event()

    async def waiting() -> None:
        started.set()
        await asyncio.sleep(SLOW_S)

    def ctrl_c_to_this_thread() -> None:
        _wait_for(started.is_set)
        time.sleep(0.2)  # the loop is in select() by now
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    threading.Thread(target=ctrl_c_to_this_thread, daemon=True).start()
    begun = time.monotonic()
    with hang_guard(doing="running after Ctrl-C"), pytest.raises(RunInterrupted):
        run_interruptible(waiting())
    assert time.monotonic() - begun < SLOW_S / 2  # woken by the signal, not by the timer


def test_ctrl_c_while_the_command_line_imports_exits_130_with_one_line() -> None:
    # The console script's target: Ctrl-C lands while arcanos_eval.cli is still being imported.
    script = (
        "import sys\n"
        "class Interrupting:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'arcanos_eval.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupting())\n"
        "from arcanos_eval._entry import main\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == ExitCode.INTERRUPTED
    assert done.stderr == "arcanos-eval: interrupted\n"


def test_the_console_script_runs_the_command_line_through_its_entry() -> None:
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "arcanos-eval"]
    assert script.value == "arcanos_eval._entry:main"
