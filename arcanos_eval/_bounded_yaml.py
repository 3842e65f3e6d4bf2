"""Read YAML within the bounds of :mod:`arcanos_eval._bounded`, straight from the parser's events.

PyYAML composes a node graph before it builds values: 210 MB for a 9.5 MB suite, every alias of a
"billion laughs" expanded by the walkers after it, a recursive alias (``- &c [*c]``) a
``RecursionError``. Here values are built from the events as they come, with the lines of every
key and list item, and each bound is checked on the event that would break it: nesting, the
number of lists and mappings, the values aliases add, duplicate keys, NaN and infinities, huge
integers and lone surrogates.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
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

import arcanos_eval._bounded as limits
from arcanos_eval._bounded import (
    _INT_DIGITS,
    _SURROGATE,
    DocumentError,
    JsonPath,
    _big_int,
    _duplicate,
    _lone_surrogate,
    _nesting,
    _non_finite,
    _too_many_containers,
)
from arcanos_eval.errors import quote, shorten

__all__ = ["YamlLines", "load_yaml"]

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
        if len(stack) >= limits.MAX_DEPTH:
            raise self.fail(_nesting(), line, self.child_path())
        self.containers += 1
        if self.containers > limits.MAX_CONTAINERS:
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
        if len(self.stack) + height > limits.MAX_DEPTH:
            raise self.fail(_nesting(), line, self.child_path())
        self.aliased += size
        if self.aliased > limits.MAX_ALIASED and self.aliased > values:
            raise self.fail(
                f"aliases expand the document by more than {limits.MAX_ALIASED:,} values (an alias "
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
