"""The request log of the loopback server: what each request was, and how it was answered."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from arcanos_eval.testing._http import HttpRequest
from arcanos_eval.testing._reply import FaultKind

# Credentials never reach the request log; only the presence of Authorization is kept.
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie"}
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it.

    Attributes:
        number: 1-based arrival number since start (or the last :meth:`OpenAIServer.reset`).
        method: HTTP method.
        path: URL path without the query string.
        model: ``model`` from the JSON body, when there is one.
        status: HTTP status sent; ``None`` while in flight or when no status was sent (hang, reset).
        fault: The injected fault's kind, if any.
        body: The parsed JSON body (``None`` when empty or not JSON).
        headers: Request headers with lower-cased names, credentials removed.
        authorization: Whether an ``Authorization`` header was present (its value is never kept).
        stream: Whether the body asked for a stream.
        received_at: ``time.monotonic()`` when the request was read.
        completed_at: ``time.monotonic()`` when the answer was finished, ``None`` while in flight.
    """

    number: int
    method: str
    path: str
    model: str | None
    status: int | None
    fault: FaultKind | None
    body: Any
    headers: Mapping[str, str]
    authorization: bool
    stream: bool
    received_at: float
    completed_at: float | None

    @property
    def duration_s(self) -> float | None:
        """Seconds between reading the request and finishing the answer."""
        return None if self.completed_at is None else self.completed_at - self.received_at


class Entry:
    """The mutable record behind a :class:`RecordedRequest`; only the server thread writes it."""

    __slots__ = (
        "_on_done",
        "authorization",
        "body",
        "completed_at",
        "fault",
        "headers",
        "method",
        "model",
        "number",
        "path",
        "received_at",
        "status",
        "stream",
    )

    def __init__(
        self, number: int, request: HttpRequest, body: Any, on_done: Callable[[Entry], None]
    ) -> None:
        self._on_done = on_done
        self.number = number
        self.method = request.method
        self.path = request.path
        self.body = body
        is_object = isinstance(body, dict)
        self.model: str | None = str(body["model"]) if is_object and "model" in body else None
        self.stream = bool(body.get("stream")) if is_object else False
        self.headers = {k: v for k, v in request.headers.items() if k not in _SECRET_HEADERS}
        self.authorization = "authorization" in request.headers
        self.status: int | None = None
        self.fault: FaultKind | None = None
        self.received_at = time.monotonic()
        self.completed_at: float | None = None

    def done(self) -> None:
        """Mark the answer finished (once); called just before its last bytes go out.

        Marking it before the write means a client that has its answer always finds the request
        complete in the log, with no race against the server thread.
        """
        if self.completed_at is None:
            self.completed_at = time.monotonic()
            self._on_done(self)

    def freeze(self) -> RecordedRequest:
        return RecordedRequest(
            self.number,
            self.method,
            self.path,
            self.model,
            self.status,
            self.fault,
            self.body,
            dict(self.headers),
            self.authorization,
            self.stream,
            self.received_at,
            self.completed_at,
        )
