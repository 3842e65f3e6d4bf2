"""One-line messages for JSON Schema errors, shared by the suite loader and the configuration.

Both suite files and ``[tool.arcanos_eval]`` are validated by a JSON Schema shipped in the package;
this module turns the ``jsonschema`` error chosen for the user into *what was expected, what was
found* and the JSON path it concerns. The caller adds *where* (file, line, case or table, field).

A schema may refine a message with two annotations (unknown keywords, ignored by validators):

* ``x-expected``: the phrase after "expected" for any failure of that subschema, when the
  generic one ("a number >= 0") would not say enough ("a number > 0 (milliseconds)");
* ``x-message``: the whole message, for a rule whose generic rendering means nothing to a user
  (a ``not``: "expected the NAME of an environment variable..., found what looks like a key").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema.exceptions import ValidationError

from arcanos_eval.errors import shorten, unknown_name_message

__all__ = [
    "JsonPath",
    "SchemaProblem",
    "Style",
    "describe_value",
    "field_name",
    "first_error",
    "schema_problem",
]

JsonPath = tuple[str | int, ...]


_SHOWN = 60  # characters of a found value shown in a message


def describe_value(value: Any) -> str:
    """A short, readable rendering of a found value for error messages.

    Only the head of a value is rendered, so a 10 MB text or a mapping of a million keys costs
    no more than a small one; long text says how long it was.
    """
    kind = {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)):
        rendered = _head(value, _SHOWN + 1)
        return f"{kind} {rendered[:57] + '...' if len(rendered) > _SHOWN else rendered}"
    if isinstance(value, str):
        if len(value) <= _SHOWN:
            return f"{kind} {json.dumps(value)}"
        return f'{kind} {json.dumps(value[:_SHOWN])[:-1]}…" ({len(value):,} characters)'
    if value is None:
        return kind
    return f"{kind} {shorten(repr(value), _SHOWN)}"


def _head(value: Any, budget: int) -> str:
    """The first ``budget`` characters (or a few more) of ``value`` as compact JSON."""
    if isinstance(value, str):
        return json.dumps(value[:budget], ensure_ascii=False)
    if isinstance(value, (dict, list)):
        items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        parts: list[str] = []
        used = 2
        for key, item in items:
            if used > budget:
                break
            part = _head(item, budget - used)
            if isinstance(value, dict):
                part = f"{_head(key if isinstance(key, str) else str(key), budget)}: {part}"
            parts.append(part)
            used += len(part) + 2
        inner = ", ".join(parts)
        return f"{{{inner}}}" if isinstance(value, dict) else f"[{inner}]"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return json.dumps(shorten(str(value), budget), ensure_ascii=False)


_TYPE_NAMES: Mapping[str, str] = {
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "object": "a mapping",
    "array": "a list",
    "boolean": "a boolean",
    "null": "null",
}


def field_name(path: Sequence[str | int]) -> str:
    """``checks[1].json``: a JSON path as a reader names the field."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class Style:
    """How a document's values and types are named: YAML suites say "a mapping" and show a found
    value with its kind; TOML configuration says "a table" and shows the value as Python read it."""

    describe: Callable[[Any], str] = describe_value
    type_names: Mapping[str, str] = field(default_factory=lambda: dict(_TYPE_NAMES))


@dataclass(frozen=True)
class SchemaProblem:
    """One schema error, explained.

    Attributes:
        message: ``expected ..., found ...`` (or ``unknown field ...``, ``missing required field``).
        path: where to point the reader: the offending value, the unknown key, or the table that
            misses a required key.
        field: the field the message is about (for a missing key, the key itself).
    """

    message: str
    path: JsonPath
    field: JsonPath


def _expected(error: ValidationError, style: Style) -> str:
    v, arg = error.validator, error.validator_value
    if v == "type":
        types = [arg] if isinstance(arg, str) else list(arg)
        return " or ".join(style.type_names.get(t, t) for t in types)
    if v == "enum":
        return "one of " + ", ".join(json.dumps(x) for x in arg)
    if v == "const":
        return json.dumps(arg)
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if v in bounds:
        return f"a number {bounds[v]} {arg}"
    if v == "minLength":
        return "non-empty text" if arg == 1 else f"text of at least {arg:,} characters"
    if v == "maxLength":
        return f"text of at most {arg:,} characters"
    if v == "minItems":
        return "a non-empty list" if arg == 1 else f"a list of at least {arg} items"
    if v == "pattern":
        if arg.startswith("^[A-Za-z0-9]"):
            return "an id of letters, digits, '.', '_' and '-' (starting with a letter or digit)"
        if arg.startswith("^[a-z]"):
            return "a snake_case name"
        return f"text matching {arg}"
    return str(error.message)


def schema_problem(error: ValidationError, style: Style | None = None) -> SchemaProblem:
    """Explain ``error`` in one line (see :class:`SchemaProblem`)."""
    style = style or Style()
    path: JsonPath = tuple(error.absolute_path)
    instance = error.instance
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "required":
        missing = next(
            (
                name
                for name in error.validator_value
                if isinstance(instance, dict) and name not in instance
            ),
            "?",
        )
        return SchemaProblem(f"missing required field {missing!r}", path, (*path, missing))
    if error.validator == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extras = [k for k in instance if k not in allowed] if isinstance(instance, dict) else []
        extra = extras[0] if extras else "?"
        offending = (*path, extra)
        return SchemaProblem(unknown_name_message("field", extra, allowed), offending, offending)
    if "x-message" in schema:
        return SchemaProblem(str(schema["x-message"]), path, path)
    expected = str(schema["x-expected"]) if "x-expected" in schema else _expected(error, style)
    # A style may render the whole value (TOML's is repr): cut it, as every value in a message.
    found = shorten(style.describe(instance), 200)
    return SchemaProblem(f"expected {expected}, found {found}", path, path)


def first_error(
    errors: Iterable[ValidationError], line: Callable[[Sequence[str | int]], int | None]
) -> ValidationError | None:
    """The first problem in document order; on one line, the most specific one."""

    def order(e: ValidationError) -> tuple[int, int]:
        return (line(tuple(e.absolute_path)) or 0, -len(e.absolute_path))

    return min(errors, key=order, default=None)
