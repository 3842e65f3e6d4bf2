"""Batch mode: a run's model calls through the OpenAI Batch API (half the price, up to 24 hours).

Per target, the calls that golden and the cache cannot answer are deduplicated like the engine does
(one request per target, fingerprint and repeat), written as Batch API input lines whose
``custom_id`` is ``<target>/<fingerprint>/<repeat>`` (the plan maps it back to every case that
sends that request), uploaded with the files API and submitted as one batch, or several when the
job exceeds the API's limits (50,000 requests or 200 MB per file; :class:`BatchConfig`). Each batch
is polled, with progress on stderr, until it ends; its output and error files are downloaded and
every line becomes an ordinary run-log record. A line that failed, and a request the batch never
answered (it failed, expired or was cancelled), becomes an *errored* answer naming the reason, so
nothing is lost and ``--resume`` retries it.

A batch is paid for once it exists, so its id is written to the run log the moment it is created;
a resumed run follows the batches still open in its log instead of submitting their requests again.

New answers go to the cache like ``auto`` mode, never to golden: a batch answer has no latency, and
a recording without one would leave later replayed runs without latency evidence. Record golden
with ``--mode record``.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

from arcanos_eval.config import BatchConfig
from arcanos_eval.engine import Call, Engine, EngineStats, OnResult
from arcanos_eval.errors import ConfigError
from arcanos_eval.model import Response
from arcanos_eval.targets.base import CallFailure
from arcanos_eval.targets.openai import OpenAITarget, classify_error, response_from_body

__all__ = ["BatchJournal", "custom_id", "run_batches"]

BatchJournal = Callable[[Mapping[str, Any]], None]
"""Writes a ``batch`` line to the run log (:meth:`RunLogWriter.batch`)."""

_OPEN = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
_TRANSFER_TIMEOUT_S = 600.0  # uploads and downloads of up to 200 MB outlast a chat timeout
_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 30.0
_RETRY_AFTER_CAP_S = 120.0

T = TypeVar("T")


def custom_id(call: Call) -> str:
    """The ``custom_id`` of the batch line answering ``call`` (and every identical call)."""
    return f"{call.target}/{call.request.fingerprint}/{call.repeat}"


@dataclass
class _Batch:
    """One submitted batch being followed: its id and the requests it answers."""

    id: str
    ids: list[str]
    endpoint: str


@dataclass
class _TargetJob:
    """The batch calls of one target, from input lines to delivered answers."""

    name: str
    target: OpenAITarget
    pending: dict[str, list[Call]]
    deliver: Callable[[list[Call], Response], Awaitable[None]]
    journal: BatchJournal
    settings: BatchConfig
    retries: int
    stats: EngineStats
    say: Callable[[str], None]
    followed: list[_Batch] = field(default_factory=list)

    async def submit(self, stored: Sequence[Mapping[str, Any]]) -> None:
        """Adopt the open batches of a previous session, then submit what they do not cover.

        Submissions go one after the other (they are quick next to the batches themselves), so
        batches are created in plan order.
        """
        self._adopt(stored)
        chunks, too_large = self._chunks()
        for key, size in too_large:
            message = f"request of {size} bytes exceeds the batch file limit"
            await self._fail(
                [key], f"{message} of {self.settings.max_bytes} bytes", "batch_too_large"
            )
        for chunk in chunks:
            batch = await self._submit(chunk)
            if batch is not None:
                self.followed.append(batch)

    async def follow(self) -> None:
        """Wait for every followed batch and deliver its answers."""
        await asyncio.gather(*(self._follow(batch) for batch in self.followed))

    # -- building ------------------------------------------------------------------------------

    def _adopt(self, stored: Sequence[Mapping[str, Any]]) -> None:
        """Follow the batches a previous session created and did not finish (no second payment)."""
        finished = {r.get("batch_id") for r in stored if r.get("event") == "finished"}
        for record in stored:
            if record.get("event") != "created" or record.get("target") != self.name:
                continue
            if record.get("batch_id") in finished:
                continue
            ids = [i for i in record.get("requests") or () if i in self.pending]
            if ids:
                endpoint = str(record.get("endpoint", ""))
                self.followed.append(_Batch(str(record["batch_id"]), ids, endpoint))
                self.say(f"resuming batch {record['batch_id']} ({self.name}, {len(ids)} requests)")

    def _chunks(self) -> tuple[list[tuple[str, list[tuple[str, bytes]]]], list[tuple[str, int]]]:
        """Input lines not covered by a followed batch, split at the request and size limits;
        and the requests too large for any batch file, with their size."""
        covered = {i for batch in self.followed for i in batch.ids}
        limits = self.settings
        chunks: list[tuple[str, list[tuple[str, bytes]]]] = []
        too_large: list[tuple[str, int]] = []
        size = 0
        for key, group in self.pending.items():
            if key in covered:
                continue
            endpoint, body = self.target.batch_line(group[0].request)
            line = (
                json.dumps(
                    {"custom_id": key, "method": "POST", "url": endpoint, "body": body},
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                + "\n"
            ).encode("utf-8")
            if len(line) > limits.max_bytes:
                too_large.append((key, len(line)))
                continue
            current = chunks[-1][1] if chunks and chunks[-1][0] == endpoint else None
            if (
                current is None
                or len(current) >= limits.max_requests
                or size + len(line) > limits.max_bytes
            ):
                current = []
                chunks.append((endpoint, current))
                size = 0
            current.append((key, line))
            size += len(line)
        return chunks, too_large

    # -- submitting and following ------------------------------------------------------------

    async def _submit(self, chunk: tuple[str, list[tuple[str, bytes]]]) -> _Batch | None:
        endpoint, lines = chunk
        ids = [key for key, _ in lines]
        client = self.target.client
        try:
            uploaded = await self._retrying(
                lambda: client.files.create(
                    file=(f"arcanos-{self.name}.jsonl", b"".join(line for _, line in lines)),
                    purpose="batch",
                    timeout=_TRANSFER_TIMEOUT_S,
                )
            )
            # Not retried after a timeout: the batch may exist already, and a second one is paid.
            created = await self._retrying(
                lambda: client.batches.create(
                    input_file_id=uploaded.id,
                    endpoint=endpoint,  # type: ignore[arg-type]
                    completion_window=self.settings.completion_window,  # type: ignore[arg-type]
                    metadata={"arcanos_target": self.name},
                ),
                answered_only=True,
            )
        except CallFailure as failure:
            await self._fail(ids, f"batch not submitted: {failure}", "batch_not_submitted")
            return None
        # Written before anything else can fail: from here on the batch costs money.
        self.journal(
            {
                "event": "created",
                "target": self.name,
                "batch_id": created.id,
                "input_file_id": uploaded.id,
                "endpoint": endpoint,
                "requests": ids,
            }
        )
        self.say(f"created batch {created.id} ({self.name}, {len(ids)} requests)")
        return _Batch(created.id, ids, endpoint)

    async def _follow(self, batch: _Batch) -> None:
        client = self.target.client
        shown = ""
        while True:
            try:
                state = await self._retrying(lambda: client.batches.retrieve(batch.id))
            except CallFailure as failure:
                message = (
                    f"lost track of batch {batch.id} ({failure}); it may still finish: "
                    "resume the run with --resume to collect it"
                )
                await self._fail(batch.ids, message, "batch_unreachable")
                return
            counts = state.request_counts
            line = f"batch {batch.id} ({self.name}): {state.status}" + (
                f", {counts.completed + counts.failed}/{counts.total} done, {counts.failed} failed"
                if counts is not None and counts.total
                else ""
            )
            if line != shown:
                self.say(line)
                shown = line
            if state.status not in _OPEN:
                break
            await asyncio.sleep(self.settings.poll_interval_s)
        answered: set[str] = set()
        try:
            for file_id in (state.output_file_id, state.error_file_id):
                if file_id:
                    answered |= await self._collect(file_id, batch)
        except CallFailure as failure:
            message = (
                f"batch {batch.id}: results not downloaded ({failure}); "
                "resume the run with --resume to collect them"
            )
            await self._fail(batch.ids, message, "batch_unreachable")
            return
        message = f"batch {batch.id} {state.status}: {_reason(state)}"
        await self._fail(batch.ids, message, f"batch_{state.status}")
        self.journal(
            {
                "event": "finished",
                "target": self.name,
                "batch_id": batch.id,
                "status": state.status,
                "answered": len(answered),
                "requests": len(batch.ids),
            }
        )

    async def _collect(self, file_id: str, batch: _Batch) -> set[str]:
        """Deliver every line of a result file; the ``custom_id`` values it answered."""
        client = self.target.client
        content = await self._retrying(
            lambda: client.files.content(file_id, timeout=_TRANSFER_TIMEOUT_S)
        )
        expected = set(batch.ids)
        answered: set[str] = set()
        api = "responses" if batch.endpoint.endswith("/responses") else "chat"
        for text in content.content.decode("utf-8", "replace").splitlines():
            try:
                line = json.loads(text)
                key = line["custom_id"]
            except (ValueError, KeyError, TypeError):
                continue  # not a result line: the requests it would answer end up errored
            if key not in expected or key in answered or key not in self.pending:
                continue
            answered.add(key)
            await self.deliver(self.pending.pop(key), self._answer(api, line))
        return answered

    def _answer(self, api: str, line: Mapping[str, Any]) -> Response:
        model = self.target.config.model
        error = line.get("error")
        if error:
            code = str(error.get("code") or "batch_error")
            return Response.failed(f"{code}: {error.get('message', '')}"[:300], code, model=model)
        result = line.get("response") or {}
        status = int(result.get("status_code") or 0)
        body = result.get("body")
        if status != 200 or not isinstance(body, Mapping):
            detail = body.get("error") if isinstance(body, Mapping) else None
            message = detail.get("message") if isinstance(detail, Mapping) else str(body)[:200]
            return Response.failed(f"http_{status}: {message}"[:300], f"http_{status}", model=model)
        try:
            return response_from_body(api, body)
        except CallFailure as failure:
            return Response.failed(str(failure), failure.kind, model=model)

    # -- plumbing -------------------------------------------------------------------------------

    async def _fail(self, keys: Sequence[str], message: str, kind: str) -> None:
        """Deliver an errored answer to each of ``keys`` still pending (never lose a call)."""
        failed = Response.failed(message[:500], kind, model=self.target.config.model)
        for key in keys:
            group = self.pending.pop(key, None)
            if group is not None:
                await self.deliver(group, failed)

    async def _retrying(
        self, attempt: Callable[[], Awaitable[T]], *, answered_only: bool = False
    ) -> T:
        """One file or batch API call with the engine's policy: retry what is retryable, with
        exponential backoff and jitter, or after the server's ``Retry-After``.

        ``answered_only`` retries only failures the server answered with a status (429, 5xx),
        not timeouts or dropped connections, after which the call may have taken effect.
        """
        for number in range(self.retries + 1):
            try:
                return await attempt()
            except Exception as exc:
                failure = exc if isinstance(exc, CallFailure) else classify_error(exc)
                retry = failure.retryable and not (answered_only and failure.status is None)
                if not retry or number == self.retries:
                    if failure is exc:
                        raise
                    raise failure from exc
                self.stats.retries += 1
                if failure.retry_after_s is not None:
                    delay = min(failure.retry_after_s, _RETRY_AFTER_CAP_S)
                else:
                    ceiling = min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**number)
                    delay = random.uniform(ceiling / 2, ceiling)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _reason(state: Any) -> str:
    """Why a finished batch did not answer a request: its errors, or its state."""
    errors = getattr(getattr(state, "errors", None), "data", None) or []
    if errors:
        return "; ".join(
            (f"line {e.line}: " if e.line else "") + f"{e.code}: {e.message}" for e in errors[:3]
        )[:300]
    return {
        "expired": "the 24 h completion window ran out before this request was run",
        "cancelled": "the batch was cancelled before this request was run",
        "failed": "the batch failed",
    }.get(state.status, "no result line for this request")


async def run_batches(
    engine: Engine,
    calls: Sequence[Call],
    on_result: OnResult,
    *,
    settings: BatchConfig,
    journal: BatchJournal,
    previous: Sequence[Mapping[str, Any]] = (),
    stream: TextIO | None = None,
) -> EngineStats:
    """Answer ``calls`` from golden, the cache, and Batch API jobs, one or more per target.

    Args:
        engine: supplies targets, golden store, cache, stats and the retry count.
        calls: the planned calls still to answer.
        on_result: called with each answer, as :meth:`Engine.run` does.
        settings: limits, poll interval and completion window.
        journal: writes ``batch`` lines to the run log.
        previous: the ``batch`` lines of the log being resumed: open batches are followed, not
            submitted again.
        stream: where progress goes (default: stderr, when the engine shows progress).

    Raises:
        ConfigError: a target that is not an OpenAI target.
        ReplayMissingError: a target without credentials has calls to make.
    """
    stats = engine.stats
    ready, groups = engine.partition(calls)
    await engine.prepare(groups)
    budget = engine.budget
    if budget is not None:  # a batch bills what it holds: only what the budget allows goes in
        groups = {key: group for key, group in groups.items() if budget.reserve(group[0])}
    out = stream or engine.progress_stream or sys.stderr

    def say(text: str) -> None:
        if engine.progress_enabled:
            out.write(f"arcanos: {text}\n")
            out.flush()

    await engine.deliver_recorded(ready, on_result)

    async def deliver(group: list[Call], response: Response) -> None:
        if budget is not None:
            budget.settle(group[0], response)
        await engine.deliver(group, response, on_result, source="batched")

    by_target: dict[str, dict[str, list[Call]]] = {}
    for group in groups.values():
        by_target.setdefault(group[0].target, {})[custom_id(group[0])] = group
    jobs = []
    for name, pending in by_target.items():
        target = engine.targets[name]
        if not isinstance(target, OpenAITarget):
            raise ConfigError(f"target {name!r}: batch mode needs an OpenAI target")
        retries = target.config.max_retries
        jobs.append(
            _TargetJob(
                name,
                target,
                pending,
                deliver,
                journal,
                settings,
                engine.max_retries if retries is None else retries,
                stats,
                say,
            )
        )
    for job in jobs:
        await job.submit(previous)
    await asyncio.gather(*(job.follow() for job in jobs))
    return stats


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value
