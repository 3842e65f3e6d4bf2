"""The files and batches endpoints of the loopback server: uploads, Batch API jobs, their outputs.

A batch walks the states of the real API: ``validating`` on creation, ``in_progress`` for
``polls`` reads, then a final state: ``completed``, or what the test scripted (``failed``,
``expired``, ``cancelled``). Output lines are computed, when the batch finishes, by the same
responder that answers ``/v1/chat/completions`` and ``/v1/responses``, so a batch answers exactly
what live calls would. Limits (requests and bytes per batch) are enforced like the real API, by
failing the batch at validation, so a client that does not split large jobs is caught.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import arcanos_eval.testing._wire as _wire

__all__ = ["BatchDesk", "BatchOutcome", "DeskError", "LineAnswer"]

BatchOutcome = Literal["completed", "failed", "expired", "cancelled"]
"""How a scripted batch ends; ``expired`` and ``cancelled`` answer the first half of its lines."""

LineAnswer = Callable[[Literal["chat", "responses"], Mapping[str, Any]], tuple[int, Any]]
"""Answers one batch line's body: ``(HTTP status, response body)``, as a live call would."""

_ENDPOINTS: Mapping[str, Literal["chat", "responses"]] = {
    "/v1/chat/completions": "chat",
    "/v1/responses": "responses",
}
_OPEN = ("validating", "in_progress", "finalizing", "cancelling")
_UNFINISHED_LINE = {
    "expired": (
        "batch_expired",
        "This request could not be executed before the completion window expired.",
    ),
    "cancelled": ("batch_cancelled", "This request was not executed: the batch was cancelled."),
}


class DeskError(Exception):
    """A request the desk refuses: answered with ``status`` and an OpenAI-shaped error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class StoredFile:
    """One uploaded or generated file."""

    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


@dataclass
class Batch:
    """One batch job and where it stands."""

    id: str
    number: int
    endpoint: str
    input_file_id: str
    metadata: Mapping[str, str]
    outcome: BatchOutcome
    created_at: int
    lines: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    status: str = "validating"
    reads: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    stamps: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        total = 0 if self.status in ("validating", "failed") else len(self.lines)
        data: dict[str, Any] = {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": {"object": "list", "data": list(self.errors)} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "expires_at": self.created_at + 24 * 3600,
            "request_counts": {
                "total": total,
                "completed": self.completed,
                "failed": self.failed,
            },
            "metadata": dict(self.metadata),
        }
        for stamp in (
            "in_progress_at",
            "finalizing_at",
            "completed_at",
            "failed_at",
            "expired_at",
            "cancelling_at",
            "cancelled_at",
        ):
            data[stamp] = self.stamps.get(stamp)
        return data


class BatchDesk:
    """Files and batches held by one server. Only the server's event loop touches it.

    Args:
        answer: computes a line's answer with the server's responder.
        polls: reads of a batch that still show it ``in_progress`` before it finishes.
        outcomes: scripted endings keyed by 1-based batch number (creation order).
        max_requests: most lines a batch may hold (the real API: 50,000).
        max_bytes: largest input file a batch may use (the real API: 200 MB).
    """

    def __init__(
        self,
        answer: LineAnswer,
        *,
        polls: int = 1,
        outcomes: Mapping[int, BatchOutcome] | None = None,
        max_requests: int = 50_000,
        max_bytes: int = 200 * 1024 * 1024,
    ) -> None:
        self.answer = answer
        self.polls = polls
        self.outcomes: dict[int, BatchOutcome] = dict(outcomes or {})
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, Batch] = {}

    # -- routing --------------------------------------------------------------------------------

    def handle(
        self, method: str, route: str, headers: Mapping[str, str], raw: bytes, body: Any
    ) -> tuple[bytes, str]:
        """Answer a ``/files`` or ``/batches`` request: ``(body, content type)``.

        Raises:
            DeskError: unknown route or object, or an invalid request.
        """
        parts = route.strip("/").split("/")
        if method == "POST" and parts == ["files"]:
            return self._json(self._upload(headers, raw))
        if method == "GET" and len(parts) == 2 and parts[0] == "files":
            return self._json(self._file(parts[1]).to_dict())
        if method == "GET" and len(parts) == 3 and parts[0] == "files" and parts[2] == "content":
            return self._file(parts[1]).data, "application/octet-stream"
        if method == "POST" and parts == ["batches"]:
            return self._json(self._create(body))
        if method == "GET" and len(parts) == 2 and parts[0] == "batches":
            return self._json(self._read(parts[1]))
        if method == "POST" and len(parts) == 3 and parts[0] == "batches" and parts[2] == "cancel":
            return self._json(self._cancel(parts[1]))
        raise DeskError(404, f"Invalid URL ({method} /v1{route})")

    @staticmethod
    def _json(value: Any) -> tuple[bytes, str]:
        return _wire.dumps(value), "application/json"

    # -- files ----------------------------------------------------------------------------------

    def _upload(self, headers: Mapping[str, str], raw: bytes) -> dict[str, Any]:
        fields = parse_multipart(headers.get("content-type", ""), raw)
        purpose = fields.get("purpose", (None, b""))[1].decode("utf-8", "replace")
        if "file" not in fields:
            raise DeskError(400, "Missing required parameter: 'file'.")
        if purpose not in ("batch", "fine-tune", "assistants", "user_data", "vision"):
            raise DeskError(400, f"Invalid value for 'purpose': {purpose!r}.")
        filename, data = fields["file"]
        return self._store(filename or "upload", purpose, data).to_dict()

    def _store(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        stored = StoredFile(
            f"file-{len(self.files) + 1:06d}", filename, purpose, data, int(time.time())
        )
        self.files[stored.id] = stored
        return stored

    def _file(self, file_id: str) -> StoredFile:
        found = self.files.get(file_id)
        if found is None:
            raise DeskError(404, f"No such File object: {file_id}")
        return found

    # -- batches --------------------------------------------------------------------------------

    def _create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise DeskError(400, "The request body must be a JSON object.")
        endpoint = body.get("endpoint")
        if endpoint not in _ENDPOINTS:
            raise DeskError(
                400, f"Invalid 'endpoint': {endpoint!r} (this server batches {sorted(_ENDPOINTS)})."
            )
        if body.get("completion_window") != "24h":
            raise DeskError(400, "Invalid 'completion_window': only '24h' is supported.")
        source = self._file(str(body.get("input_file_id")))
        if source.purpose != "batch":
            raise DeskError(400, f"File {source.id} has purpose {source.purpose!r}, not 'batch'.")
        number = len(self.batches) + 1
        batch = Batch(
            id=f"batch_{number:06d}",
            number=number,
            endpoint=str(endpoint),
            input_file_id=source.id,
            metadata=dict(body.get("metadata") or {}),
            outcome=self.outcomes.get(number, "completed"),
            created_at=int(time.time()),
        )
        self._validate(batch, source)
        self.batches[batch.id] = batch
        return batch.to_dict()

    def _validate(self, batch: Batch, source: StoredFile) -> None:
        """Parse the input file; problems become ``errors`` and fail the batch at its first read."""
        errors = batch.errors
        if len(source.data) > self.max_bytes:
            errors.append(_error("file_too_large", f"over {self.max_bytes} bytes"))
            return
        seen: set[str] = set()
        models: set[str] = set()
        for number, text in enumerate(source.data.decode("utf-8", "replace").splitlines(), 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except ValueError:
                errors.append(_error("invalid_json_line", "not valid JSON", number))
                continue
            problem = _line_problem(line, batch.endpoint, seen)
            if problem is not None:
                errors.append(_error("invalid_request", problem, number))
                continue
            seen.add(line["custom_id"])
            models.add(line["body"]["model"])
            batch.lines.append(line)
        if not batch.lines and not errors:
            errors.append(_error("empty_file", "the input file holds no request"))
        if len(batch.lines) > self.max_requests:
            errors.append(
                _error("too_many_requests", f"{len(batch.lines)} requests > {self.max_requests}")
            )
        if len(models) > 1:
            errors.append(_error("mixed_models", f"one model per batch, found {sorted(models)}"))
        batch.model = next(iter(models), None)

    def _read(self, batch_id: str) -> dict[str, Any]:
        batch = self._batch(batch_id)
        if batch.status in _OPEN:
            batch.reads += 1
            now = int(time.time())
            if batch.errors:
                self._finish(batch, "failed", now)
            elif batch.status == "cancelling":
                self._finish(batch, "cancelled", now)
            elif batch.reads > self.polls:
                self._finish(batch, batch.outcome, now)
            else:
                batch.status = "in_progress"
                batch.stamps.setdefault("in_progress_at", now)
        return batch.to_dict()

    def _cancel(self, batch_id: str) -> dict[str, Any]:
        batch = self._batch(batch_id)
        if batch.status not in _OPEN:
            raise DeskError(409, f"Cannot cancel a batch with status '{batch.status}'.")
        batch.status = "cancelling"
        batch.stamps["cancelling_at"] = int(time.time())
        return batch.to_dict()

    def _batch(self, batch_id: str) -> Batch:
        found = self.batches.get(batch_id)
        if found is None:
            raise DeskError(404, f"No batch found with id '{batch_id}'.")
        return found

    def _finish(self, batch: Batch, outcome: BatchOutcome, now: int) -> None:
        batch.status = outcome
        batch.stamps[f"{outcome}_at"] = now
        if outcome == "failed":
            if not batch.errors:
                batch.errors.append(_error("batch_failed", "the batch failed (scripted)"))
            return
        answered = len(batch.lines) if outcome == "completed" else len(batch.lines) // 2
        outputs: list[bytes] = []
        failures: list[bytes] = []
        for index, line in enumerate(batch.lines):
            request_id = f"batch_req_{batch.number:06d}_{index + 1:06d}"
            record: dict[str, Any] = {"id": request_id, "custom_id": line["custom_id"]}
            if index >= answered:
                code, message = _UNFINISHED_LINE[outcome]
                record.update(response=None, error={"code": code, "message": message})
                failures.append(_wire.dumps(record) + b"\n")
                continue
            status, body = self.answer(_ENDPOINTS[batch.endpoint], line["body"])
            record.update(
                response={"status_code": status, "request_id": f"req_{request_id}", "body": body},
                error=None,
            )
            (outputs if status == 200 else failures).append(_wire.dumps(record) + b"\n")
        batch.completed = len(outputs)
        batch.failed = len(failures)
        if outputs:
            stored = self._store(f"{batch.id}_output.jsonl", "batch_output", b"".join(outputs))
            batch.output_file_id = stored.id
        if failures:
            stored = self._store(f"{batch.id}_error.jsonl", "batch_output", b"".join(failures))
            batch.error_file_id = stored.id


def _error(code: str, message: str, line: int | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": None, "line": line}


def _line_problem(line: Any, endpoint: str, seen: set[str]) -> str | None:
    if not isinstance(line, dict):
        return "each line must be a JSON object"
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return "missing 'custom_id'"
    if custom_id in seen:
        return f"duplicate custom_id {custom_id!r}"
    if line.get("method") != "POST":
        return "'method' must be 'POST'"
    if line.get("url") != endpoint:
        return f"'url' {line.get('url')!r} does not match the batch endpoint {endpoint!r}"
    body = line.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return "'body' must be an object with a 'model'"
    if body.get("stream"):
        return "streaming is not supported in a batch"
    return None


def parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """``{field: (filename, value)}`` of a ``multipart/form-data`` body.

    Raises:
        DeskError: not multipart, or no boundary.
    """
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise DeskError(400, f"Expected multipart/form-data, found {content_type!r}.")
    boundary = ""
    for param in params.split(";"):
        key, _, text = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = text.strip('"')
    if not boundary:
        raise DeskError(400, "multipart/form-data without a boundary.")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in raw.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, _, value = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        name: str | None = None
        filename: str | None = None
        for header in head.decode("utf-8", "replace").split("\r\n"):
            if header.lower().startswith("content-disposition:"):
                for item in header.split(";")[1:]:
                    key, _, text = item.strip().partition("=")
                    if key == "name":
                        name = text.strip('"')
                    elif key == "filename":
                        filename = text.strip('"')
        if name is not None:
            fields[name] = (filename, value.removesuffix(b"\r\n"))
    return fields
