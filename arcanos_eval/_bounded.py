"""Read files written by others with bounded time and memory, whatever their bytes are.

Suites and pyproject.toml are written by many people, and may be written by an attacker. Here:

* a path is refused by its type *before* it is opened for reading (a FIFO would block the run
  forever, a symlink to ``/dev/zero`` would read until memory runs out), then read up to a size
  limit (:func:`read_text`);
* a JSON or YAML document nests at most :data:`MAX_DEPTH` lists and mappings deep (the parsers,
  ``jsonschema`` and every writer after them recurse) and holds at most :data:`MAX_CONTAINERS` of
  them; YAML aliases may not expand it by more than :data:`MAX_ALIASED` values (an alias bomb is a
  1 KB file that expands to a billion), and an alias inside its own anchor is refused;
* duplicate keys, NaN and infinities, integers over Python's conversion limit (4,300 digits) and
  lone surrogates (``"\\ud800"``, which no UTF-8 file or run log can hold) are errors at load, so
  that ``validate`` and ``run`` agree on what a file means.

Every problem is a :class:`DocumentError` with the line it is on; the caller turns it into its own
one-line error naming the file (:class:`~arcanos_eval.errors.SuiteError`, ``ConfigError``).
YAML is read by :mod:`arcanos_eval._bounded_yaml` within the same bounds.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
from collections.abc import Callable, Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any

from arcanos_eval.errors import ArcanosError, quote, shorten

__all__ = [
    "MAX_ALIASED",
    "MAX_CONTAINERS",
    "MAX_DEPTH",
    "DocumentError",
    "check_json_lines",
    "file_kind",
    "load_json",
    "read_text",
]

JsonPath = tuple[Any, ...]

# Real suites nest about 10 deep (a case, its messages, a content part; a tool's JSON Schema a few
# more). 64 is far above that and far below where a recursive walker (jsonschema, json.dumps,
# deepdiff) runs out of stack, even when it is called from deep inside pytest.
MAX_DEPTH = 64
# A 10 MB suite of 20,000 realistic cases holds about 140,000 lists and mappings; a file of
# nothing but empty ones (``[{},{},...]``) would hold 3 million and take over 200 MB in memory.
MAX_CONTAINERS = 500_000
# Values that YAML aliases may add to a document beyond those written out (a referenced block of
# checks in every case adds a few per case); an alias bomb adds billions.
MAX_ALIASED = 100_000


class DocumentError(ArcanosError, ValueError):
    """A file refused, or a document that breaks one of this module's bounds or rules.

    Callers turn it into their own error naming the file.

    Attributes:
        problem: what is wrong, on one line (``nesting deeper than 64 levels``).
        line: the line it is on, when known.
        path: the JSON path of the value concerned, when known (YAML knows it).
        containers: the lists and mappings open around the value, from the root down (a YAML
            document still being read: the caller finds the case id in them).
    """

    def __init__(
        self,
        problem: str,
        line: int | None = None,
        path: JsonPath | None = None,
        containers: Sequence[Any] = (),
    ) -> None:
        self.problem = problem
        self.line = line
        self.path = path
        self.containers = tuple(containers)
        super().__init__(f"line {line}: {problem}" if line is not None else problem)


# ----------------------------------------------------------------------------- files

_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
# Non-blocking, so that a FIFO swapped in after the type check cannot block the open; no
# controlling terminal from a tty.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def file_kind(mode: int) -> str | None:
    """``"a named pipe (FIFO)"`` for a FIFO's ``st_mode`` (and so on); ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _check_file(path: Path, info: os.stat_result, limit: int) -> None:
    kind = file_kind(info.st_mode)
    if kind is not None:
        through = ""
        if os.path.islink(path):
            through = f" (through a symlink to {os.path.realpath(path)})"
        raise DocumentError(f"{kind}{through}, not a regular file: refused without reading it")
    if info.st_size > limit:
        raise DocumentError(_too_large(info.st_size, limit))


def _too_large(size: int, limit: int) -> str:
    return (
        f"file too large: {size:,} bytes, over the limit of {limit:,} bytes ({limit / 2**20:g} MiB)"
    )


def read_text(path: str | Path, *, limit: int) -> str:
    """The UTF-8 text of the regular file at ``path`` (symlinks followed), at most ``limit`` bytes.

    Line ends are read as Python's text mode reads them (``\\r\\n`` and ``\\r`` become ``\\n``).

    Raises:
        DocumentError: missing or unreadable; a FIFO, device, socket or folder (refused by its type
            before it is opened, and again by the type of what was opened); more than ``limit``
            bytes; not UTF-8 (with the line of the first bad byte).
    """
    path = Path(path)
    try:
        _check_file(path, os.stat(path), limit)
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise DocumentError("file not found") from None
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        try:
            # What was opened may not be what was checked: the path can change in between.
            opened = os.fstat(file.fileno())
            _check_file(path, opened, limit)
            # read(n) allocates n bytes at once: ask for the size the file has (and one byte
            # more, to see it grow), not for the limit.
            data = file.read(opened.st_size + 1)
            if len(data) > opened.st_size:
                data += file.read(limit + 1 - len(data))
        except OSError as exc:
            raise DocumentError(f"cannot read file: {exc.strerror}") from None
    if len(data) > limit:  # it grew after the check
        raise DocumentError(_too_large(len(data), limit))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DocumentError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", line) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# ----------------------------------------------------------------------------- shared rules

_SURROGATE = re.compile("[\ud800-\udfff]")
_INT_DIGITS: int = getattr(sys, "get_int_max_str_digits", lambda: 0)()


def _nesting(limit: int = MAX_DEPTH) -> str:
    return f"nesting deeper than {limit} levels of lists and mappings"


def _too_many_containers() -> str:
    return f"more than {MAX_CONTAINERS:,} lists and mappings in one file: split it"


def _non_finite(shown: str) -> str:
    return f"expected a finite number, found {shown}"


def _lone_surrogate(text: str) -> str:
    found = _SURROGATE.search(text)
    code = f"\\u{ord(found.group()):04x}" if found else "?"
    return f"invalid Unicode: lone surrogate {code} in text {quote(text, 40)}"


def _big_int(digits: int) -> str:
    return f"expected a number of at most {_INT_DIGITS:,} digits, found one of {digits:,} digits"


def _duplicate(key: Any, first: int | None, again: int | None) -> str:
    shown = quote(key) if isinstance(key, str) else shorten(repr(key))
    if first is None or again is None:
        return f"key {shown} defined twice in one mapping"
    return f"key {shown} defined on line {first} and again on line {again}"


# ----------------------------------------------------------------------------- JSON

_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_JSON_STRING = re.compile(_STRING, re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")
_JSON_TOKEN = re.compile(rf'{_STRING}|[{{}}\[\]:,]|[^\s"{{}}\[\]:,]+', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class _Signal(ArcanosError):
    """Raised by a json hook and caught by :func:`load_json`, which finds the line."""

    def __init__(self, kind: str, detail: Any = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Signal("duplicate", key)
            seen.add(key)
    return value


def _constant(token: str) -> float:
    raise _Signal("non-finite", token)


def _float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _Signal("non-finite", token)
    return value


def load_json(text: str, *, first_line: int = 1, depth: int = 0) -> Any:
    """Parse one JSON document within this module's bounds.

    Args:
        text: the document.
        first_line: the line ``text`` starts on in its file (a JSONL line), for error lines.
        depth: the lists and mappings the document will sit in (a JSONL case sits in the suite
            and its ``cases``: 2), counted against :data:`MAX_DEPTH`.

    Raises:
        DocumentError: invalid JSON, or a document breaking a bound or rule (see the module
            docstring); ``line`` is the line of the problem when it can be found.
    """
    if text.startswith("\ufeff"):  # a byte order mark, as Windows editors write them
        text = text[1:]
    _check_json_nesting(text, first_line, MAX_DEPTH - depth)
    try:
        data = _DECODER(text)
    except _Signal as signal:
        raise _located(text, first_line, signal) from None
    except RecursionError:  # the nesting check missed (a malformed document); never a traceback
        raise DocumentError(_nesting(), None) from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            line = exc.lineno + first_line - 1
            # "Invalid control character at": the json module ends some messages with "at".
            where = f" column {exc.colno}" if exc.msg.endswith(" at") else ""
            raise DocumentError(f"invalid JSON: {exc.msg}{where}", line) from None
        found = _find_token(text, first_line, _is_big_int)
        if found is None:
            raise DocumentError(f"invalid JSON: {exc}") from None
        token, line = found
        raise DocumentError(_big_int(len(token.lstrip("-"))), line) from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(data):
        lone = _find_token(text, first_line, _is_lone_surrogate_string)
        shown = _decode_string(lone[0]) if lone is not None else ""
        raise DocumentError(_lone_surrogate(shown), lone[1] if lone is not None else None)
    return data


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float
).decode


def _check_json_nesting(text: str, first_line: int, limit: int) -> None:
    # Fast path: a document with few brackets cannot nest deep nor hold many containers.
    opening = text.count("[") + text.count("{")
    if opening <= limit:
        return
    outside = _JSON_STRING.sub("", text)
    if opening > MAX_CONTAINERS and outside.count("[") + outside.count("{") > MAX_CONTAINERS:
        raise DocumentError(_too_many_containers(), first_line)
    brackets = _JSON_BRACKET.findall(outside)
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) <= limit:
        return
    depth = 0
    for token, line in _tokens(text, first_line):
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                raise DocumentError(_nesting(), line)
        elif token in ("]", "}"):
            depth -= 1
    raise DocumentError(_nesting(), None)  # pragma: no cover - the scan above finds it


def check_json_lines(text: str) -> None:
    """Refuse a JSONL text whose lines hold more than :data:`MAX_CONTAINERS` lists and mappings
    in all (:func:`load_json` bounds each line alone)."""
    if text.count("[") + text.count("{") <= MAX_CONTAINERS:
        return
    outside = _JSON_STRING.sub("", text)
    if outside.count("[") + outside.count("{") > MAX_CONTAINERS:
        raise DocumentError(_too_many_containers(), None)


def _tokens(text: str, first_line: int) -> Any:
    """Every JSON token of ``text`` with its line (slow: only for locating an error)."""
    line, last = first_line, 0
    for match in _JSON_TOKEN.finditer(text):
        start = match.start()
        line += text.count("\n", last, start)
        last = start
        yield match.group(), line


def _find_token(
    text: str, first_line: int, wanted: Callable[[str], bool]
) -> tuple[str, int] | None:
    return next(((t, line) for t, line in _tokens(text, first_line) if wanted(t)), None)


def _is_big_int(token: str) -> bool:
    digits = token.lstrip("-")
    return _INT_DIGITS > 0 and digits.isdigit() and len(digits) > _INT_DIGITS


def _decode_string(token: str) -> str:
    try:
        value = json.loads(token)
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""


def _is_lone_surrogate_string(token: str) -> bool:
    return (
        token.startswith('"')
        and _SURROGATE_ESCAPE.search(token) is not None
        and _SURROGATE.search(_decode_string(token)) is not None
    )


def _is_non_finite(token: str) -> bool:
    if token in ("NaN", "Infinity", "-Infinity"):
        return True
    if token[:1] not in "-0123456789" or not any(c in token for c in ".eE"):
        return False
    try:
        return not math.isfinite(float(token))
    except ValueError:
        return False


def _located(text: str, first_line: int, signal: _Signal) -> DocumentError:
    if signal.kind == "non-finite":
        found = _find_token(text, first_line, _is_non_finite)
        return DocumentError(_non_finite(str(signal.detail)), found[1] if found else None)
    # A duplicate key: the first object (in text order) that holds one, with both lines.
    objects: list[dict[str, int]] = []
    key: str | None = None
    for token, line in _tokens(text, first_line):
        if token == "{":
            objects.append({})
        elif token == "}":
            if objects:
                objects.pop()
        elif token == ":" and key is not None and objects:
            keys = objects[-1]
            if key in keys:
                return DocumentError(_duplicate(key, keys[key], line), line)
            keys[key] = line
        if token.startswith('"'):
            key = _decode_string(token)
        elif token != ":":
            key = None
    return DocumentError(_duplicate(signal.detail, None, None), None)


def _has_lone_surrogate(data: Any) -> bool:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
