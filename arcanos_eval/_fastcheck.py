"""A yes/no validity check compiled from a JSON Schema, for the common case of a valid document.

``jsonschema`` walks a document keyword by keyword, building a validator object per step; on a
10,000-case suite that walk was most of the load time, and scoring 20,000 answers against their
response schema most of the scoring time. The suite loader and the ``schema`` check use it. :func:`compile_is_valid` turns a schema into
nested closures once, so judging a document costs plain ``isinstance`` tests, dictionary lookups
and comparisons. It answers only *whether* a document is valid: the callers still ask
``jsonschema`` *why* a document is invalid, so error messages come from one place.

The compiler implements the draft 2020-12 keywords the suite schema uses, with ``jsonschema``'s
exact semantics (booleans are not numbers, ``1.0`` is an integer, ``enum``/``const`` and
``uniqueItems`` compare with ``jsonschema``'s equality, ``pattern`` searches). Any other keyword
raises :class:`NotImplementedError` at compile time, so an edit of the schema can make loading
slower but never lets a document through that ``jsonschema`` would reject.
"""

from __future__ import annotations

import itertools
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

__all__ = ["ANNOTATIONS", "IsValid", "compile_is_valid"]

IsValid = Callable[[Any], bool]
Search = Callable[[str], Callable[[str], object]]
"""Compiles a ``pattern`` into a search of a string (truthy when it matches anywhere)."""


def _re_search(pattern: str) -> Callable[[str], object]:
    return re.compile(pattern).search


DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

# Keywords that only annotate (draft 2020-12): they never change whether an instance is valid.
ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
    }
)
_OBJECT_KEYWORDS = frozenset(
    {"required", "properties", "additionalProperties", "minProperties", "maxProperties"}
)
_ARRAY_KEYWORDS = frozenset({"items", "minItems", "maxItems", "uniqueItems"})
_STRING_KEYWORDS = frozenset({"minLength", "maxLength", "pattern"})
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_ANY_KEYWORDS = frozenset({"type", "enum", "const", "$ref", "oneOf", "anyOf", "allOf", "not"})
# `$schema` and `$id` are allowed at the root only: an inner `$id` would move the base of `$ref`.
_KNOWN = ANNOTATIONS | _OBJECT_KEYWORDS | _ARRAY_KEYWORDS | _STRING_KEYWORDS
_KNOWN |= _NUMBER_KEYWORDS | _ANY_KEYWORDS | {"$defs"}


def compile_is_valid(schema: Mapping[str, Any] | bool, *, search: Search = _re_search) -> IsValid:
    """Compile a draft 2020-12 ``schema`` into a function telling whether an instance is valid.

    The verdict equals ``jsonschema.Draft202012Validator(schema).is_valid(instance)``. ``search``
    compiles each ``pattern`` (default: ``re``; a caller matching model answers passes one with a
    time limit, whose errors then propagate from the returned function).

    Raises:
        NotImplementedError: the schema uses a keyword (or a form of one, such as a remote
            ``$ref``) that this compiler does not implement; the message names it and where.

    Example:
        >>> is_valid = compile_is_valid({"type": "integer", "minimum": 1})
        >>> is_valid(3), is_valid(1.0), is_valid(True), is_valid(0)
        (True, True, False, False)
    """
    if isinstance(schema, Mapping):
        dialect = schema.get("$schema", DRAFT_2020_12)
        if not isinstance(dialect, str) or dialect.rstrip("#") != DRAFT_2020_12:
            raise NotImplementedError(f"only draft 2020-12 schemas compile, found {dialect!r}")
    return _Compiler(schema, search).at("")


# ----------------------------------------------------------------------------- JSON equality


def _unbool(value: Any, true: object = object(), false: object = object()) -> Any:
    """Booleans as markers no number equals, so that ``True != 1`` (jsonschema's ``unbool``)."""
    if value is True:
        return true
    if value is False:
        return false
    return value


def _equal(one: Any, two: Any) -> bool:
    """JSON equality as jsonschema's ``equal``: ``1 == 1.0`` but ``True != 1``, recursively."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(
            key in two and _equal(value, two[key]) for key, value in one.items()
        )
    return bool(_unbool(one) == _unbool(two))


def _unique(items: list[Any]) -> bool:
    """jsonschema's ``uniq``, step for step, so both agree even where sorting is partial."""
    try:
        ordered = sorted(_unbool(item) for item in items)
        return not any(
            _equal(a, b) for a, b in zip(ordered, itertools.islice(ordered, 1, None), strict=False)
        )
    except (NotImplementedError, TypeError):
        seen: list[Any] = []
        for item in items:
            item = _unbool(item)
            if any(_equal(earlier, item) for earlier in seen):
                return False
            seen.append(item)
        return True


# ----------------------------------------------------------------------------- types


def _is_integer(value: Any) -> bool:
    # Draft 4 onwards: a float with an integral value is an integer; a boolean never is.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


_TYPE_TESTS: dict[str, IsValid] = {
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "integer": _is_integer,
    "null": lambda value: value is None,
    "number": _is_number,
    "object": lambda value: isinstance(value, dict),
    "string": lambda value: isinstance(value, str),
}


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _all_of(tests: Sequence[IsValid]) -> IsValid:
    """One test passing when every one of ``tests`` does, with no loop for the short cases."""
    tests = tuple(test for test in tests if test is not _always)
    if not tests:
        return _always
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda value: first(value) and second(value)
    return lambda value: all(test(value) for test in tests)


# ----------------------------------------------------------------------------- the compiler


class _Compiler:
    """Compiles one schema document. ``where`` is always the JSON pointer of the subschema at
    hand (``""`` for the root), so each ``$ref`` target is compiled once and then shared."""

    def __init__(self, root: Mapping[str, Any] | bool, search: Search) -> None:
        self.root = root
        self.search = search
        self.targets: dict[str, IsValid] = {}

    def at(self, pointer: str) -> IsValid:
        """The compiled subschema at ``pointer``."""
        if pointer in self.targets:
            return self.targets[pointer]
        # Recursion: the pointer met again while its subschema compiles goes through this.
        compiled: list[IsValid] = []
        self.targets[pointer] = lambda value: compiled[0](value)
        target = self.compile(_resolve(self.root, pointer), pointer)
        compiled.append(target)
        self.targets[pointer] = target
        return target

    def compile(self, schema: Any, where: str) -> IsValid:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, Mapping):
            raise NotImplementedError(f"expected a schema (object or boolean) at #{where}")
        at_root = schema is self.root
        unknown = sorted(set(schema) - _KNOWN - ({"$schema", "$id"} if at_root else set()))
        if unknown:
            raise NotImplementedError(f"keyword(s) {', '.join(unknown)} at #{where}")
        # Every definition compiles, referenced or not, so none can hide an unknown keyword.
        for name in _mapping(schema, "$defs", where):
            self.at(f"{where}/$defs/{_escape(name)}")

        tests: list[IsValid] = []
        declared = schema.get("type")
        if "type" in schema:
            tests.append(self.type_test(declared, where))
        if "enum" in schema:
            tests.append(self.enum(schema["enum"], where))
        if "const" in schema:
            expected = schema["const"]
            tests.append(lambda value: _equal(value, expected))
        if "$ref" in schema:
            tests.append(self.reference(schema["$ref"], where))
        if "oneOf" in schema:
            tests.append(self.one_of(schema["oneOf"], f"{where}/oneOf"))
        if "anyOf" in schema:
            branches = self.branches(schema["anyOf"], f"{where}/anyOf")
            tests.append(lambda value: any(test(value) for test in branches))
        if "allOf" in schema:
            tests.append(_all_of(self.branches(schema["allOf"], f"{where}/allOf")))
        if "not" in schema:
            inverse = self.compile(schema["not"], f"{where}/not")
            tests.append(lambda value: not inverse(value))
        # Keywords for one instance type constrain only instances of that type. When `type`
        # already demands that type, the guard is redundant and left out.
        for kind, keywords, build in (
            ("object", _OBJECT_KEYWORDS, self.object_tests),
            ("array", _ARRAY_KEYWORDS, self.array_tests),
            ("string", _STRING_KEYWORDS, self.string_tests),
            ("number", _NUMBER_KEYWORDS, self.number_tests),
        ):
            if keywords.isdisjoint(schema):
                continue
            inner = _all_of(build(schema, where))
            if inner is _always:
                continue
            if declared == kind or (kind == "number" and declared == "integer"):
                tests.append(inner)
            else:
                tests.append(_guarded(_TYPE_TESTS[kind], inner))
        return _all_of(tests)

    def type_test(self, declared: Any, where: str) -> IsValid:
        names = [declared] if isinstance(declared, str) else declared
        if not isinstance(names, list) or not all(
            isinstance(name, str) and name in _TYPE_TESTS for name in names
        ):
            raise NotImplementedError(f"type {declared!r} at #{where}")
        if len(names) == 1:
            return _TYPE_TESTS[names[0]]
        tests = tuple(_TYPE_TESTS[name] for name in names)
        return lambda value: any(test(value) for test in tests)

    def enum(self, allowed: Any, where: str) -> IsValid:
        if not isinstance(allowed, list):
            raise NotImplementedError(f"enum that is not a list at #{where}")
        options = tuple(allowed)
        if all(isinstance(option, str) for option in options):
            # Text equals text only, so a set lookup decides for every JSON value; other
            # values take jsonschema's comparison.
            texts = frozenset(options)
            return lambda value: (
                value in texts
                if type(value) is str
                else any(_equal(option, value) for option in options)
            )
        return lambda value: any(_equal(option, value) for option in options)

    def reference(self, ref: Any, where: str) -> IsValid:
        pointer = unquote(ref[1:]) if isinstance(ref, str) and ref.startswith("#") else None
        if pointer is None or pointer[:1] not in ("", "/"):
            raise NotImplementedError(
                f"$ref {ref!r} at #{where}: only JSON pointers into this schema are supported"
            )
        return self.at(pointer)

    def branches(self, branches: Any, where: str) -> tuple[IsValid, ...]:
        if not isinstance(branches, list) or not branches:
            raise NotImplementedError(
                f"{where.rpartition('/')[2]} that is not a non-empty list at #{where}"
            )
        return tuple(self.compile(branch, f"{where}/{i}") for i, branch in enumerate(branches))

    def one_of(self, branches: Any, where: str) -> IsValid:
        tests = self.branches(branches, where)

        def exactly_one(value: Any) -> bool:
            passed = 0
            for test in tests:
                if test(value):
                    passed += 1
                    if passed > 1:
                        return False
            return passed == 1

        return exactly_one

    def object_tests(self, schema: Mapping[str, Any], where: str) -> list[IsValid]:
        tests: list[IsValid] = []
        required = tuple(_strings(schema, "required", where))
        if len(required) == 1:
            (name,) = required
            tests.append(lambda value: name in value)
        elif required:
            tests.append(lambda value: all(name in value for name in required))
        properties = {
            name: self.compile(subschema, f"{where}/properties/{_escape(name)}")
            for name, subschema in _mapping(schema, "properties", where).items()
        }
        extra = schema.get("additionalProperties", True)
        additional = None if extra is True else self.compile(extra, f"{where}/additionalProperties")
        if additional is not None or any(test is not _always for test in properties.values()):
            tests.append(_properties_test(properties, additional))
        tests += _size_tests(schema, "minProperties", "maxProperties", where)
        return tests

    def array_tests(self, schema: Mapping[str, Any], where: str) -> list[IsValid]:
        tests = _size_tests(schema, "minItems", "maxItems", where)
        if schema.get("uniqueItems") is True:
            tests.append(_unique)
        elif schema.get("uniqueItems", False) is not False:
            raise NotImplementedError(f"uniqueItems that is not a boolean at #{where}")
        if "items" in schema:
            item = self.compile(schema["items"], f"{where}/items")
            if item is not _always:
                tests.append(lambda value: all(item(each) for each in value))
        return tests

    def string_tests(self, schema: Mapping[str, Any], where: str) -> list[IsValid]:
        # len() of a str counts code points, as JSON Schema's lengths do.
        tests = _size_tests(schema, "minLength", "maxLength", where)
        if "pattern" in schema:
            if not isinstance(schema["pattern"], str):
                raise NotImplementedError(f"pattern that is not text at #{where}")
            # JSON Schema patterns are unanchored: search, not match.
            search = self.search(schema["pattern"])
            tests.append(lambda value: search(value) is not None)
        return tests

    def number_tests(self, schema: Mapping[str, Any], where: str) -> list[IsValid]:
        # Each fails on the comparison jsonschema makes, so NaN passes the bounds as it does there.
        tests: list[IsValid] = []
        if "minimum" in schema:
            least = _bound(schema, "minimum", where)
            tests.append(lambda value: not value < least)
        if "maximum" in schema:
            most = _bound(schema, "maximum", where)
            tests.append(lambda value: not value > most)
        if "exclusiveMinimum" in schema:
            above = _bound(schema, "exclusiveMinimum", where)
            tests.append(lambda value: not value <= above)
        if "exclusiveMaximum" in schema:
            below = _bound(schema, "exclusiveMaximum", where)
            tests.append(lambda value: not value >= below)
        return tests


def _guarded(applies: IsValid, test: IsValid) -> IsValid:
    return lambda value: not applies(value) or test(value)


def _properties_test(properties: dict[str, IsValid], additional: IsValid | None) -> IsValid:
    """``properties`` and ``additionalProperties`` in one pass over the instance's keys."""

    def test(value: dict[Any, Any]) -> bool:
        for key, item in value.items():
            known = properties.get(key)
            if known is None:
                if additional is not None and not additional(item):
                    return False
            elif not known(item):
                return False
        return True

    return test


# ----------------------------------------------------------------------------- reading a schema


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _resolve(root: Any, pointer: str) -> Any:
    """The part of ``root`` at the JSON pointer ``pointer`` (``""`` or ``/a/b``)."""
    node = root
    for token in pointer.split("/")[1:]:
        part = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise NotImplementedError(f"$ref to #{pointer}, which is not in the schema")
    return node


def _mapping(schema: Mapping[str, Any], keyword: str, where: str) -> Mapping[str, Any]:
    value = schema.get(keyword, {})
    if not isinstance(value, Mapping):
        raise NotImplementedError(f"{keyword} that is not an object at #{where}")
    return value


def _strings(schema: Mapping[str, Any], keyword: str, where: str) -> list[str]:
    value = schema.get(keyword, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise NotImplementedError(f"{keyword} that is not a list of text at #{where}")
    return value


def _size_tests(schema: Mapping[str, Any], least: str, most: str, where: str) -> list[IsValid]:
    """Tests of ``len(value)`` against the ``least`` and ``most`` keywords, where present."""
    tests: list[IsValid] = []
    if least in schema:
        low = _count(schema, least, where)
        tests.append(lambda value: len(value) >= low)
    if most in schema:
        high = _count(schema, most, where)
        tests.append(lambda value: len(value) <= high)
    return tests


def _count(schema: Mapping[str, Any], keyword: str, where: str) -> int:
    value = schema[keyword]
    if not _is_integer(value) or value < 0:
        raise NotImplementedError(f"{keyword} that is not a non-negative integer at #{where}")
    return int(value)


def _bound(schema: Mapping[str, Any], keyword: str, where: str) -> Any:
    value = schema[keyword]
    if not _is_number(value):
        raise NotImplementedError(f"{keyword} that is not a number at #{where}")
    return value
