"""Ctrl-C during a run: the run stops within a second or two, and its log stays resumable.

``asyncio.run`` (3.11+) cancels the main task on the first Ctrl-C, but a task is cancelled only when
the event loop gets control back: while the loop imports the SDK (a second or more), scores a case
whose checks take long, or waits in ``ThreadPoolExecutor.shutdown`` for threads that wait for the
loop itself, Ctrl-C does nothing. Then ``asyncio.run`` waits for every worker thread, and so does
the interpreter at exit. :func:`run_interruptible` runs a coroutine with this policy instead:

- **First Ctrl-C**: the main task is cancelled. Calls in flight are dropped; every answer already
  scored is in the run log, which gets no footer, so ``--resume`` completes it. If the run has not
  ended :data:`GRACE_S` later, ``KeyboardInterrupt`` is raised in whatever synchronous code holds
  the loop (the ``regex`` matcher of regex checks looks for signals too), except inside
  :func:`uninterrupted` blocks (a record being written to the log), which finish first.
- **Second Ctrl-C**, or a run still going :data:`HARD_S` after the first: the process exits at once
  with status 130. Nothing more is written; the log keeps whole lines (each is flushed as written).
- Clean-up after an interruption is bounded (:data:`CLEANUP_S`), and worker threads are daemons
  (:class:`DaemonPool`, also the loop's default executor): nothing waits for a thread still blocked
  in a check or a judge call, neither the run nor the interpreter at exit.

Signals reach the main thread only: elsewhere (pytest's call thread) the run gets the bounded
clean-up and the daemon threads, and whoever owns the thread cancels its task. A caller whose thread
runs an event loop already (a notebook cell) gets the run on a thread of its own, which its Ctrl-C
(``KeyboardInterrupt`` while it waits) cancels.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import os
import signal
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar, cast

__all__ = [
    "CLEANUP_S",
    "GRACE_S",
    "HARD_S",
    "DaemonPool",
    "RunInterrupted",
    "run_interruptible",
    "stopping",
    "uninterrupted",
]

T = TypeVar("T")

#: After the first Ctrl-C, how long the run may take to wind down before it is interrupted.
GRACE_S = 0.8
#: After the first Ctrl-C, when the process exits whatever it is doing.
HARD_S = 1.8
#: How long the tasks of an interrupted run get to finish cancelling.
CLEANUP_S = 0.5


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run. ``log`` is its run log, which keeps every answer scored before the
    interruption and no footer, so ``--resume`` completes it; ``None`` when the run stopped before
    writing one (or the code that raised it does not know the log)."""

    def __init__(self, log: Path | None = None) -> None:
        super().__init__(f"interrupted; run log: {log}" if log else "interrupted")
        self.log = log


class DaemonPool(ThreadPoolExecutor):
    """A thread pool of at most ``workers`` daemon threads.

    ``ThreadPoolExecutor``'s threads are joined at interpreter exit, and an interrupted run may
    leave one blocked (in a judge's call whose loop is gone, in a long check): the process would
    hang at exit. Daemon threads are simply dropped. Threads start on demand and end when the
    queue is empty. (A subclass only because asyncio's default executor must be one: every method
    it uses is replaced.)
    """

    def __init__(self, workers: int, name: str = "arcanos-worker") -> None:
        super().__init__(1, thread_name_prefix=name)  # its own threads are never started
        self._workers = max(1, workers)
        self._name = name
        self._lock = threading.Lock()
        self._jobs: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]]
        self._jobs = deque()
        self._threads: set[threading.Thread] = set()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            self._jobs.append((future, fn, args, kwargs))
            if len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._threads.add(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    self._threads.discard(threading.current_thread())
                    return
                future, fn, args, kwargs = self._jobs.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            dropped = list(self._jobs) if cancel_futures else []
            if cancel_futures:
                self._jobs.clear()
            threads = list(self._threads)
        for future, *_ in dropped:
            future.cancel()
        if wait:
            for thread in threads:
                thread.join()


class _Stop:
    """The SIGINT policy of one run (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        self.loop = loop
        self.task = task
        self.interrupted = False
        self.running = True  # the run is under way: the grace period may force it
        self._forcing = False
        self._pending = False
        self._shielded = 0
        self._disarmed = threading.Event()

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._forcing:  # the grace period is over: raised in the code that holds the loop
            self._forcing = False
            self._raise()
            return
        if self.interrupted:
            _exit_now("interrupted again: stopping at once")
        self.interrupted = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: the run has ended
            self.loop.call_soon_threadsafe(self.task.cancel)
        threading.Thread(target=self._watch, name="arcanos-interrupt", daemon=True).start()

    def _raise(self) -> None:
        if not self.running:
            return
        if self._shielded:
            self._pending = True
            return
        raise RunInterrupted(None)

    def _watch(self) -> None:
        if self._disarmed.wait(GRACE_S):
            return
        self._forcing = True
        _thread.interrupt_main(signal.SIGINT)
        if not self._disarmed.wait(HARD_S - GRACE_S):
            _exit_now("the run did not stop in time: stopping at once")

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1
            if not self._shielded and self._pending:
                self._pending = False
                self._raise()

    def disarm(self) -> None:
        self.running = False
        self._disarmed.set()


_active: _Stop | None = None


def stopping() -> bool:
    """Whether the run on this thread is being stopped: Ctrl-C was pressed, or its task cancelled.

    Work that would hold the loop (scoring an answer) asks before it starts: ``asyncio.wait_for``
    (3.11) hands a call's answer back to a task cancelled just as the answer arrived, and such a
    task would go on to score it while the run winds down.
    """
    stop = _active
    if (
        stop is not None
        and stop.interrupted
        and threading.current_thread() is threading.main_thread()
    ):
        return True
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return bool(cancelling()) if callable(cancelling) else False


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """A block that an interruption forced after the grace period does not cut (a record being
    written): it is raised when the block ends. A second Ctrl-C still exits at once."""
    stop = _active
    if stop is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    with stop.shielded():
        yield


def _exit_now(why: str) -> None:
    with contextlib.suppress(Exception):
        sys.stderr.write(f"arcanos-eval: {why}\n")
        sys.stderr.flush()
    os._exit(130)


class _Wakeup:
    """Wakes the loop when a signal arrives. The kernel may hand SIGINT to any thread (a worker of
    the pool, the SDK's), and Python runs its handler in the main thread only once that thread
    runs Python code again: the main thread, asleep in ``select`` until the next answer is due
    (20 s, say), would not see Ctrl-C until then. With a wakeup fd the signal also writes a byte
    that the loop is watching, so ``select`` returns and the handler runs at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        loop.add_reader(self._read.fileno(), self._drain)
        self._previous = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            while self._read.recv(4096):
                pass

    def close(self) -> None:
        signal.set_wakeup_fd(self._previous)
        with contextlib.suppress(Exception):  # the loop may be closing already
            self._loop.remove_reader(self._read.fileno())
        self._read.close()
        self._write.close()


def run_interruptible(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` under the interruption policy of the module docstring.

    Raises:
        RunInterrupted: Ctrl-C interrupted the run (in the main thread).
        asyncio.CancelledError: another thread cancelled the run's task.
    """
    if _loop_running():
        return _run_beside(main)
    global _active
    loop = asyncio.new_event_loop()
    pool = DaemonPool(min(32, (os.cpu_count() or 1) + 4), "arcanos-asyncio")
    loop.set_default_executor(pool)
    task = loop.create_task(main)
    stop = _Stop(loop, task)
    # Signals reach the main thread only; a process started with Ctrl-C ignored keeps ignoring it.
    handles_signals = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    )
    previous: Any = None
    wakeup: _Wakeup | None = None
    if handles_signals:
        previous = signal.signal(signal.SIGINT, stop.on_signal)
        wakeup = _Wakeup(loop)
        _active = stop
    interrupted = False
    try:
        asyncio.set_event_loop(loop)
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if stop.interrupted:
                raise RunInterrupted(None) from None
            raise  # cancelled by whoever owns this thread
        except KeyboardInterrupt:
            interrupted = True
            raise
    finally:
        interrupted = interrupted or stop.interrupted or task.cancelled()
        stop.running = False  # a forced interruption now would cut the clean-up
        try:
            _wind_down(loop, pool, bounded=interrupted)
        finally:
            if handles_signals:
                _active = None
                signal.signal(signal.SIGINT, previous)
            if wakeup is not None:
                wakeup.close()
            stop.disarm()
            asyncio.set_event_loop(None)
            loop.close()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_beside(main: Coroutine[Any, Any, T]) -> T:
    """:func:`run_interruptible` on a thread of its own, for a caller whose thread is running an
    event loop already: a Jupyter kernel runs every cell inside its loop, and a loop cannot run
    inside another. Ctrl-C (a notebook's interrupt) raises ``KeyboardInterrupt`` in the caller,
    who waits here: the run's task is then cancelled, gets :data:`HARD_S` to wind down, and
    :class:`RunInterrupted` is raised, the log resumable as after any Ctrl-C."""
    handle: Future[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = Future()
    outcome: Future[T] = Future()

    async def tracked() -> T:
        task = cast("asyncio.Task[Any]", asyncio.current_task())  # run by a loop: in a task
        handle.set_result((asyncio.get_running_loop(), task))
        return await main

    def work() -> None:
        try:
            outcome.set_result(run_interruptible(tracked()))
        except BaseException as exc:  # handed to the caller
            outcome.set_exception(exc)
        finally:
            finished.set()

    # Waited for with an event, not ``join``: a ``join`` cut by KeyboardInterrupt marks the thread
    # stopped on Python 3.11 while it still runs, and every later ``join`` returns at once.
    finished = threading.Event()
    threading.Thread(target=work, name="arcanos-run", daemon=True).start()
    try:
        finished.wait()
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):  # not started in time, or the loop is closed
            loop, task = handle.result(timeout=HARD_S)
            loop.call_soon_threadsafe(task.cancel)
        finished.wait(HARD_S)
        raise RunInterrupted(None) from None
    return outcome.result()


def _wind_down(loop: asyncio.AbstractEventLoop, pool: DaemonPool, *, bounded: bool) -> None:
    """What ``asyncio.run`` does after its task, with time limits when the run was interrupted:
    cancel what is left, close async generators, stop the worker threads."""
    timeout = CLEANUP_S if bounded else None
    if bounded:
        # Tasks abandoned after the time limit would each log "destroyed but pending".
        loop.set_exception_handler(lambda _loop, _context: None)
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=timeout))
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": "unhandled exception during run shutdown",
                        "exception": task.exception(),
                        "task": task,
                    }
                )
    loop.run_until_complete(_within(loop.shutdown_asyncgens(), timeout))
    pool.shutdown(wait=not bounded, cancel_futures=bounded)


async def _within(work: Coroutine[Any, Any, None], timeout: float | None) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(work, timeout)
