"""Recorded answers: the golden store (committed, for offline CI) and the local response cache.

Golden files live at ``golden/<suite-id>/<target>.jsonl``, one record per line with sorted keys,
ordered by case id, repeat and fingerprint, so a re-recording shows up as a readable diff. Each
record carries the request it answers (system prompt and messages, never credentials) and its
provenance: endpoint, model, time, SDK version, latency and usage.

Each record is sealed when it is written: its last key, ``sha256``, hashes the rest of its line
(see :mod:`arcanos_eval._jsonl`), so an answer, a latency or a token count edited by hand shows.
A store never uses such a record: :meth:`GoldenStore.lookup` raises
:class:`~arcanos_eval.errors.GoldenIntegrityError` naming its file and line, and as much for a
record recorded before records were sealed (``arcanos-eval golden seal`` adds the hash) and for a
request recorded twice with different answers. Rewriting a file (record, prune) never seals a
record that was not sealed, nor repairs a broken hash: only ``golden seal`` seals, and only what
has no hash yet.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from arcanos_eval._jsonl import HASH_KEY, dump_line, seal_line, seal_state, write_atomic
from arcanos_eval.errors import ConfigError, GoldenIntegrityError, GoldenStoreError, RunLogError
from arcanos_eval.model import Response

__all__ = [
    "CachedAnswer",
    "GoldenRecord",
    "GoldenStore",
    "Integrity",
    "IntegrityProblem",
    "ResponseCache",
]

# A record as read: ``sealed`` (its hash matches, or it was recorded by this store), ``unsealed``
# (no hash: recorded before records were sealed), ``edited`` (its hash does not match), or
# ``duplicate`` (its request recorded again, on another line, with another answer).
Integrity = Literal["sealed", "unsealed", "edited", "duplicate"]


@dataclass(frozen=True)
class GoldenRecord:
    """One recorded answer.

    A record read to replay (see ``GoldenStore(answers_only=True)``) holds its answer as a
    :class:`Response` already (``answer``) and none of the stored mappings.
    """

    case_id: str
    fingerprint: str
    repeat: int
    request: Mapping[str, Any]
    response: Mapping[str, Any]
    provenance: Mapping[str, Any] = field(default_factory=dict)
    answer: Response | None = field(default=None, compare=False, repr=False)
    # Read from a file: where, the hash stored there, and whether it matches (see ``Integrity``).
    # A record made to be written is ``sealed``: the store hashes it as it writes it.
    line: int | None = field(default=None, compare=False, repr=False)
    content_hash: str | None = field(default=None, compare=False, repr=False)
    integrity: Integrity = field(default="sealed", compare=False, repr=False)

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return (self.case_id, self.repeat, self.fingerprint)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "fingerprint": self.fingerprint,
            "repeat": self.repeat,
            "request": dict(self.request),
            "response": dict(self.response),
            "provenance": dict(self.provenance),
        }

    def to_line(self) -> str:
        """The record's line in a golden file: sealed when it is ``sealed``; otherwise as it was
        read, so a missing or broken hash stays visible after the file is rewritten."""
        if self.integrity == "sealed":
            return seal_line(dump_line(self.to_dict()))
        if self.content_hash is None:
            return dump_line(self.to_dict())
        return dump_line({**self.to_dict(), HASH_KEY: self.content_hash})

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        answer_only: bool = False,
        line: int | None = None,
        integrity: Integrity = "sealed",
    ) -> GoldenRecord:
        """The record as stored, or with ``answer_only`` just its key and its answer."""
        key = (str(data["case"]), str(data["fingerprint"]), int(data.get("repeat", 0)))
        stored = data.get(HASH_KEY)
        content_hash = stored if isinstance(stored, str) else None
        if answer_only:
            answer = Response.from_dict({**data["response"], "origin": "replayed"})
            return cls(
                *key,
                request={},
                response={},
                answer=answer,
                line=line,
                content_hash=content_hash,
                integrity=integrity,
            )
        return cls(
            *key,
            request=data.get("request") or {},
            response=data["response"],
            provenance=data.get("provenance") or {},
            line=line,
            content_hash=content_hash,
            integrity=integrity,
        )

    def as_response(self) -> Response:
        if self.answer is not None:
            return self.answer
        return Response.from_dict({**self.response, "origin": "replayed"})


@dataclass(frozen=True)
class IntegrityProblem:
    """A record of a golden file that must not be replayed: ``kind`` is ``edited``, ``unsealed``
    or ``duplicate`` (then ``other_line`` is the line recording the same request before it)."""

    kind: Literal["edited", "unsealed", "duplicate"]
    path: Path
    line: int
    case_id: str
    repeat: int
    other_line: int | None = None

    @property
    def where(self) -> str:
        lines = f"{self.other_line},{self.line}" if self.other_line else str(self.line)
        return f"{self.path}:{lines} case {self.case_id!r} repeat {self.repeat}"

    @property
    def detail(self) -> str:
        if self.kind == "edited":
            return "recorded answer was edited after recording (content hash mismatch)"
        if self.kind == "unsealed":
            return (
                "no content hash (recorded before records were sealed); "
                "review it and run arcanos-eval golden seal"
            )
        return f"the same request is recorded twice, on lines {self.other_line} and {self.line}"


class GoldenStore:
    """Read and write ``golden/<suite-id>/<target>.jsonl`` files.

    Reads are lazy (a file is parsed the first time one of its answers is needed); writes are
    staged with :meth:`put` and written, merged and sorted, by :meth:`flush`.

    ``answers_only`` keeps just what replaying needs of each record (key and answer), not the
    request and provenance, which are most of a recording (the system prompt, the messages, the
    response schema, again and again): a store that will not write saves most of its memory so.
    Such a store refuses :meth:`put`, :meth:`remove` and :meth:`put_schema`.
    """

    def __init__(self, root: Path, *, answers_only: bool = False) -> None:
        self.root = Path(root)
        _require_folder(self.root, "golden store", "golden")
        self.answers_only = answers_only
        self._files: dict[tuple[str, str], dict[tuple[str, int, str], GoldenRecord]] = {}
        self._problems: dict[tuple[str, str], list[IntegrityProblem]] = {}
        self._dirty: set[tuple[str, str]] = set()
        # What this store changed in each file, in order, to apply again at flush time on the
        # file as it is then: another process (a pytest-xdist worker) may have written it since.
        self._changes: dict[tuple[str, str], list[_Change]] = {}
        # Each file as this store last read or wrote it (see ``_stamp``): unchanged since, it
        # need not be read again before it is written.
        self._stamps: dict[tuple[str, str], tuple[int, int, int] | None] = {}
        # (suite, target, case, repeat, fingerprint) of every record this store staged.
        self._staged: set[tuple[str, str, str, int, str]] = set()
        self._schemas: dict[str, Mapping[str, Any]] = {}

    def path(self, suite_id: str, target: str) -> Path:
        # Both names are checked where they are written (suite ids by the suite schema, target
        # names by the config schema); a name made in code must not leave the store either.
        for name in (suite_id, target):
            if not name or name in (".", "..") or "/" in name or "\\" in name:
                raise ConfigError(f"{name!r} cannot name a golden file: expected a plain name")
        return self.root / suite_id / f"{target}.jsonl"

    def records(self, suite_id: str, target: str) -> dict[tuple[str, int, str], GoldenRecord]:
        """Every record of one file, keyed by (case id, repeat, fingerprint)."""
        key = (suite_id, target)
        if key not in self._files:
            path = self.path(suite_id, target)
            self._stamps[key] = _stamp(path)
            self._files[key], self._problems[key] = self._read(path, self.answers_only)
        return self._files[key]

    def problems(self, suite_id: str, target: str) -> list[IntegrityProblem]:
        """Every record of one file that must not be replayed, in line order."""
        self.records(suite_id, target)
        return self._problems[(suite_id, target)]

    @staticmethod
    def _read(
        path: Path, answers_only: bool = False
    ) -> tuple[dict[tuple[str, int, str], GoldenRecord], list[IntegrityProblem]]:
        out: dict[tuple[str, int, str], GoldenRecord] = {}
        problems: list[IntegrityProblem] = []
        try:
            # Bytes: the content hash is checked on the bytes read, not on a copy encoded again.
            handle = path.open("rb")
        except FileNotFoundError:
            return out, problems
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line.decode("utf-8"))
                    record = GoldenRecord.from_dict(
                        data,
                        answer_only=answers_only,
                        line=number,
                        integrity=seal_state(line, data),
                    )
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise RunLogError(f"{path}:{number}: not a golden record ({exc})") from None
                if record.integrity != "sealed":
                    problems.append(
                        IntegrityProblem(
                            "edited" if record.integrity == "edited" else "unsealed",
                            path,
                            number,
                            record.case_id,
                            record.repeat,
                        )
                    )
                earlier = out.get(record.sort_key)
                if earlier is not None:
                    problems.append(
                        IntegrityProblem(
                            "duplicate",
                            path,
                            number,
                            record.case_id,
                            record.repeat,
                            other_line=earlier.line,
                        )
                    )
                    record = _one_of(earlier, record)
                out[record.sort_key] = record
        return out, problems

    def lookup(
        self, suite_id: str, target: str, case_id: str, fingerprint: str, repeat: int
    ) -> GoldenRecord | None:
        """The recording of this exact request, or ``None``.

        Raises:
            GoldenIntegrityError: the recording was edited after it was recorded, was never
                sealed, or is recorded twice with different answers.
        """
        record = self.records(suite_id, target).get((case_id, repeat, fingerprint))
        if record is not None and record.integrity != "sealed":
            raise GoldenIntegrityError(self._refusal(self.path(suite_id, target), record))
        return record

    @staticmethod
    def _refusal(path: Path, record: GoldenRecord) -> str:
        where = f"{_shown(path)}:{record.line}"
        what = f"case {record.case_id!r} repeat {record.repeat}"
        if record.integrity == "edited":
            return (
                f"{where}: recorded answer was edited after recording (content hash mismatch), "
                f"{what}; restore the line from version control, or delete it and record it again "
                "with --mode record (arcanos-eval golden verify lists every such record)"
            )
        if record.integrity == "unsealed":
            return (
                f"{where}: {what} has no content hash (recorded before golden records were "
                "sealed); review the recordings and run arcanos-eval golden seal"
            )
        return (
            f"{where}: {what} is recorded more than once with different answers; keep one "
            "(arcanos-eval golden verify lists every duplicate)"
        )

    def put(self, suite_id: str, target: str, record: GoldenRecord, *, replace_case: bool) -> bool:
        """Stage ``record``; with ``replace_case`` older recordings of the same case and repeat
        (an outdated request) are dropped. Returns whether this store had not staged a record of
        the same request yet (two identical calls in flight at once are recorded once)."""
        self._writable()
        staged = (suite_id, target, *record.sort_key)
        new = staged not in self._staged
        self._staged.add(staged)
        change = _Change(put=record, replace_case=replace_case)
        change.apply(self.records(suite_id, target))
        self._changes.setdefault((suite_id, target), []).append(change)
        self._dirty.add((suite_id, target))
        return new

    def schema_path(self, suite_id: str) -> Path:
        return self.root / suite_id / "schema.json"

    def schema_of_record(self, suite_id: str) -> dict[str, Any] | None:
        """The response schema the recordings of ``suite_id`` were made under, if any."""
        try:
            data = json.loads(self.schema_path(suite_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise RunLogError(f"{self.schema_path(suite_id)}: not JSON ({exc})") from None
        return data if isinstance(data, dict) else None

    def put_schema(self, suite_id: str, schema: Mapping[str, Any]) -> None:
        """Stage the schema of record of ``suite_id`` (written by :meth:`flush`)."""
        self._writable()
        self._schemas[suite_id] = schema

    def _writable(self) -> None:
        if self.answers_only:
            raise GoldenStoreError(
                f"{self.root}: this golden store was opened to replay, not to write"
            )

    def flush(self) -> list[Path]:
        """Write every changed file (sorted, atomic). Returns the paths written.

        Each file is read again and this store's changes applied to it under a lock on the store's
        folder, so stores of several processes recording at once (pytest-xdist workers) each add
        their records to what the others wrote, and none writes over them.
        """
        if not self._schemas and not self._dirty:
            return []
        written = []
        with _locked(self.root):
            for suite_id, schema in sorted(self._schemas.items()):
                path = self.schema_path(suite_id)
                write_atomic(path, [json.dumps(schema, indent=2, sort_keys=True) + "\n"])
                written.append(path)
            self._schemas.clear()
            for key in sorted(self._dirty):
                path = self.path(*key)
                changes = self._changes.pop(key, ())
                if _stamp(path) != self._stamps.get(key):  # written by another store since
                    records, self._problems[key] = self._read(path)
                    for change in changes:
                        change.apply(records)
                    self._files[key] = records
                records = self._files[key]
                if not records:  # pruned empty: no file rather than an empty one
                    path.unlink(missing_ok=True)
                else:
                    write_atomic(path, [r.to_line() for _, r in sorted(records.items())])
                    written.append(path)
                self._stamps[key] = _stamp(path)
            self._dirty.clear()
        return written

    def iter_files(self) -> Iterator[tuple[str, str, Path]]:
        """(suite id, target, path) of every golden file on disk."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*/*.jsonl")):
            yield path.parent.name, path.stem, path

    def remove(self, suite_id: str, target: str, keys: set[tuple[str, int, str]]) -> int:
        """Drop records by key (for ``golden prune``); returns how many were dropped."""
        self._writable()
        records = self.records(suite_id, target)
        dropped = sum(key in records for key in keys)
        if dropped:
            change = _Change(remove=frozenset(keys))
            change.apply(records)
            self._changes.setdefault((suite_id, target), []).append(change)
            self._dirty.add((suite_id, target))
        return dropped


@dataclass(frozen=True)
class _Change:
    """One change a store made to a golden file: a record put (``replace_case``: dropping older
    recordings of its case and repeat), or records removed by key."""

    put: GoldenRecord | None = None
    replace_case: bool = False
    remove: frozenset[tuple[str, int, str]] = frozenset()

    def apply(self, records: dict[tuple[str, int, str], GoldenRecord]) -> None:
        for key in self.remove:
            records.pop(key, None)
        record = self.put
        if record is None:
            return
        if self.replace_case:
            for key in [k for k in records if k[0] == record.case_id and k[1] == record.repeat]:
                del records[key]
        records[record.sort_key] = record


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What tells one version of a file from another: inode, size and modification time
    (``None``: no file). Every write replaces the file, so another writer changes its inode."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (made if missing) while the block runs. Without POSIX
    locks (Windows) the block runs unlocked: there, one process records into a store at a time."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _one_of(earlier: GoldenRecord, later: GoldenRecord) -> GoldenRecord:
    """The record kept for a request recorded on two lines: the later one, refused when either
    line is or when the two answers differ (no way to tell which one was recorded)."""
    if later.integrity != "sealed":
        return later
    if earlier.integrity != "sealed":
        return replace(later, integrity=earlier.integrity)
    if earlier.content_hash != later.content_hash:
        return replace(later, integrity="duplicate")
    return later


def _require_folder(path: Path, what: str, setting: str) -> None:
    """A store's folder may be missing (it is made on first write), but not be a file: every read
    under it would fail with ``NotADirectoryError``."""
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                found = "is a file" if folder == path else f"lies under {_shown(folder)}, a file"
                raise ConfigError(
                    f"{what} {_shown(path)} {found}, expected a folder: set [tool.arcanos_eval] "
                    f"{setting} (or --{setting}) to a folder"
                )
            return


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when inside it, as a user would type it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


@dataclass(frozen=True)
class CachedAnswer:
    """An answer the local cache holds, and the provenance of the call that produced it
    (``None`` for an entry written before the cache kept provenance)."""

    response: Response
    provenance: Mapping[str, Any] | None


class ResponseCache:
    """A local, append-only cache of live answers: ``<dir>/responses.jsonl``.

    Keyed by endpoint, request fingerprint and repeat; each entry keeps the answer and the
    provenance of its call (endpoint, model, time, SDK version, latency, usage), so that ``record``
    can turn it into a golden record as if it had made the call. Errored answers are never cached.
    The file is read once, on first use; a torn last line (a killed process) is ignored.
    """

    def __init__(self, directory: Path) -> None:
        _require_folder(Path(directory), "response cache", "cache")
        self.path = Path(directory) / "responses.jsonl"
        self._entries: (
            dict[tuple[str, str, int], tuple[dict[str, Any], dict[str, Any] | None]] | None
        ) = None

    def _load(self) -> dict[tuple[str, str, int], tuple[dict[str, Any], dict[str, Any] | None]]:
        if self._entries is None:
            self._entries = {}
            try:
                handle = self.path.open(encoding="utf-8")
            except FileNotFoundError:
                return self._entries
            with handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                        key = (entry["endpoint"], entry["fingerprint"], int(entry["repeat"]))
                        provenance = entry.get("provenance")
                        self._entries[key] = (
                            dict(entry["response"]),
                            dict(provenance) if isinstance(provenance, dict) else None,
                        )
                    except (ValueError, KeyError, TypeError):
                        continue
        return self._entries

    def entry(self, endpoint: str, fingerprint: str, repeat: int) -> CachedAnswer | None:
        """The cached answer to this request, with the provenance of its call, or ``None``."""
        found = self._load().get((endpoint, fingerprint, repeat))
        if found is None:
            return None
        data, provenance = found
        return CachedAnswer(Response.from_dict({**data, "origin": "cached"}), provenance)

    def get(self, endpoint: str, fingerprint: str, repeat: int) -> Response | None:
        found = self.entry(endpoint, fingerprint, repeat)
        return None if found is None else found.response

    def put(
        self,
        endpoint: str,
        fingerprint: str,
        repeat: int,
        response: Response,
        provenance: Mapping[str, Any] | None = None,
    ) -> None:
        if response.errored:
            return
        data = response.to_dict()
        kept = dict(provenance) if provenance is not None else None
        self._load()[(endpoint, fingerprint, repeat)] = (data, kept)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry: dict[str, Any] = {
            "endpoint": endpoint,
            "fingerprint": fingerprint,
            "repeat": repeat,
            "response": data,
        }
        if kept is not None:
            entry["provenance"] = kept
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(dump_line(entry))
