"""A run's progress on stderr: one status line redrawn in place on a terminal, a plain line every
:data:`PLAIN_INTERVAL_S` seconds otherwise, and a last line when the answers are in::

    arcanos: 240/500 answers | 1m12s | 3.3/s | ETA 1m18s | base 120/250: 98 pass, 20 fail, 2 err | ...

Answers so far of those planned, time elapsed, the rate (answers per second), the time left, then
per target its answers, how many passed every check, failed one, or errored (and the retries,
once there are some).

The rate is measured over the recent answers of calls, not over the whole run: answers from golden
or the cache arrive all at once before any call is made, and the first answers of calls arrive
only after a whole latency, however many calls are in flight. A rate taken on the first answer of
16 in flight is 16 times too low (an ETA of 6,804 s for a run of seven minutes): so no rate and no
ETA are shown until a first wave of answers (as many as the calls in flight) is in and
:data:`WARMUP_S` have passed. The clock is a parameter, so the rendering is tested without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import os
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TextIO, cast

__all__ = ["PLAIN_INTERVAL_S", "WARMUP_S", "RunProgress", "format_duration", "format_rate"]

#: No rate or ETA before this many seconds of calls (nor before a first wave of answers).
WARMUP_S = 2.0
#: Without a terminal, one line this often (and one at the end).
PLAIN_INTERVAL_S = 10.0
#: On a terminal: the line is redrawn this often while nothing arrives (the clock moves on)...
TICK_S = 1.0
#: ...and at most this often as answers arrive.
REDRAW_S = 0.2
#: Answers of calls the rate is measured over, at least (twice the calls in flight, if more).
WINDOW = 30


def format_duration(seconds: float) -> str:
    """``7s``, ``1m05s``, ``2h03m``: whole seconds under an hour, whole minutes above."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def format_rate(per_second: float) -> str:
    """``12/s``, ``3.3/s``, ``0.25/s``: two significant figures or more."""
    if per_second >= 9.95:  # what would print as 10.0
        return f"{per_second:.0f}/s"
    if per_second >= 0.995:
        return f"{per_second:.1f}/s"
    return f"{per_second:.2f}/s"


@dataclass
class _Tally:
    planned: int
    done: int = 0
    passed: int = 0
    failed: int = 0
    errored: int = 0

    def text(self, name: str) -> str:
        return (
            f"{name} {self.done}/{self.planned}: {self.passed} pass, {self.failed} fail, "
            f"{self.errored} err"
        )


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed stream
        return False


def _columns(stream: TextIO) -> int | None:
    """The terminal's width (``None``: unknown): a longer line would wrap, and ``\\r`` redraws
    only its last row."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return columns if columns > 0 else None  # a terminal that never set its size says 0


class RunProgress:
    """The progress of one run's answers (see the module docstring).

    Args:
        planned: the answers planned per target.
        concurrency: the calls in flight at most: the first wave of answers the rate waits for.
        stream: where the lines go (default: stderr).
        enabled: ``False`` shows nothing (``-q``), but still counts.
        clock: seconds, monotonic (tests pass a fake one).
        interactive: redraw one line in place; default: whether ``stream`` is a terminal.
        retries: how many calls were retried so far (shown once there are some).
    """

    def __init__(
        self,
        planned: Mapping[str, int],
        *,
        concurrency: int = 1,
        stream: TextIO | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        interactive: bool | None = None,
        retries: Callable[[], int] | None = None,
    ) -> None:
        self.targets = {name: _Tally(count) for name, count in planned.items()}
        self.total = sum(planned.values())
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = _is_terminal(self.stream) if interactive is None else interactive
        self.enabled = enabled and self.total > 0
        self.clock = clock
        self.concurrency = max(1, concurrency)
        self._retries = retries
        self.started = clock()
        # Answers from golden or the cache come first, all at once; calls start after the last.
        self.calls_started = self.started
        self.recorded = 0
        self._window: deque[float] = deque(maxlen=max(WINDOW, 2 * self.concurrency))
        self._dropped: float | None = None  # when the answer just before the window arrived
        # When the first calls went out: the calls' clock starts before the client is ready (the
        # SDK's import, the connections), which is no part of the rate.
        self._first_sent: float | None = None
        self._drawn = -math.inf
        self._width = 0  # of the line on the terminal, to blank what a shorter one leaves
        self._closed = False

    # ------------------------------------------------------------------ counting

    @property
    def done(self) -> int:
        return sum(t.done for t in self.targets.values())

    def add(
        self,
        target: str,
        *,
        errored: bool,
        passed: bool,
        recorded: bool = False,
        latency_s: float | None = None,
    ) -> None:
        """Count one answer of ``target``: errored, else passed (every check) or failed;
        ``recorded`` when it came from golden or the cache rather than from a call, which took
        ``latency_s`` (when measured)."""
        tally = self.targets.setdefault(target, _Tally(0))
        tally.done += 1
        if errored:
            tally.errored += 1
        elif passed:
            tally.passed += 1
        else:
            tally.failed += 1
        now = self.clock()
        if recorded:
            self.recorded += 1
            self.calls_started = now
        else:
            if len(self._window) == self._window.maxlen:
                self._dropped = self._window[0]
            self._window.append(now)
            if latency_s is not None and latency_s >= 0 and self._dropped is None:
                sent = max(self.calls_started, now - latency_s)
                self._first_sent = sent if self._first_sent is None else min(self._first_sent, sent)
        if self.enabled and self.interactive and now - self._drawn >= REDRAW_S:
            self.draw(now)

    # ------------------------------------------------------------------ measures

    def rate(self, now: float) -> float | None:
        """Answers of calls per second, recently; ``None`` until it can be measured: before
        :data:`WARMUP_S` of calls and before a first wave of answers (as many as the calls in
        flight, or all that were left)."""
        called = self.done - self.recorded
        wave = min(self.concurrency, self.total - self.recorded)
        if called < max(1, wave) or now - self.calls_started < WARMUP_S:
            return None
        origin = self._dropped if self._dropped is not None else self._first_sent
        if origin is None:
            origin = self.calls_started
        return len(self._window) / max(now - origin, 1e-9)

    def eta(self, now: float) -> float | None:
        """Seconds left at the recent rate (``None``: not measurable yet, or nothing left)."""
        left = self.total - self.done
        rate = self.rate(now)
        if left <= 0 or not rate:
            return None
        return left / rate

    def line(self, now: float | None = None) -> str:
        """The status line at ``now`` (default: the clock's time)."""
        now = self.clock() if now is None else now
        parts = [f"arcanos: {self.done}/{self.total} answers", format_duration(now - self.started)]
        if self._closed:
            called, spent = self.done - self.recorded, now - self.calls_started
            if called and spent > 0:
                parts.append(format_rate(called / spent))
        else:
            rate, eta = self.rate(now), self.eta(now)
            parts.append("?/s" if rate is None else format_rate(rate))
            parts.append("ETA ?" if eta is None else f"ETA {format_duration(eta)}")
        parts += [tally.text(name) for name, tally in self.targets.items()]
        retries = self._retries() if self._retries is not None else 0
        if retries:
            parts.append(f"{retries} retries")
        return " | ".join(parts)

    # ------------------------------------------------------------------ drawing

    def draw(self, now: float | None = None) -> None:
        """Show the line: redrawn over the last one on a terminal, a line of its own otherwise."""
        if not self.enabled:
            return
        now = self.clock() if now is None else now
        self._drawn = now
        text = self.line(now)
        if self.interactive:
            columns = _columns(self.stream)
            if columns is not None:
                text = text[: max(20, columns - 1)]
            self.stream.write("\r" + text + " " * max(0, self._width - len(text)))
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own (a batch's status), above the status line on a terminal."""
        if not self.enabled:
            return
        if self.interactive and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(text.rstrip("\n") + "\n")
        if self.interactive and not self._closed:
            self.draw()
        else:
            self.stream.flush()

    def close(self) -> None:
        """The last line, with the rate over the whole run; the terminal's line is ended."""
        if self._closed:
            return
        self._closed = True
        if not self.enabled:
            return
        self.draw()
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While the body runs, draw the line as time passes (every :data:`TICK_S` on a
        terminal, every :data:`PLAIN_INTERVAL_S` otherwise); the last line when it ends, however
        it ends."""
        ticker = asyncio.ensure_future(self._tick()) if self.enabled else None
        try:
            yield
        finally:
            if ticker is not None:
                ticker.cancel()
            self.close()

    async def _tick(self) -> None:
        interval = TICK_S if self.interactive else PLAIN_INTERVAL_S
        while True:
            await asyncio.sleep(interval)
            self.draw()

    @property
    def notes(self) -> TextIO:
        """A stream whose lines go through :meth:`note` (what a batch has to say)."""
        return cast(TextIO, _Notes(self))  # a text stream, as io's own are


class _Notes(io.TextIOBase):
    def __init__(self, progress: RunProgress) -> None:
        super().__init__()
        self._progress = progress
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._progress.note(line)
        return len(text)
