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
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
from array import array
from collections.abc import Callable, Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from arcanos_eval.errors import ArcanosError, quote, shorten

__all__ = [
    "MAX_ALIASED",
    "MAX_CONTAINERS",
    "MAX_DEPTH",
    "DocumentError",
    "YamlLines",
    "check_json_lines",
    "file_kind",
    "load_json",
    "load_yaml",
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


# ----------------------------------------------------------------------------- YAML

_YamlLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_C_PARSER: type[Any] | None = getattr(yaml, "CParser", None)

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
_SEQUENCE_TAGS = frozenset({"!", "tag:yaml.org,2002:seq"})
_MAPPING_TAGS = frozenset({"!", "tag:yaml.org,2002:map"})
_SCALAR_TAGS = frozenset(
    {
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:binary",
        "tag:yaml.org,2002:timestamp",
    }
)
_IMPLICIT: dict[Any, list[tuple[str, re.Pattern[str]]]] = _YamlLoader.yaml_implicit_resolvers
_NO_KEY: Any = object()  # a mapping waiting for its next key
_MERGE_KEY: Any = object()  # the `<<` key of a mapping


class YamlLines:
    """The line of each value of a YAML document, found through the document itself.

    Each list keeps an array of its items' lines and each mapping a dict of its keys' lines (the
    line a value's key is on), so the index costs a few bytes per value rather than a path tuple.
    """

    def __init__(self, data: Any, root_line: int, index: dict[int, Any]) -> None:
        self._data = data
        self._root_line = root_line
        self._index = index

    def line(self, path: Sequence[Any]) -> int:
        """The line of ``path``, or of its nearest ancestor with a known line."""
        found, value = self._root_line, self._data
        for part in path:
            index = self._index.get(id(value))
            if index is None:
                break
            if isinstance(value, dict):
                line = index.get(part) if _hashable(part) else None
                if line is None:
                    break
                value = value[part]
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(index):
                line, value = index[part], value[part]
            else:
                break
            found = line
        return found


def _hashable(value: Any) -> bool:
    return not isinstance(value, (list, dict, set))


class _Open:
    """A list or mapping being read."""

    __slots__ = (
        "anchor",
        "at",
        "height",
        "is_map",
        "key",
        "key_line",
        "line",
        "lines",
        "merges",
        "size",
        "value",
    )

    def __init__(self, is_map: bool, at: Any, anchor: str | None, line: int) -> None:
        self.is_map = is_map
        self.at = at  # the key or index in the parent (_NO_KEY for a collection used as a key)
        self.line = line
        self.anchor = anchor
        self.value: Any = {} if is_map else []
        self.lines: Any = {} if is_map else array("L")
        self.size = 1
        self.height = 1
        self.key: Any = _NO_KEY
        self.key_line = 0
        self.merges: list[Any] | None = None


def load_yaml(text: str) -> tuple[Any, YamlLines]:
    """Parse one YAML document (the safe subset) within this module's bounds, with its lines.

    The document is built straight from the parser's events, without the node graph PyYAML
    composes first: that graph took 210 MB for a 9.5 MB suite. Values are what PyYAML's safe
    loader makes of them (merge keys ``<<`` included), except that ``!!set``, ``!!omap`` and
    ``!!pairs`` are refused and an alias may not sit inside its own anchor.

    Raises:
        DocumentError: invalid YAML, or a document breaking a bound or rule of this module.
    """
    loader = _YamlLoader(text)
    try:
        return _YamlReader(loader).read()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DocumentError(_marked_problem(exc, text, line), line) from None
    except yaml.reader.ReaderError as exc:
        raise DocumentError(_reader_problem(exc), _reader_line(text, exc, loader)) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _marked_problem(exc: yaml.MarkedYAMLError, text: str, line: int | None) -> str:
    problem = exc.problem or exc.context or "malformed YAML"
    if problem == "exceeded maximum nesting depth":  # libyaml's own limit (1,000) came first
        return _nesting()
    if problem == "found invalid Unicode character escape code" and line is not None:
        # libyaml refuses a surrogate escape in a double-quoted scalar, as JSON suites do.
        escape = _SURROGATE_YAML_ESCAPE.search(text.split("\n", line)[line - 1])
        if escape is not None:
            return f"invalid Unicode: lone surrogate {escape.group().lower()} in quoted text"
    return f"invalid YAML: {problem}"


_SURROGATE_YAML_ESCAPE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F][0-9a-fA-F]{2}")


def _reader_problem(exc: yaml.reader.ReaderError) -> str:
    character = exc.character
    if isinstance(character, int):
        return f"invalid YAML: {exc.reason} (found U+{character:04X})"
    return f"invalid YAML: {exc.reason}"


def _reader_line(text: str, exc: yaml.reader.ReaderError, loader: Any) -> int:
    # libyaml counts bytes of the UTF-8 text, PyYAML's own reader characters.
    if _C_PARSER is not None and isinstance(loader, _C_PARSER):
        data = text.encode("utf-8", "surrogatepass")
        return data.count(b"\n", 0, exc.position) + 1
    return text.count("\n", 0, exc.position) + 1


class _YamlReader:
    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.stack: list[_Open] = []
        self.anchors: dict[str, tuple[Any, int, int, int]] = {}  # value, size, height, line
        self.index: dict[int, Any] = {}
        self.containers = 0
        self.aliased = 0
        self.root: Any = None
        self.root_line = 1

    def fail(self, problem: str, line: int | None, path: JsonPath | None = None) -> DocumentError:
        return DocumentError(problem, line, path, [frame.value for frame in self.stack])

    def path_of(self, depth: int) -> JsonPath | None:
        """The JSON path of the collection open at ``depth`` (``None`` inside a mapping key)."""
        parts = tuple(frame.at for frame in self.stack[1 : depth + 1])
        return None if any(p is _NO_KEY or p is _MERGE_KEY for p in parts) else parts

    def child_path(self) -> JsonPath | None:
        """The JSON path of the value about to be read (a key's: its mapping's)."""
        if not self.stack:
            return ()
        path = self.path_of(len(self.stack) - 1)
        if path is None:
            return None
        parent = self.stack[-1]
        if not parent.is_map:
            return (*path, len(parent.value))
        if parent.key is _NO_KEY:
            return path
        return None if parent.key is _MERGE_KEY else (*path, parent.key)

    def read(self) -> tuple[Any, YamlLines]:
        get_event = self.loader.get_event
        get_event()  # stream start
        if isinstance(get_event(), StreamEndEvent):
            return None, YamlLines(None, 1, {})
        stack = self.stack
        implicit = _IMPLICIT
        scalars = 0
        while True:
            event = get_event()
            kind = type(event)
            if kind is ScalarEvent:
                scalars += 1
                value = event.value
                # The common case inline (this loop runs once per value of a 10 MB file): text
                # that needs no tag resolution, no anchor, in a list or as a mapping's key/value.
                if (
                    stack
                    and event.tag is None
                    and event.anchor is None
                    and (not event.implicit[0] or value[:1] not in implicit)
                    and value.isascii()
                ):
                    parent = stack[-1]
                    key = parent.key
                    if not parent.is_map:
                        parent.size += 1
                        parent.value.append(value)
                        parent.lines.append(event.start_mark.line + 1)
                        continue
                    if key is _NO_KEY and value not in parent.value:
                        parent.size += 1
                        parent.key = value
                        parent.key_line = event.start_mark.line + 1
                        continue
                    if key is not _NO_KEY and key is not _MERGE_KEY:
                        parent.size += 1
                        parent.value[key] = value
                        parent.lines[key] = parent.key_line
                        parent.key = _NO_KEY
                        continue
                line = event.start_mark.line + 1
                self.attach(self.scalar(event, line), line, 1, 0, event.anchor)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                self.open(event, kind is MappingStartEvent)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                self.close(stack.pop())
            elif kind is AliasEvent:
                self.alias(event, scalars + self.containers)
            elif kind is DocumentEndEvent:
                break
        event = get_event()
        if not isinstance(event, StreamEndEvent):
            raise self.fail(
                "invalid YAML: expected a single document, found another one",
                event.start_mark.line + 1,
            )
        return self.root, YamlLines(self.root, self.root_line, self.index)

    # -- values

    def scalar(self, event: Any, line: int) -> Any:
        value: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return self.text(value, line)
            # A plain decimal integer (YAML 1.1 reads a leading 0 as octal: left to PyYAML).
            if value.isdigit() and value.isascii() and len(value) < 19 and value[0] != "0":
                return int(value)
            resolvers = _IMPLICIT.get(value[0] if value else "")
            if not resolvers:
                return self.text(value, line)
            tag = self.loader.resolve(yaml.ScalarNode, value, event.implicit)
        if tag in (_STR, _VALUE):
            return self.text(value, line)
        if tag == _MERGE:
            return _MERGE_KEY if self.expects_key() else value
        if tag not in _SCALAR_TAGS:
            raise self.fail(
                f"invalid YAML: unsupported tag {quote(tag)} (a suite holds text, numbers, "
                "booleans, null, lists and mappings)",
                line,
            )
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)
        try:
            result = self.loader.yaml_constructors[tag](self.loader, node)
        except ValueError as exc:
            digits = value.replace("_", "").lstrip("+-")
            if tag.endswith(":int") and digits.isdigit() and len(digits) > _INT_DIGITS > 0:
                raise self.fail(_big_int(len(digits)), line, self.child_path()) from None
            raise self.fail(f"invalid YAML: cannot read {quote(value)}: {exc}", line) from None
        if isinstance(result, float) and not math.isfinite(result):
            raise self.fail(_non_finite(value), line, self.child_path())
        return result

    def text(self, value: str, line: int) -> str:
        if not value.isascii() and _SURROGATE.search(value):
            raise self.fail(_lone_surrogate(value), line, self.child_path())
        return value

    def expects_key(self) -> bool:
        return bool(self.stack) and self.stack[-1].is_map and self.stack[-1].key is _NO_KEY

    def open(self, event: Any, is_map: bool) -> None:
        line = event.start_mark.line + 1
        tag = event.tag
        if tag is not None and tag not in (_MAPPING_TAGS if is_map else _SEQUENCE_TAGS):
            raise self.fail(
                f"invalid YAML: unsupported tag {quote(tag)} (use a plain list or mapping)", line
            )
        stack = self.stack
        if len(stack) >= MAX_DEPTH:
            raise self.fail(_nesting(), line, self.child_path())
        self.containers += 1
        if self.containers > MAX_CONTAINERS:
            raise self.fail(_too_many_containers(), line)
        if event.anchor is not None:
            self.check_anchor(event.anchor, line)
        at: Any = None
        if stack:
            parent = stack[-1]
            at = parent.key if parent.is_map else len(parent.value)
        stack.append(_Open(is_map, at, event.anchor, line))

    def close(self, frame: _Open) -> None:
        value = frame.value
        if frame.merges:
            merged: dict[Any, Any] = {}
            for merge in frame.merges:
                # `<<: [*a, *b]`: the first mapping named wins, as in PyYAML.
                for part in [merge] if isinstance(merge, dict) else reversed(merge):
                    merged.update(part)
            merged.update(value)
            value = merged
        elif frame.is_map and frame.key is not _NO_KEY:  # pragma: no cover - the parser pairs keys
            raise self.fail("invalid YAML: a key without a value", frame.key_line)
        self.index[id(value)] = frame.lines
        self.attach(value, frame.line, frame.size, frame.height, None, frame)

    def alias(self, event: Any, values: int) -> None:
        line = event.start_mark.line + 1
        name = event.anchor
        if name not in self.anchors:
            if any(frame.anchor == name for frame in self.stack):
                problem = f"alias *{shorten(name)} is inside its own anchor (a recursive alias)"
            else:
                problem = f"invalid YAML: alias *{shorten(name)} is used before its anchor"
            raise self.fail(problem, line, self.child_path())
        value, size, height, _ = self.anchors[name]
        if len(self.stack) + height > MAX_DEPTH:
            raise self.fail(_nesting(), line, self.child_path())
        self.aliased += size
        if self.aliased > MAX_ALIASED and self.aliased > values:
            raise self.fail(
                f"aliases expand the document by more than {MAX_ALIASED:,} values (an alias "
                "bomb?): write the values out, or refer to smaller anchors",
                line,
                self.child_path(),
            )
        self.attach(value, line, size, height, None)

    def check_anchor(self, name: str, line: int) -> None:
        if name in self.anchors or any(frame.anchor == name for frame in self.stack):
            first = self.anchors[name][3] if name in self.anchors else None
            where = f" (first on line {first})" if first is not None else ""
            raise self.fail(f"invalid YAML: anchor &{shorten(name)} defined twice{where}", line)

    def attach(
        self,
        value: Any,
        line: int,
        size: int,
        height: int,
        anchor: str | None,
        frame: _Open | None = None,
    ) -> None:
        """Put a finished value in its parent (as a key or a value), or make it the root."""
        if frame is not None and frame.anchor is not None:
            self.anchors[frame.anchor] = (value, size, height, line)
        elif anchor is not None:
            self.check_anchor(anchor, line)
            self.anchors[anchor] = (value, size, height, line)
        if not self.stack:
            self.root, self.root_line = value, line
            return
        parent = self.stack[-1]
        parent.size += size
        if height >= parent.height:
            parent.height = height + 1
        if not parent.is_map:
            parent.value.append(value)
            parent.lines.append(line)
            return
        key = parent.key
        if key is _NO_KEY:
            self.add_key(parent, value, line)
        elif key is _MERGE_KEY:
            if not (
                isinstance(value, dict)
                or (isinstance(value, list) and all(isinstance(v, dict) for v in value))
            ):
                raise self.fail(
                    "invalid YAML: expected a mapping or a list of mappings to merge after '<<'",
                    line,
                    self.path_of(len(self.stack) - 1),
                )
            if parent.merges is None:
                parent.merges = []
            parent.merges.append(value)
            parent.key = _NO_KEY
        else:
            parent.value[key] = value
            parent.lines[key] = parent.key_line
            parent.key = _NO_KEY

    def add_key(self, parent: _Open, key: Any, line: int) -> None:
        if key is _MERGE_KEY:
            parent.key, parent.key_line = key, line
            return
        if not _hashable(key):
            raise self.fail(
                "invalid YAML: a mapping key must be text or a number, found a "
                + ("mapping" if isinstance(key, dict) else "list"),
                line,
                self.path_of(len(self.stack) - 1),
            )
        if key in parent.value:
            where = self.path_of(len(self.stack) - 1)
            path = None if where is None else (*where, key)
            raise self.fail(_duplicate(key, parent.lines[key], line), line, path)
        parent.key, parent.key_line = key, line
