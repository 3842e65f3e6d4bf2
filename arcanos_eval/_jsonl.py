"""How every JSONL file of ours is written: one sorted-key line per record, whole files atomically.

A leaf: the run log, the golden store and the cache all write through it, and it imports nothing of
the package but :mod:`arcanos_eval._redact` (a leaf too).

Every line is strict JSON: a number that is not finite (``NaN``, ``Infinity``), which no JSON
reader but Python's accepts, is written as ``null``; the values that come from servers are checked
where they come in (a target's answer, a parsed answer text), so this only guards what slips past.
The value of every configured key variable is masked in every line (see
:mod:`arcanos_eval._redact`): whatever path a key took, it reaches no file.

Records that are evidence (golden recordings, run-log results) are *sealed*: the canonical line
(:func:`dump_line`) gets one more key, ``"sha256"``, last, the hex SHA-256 of the canonical line
without it (UTF-8, no newline). A hand edit of any value (an answer, a latency, a token count) then
no longer matches. It is evidence of an edit, not a signature: whoever recomputes the hash can
rewrite a record, so the files stay under review like code.

Every line is valid UTF-8. Text that UTF-8 cannot encode (a lone surrogate such as ``"\\ud800"``,
which a JSON string escape from a suite or a server answer can produce) is written as U+FFFD, the
replacement character, rather than failing the write mid-run: a log is then always readable, and
everything rendered from it (reports, JUnit XML) sees only valid text. :func:`dump_line_counted`
says how many characters were replaced, so a writer can say so; the seal covers the line as
written.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from arcanos_eval._redact import mask_configured

__all__ = [
    "HASH_KEY",
    "SealState",
    "dump_line",
    "dump_line_counted",
    "seal_line",
    "seal_state",
    "write_atomic",
]

HASH_KEY = "sha256"
# What the hash says of a stored line: it matches, there is none (written before records were
# sealed), or it does not match (the line was edited after it was written).
SealState = Literal["sealed", "unsealed", "edited"]


# Code points UTF-8 cannot encode. With ``ensure_ascii=False`` they reach the line as themselves,
# and only inside JSON strings (keys or values), so replacing them keeps the line valid JSON.
_SURROGATE = re.compile("[\ud800-\udfff]")


def dump_line_counted(record: Mapping[str, Any]) -> tuple[str, int]:
    """:func:`dump_line`, and how many unencodable characters (lone surrogates) it replaced."""
    try:
        line = _dumps(record)
    except ValueError:  # NaN or Infinity somewhere: JSON has no such numbers
        line = _dumps(_finite(record))
    line = mask_configured(line) + "\n"
    if not line.isascii():
        try:
            line.encode("utf-8")  # three times faster than searching for a surrogate
        except UnicodeEncodeError:
            return _SURROGATE.subn("\ufffd", line)
    return line, 0


def dump_line(record: Mapping[str, Any]) -> str:
    """One JSONL line with sorted keys: the form every file of ours is written in.

    Strict JSON in UTF-8 (see the module docstring): a non-finite number is written as ``null``,
    a lone surrogate in any string as U+FFFD; configured key values are masked.
    """
    return dump_line_counted(record)[0]


def _dumps(record: Any) -> str:
    return json.dumps(
        record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def _finite(value: Any) -> Any:
    """A copy of ``value`` with every non-finite float replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def seal_line(line: str) -> str:
    """A :func:`dump_line` line of a non-empty object, with its content hash appended as the last
    key."""
    body = line.rstrip("\n")
    return f'{body[:-1]},"{HASH_KEY}":"{_digest(body)}"}}\n'


def seal_state(line: str | bytes, record: Mapping[str, Any]) -> SealState:
    """Whether ``line`` (as read, ``record`` its parsed form) still holds what was sealed.

    A line as :func:`seal_line` wrote it is checked by hashing its bytes before the hash in place:
    no second serialisation, no copy when ``line`` is the bytes read. Only a line that does not
    match so (rewritten with other spacing or key order, or edited) is serialised again to tell
    the two apart.
    """
    stored = record.get(HASH_KEY)
    if stored is None:
        return "unsealed"
    if not isinstance(stored, str):
        return "edited"
    data = line if isinstance(line, bytes) else line.encode("utf-8")
    end = len(data) - (2 if data.endswith(b"\r\n") else 1 if data.endswith(b"\n") else 0)
    tail = f',"{HASH_KEY}":"{stored}"}}'.encode()
    if data.endswith(tail, 0, end):
        digest = hashlib.sha256(memoryview(data)[: end - len(tail)])
        digest.update(b"}")
        if digest.hexdigest() == stored:
            return "sealed"
    content = {k: v for k, v in record.items() if k != HASH_KEY}
    return "sealed" if _digest(dump_line(content).rstrip("\n")) == stored else "edited"


def write_atomic(path: Path, lines: Iterator[str] | list[str]) -> None:
    """Write a whole file through a temporary sibling and a rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(lines)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
