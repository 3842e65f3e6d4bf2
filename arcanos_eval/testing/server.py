"""A real loopback HTTP server that speaks the OpenAI wire protocol, for tests and contract tests.

The server runs in a daemon thread with its own event loop and binds a free port on 127.0.0.1, so
the real ``openai`` SDK talks to it over real sockets: no monkeypatching, and the retry, timeout and
streaming code paths of the SDK are exercised as in production. Answers are scripted per model and
prompt; latency, streaming pace and faults (429, 5xx, hangs, resets, truncated or malformed bodies)
are knobs; every request is counted and logged (never the ``Authorization`` value) for assertions.
The files and batches endpoints run Batch API jobs whose lines get the same answers as live calls;
the fine-tuning endpoints list and read scripted jobs (:class:`FineTuneJob`), their events and
checkpoints.

Example::

    import openai
    from arcanos_eval.testing import Fault, OpenAIServer, Reply

    replies = {"ping": "pong", ("ft:my-model", "ping"): Reply.json({"answer": "pong"})}
    faults = {1: Fault.rate_limit(retry_after_s=0.01)}
    with OpenAIServer(replies=replies, latency_s=0.05, faults=faults) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")
        answer = client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "ping"}]
        )  # the first call gets a 429, the SDK's retry gets "pong"
        assert server.path_counts["/v1/chat/completions"] == 2
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

import arcanos_eval.testing._exchange as _exchange
import arcanos_eval.testing._http as _http
import arcanos_eval.testing._wire as _wire
from arcanos_eval.errors import LoopbackServerError, UsageError
from arcanos_eval.testing._batches import BatchDesk, BatchOutcome, DeskError
from arcanos_eval.testing._fine_tuning import FineTuneJob, FineTuningDesk
from arcanos_eval.testing._log import Entry, RecordedRequest
from arcanos_eval.testing._reply import (
    ChatRequest,
    Fault,
    Reply,
    Responder,
    chat_request_from,
    echo,
)

__all__ = ["DEFAULT_MODELS", "DEFAULT_MODERATION_WORDS", "OpenAIServer", "RecordedRequest"]

DEFAULT_MODELS = ("gpt-4.1-2025-04-14", "ft:gpt-4.1-2025-04-14:personal:arca")
DEFAULT_MODERATION_WORDS: Mapping[str, str] = {
    "kill": "violence",
    "bomb": "violence",
    "hate": "hate",
    "idiot": "harassment",
    "suicide": "self-harm",
}


class OpenAIServer:
    """An OpenAI-compatible HTTP server on ``127.0.0.1`` in a background thread.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. Knobs are attributes of the
    same name and may be changed between calls.

    Args:
        replies: Scripted answers keyed by prompt (last user message) or ``(model, prompt)``; the
            prompt ``"*"`` in a tuple matches any prompt of that model. Values are :class:`Reply`
            or plain text.
        responder: Called for chat and Responses requests that ``replies`` does not cover; defaults
            to :func:`echo`. It runs on the server's event loop, so it must be quick.
        latency_s: Delay before each answer (before the first event of a stream unless ``ttft_s``).
        jitter_s: Up to this much extra delay, drawn per request number from ``seed``.
        ttft_s: Delay before the first event of a stream; ``None`` uses ``latency_s``.
        chunk_delay_s: Delay between stream events.
        faults: Faults keyed by 1-based request number, counted over every request.
        fault_rates: Faults injected at random with the given probabilities, drawn per request
            number from ``seed`` (deterministic whatever the arrival order of other requests).
        seed: Seeds jitter and random faults.
        embedding_dimensions: Vector size of ``/v1/embeddings`` unless a request asks for
            ``dimensions``.
        moderation_words: Words flagged by ``/v1/moderations``, mapped to a category (a plain list
            flags ``harassment``). Matching is whole-word and case-insensitive.
        models: Model ids listed by ``GET /v1/models``; ``None``: a server without that
            endpoint (404), as some OpenAI-compatible servers are. Chat and Responses requests
            are answered whatever model they name.
        api_key: When set, requests must carry ``Authorization: Bearer <api_key>`` or get a 401.
        max_hang_s: Upper bound of a ``timeout`` fault's hang, so a client without timeout still
            finishes.
        log_limit: Keep only the last ``log_limit`` requests in :attr:`requests` (the counters
            stay exact).
        batch_polls: Reads of ``GET /v1/batches/{id}`` that show a batch ``in_progress`` before
            it reaches its final state (0: the first read finds it finished).
        batch_outcomes: How batches end, keyed by 1-based batch number in creation order:
            ``completed`` (the default), ``failed``, ``expired`` or ``cancelled`` (the last two
            answer the first half of the lines and fail the rest, like the real API).
        batch_max_requests: Most requests one batch may hold (the real API's 50,000); a larger
            batch fails at validation.
        batch_max_bytes: Largest batch input file (the real API's 200 MB); a larger one fails.
        fine_tuning_jobs: The jobs ``GET /v1/fine_tuning/jobs`` lists, newest first, and the
            other fine-tuning endpoints read (see :class:`FineTuneJob`).
        fine_tuning_page_max: The most items one page of the fine-tuning lists holds, whatever
            the request's ``limit``: a small value makes a client page through ``after``.
    """

    def __init__(
        self,
        *,
        replies: Mapping[str | tuple[str, str], Reply | str] | None = None,
        responder: Responder | None = None,
        latency_s: float = 0.0,
        jitter_s: float = 0.0,
        ttft_s: float | None = None,
        chunk_delay_s: float = 0.0,
        faults: Mapping[int, Fault] | None = None,
        fault_rates: Mapping[Fault, float] | None = None,
        seed: int = 0,
        embedding_dimensions: int = 64,
        moderation_words: Mapping[str, str] | Iterable[str] | None = None,
        models: Sequence[str] | None = DEFAULT_MODELS,
        api_key: str | None = None,
        max_hang_s: float = 30.0,
        log_limit: int | None = None,
        batch_polls: int = 1,
        batch_outcomes: Mapping[int, BatchOutcome] | None = None,
        batch_max_requests: int = 50_000,
        batch_max_bytes: int = 200 * 1024 * 1024,
        fine_tuning_jobs: Sequence[FineTuneJob] = (),
        fine_tuning_page_max: int = 100,
    ) -> None:
        for name, value in (
            ("latency_s", latency_s),
            ("jitter_s", jitter_s),
            ("ttft_s", ttft_s or 0.0),
            ("chunk_delay_s", chunk_delay_s),
            ("max_hang_s", max_hang_s),
        ):
            if value < 0:
                raise UsageError(f"OpenAIServer: {name} must be >= 0, got {value}")
        rates = dict(fault_rates or {})
        if any(p < 0 for p in rates.values()) or sum(rates.values()) > 1.0:
            raise UsageError(f"OpenAIServer: fault_rates must be >= 0 and sum to <= 1, got {rates}")
        if batch_polls < 0 or batch_max_requests < 1 or batch_max_bytes < 1:
            raise UsageError(
                "OpenAIServer: batch_polls must be >= 0 and the batch limits >= 1, got "
                f"{batch_polls}, {batch_max_requests}, {batch_max_bytes}"
            )
        if fine_tuning_page_max < 1:
            raise UsageError(
                f"OpenAIServer: fine_tuning_page_max must be >= 1, got {fine_tuning_page_max}"
            )
        if embedding_dimensions < 1:
            raise UsageError(
                f"OpenAIServer: embedding_dimensions must be >= 1, got {embedding_dimensions}"
            )
        self.replies: dict[str | tuple[str, str], Reply | str] = dict(replies or {})
        self.responder: Responder = responder or echo
        self.latency_s = latency_s
        self.jitter_s = jitter_s
        self.ttft_s = ttft_s
        self.chunk_delay_s = chunk_delay_s
        self.faults: dict[int, Fault] = dict(faults or {})
        self.fault_rates = rates
        self.seed = seed
        self.embedding_dimensions = embedding_dimensions
        self.models = None if models is None else tuple(models)
        self.api_key = api_key
        self.max_hang_s = max_hang_s
        words = moderation_words if moderation_words is not None else DEFAULT_MODERATION_WORDS
        if isinstance(words, Mapping):
            self._moderation_words = {w.lower(): c for w, c in words.items()}
        else:
            self._moderation_words = {w.lower(): "harassment" for w in words}
        alternatives = sorted(map(re.escape, self._moderation_words), key=len, reverse=True)
        self._moderation_pattern = (
            re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)
            if alternatives
            else None
        )
        self._created = int(time.time())
        self.batch_desk = BatchDesk(
            self._batch_answer,
            polls=batch_polls,
            outcomes=batch_outcomes,
            max_requests=batch_max_requests,
            max_bytes=batch_max_bytes,
        )
        self.fine_tuning = FineTuningDesk(fine_tuning_jobs, page_max=fine_tuning_page_max)
        self._batch_lines = 0
        self._lock = threading.Lock()
        self._log: deque[Entry] = deque(maxlen=log_limit)
        self._number = 0
        self._path_counts: dict[str, int] = {}
        self._in_flight = 0
        self._max_in_flight = 0
        self._errors: list[Exception] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> OpenAIServer:
        """Bind a free port and serve in a daemon thread; returns the server once it accepts."""
        if self._thread is not None:
            raise UsageError("OpenAIServer.start: the server is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=self._run, args=(loop, ready, failure), name="arcanos-openai-server", daemon=True
        )
        self._loop, self._thread = loop, thread
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            self._loop = self._thread = None
            raise LoopbackServerError("OpenAIServer could not start") from failure[0]
        return self

    def stop(self) -> None:
        """Close every connection and stop the thread; safe to call twice."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or loop is None:
            return
        if stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=10.0)
        self._thread = self._loop = self._stopping = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(
        self, loop: asyncio.AbstractEventLoop, ready: threading.Event, failure: list[BaseException]
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:  # surfaced to start() instead of dying silently in the thread
            failure.append(exc)
        finally:
            ready.set()
            loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(
            self._connection, "127.0.0.1", 0, limit=_http.MAX_HEAD, backlog=1024
        )
        self._port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()

    # -- observation ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        """The bound port (0 before :meth:`start`)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` without the API prefix."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give the SDK: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    @property
    def total_requests(self) -> int:
        """Requests read since start (or the last reset)."""
        with self._lock:
            return self._number

    @property
    def path_counts(self) -> dict[str, int]:
        """Requests per URL path."""
        with self._lock:
            return dict(self._path_counts)

    @property
    def in_flight(self) -> int:
        """Requests read and not yet answered."""
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests in flight at once."""
        with self._lock:
            return self._max_in_flight

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the request log, oldest first."""
        with self._lock:
            return [entry.freeze() for entry in self._log]

    @property
    def errors(self) -> list[Exception]:
        """Exceptions raised while answering (a responder bug); each also produced a 500."""
        with self._lock:
            return list(self._errors)

    def reset(self) -> None:
        """Clear counters, log and errors; request numbers (``faults`` keys) restart at 1."""
        with self._lock:
            self._log.clear()
            self._number = 0
            self._path_counts.clear()
            self._max_in_flight = self._in_flight
            self._errors.clear()

    # -- serving --------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    request = await _http.read_request(reader)
                except _http.BadRequest as exc:
                    writer.write(_exchange.error_bytes(400, str(exc)))
                    await writer.drain()
                    return
                if request is None or not await self._serve_one(request, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            # Only stop() cancels; ending quietly keeps asyncio from logging the cancelled handler.
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve_one(
        self, request: _http.HttpRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; returns whether the connection stays open."""
        body: Any = None
        bad_json = False
        if request.body and not request.headers.get("content-type", "").startswith("multipart/"):
            try:
                body = json.loads(request.body)
            except ValueError:
                bad_json = True
        with self._lock:
            self._number += 1
            entry = Entry(self._number, request, body, self._leave)
            self._log.append(entry)
            self._path_counts[request.path] = self._path_counts.get(request.path, 0) + 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            if bad_json:
                message = "We could not parse the JSON body of your request."
                return await _exchange.send(
                    writer, entry, request, _exchange.error_parts(400, message)
                )
            return await self._answer(entry, request, body, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            raise
        except Exception as exc:  # a responder bug: report it and fail loudly, do not hang
            with self._lock:
                self._errors.append(exc)
            if entry.status is not None:  # the head went out already: only dropping is left
                writer.transport.abort()
                return False
            message = f"loopback server error: {exc!r}"
            return await _exchange.send(writer, entry, request, _exchange.error_parts(500, message))
        finally:
            entry.done()

    def _leave(self, entry: Entry) -> None:
        with self._lock:
            self._in_flight -= 1

    async def _answer(
        self,
        entry: Entry,
        request: _http.HttpRequest,
        body: Any,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        number = entry.number
        # Injected faults act like the network or an overloaded backend: they win over validation.
        fault = self.faults.get(number) or self._random_fault(number)
        rejection: tuple[int, str] | None = None
        route = request.path[3:] if request.path.startswith("/v1/") else request.path
        payload: bytes | None = None
        events: list[bytes] | None = None
        headers = _exchange.JSON_HEADERS
        extra_delay = 0.0
        if (
            self.api_key is not None
            and request.headers.get("authorization") != f"Bearer {self.api_key}"
        ):
            rejection = (401, "Incorrect API key provided.")
        elif route.startswith(("/files", "/batches")):
            # A faulted request never reaches the desk: an upload or a batch answered with an
            # error must not exist, as with the real API.
            try:
                if fault is None:
                    payload, content_type = self.batch_desk.handle(
                        request.method, route, request.headers, request.body, body
                    )
                    headers = (("content-type", content_type),)
            except DeskError as refused:
                rejection = (refused.status, refused.message)
        elif route.startswith("/fine_tuning/"):
            try:
                found = self.fine_tuning.handle(request.method, route, request.query)
                payload = _wire.dumps(found)
            except DeskError as refused:
                rejection = (refused.status, refused.message)
        elif request.method == "POST" and not isinstance(body, dict):
            rejection = (400, "The request body must be a JSON object.")
        elif request.method == "POST" and route in ("/chat/completions", "/responses"):
            if not isinstance(body.get("model"), str) or not body["model"]:
                rejection = (400, "You must provide a model parameter.")
            else:
                chat = chat_request_from(
                    "chat" if route == "/chat/completions" else "responses", body, number
                )
                reply = self._reply_for(chat)
                fault = fault or reply.fault
                if fault is not None and fault.kind == "content" and reply.text is None:
                    reply = Reply(text=chat.prompt)  # a text for the fault to replace
                extra_delay = reply.latency_s
                payload, events = self._generate(chat, reply)
        elif request.method == "POST" and route == "/embeddings":
            dimensions = body.get("dimensions")
            size = dimensions if isinstance(dimensions, int) and dimensions > 0 else None
            payload = _wire.dumps(_wire.embeddings(body, size or self.embedding_dimensions)[0])
        elif request.method == "POST" and route == "/moderations":
            moderation = _wire.moderation(
                body, number, self._moderation_pattern, self._moderation_words
            )
            payload = _wire.dumps(moderation)
        elif request.method == "GET" and route == "/models" and self.models is not None:
            data = [_wire.model_object(model, self._created) for model in self.models]
            payload = _wire.dumps({"object": "list", "data": data})
        elif (
            request.method == "GET"
            and route.startswith("/models/")
            and route[8:] in (self.models or ())
        ):
            payload = _wire.dumps(_wire.model_object(route[8:], self._created))
        else:
            rejection = (404, f"Invalid URL ({request.method} {request.path})")

        delay = self.ttft_s if events is not None and self.ttft_s is not None else self.latency_s
        if self.jitter_s:
            delay += self.jitter_s * self._uniform(number, "jitter")
        delay += extra_delay
        if fault is not None:
            entry.fault = fault.kind
            return await _exchange.inject(
                fault, entry, request, reader, writer, delay, payload, events, self.max_hang_s
            )
        if delay > 0 and events is None:
            await asyncio.sleep(delay)
        if rejection is not None:
            status, message = rejection
            code = "invalid_api_key" if status == 401 else None
            parts = _exchange.error_parts(status, message, "invalid_request_error", code)
            return await _exchange.send(writer, entry, request, parts)
        if events is None:
            parts = (200, headers, payload or b"{}")
            return await _exchange.send(writer, entry, request, parts)
        return await _exchange.stream(writer, entry, request, events, delay, self.chunk_delay_s)

    @property
    def batch_polls(self) -> int:
        """Reads that show a batch ``in_progress`` before it finishes (settable)."""
        return self.batch_desk.polls

    @batch_polls.setter
    def batch_polls(self, value: int) -> None:
        self.batch_desk.polls = value

    @property
    def batch_outcomes(self) -> dict[int, BatchOutcome]:
        """Scripted batch endings by batch number (a live dict: change it between batches)."""
        return self.batch_desk.outcomes

    @property
    def fine_tuning_jobs(self) -> list[FineTuneJob]:
        """The scripted fine-tuning jobs, newest first (a live list: change it between calls)."""
        return self.fine_tuning.jobs

    @fine_tuning_jobs.setter
    def fine_tuning_jobs(self, jobs: Sequence[FineTuneJob]) -> None:
        self.fine_tuning.jobs = list(jobs)

    @property
    def batches_created(self) -> int:
        """How many batches were created (``POST /v1/batches`` that succeeded)."""
        return len(self.batch_desk.batches)

    def _batch_answer(
        self, api: Literal["chat", "responses"], body: Mapping[str, Any]
    ) -> tuple[int, Any]:
        """One batch line, answered like a live request (a scripted fault becomes its error)."""
        self._batch_lines += 1
        chat = chat_request_from(api, body, 1_000_000 + self._batch_lines)
        reply = self._reply_for(chat)
        if reply.fault is not None:
            status = reply.fault.status or 500
            message = reply.fault.message or f"Injected {reply.fault.kind} fault."
            return status, json.loads(_wire.error_body(message, "server_error"))
        payload, _ = self._generate(chat, reply)
        return 200, json.loads(payload or b"{}")

    def _reply_for(self, chat: ChatRequest) -> Reply:
        replies = self.replies
        found = replies.get((chat.model, chat.prompt))
        if found is None:
            found = replies.get(chat.prompt)
        if found is None:
            found = replies.get((chat.model, "*"))
        if found is None:
            found = self.responder(chat)
        return Reply(text=found) if isinstance(found, str) else found

    def _generate(self, chat: ChatRequest, reply: Reply) -> tuple[bytes | None, list[bytes] | None]:
        """The answer as one JSON body, or as SSE events when the client asked for a stream."""
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = _wire.prompt_tokens(chat.messages)
        completion = _wire.completion_tokens(reply)
        number, body = chat.number, chat.body
        if chat.api == "chat":
            usage = _wire.chat_usage(prompt, completion)
            model = chat.model
            if not chat.stream:
                completion_object = _wire.chat_completion(
                    reply, model=model, number=number, created=self._created, usage=usage
                )
                return _wire.dumps(completion_object), None
            options = body.get("stream_options")
            wants_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            chunks = _wire.chat_chunks(
                reply,
                model=model,
                number=number,
                created=self._created,
                usage=usage if wants_usage else None,
            )
            return None, list(chunks)
        created = self._created
        if not chat.stream:
            response = _wire.response_object(
                reply,
                body=body,
                number=number,
                created=created,
                prompt=prompt,
                completion=completion,
            )
            return _wire.dumps(response), None
        events = _wire.response_events(
            reply, body=body, number=number, created=created, prompt=prompt, completion=completion
        )
        return None, list(events)

    def _uniform(self, number: int, salt: str) -> float:
        """A uniform draw in [0, 1) fixed by seed, purpose and request number."""
        digest = hashlib.blake2b(f"{self.seed}:{salt}:{number}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2.0**64

    def fault_for(self, number: int) -> Fault | None:
        """The fault ``fault_rates`` draws for the request numbered ``number`` (1 is the first
        since the start or the last :meth:`reset`): the draws are fixed by ``seed``, so a
        benchmark can work out what a client could have done with the same faults."""
        return self._random_fault(number)

    def _random_fault(self, number: int) -> Fault | None:
        if not self.fault_rates:
            return None
        draw = self._uniform(number, "fault")
        for fault, rate in self.fault_rates.items():
            if draw < rate:
                return fault
            draw -= rate
        return None
