"""The async executor: every model call of a run goes through here.

For each planned call the engine looks for an answer in the golden store, then in the local cache,
and only then calls the target, with bounded concurrency (global and per target), requests- and
tokens-per-minute limits, retries with exponential backoff, jitter and ``Retry-After``, and a
per-request timeout. Identical requests (same target, fingerprint and repeat) are made once and
their answer shared. A call that still fails becomes an *errored* :class:`Response`; the engine
never raises for a failed call.

Modes: ``replay`` (golden only; anything missing is an error before any call), ``record`` (record
into golden whatever it lacks: from the cache when the cache holds it, else from a call),
``refresh`` (call everything and overwrite the recordings), ``live`` (call everything, write
nothing but the run log) and ``auto`` (replay what exists, call the rest when the target can be
called, else the replay error). In ``batch`` mode the run's planned calls go
through :mod:`arcanos_eval.batch`, which uses :meth:`Engine.partition` and :meth:`Engine.remember`
so golden, cache and dedupe behave as in ``auto``; calls made through :meth:`Engine.run` (checks
that consult a model, ad-hoc calls) are made live.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO

from arcanos_eval._version import __version__, sdk_version
from arcanos_eval.errors import ReplayMissingError
from arcanos_eval.model import Case, Request, Response
from arcanos_eval.modes import Mode
from arcanos_eval.targets.base import CallFailure, Target
from arcanos_eval.targets.replay import CachedAnswer, GoldenRecord, GoldenStore, ResponseCache

if TYPE_CHECKING:
    from arcanos_eval.cost import Budget

__all__ = ["Call", "Engine", "EngineStats"]

_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 30.0
_RETRY_AFTER_CAP_S = 120.0
_MESSAGE_LIMIT = 500  # characters of an errored answer's message kept
_DENIED = (401, 403)  # the server refused the key or the access: the target is stopped
_NOT_CALLED = "target_stopped"  # the error type of a call not made because its target stopped


@dataclass(frozen=True)
class Call:
    """One planned unit of work: a case, a target and a repeat index."""

    case: Case
    target: str
    repeat: int
    request: Request

    @property
    def dedupe_key(self) -> tuple[str, str, int]:
        return (self.target, self.request.fingerprint, self.repeat)


@dataclass
class EngineStats:
    """What a run cost: how many answers came from where, retries and errors."""

    planned: int = 0
    requests: int = 0
    live: int = 0
    batched: int = 0  # answered through the Batch API (no latency measured)
    replayed: int = 0
    cached: int = 0
    deduplicated: int = 0
    retries: int = 0
    errored: int = 0
    golden_written: list[str] = field(default_factory=list)
    # Records written into golden (``record``, ``refresh``): answers the cache held, answers of
    # calls, and how many of the cached ones came from entries without provenance.
    golden_from_cache: int = 0
    golden_from_live: int = 0
    golden_provenance_unknown: int = 0
    # One line per target stopped because its server refused the key (401) or the access (403).
    stopped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


class _RateLimiter:
    """A token bucket refilled continuously: ``per_minute`` units over 60 s."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.tokens = float(per_minute)
        self.rate = per_minute / 60.0
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, amount: float = 1.0) -> None:
        amount = min(amount, self.capacity)
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= amount:
                    self.tokens -= amount
                    return
                await asyncio.sleep((amount - self.tokens) / self.rate)


class _Slots:
    """At most ``size`` calls in flight, where a retry waiting for a slot goes before first attempts.

    A plain semaphore serves waiters in arrival order, and every first attempt of a run is waiting
    from the start: a call retried after ``Retry-After`` would queue behind all of them, so under a
    storm of 429s the retries would pile up at the end of the run and each further 429 would add a
    whole ``Retry-After`` to its tail. Served first, a retry runs as soon as its wait is over.
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._retries: deque[asyncio.Future[None]] = deque()
        self._first: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def hold(self, *, retry: bool) -> AsyncIterator[None]:
        await self._acquire(self._retries if retry else self._first)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, queue: deque[asyncio.Future[None]]) -> None:
        if self._free > 0 and not self._retries and not self._first:
            self._free -= 1
            return
        granted = asyncio.get_running_loop().create_future()
        queue.append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # handed a slot in the same turn it was cancelled: pass it on
            elif granted in queue:
                queue.remove(granted)
            raise

    def _release(self) -> None:
        for queue in (self._retries, self._first):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():  # a cancelled waiter may not have left its queue yet
                    waiter.set_result(None)  # the slot passes straight to the waiter
                    return
        self._free += 1


OnResult = Callable[[Call, Response], Awaitable[None] | None]


class Engine:
    """Execute calls against targets, through golden store and cache."""

    def __init__(
        self,
        targets: Mapping[str, Target],
        *,
        mode: Mode | str = Mode.AUTO,
        golden: GoldenStore | None = None,
        cache: ResponseCache | None = None,
        concurrency: int = 16,
        max_retries: int = 5,
        timeout_s: float = 60.0,
        progress: bool = True,
        progress_stream: TextIO | None = None,
        seed: int | None = None,
        budget: Budget | None = None,
        fine_tunes: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.targets = targets
        # Per fine-tuned target, what its recordings name of the weights that answered (the job,
        # the training record's and the adapter's SHA-256), as the run read them when it started.
        self.fine_tunes = dict(fine_tunes or {})
        self.mode = Mode(mode)
        self.golden = golden
        self.cache = cache
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.progress_enabled = progress
        self.progress_stream = progress_stream
        self.stats = EngineStats()
        self._random = random.Random(seed)
        # Targets whose server refused the credentials: the line that says so, per target.
        self._denied: dict[str, str] = {}
        # The run's cost limit (``--max-cost``): asked before each request is sent.
        self.budget = budget
        # Awaited with the names of the targets about to be called, before their first call
        # (the run's pre-flight check).
        self.before_calls: Callable[[Sequence[str]], Awaitable[None]] | None = None

    # ------------------------------------------------------------------ lookup

    def recorded(self, call: Call) -> Response | None:
        """The answer golden or the cache holds for ``call`` (as this mode reads them), if any."""
        return self._recorded(call)

    def may_call(self, target: str) -> bool:
        """Whether this mode calls ``target`` for an answer nothing recorded."""
        return self.mode.may_call and (
            not self.mode.needs_credentials_to_call or self._callable(target)
        )

    def _recorded(self, call: Call) -> Response | None:
        """The answer golden or the cache already holds for ``call``, or ``None``.

        In a mode that records, an answer the cache holds and golden lacks is recorded into golden
        here, with the provenance of the call that produced it: ``record`` fills golden from the
        cache as from a call, without paying for the call again.
        """
        if self.golden is not None and self.mode.reads_golden:
            record = self.golden.lookup(
                call.case.suite_id, call.target, call.case.id, call.request.fingerprint, call.repeat
            )
            if record is not None:
                return record.as_response()
        if self.cache is not None and self.mode.reads_cache:
            target = self.targets[call.target]
            cached = self.cache.entry(target.endpoint, call.request.fingerprint, call.repeat)
            if cached is None:
                return None
            if self.golden is not None and self.mode.writes_golden:
                provenance = self._cached_provenance(call, cached)
                self._record(self.golden, [call], cached.response, provenance)
            return cached.response
        return None

    def _callable(self, target: str) -> bool:
        can_call = getattr(self.targets[target], "can_call", None)
        return bool(can_call()) if callable(can_call) else True

    def _check_missing(self, missing: Sequence[Call]) -> None:
        blocked = [c for c in missing if not self.may_call(c.target)]
        if not blocked:
            return
        shown = first_few(
            [f"{c.case.key}[{c.target}]" + (f"#{c.repeat}" if c.repeat else "") for c in blocked]
        )
        hint = (
            "record them with --mode record"
            if not self.mode.may_call
            else "set the target's API key variable, or record them with --mode record"
        )
        raise ReplayMissingError(
            f"{len(blocked)} answer(s) have no recording in {self.golden.root if self.golden else 'golden'}"
            f" ({shown}); {hint}"
        )

    # ------------------------------------------------------------------ execution

    async def run(self, calls: Sequence[Call], on_result: OnResult) -> EngineStats:
        """Answer every call; ``on_result(call, response)`` runs as each answer arrives.

        Raises:
            ReplayMissingError: in ``replay`` mode (or ``auto`` without credentials), before any
                call is made, when recordings are missing.
        """
        stats = self.stats
        ready, groups = self.partition(calls)
        await self.prepare(groups)

        await self.deliver_recorded(ready, on_result)

        global_slots = _Slots(self.concurrency)
        target_slots = {
            name: _Slots(t.config.concurrency)
            for name, t in self.targets.items()
            if t.config.concurrency
        }
        limiters = {
            name: (
                _RateLimiter(t.config.rpm) if t.config.rpm else None,
                _RateLimiter(t.config.tpm) if t.config.tpm else None,
            )
            for name, t in self.targets.items()
        }

        async def answer(group: list[Call]) -> None:
            first = group[0]
            response = await self._call(
                first, global_slots, target_slots.get(first.target), limiters[first.target]
            )
            if response is not None:  # None: not sent, over the budget (the log lacks it)
                await self.deliver(group, response, on_result)

        tasks = [asyncio.ensure_future(answer(group)) for group in groups.values()]
        try:
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            if self.golden is not None and self.mode.writes_golden:
                stats.golden_written.extend(str(p) for p in self.golden.flush())
        return stats

    async def prepare(self, groups: Mapping[tuple[str, str, int], Sequence[Call]]) -> None:
        """Before the first request of ``groups`` (from :meth:`partition`): the pre-flight
        check of the targets they call, if the run set one (:attr:`before_calls`)."""
        if groups and self.before_calls is not None:
            await self.before_calls(sorted({key[0] for key in groups}))

    def partition(
        self, calls: Sequence[Call]
    ) -> tuple[list[tuple[Call, Response]], dict[tuple[str, str, int], list[Call]]]:
        """Split ``calls`` into answers already recorded (golden, cache) and groups of identical
        calls still to make, keyed by :attr:`Call.dedupe_key` (one request answers a group).

        Raises:
            ReplayMissingError: a call must be made and the mode or missing credentials forbid it.
        """
        self.stats.planned += len(calls)
        groups: dict[tuple[str, str, int], list[Call]] = {}
        ready: list[tuple[Call, Response]] = []
        for call in calls:
            recorded = self._recorded(call)
            if recorded is not None:
                ready.append((call, recorded))
                continue
            group = groups.setdefault(call.dedupe_key, [])
            if group:
                self.stats.deduplicated += 1
            group.append(call)
        self._check_missing([group[0] for group in groups.values()])
        return ready, groups

    async def deliver_recorded(
        self, ready: Sequence[tuple[Call, Response]], on_result: OnResult
    ) -> None:
        """Hand over the answers golden or the cache already held."""
        for call, response in ready:
            if response.origin == "replayed":
                self.stats.replayed += 1
            else:
                self.stats.cached += 1
            await _maybe_await(on_result(call, response))

    async def deliver(
        self,
        group: Sequence[Call],
        response: Response,
        on_result: OnResult,
        *,
        source: str = "live",
    ) -> None:
        """Hand a new answer to every call of ``group``, counting it under ``source`` (``live``
        or ``batched``), and keep it (cache, golden) unless it errored.

        Secrets are masked here, where every new answer enters the run, before anything stores
        or shows it (:mod:`arcanos_eval._redact`): in an errored answer's message (what a server
        said) configured key values and key-shaped strings, in an answer the configured key
        values.
        """
        response = self._masked(response)
        if response.errored:
            self.stats.errored += len(group)
        else:
            setattr(self.stats, source, getattr(self.stats, source) + 1)
            self.remember(group, response)
        for call in group:
            await _maybe_await(on_result(call, response))

    def remember(self, group: Sequence[Call], response: Response) -> None:
        """Keep a new answer to ``group``: in the cache, and in golden when the mode records,
        each with the provenance of the call."""
        first = group[0]
        target = self.targets[first.target]
        provenance = _provenance(target, first.request, response, self.fine_tunes.get(first.target))
        if self.cache is not None and self.mode.writes_cache:
            self.cache.put(
                target.endpoint, first.request.fingerprint, first.repeat, response, provenance
            )
        if self.golden is not None and self.mode.writes_golden:
            self._record(self.golden, group, response, provenance)

    def _record(
        self,
        golden: GoldenStore,
        calls: Sequence[Call],
        response: Response,
        provenance: Mapping[str, Any],
    ) -> None:
        """Stage one golden record per call of ``calls`` (written when the run ends), replacing
        older recordings of the same case and repeat (an outdated request)."""
        recorded = {**response.to_dict(), "origin": "live"}
        written = 0
        for call in calls:
            if call.case.response_schema is not None:
                golden.put_schema(call.case.suite_id, call.case.response_schema)
            written += golden.put(
                call.case.suite_id,
                call.target,
                GoldenRecord(
                    case_id=call.case.id,
                    fingerprint=call.request.fingerprint,
                    repeat=call.repeat,
                    request=call.request.to_dict(),
                    response=recorded,
                    provenance=provenance,
                ),
                replace_case=True,
            )
        if provenance.get("source") == "cache":
            self.stats.golden_from_cache += written
            if provenance.get("unknown"):
                self.stats.golden_provenance_unknown += written
        else:
            self.stats.golden_from_live += written

    def _cached_provenance(self, call: Call, cached: CachedAnswer) -> dict[str, Any]:
        """The provenance of a golden record made from a cache entry: the entry's own, marked as
        taken from the cache; for an entry written before the cache kept provenance, what the
        entry tells (endpoint, model, latency, usage), with the time of the call and the SDK
        version left empty and said to be unknown, never guessed."""
        if cached.provenance is not None:
            return {**cached.provenance, "source": "cache"}
        target = self.targets[call.target]
        response = cached.response
        return {
            **_provenance(target, call.request, response, self.fine_tunes.get(call.target)),
            "recorded_at": None,
            "sdk": None,
            "arcanos_eval": None,
            "source": "cache",
            "unknown": (
                "the cache entry this answer came from was written before the cache kept "
                "provenance: the time of the call and the SDK and arcanos-eval versions that "
                "made it are not known"
            ),
        }

    async def _call(
        self,
        call: Call,
        global_slots: _Slots,
        target_slots: _Slots | None,
        limiters: tuple[_RateLimiter | None, _RateLimiter | None],
    ) -> Response | None:
        """The answer to ``call`` after retries (an errored one when it failed), or ``None`` when
        the budget forbade sending it."""
        target = self.targets[call.target]
        timeout = target.config.timeout_s or self.timeout_s
        max_retries = (
            target.config.max_retries if target.config.max_retries is not None else self.max_retries
        )
        rpm, tpm = limiters
        failure = CallFailure("unexpected", "no attempt made", retryable=False)
        made = 0  # requests sent
        for attempt in range(max_retries + 1):
            if call.target in self._denied:
                break
            if rpm is not None:
                await rpm.acquire()
            if tpm is not None:
                await tpm.acquire(call.request.estimated_tokens())
            retry = attempt > 0
            # The target's slot first: a call waiting for its own busy target must not hold one
            # of the run's slots, or a slow target's queue would starve every other target.
            async with contextlib.AsyncExitStack() as slots:
                if target_slots is not None:
                    await slots.enter_async_context(target_slots.hold(retry=retry))
                await slots.enter_async_context(global_slots.hold(retry=retry))
                failure_or_response = await self._attempt(call, target, timeout)
            if failure_or_response is None:
                if call.target not in self._denied:
                    return None  # over the budget: not sent, now or later
                break  # the target stopped while this call waited for a slot
            made += 1
            if isinstance(failure_or_response, Response):
                return _with_attempts(failure_or_response, made)
            failure = failure_or_response
            if failure.status in _DENIED:
                self._deny(call.target, failure.status)
                break
            if not failure.retryable or attempt == max_retries:
                break
            self.stats.retries += 1
            # Sleep outside the slots: a waiting retry must not hold back other calls.
            await asyncio.sleep(self._delay(attempt, failure))
        model = target.config.model
        if failure.status not in _DENIED and call.target in self._denied:
            after = f" (after {made} attempt(s), the last: {failure})" if made else ""
            line = f"not called: {self._denied[call.target]}{after}"
            return Response.failed(line, _NOT_CALLED, attempts=made, model=model)
        return Response.failed(str(failure), failure.kind, attempts=made, model=model)

    def _deny(self, name: str, status: int | None) -> None:
        """Stop target ``name``: its server refused the key (401) or the access (403), so every
        further call would be refused too. One line says so, naming the key's variable."""
        if name in self._denied:
            return
        what = "authentication failed" if status == 401 else "access denied"
        variable = self.targets[name].config.api_key_env
        line = f"target {name!r}: {what} ({status}) — check {variable}"
        self._denied[name] = line
        self.stats.stopped.append(line)

    async def _attempt(
        self, call: Call, target: Target, timeout: float
    ) -> Response | CallFailure | None:
        """One request; ``None`` (none sent) when the call's target was stopped meanwhile or
        the budget forbids it."""
        if call.target in self._denied:
            return None
        budget = self.budget
        if budget is not None and not budget.reserve(call):
            return None
        self.stats.requests += 1
        answer: Response | None = None
        try:
            answer = await asyncio.wait_for(target.complete(call.request), timeout)
            return answer
        except CallFailure as failure:
            return failure
        except asyncio.TimeoutError:
            return CallFailure("timeout", f"no answer within {timeout:g} s", retryable=True)
        finally:
            if budget is not None:
                budget.settle(call, answer)

    def _masked(self, response: Response) -> Response:
        from arcanos_eval._redact import mask, mask_configured

        names = [t.config.api_key_env for t in self.targets.values()]
        if response.errored:
            error = mask(response.error or "", limit=_MESSAGE_LIMIT, names=names)
            if error != response.error:
                return dataclasses.replace(response, error=error)
            return response
        text = None if response.text is None else mask_configured(response.text, names)
        calls = tuple(
            dataclasses.replace(c, arguments=mask_configured(c.arguments, names))
            for c in response.tool_calls
        )
        if text == response.text and calls == response.tool_calls:
            return response
        return dataclasses.replace(response, text=text, tool_calls=calls)

    def _delay(self, attempt: int, failure: CallFailure) -> float:
        if failure.retry_after_s is not None:
            # The server said when; a little jitter keeps retries from arriving in one burst.
            return min(failure.retry_after_s, _RETRY_AFTER_CAP_S) + self._random.uniform(0, 0.05)
        ceiling = min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * (2**attempt))
        return self._random.uniform(ceiling / 2, ceiling)


def _provenance(
    target: Target,
    request: Request,
    response: Response,
    fine_tune: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Where and when a new answer came from, as a golden record (and the cache) keeps it; for a
    fine-tuned target, with the weights that answered (``fine_tune``)."""
    return {
        "endpoint": target.endpoint,
        "model": target.config.model,
        **({"fine_tune": dict(fine_tune)} if fine_tune is not None else {}),
        "served_model": response.model,
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sdk": sdk_version(),
        "arcanos_eval": __version__,
        "latency_ms": response.latency_ms,
        "ttft_ms": response.ttft_ms,
        "usage": response.usage.to_dict(),
        "seed": request.params.get("seed"),  # one request, one seed, per group
    }


def first_few(items: Sequence[str], limit: int = 5) -> str:
    """``a, b, c and 4 more``: a list short enough for a one-line error."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _with_attempts(response: Response, attempts: int) -> Response:
    if attempts == response.attempts:
        return response
    data = response.to_dict()
    data["attempts"] = attempts
    return Response.from_dict(data)


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value
