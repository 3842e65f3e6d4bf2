"""The progress line: its rate and ETA under a fake clock, its drawing on a terminal and off one,
and what ``arcanos-eval run`` shows on a real pseudo-terminal, on a pipe and with ``-q``."""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import pty
import re
import struct
import sys
import termios
import threading
from pathlib import Path

import pytest

from arcanos_eval import _progress
from arcanos_eval._progress import RunProgress, format_duration, format_rate
from arcanos_eval.cli import main
from arcanos_eval.testing import Fault, Reply
from tests.conftest import hang_guard, loopback_pyproject, simple_cases, write_suite


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _progress_at(
    clock: Clock, planned: dict[str, int], *, concurrency: int = 1, **kwargs: object
) -> RunProgress:
    stream = kwargs.pop("stream", io.StringIO())
    return RunProgress(
        planned,
        concurrency=concurrency,
        stream=stream,  # type: ignore[arg-type]
        clock=clock,
        interactive=kwargs.pop("interactive", False),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def _answer(progress: RunProgress, clock: Clock, at: float, count: int = 1, **kw: bool) -> None:
    clock.now = at
    for _ in range(count):
        progress.add(
            str(kw.get("target", "base")),
            errored=kw.get("errored", False),
            passed=kw.get("passed", True),
            recorded=kw.get("recorded", False),
        )


def _field(line: str, index: int) -> str:
    return line.split(" | ")[index]


# --- durations and rates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (7.9, "7s"), (59, "59s"), (60, "1m00s"), (65, "1m05s"), (3599, "59m59s"),
     (3600, "1h00m"), (7380, "2h03m"), (-3, "0s")],
)  # fmt: skip
def test_durations_read_at_a_glance(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("rate", "text"), [(123.4, "123/s"), (12.0, "12/s"), (3.33, "3.3/s"), (0.25, "0.25/s")]
)
def test_rates_keep_two_significant_figures(rate: float, text: str) -> None:
    assert format_rate(rate) == text


# --- the ETA ------------------------------------------------------------------------------------


def test_no_eta_from_the_first_answer_of_a_wave_in_flight() -> None:
    # 500 answers, 16 calls in flight, each taking 13.6 s: the first answer alone gives a rate of
    # 1/13.6 and an ETA of 6,800 s, where the run takes about 7 minutes.
    clock = Clock()
    progress = _progress_at(clock, {"base": 250, "candidate": 250}, concurrency=16)
    _answer(progress, clock, 13.6)
    assert progress.rate(13.6) is None and progress.eta(13.6) is None
    line = progress.line()
    assert _field(line, 2) == "?/s" and _field(line, 3) == "ETA ?"
    _answer(progress, clock, 13.6, count=14)
    assert progress.eta(13.6) is None  # 15 of the first 16
    _answer(progress, clock, 13.6)
    assert progress.rate(13.6) == pytest.approx(16 / 13.6)
    assert progress.eta(13.6) == pytest.approx(484 / (16 / 13.6))  # 411 s, not 6,800
    assert _field(progress.line(), 3) == "ETA 6m51s"


def test_no_eta_in_the_first_seconds_however_fast_the_answers() -> None:
    clock = Clock()
    progress = _progress_at(clock, {"base": 100})
    _answer(progress, clock, 0.5, count=10)
    assert progress.eta(1.9) is None
    assert progress.rate(2.0) == pytest.approx(10 / 2.0)
    assert progress.eta(2.0) == pytest.approx(90 / 5.0)


def test_a_wave_larger_than_what_is_left_waits_only_for_what_is_left() -> None:
    clock = Clock()
    progress = _progress_at(clock, {"base": 4}, concurrency=16)
    _answer(progress, clock, 3.0, count=3)
    assert progress.eta(3.0) is None
    _answer(progress, clock, 3.0)
    assert progress.eta(3.0) is None  # nothing left
    assert progress.rate(3.0) == pytest.approx(4 / 3.0)


def test_recorded_answers_do_not_count_toward_the_rate() -> None:
    # 400 answers from golden at once, then calls: the rate is the calls' alone, from when
    # they started (after the last recorded answer).
    clock = Clock()
    progress = _progress_at(clock, {"base": 500}, concurrency=16)
    _answer(progress, clock, 0.5, count=400, recorded=True)
    _answer(progress, clock, 2.0, count=15)
    assert progress.rate(2.5) is None
    _answer(progress, clock, 4.5)
    assert progress.done == 416 and progress.recorded == 400
    assert progress.rate(4.5) == pytest.approx(16 / 4.0)
    assert progress.eta(4.5) == pytest.approx(84 / 4.0)


def test_the_time_before_the_first_call_went_out_is_no_part_of_the_rate() -> None:
    # The client took 2 s to start (the SDK's import): the answers' latencies say when the calls
    # went out, and the rate counts from then.
    clock = Clock()
    progress = _progress_at(clock, {"base": 100}, concurrency=4)
    clock.now = 3.0
    for latency in (1.0, 0.9, 0.8, 0.7):
        progress.add("base", errored=False, passed=True, latency_s=latency)
    assert progress.rate(3.0) == pytest.approx(4 / 1.0)
    assert progress.eta(3.0) == pytest.approx(96 / 4.0)


def test_the_rate_follows_the_recent_answers() -> None:
    # 10 answers a second for 20 s, then one a second: after a window of answers (30 at least),
    # the rate is the new one.
    clock = Clock()
    progress = _progress_at(clock, {"base": 1000})
    for i in range(200):
        _answer(progress, clock, (i + 1) / 10)
    assert progress.rate(20.0) == pytest.approx(10.0)
    for i in range(40):
        _answer(progress, clock, 20.0 + i + 1)
    assert progress.rate(60.0) == pytest.approx(1.0)
    assert progress.eta(60.0) == pytest.approx(760.0)
    # And a stall shows: no answer for 30 s lowers the rate.
    assert progress.rate(90.0) == pytest.approx(30 / 60.0)


def test_the_window_covers_two_waves_of_a_wide_concurrency() -> None:
    clock = Clock()
    progress = _progress_at(clock, {"base": 1000}, concurrency=64)
    for wave in range(1, 5):  # 64 answers every 2 s
        _answer(progress, clock, 2.0 * wave, count=64)
    # The last 128 answers arrived within (4 s, 8 s]: 32 a second.
    assert progress.rate(8.0) == pytest.approx(128 / 4.0)


# --- the line -----------------------------------------------------------------------------------


def test_the_line_has_elapsed_time_rate_eta_and_per_target_counts() -> None:
    clock = Clock()
    retries = [0]
    progress = _progress_at(
        clock, {"base": 250, "candidate": 250}, concurrency=20, retries=lambda: retries[0]
    )
    for _ in range(20):
        _answer(progress, clock, 10.0, target="base")
    _answer(progress, clock, 10.0, count=3, target="base", passed=False)
    _answer(progress, clock, 10.0, count=2, target="base", errored=True)
    _answer(progress, clock, 12.0, count=15, target="candidate")
    clock.now = 72.0
    assert progress.line() == (
        "arcanos: 40/500 answers | 1m12s | 0.56/s | ETA 13m48s | "
        "base 25/250: 20 pass, 3 fail, 2 err | candidate 15/250: 15 pass, 0 fail, 0 err"
    )
    retries[0] = 3
    assert progress.line().endswith(" | 3 retries")


def test_the_last_line_gives_the_rate_of_the_whole_run_and_no_eta() -> None:
    clock = Clock()
    stream = io.StringIO()
    progress = _progress_at(clock, {"base": 2, "candidate": 2}, stream=stream)
    _answer(progress, clock, 0.1, count=2, recorded=True)
    _answer(progress, clock, 4.1, count=2, target="candidate")
    progress.close()
    progress.close()  # once
    assert stream.getvalue() == (
        "arcanos: 4/4 answers | 4s | 0.50/s | base 2/2: 2 pass, 0 fail, 0 err | "
        "candidate 2/2: 2 pass, 0 fail, 0 err\n"
    )


def test_without_a_terminal_answers_draw_nothing_until_the_end() -> None:
    clock = Clock()
    stream = io.StringIO()
    progress = _progress_at(clock, {"base": 3}, stream=stream)
    _answer(progress, clock, 1.0, count=3)
    assert stream.getvalue() == ""  # lines come from the clock (running()), not from answers
    progress.draw()
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in stream.getvalue()
    assert lines[0].startswith("arcanos: 3/3 answers | 1s | ") and "ETA" not in lines[1]


def test_on_a_terminal_one_line_is_redrawn_in_place_and_ended_at_the_close() -> None:
    clock = Clock()
    stream = io.StringIO()
    progress = _progress_at(clock, {"base": 3}, stream=stream, interactive=True)
    _answer(progress, clock, 0.0)
    _answer(progress, clock, 0.1)  # within the redraw interval: not drawn
    _answer(progress, clock, 1.0)
    progress.note("arcanos: batch created")
    progress.close()
    out = stream.getvalue()
    assert out.count("\n") == 2 and out.rstrip(" \n").endswith(" err")
    drawn = out.split("\r")
    assert [d.split(" | ")[0].strip() for d in drawn if d.strip()] == [
        "arcanos: 1/3 answers",
        "arcanos: 3/3 answers",
        "arcanos: batch created",
        "arcanos: 3/3 answers",  # redrawn under the note
        "arcanos: 3/3 answers",  # the last line
    ]
    assert "\r" + " " * len(drawn[2]) + "\rarcanos: batch created\n" in out  # blanked first


def test_a_shorter_line_blanks_what_the_longer_one_left() -> None:
    clock = Clock()
    stream = io.StringIO()
    retries = [5]
    progress = _progress_at(
        clock, {"base": 3}, stream=stream, interactive=True, retries=lambda: retries[0]
    )
    _answer(progress, clock, 0.0)
    first = stream.getvalue()
    retries[0] = 0
    _answer(progress, clock, 1.0)
    second = stream.getvalue()[len(first) :]
    assert len(second) == len(first)  # padded with blanks to the old width
    assert second.rstrip(" ") == "\r" + progress.line(1.0)


def test_a_disabled_progress_counts_but_draws_nothing() -> None:
    clock = Clock()
    stream = io.StringIO()
    progress = _progress_at(clock, {"base": 2}, stream=stream, interactive=True, enabled=False)
    _answer(progress, clock, 1.0, count=2)
    progress.note("batch")
    progress.close()
    assert stream.getvalue() == "" and progress.done == 2


def test_the_clock_draws_plain_lines_while_the_run_goes_on(monkeypatch) -> None:
    monkeypatch.setattr(_progress, "PLAIN_INTERVAL_S", 0.01)
    stream = io.StringIO()
    progress = RunProgress({"base": 1}, stream=stream, interactive=False)

    async def run() -> None:
        async with progress.running():
            while stream.getvalue().count("\n") < 3:  # lines from the clock alone
                await asyncio.sleep(0.01)
            progress.add("base", errored=False, passed=True)

    with hang_guard(doing="waiting for the progress lines"):
        asyncio.run(run())
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 4 and lines[0].startswith("arcanos: 0/1 answers | 0s | ?/s | ETA ?")
    assert lines[-1].startswith("arcanos: 1/1 answers | ") and "ETA" not in lines[-1]


# --- the command line ---------------------------------------------------------------------------

CASES = 6


@pytest.fixture
def project(tmp_path: Path, openai_server, monkeypatch: pytest.MonkeyPatch, test_key) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        loopback_pyproject(openai_server.base_url, settings="concurrency = 2")
    )
    write_suite(tmp_path / "suites", "demo", simple_cases(CASES))
    monkeypatch.chdir(tmp_path)
    return tmp_path


_LAST = re.compile(
    r"arcanos: 12/12 answers \| \d+s \| [\d.]+/s \| "
    r"base 6/6: 6 pass, 0 fail, 0 err \| candidate 6/6: 5 pass, 0 fail, 1 err$"
)


def _one_errored_answer(server) -> None:
    server.responder = lambda request: (
        Reply.failing(Fault.http_status(400, "refused"))
        if request.model == "model-candidate" and request.prompt.endswith("number 3")
        else Reply(text=request.prompt)
    )


def test_run_on_a_terminal_redraws_one_status_line(project, openai_server, monkeypatch):
    _one_errored_answer(openai_server)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    received = bytearray()

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the other end closed
                return
            if not data:
                return
            received.extend(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    terminal = open(slave, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
    monkeypatch.setattr(sys, "stderr", terminal)
    with hang_guard(doing="running on a terminal"):
        status = main(["run", "--mode", "live", "--log", "run.jsonl"])
    terminal.close()
    reader.join(10)
    os.close(master)
    assert status == 3  # the errored answer
    out = received.decode("utf-8").replace("\r\n", "\n")  # the terminal's own line ends
    drawn = [part for part in out.split("\r") if part.strip()]
    assert len(drawn) >= 2  # the first answer's line, redrawn until the last one
    assert drawn[0].startswith("arcanos: ") and " | ?/s | ETA ?" in drawn[0]
    assert _LAST.match(drawn[-1].rstrip(" \n")), drawn[-1]
    assert out.endswith("\n")  # the terminal's line is ended for what follows


def test_run_without_a_terminal_writes_plain_lines(project, openai_server, capsys):
    _one_errored_answer(openai_server)
    assert main(["run", "--mode", "live", "--log", "run.jsonl"]) == 3
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = [line for line in err.splitlines() if line.startswith("arcanos: ")]
    assert len(lines) == 1 and _LAST.match(lines[0]), err  # a run under 10 s: the last line


def test_quiet_silences_the_progress(project, openai_server, capsys):
    assert main(["run", "--mode", "live", "-q", "--log", "run.jsonl"]) == 0
    assert "arcanos: " not in capsys.readouterr().err


# --- pytest -------------------------------------------------------------------------------------

pytest_plugins = ["pytester"]
# Without hypothesis's plugin, which imports hypothesis (seconds) to write its summary.
QUICK = ("-p", "no:randomly", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")


@pytest.mark.slow  # three pytest sessions: about 10 s
def test_pytest_shows_the_line_when_the_calls_come_before_the_items_unless_quiet(
    pytester, openai_server, test_key
):
    pytester.makefile(".toml", pyproject=loopback_pyproject(openai_server.base_url))
    write_suite(pytester.path / "suites", "demo", simple_cases(2))
    # A live run overlaps the calls with the items: pytest's own progress follows the answers.
    live = pytester.runpytest(
        "-p", "no:randomly", "--arcanos-suite", "suites", "--arcanos-mode", "record"
    )
    live.assert_outcomes(passed=7)
    assert "arcanos: " not in live.stderr.str()
    # A replay answers everything before the first item: the run's line, on stderr.
    replay = pytester.runpytest(
        "-p", "no:randomly", "--arcanos-suite", "suites", "--arcanos-mode", "replay"
    )
    replay.assert_outcomes(passed=7)
    replay.stderr.fnmatch_lines(["arcanos: 4/4 answers | * | base 2/2: 2 pass, 0 fail, 0 err | *"])
    quiet = pytester.runpytest(
        "-p", "no:randomly", "--arcanos-suite", "suites", "--arcanos-mode", "replay", "-q"
    )
    quiet.assert_outcomes(passed=7)
    assert "arcanos: " not in quiet.stderr.str()
