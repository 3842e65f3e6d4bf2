"""Shared vocabulary of the schema comparison: verdicts, drafts, sites, and node helpers.

A :class:`Draft` is a difference being classified: a path, a kind, a verdict and a reason, plus the
places in an instance where the old validator would complain (:class:`Site`), so the confirmation
step can tie a generated counterexample to the difference it demonstrates.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arcanos_eval._fastcheck import ANNOTATIONS


class Impact(enum.IntEnum):
    """How a difference affects clients; ordered so ``max`` gives the worst."""

    COMPATIBLE = 0
    UNDECIDED = 1
    BREAKING = 2


class _Wildcard:
    """A step of an instance path that matches any array index or any object key."""

    def __init__(self, name: str, kind: type) -> None:
        self.name = name
        self.kind = kind

    def __repr__(self) -> str:
        return self.name


ITEM = _Wildcard("ITEM", int)
KEY = _Wildcard("KEY", str)

Step = str | int | _Wildcard
InstancePath = tuple[Step, ...]


@dataclass(frozen=True)
class Site:
    """Where in an instance the old validator reports a difference: path, keywords, depth.

    ``keywords=None`` accepts any keyword; ``below=True`` also accepts errors deeper than ``at``.
    """

    at: InstancePath
    keywords: frozenset[str] | None = None
    below: bool = False

    def matches(self, error_path: Sequence[str | int] | None, keyword: str | None) -> bool:
        """Whether a validation error at ``error_path`` raised by ``keyword`` belongs here.

        ``error_path=None`` is an error of unknown location: it matches any-keyword sites.
        """
        if error_path is None:
            return self.keywords is None
        if len(error_path) < len(self.at) or (not self.below and len(error_path) > len(self.at)):
            return False
        for step, actual in zip(self.at, error_path[: len(self.at)], strict=True):
            if isinstance(step, _Wildcard):
                if not isinstance(actual, step.kind) or isinstance(actual, bool):
                    return False
            elif step != actual:
                return False
        return self.keywords is None or keyword in self.keywords


@dataclass
class Draft:
    """A difference being classified; becomes a public ``Finding`` once confirmed."""

    path: str
    kind: str
    verdict: Impact
    reason: str
    sites: list[Site]
    focus: InstancePath = ()
    counterexample: Any = None
    found: bool = False


@dataclass(frozen=True)
class Side:
    """A schema node of one document, with the resolver for its ``$ref`` and its JSON path."""

    schema: Any
    resolver: Any
    path: str = field(default="$")

    def at(self, schema: Any, *steps: str | int) -> Side:
        """A child node reached through ``steps`` (keywords, property names, indexes)."""
        return Side(schema, self.resolver, child(self.path, *steps))


# Identifiers and containers: they do not constrain instances by themselves.
INERT = frozenset(
    {"$schema", "$id", "$anchor", "$dynamicAnchor", "$defs", "definitions", "$vocabulary", "$ref"}
)
CONDITIONAL = ("if", "then", "else")
EXTRA_KEY_KEYWORDS = frozenset({"additionalProperties", "unevaluatedProperties", "propertyNames"})
TYPE_ORDER = ("null", "boolean", "integer", "number", "string", "array", "object")
LOWER_KEYWORDS = frozenset(
    {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains"}
)
UPPER_KEYWORDS = frozenset(
    {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains"}
)
# (narrower, wider): every value of the first format is a value of the second.
NARROWER_FORMATS = frozenset(
    {
        ("email", "idn-email"),
        ("hostname", "idn-hostname"),
        ("uri", "iri"),
        ("uri-reference", "iri-reference"),
        ("uri", "uri-reference"),
        ("iri", "iri-reference"),
    }
)
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


# ----------------------------------------------------------------------------- small helpers


def child(path: str, *steps: str | int) -> str:
    """Extend a JSON path: ``child("$", "properties", "a b", 0)`` is ``$.properties['a b'][0]``."""
    for step in steps:
        if isinstance(step, int):
            path += f"[{step}]"
        elif _IDENTIFIER.match(step):
            path += f".{step}"
        else:
            path += "['" + step.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return path


def pointer_path(ref: str, fallback: str) -> str:
    """The JSON path of a local ``$ref`` target (``#/$defs/Item`` -> ``$.$defs.Item``)."""
    if ref == "#":
        return "$"
    if not ref.startswith("#/"):
        return fallback
    steps: list[str | int] = []
    for raw in ref[2:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        steps.append(int(token) if token.isdigit() else token)
    return child("$", *steps)


def canon(value: Any) -> str:
    """A key under which JSON-equal values are equal (``1 == 1.0``, ``True != 1``)."""

    def norm(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return int(v) if float(v).is_integer() else float(v)
        if isinstance(v, Mapping):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        return repr(v)

    return json.dumps(norm(value), sort_keys=True, ensure_ascii=False)


def show(value: Any, limit: int = 60) -> str:
    """A short JSON rendering for reasons."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show_all(values: Iterable[Any]) -> str:
    """Several values, comma-separated, each shortened."""
    return ", ".join(show(v, 30) for v in values)


def is_true(schema: Any) -> bool:
    """``true`` or ``{}``: a schema everything validates against."""
    return schema is True or schema == {}


def is_false(schema: Any) -> bool:
    """``false``, or ``{"not": {}}``: a schema nothing validates against."""
    return schema is False or (
        isinstance(schema, Mapping) and is_true(schema.get("not", False)) and len(schema) == 1
    )


def declared_types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    """The node's own ``type`` as a set; ``None`` when it declares none (any type)."""
    declared = schema.get("type")
    if declared is None:
        return None
    return norm_types([declared] if isinstance(declared, str) else list(declared))


def norm_types(types: Iterable[str]) -> frozenset[str]:
    """A set of types with ``integer`` dropped next to ``number``, which includes it."""
    found = frozenset(types)
    # "integer" is a subset of "number": {"number", "integer"} means just "number".
    return found - {"integer"} if "number" in found else found


def covered(kind: str, types: frozenset[str] | None) -> bool:
    """Whether values of JSON type ``kind`` are among ``types`` (``None``: any type)."""
    return types is None or kind in types or (kind == "integer" and "number" in types)


def intersect(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The types both sets admit (``None``: any type)."""
    if a is None:
        return b
    if b is None:
        return a
    return norm_types({t for t in a if covered(t, b)} | {t for t in b if covered(t, a)})


def union(groups: Sequence[frozenset[str] | None]) -> frozenset[str] | None:
    """The types any of the sets admits (``None``: any type)."""
    if any(g is None for g in groups):
        return None
    return norm_types(t for g in groups if g is not None for t in g)


def show_types(types: frozenset[str] | None) -> str:
    """``null | string`` or ``any type``."""
    return "any type" if types is None else " | ".join(sorted(types))


def finite(schema: Mapping[str, Any]) -> list[Any] | None:
    """The values an ``enum``/``const`` node allows, or ``None`` when it does not enumerate."""
    values: list[Any] | None = None
    if "enum" in schema and isinstance(schema["enum"], list):
        values = list(schema["enum"])
    if "const" in schema:
        key = canon(schema["const"])
        values = [schema["const"]] if values is None else [v for v in values if canon(v) == key]
    return values


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


Bound = tuple[float, bool]  # (value, exclusive)


def _num(value: Any) -> float:
    # Keep integers exact (a float would round 2**60); both compare with each other.
    return value if isinstance(value, int) else float(value)


def lower_bound(schema: Mapping[str, Any]) -> Bound | None:
    """The tightest of ``minimum`` and ``exclusiveMinimum``."""
    minimum, exclusive = schema.get("minimum"), schema.get("exclusiveMinimum")
    if isinstance(exclusive, bool):  # draft 4: a flag on "minimum"
        return (_num(minimum), exclusive) if is_number(minimum) else None
    bounds = [(_num(minimum), False)] if is_number(minimum) else []
    if is_number(exclusive):
        bounds.append((_num(exclusive), True))
    return max(bounds) if bounds else None


def upper_bound(schema: Mapping[str, Any]) -> Bound | None:
    """The tightest of ``maximum`` and ``exclusiveMaximum``."""
    maximum, exclusive = schema.get("maximum"), schema.get("exclusiveMaximum")
    if isinstance(exclusive, bool):
        return (_num(maximum), exclusive) if is_number(maximum) else None
    bounds = [(_num(maximum), False)] if is_number(maximum) else []
    if is_number(exclusive):
        bounds.append((_num(exclusive), True))
    # The tightest upper bound: the smallest value, exclusive before inclusive.
    return min(bounds, key=lambda b: (b[0], not b[1])) if bounds else None


def integral(bound: Bound | None, *, upper: bool) -> Bound | None:
    """For integer-only nodes, an exclusive or fractional bound as the inclusive integer one."""
    if bound is None:
        return None
    value, exclusive = bound
    if upper:
        return (math.ceil(value) - 1 if exclusive else math.floor(value), False)
    return (math.floor(value) + 1 if exclusive else math.ceil(value), False)


def format_bound(bound: Bound, *, upper: bool) -> str:
    """``>= 0``, ``< 1``: a bound for reasons."""
    value = int(bound[0]) if float(bound[0]).is_integer() else bound[0]
    return f"{'<' if upper else '>'}{'' if bound[1] else '='} {value}"


def count_bound(schema: Mapping[str, Any], keyword: str) -> Bound | None:
    """A length or count bound (``minLength``, ``maxItems``, ...) as an inclusive bound."""
    value = schema.get(keyword)
    if not is_number(value) or (keyword.startswith("min") and value == 0):
        return None  # a zero minimum constrains nothing
    return (_num(value), False)


def with_siblings(node: Mapping[str, Any], keyword: str, branch: Any) -> Any:
    """An alternative of ``node[keyword]`` taken together with the keywords next to it."""
    siblings = {k: v for k, v in node.items() if k != keyword and k not in ANNOTATIONS}
    if branch is False:
        return False
    if branch is True:
        return siblings
    merged, leftovers = merge(siblings, branch)
    if merged is False:
        return False
    if leftovers:
        merged["allOf"] = [*merged.get("allOf", ()), *leftovers]
    return merged


def worst(drafts: Iterable[Draft]) -> Impact:
    """The worst verdict among ``drafts`` (annotations aside); compatible when empty."""
    return max(
        (d.verdict for d in drafts if d.kind != "annotation_changed"), default=Impact.COMPATIBLE
    )


def first_reason(drafts: Sequence[Draft], verdict: Impact) -> str:
    """The first draft with ``verdict``, as ``kind at path: reason``, to explain a summary."""
    for draft in drafts:
        if draft.verdict == verdict and draft.kind != "annotation_changed":
            return f"{draft.kind} at {draft.path}: {draft.reason}"
    return ""


def dedupe(drafts: Iterable[Draft]) -> list[Draft]:
    """One draft per (path, kind): a ``$defs`` entry reached from several places is one change."""
    out: dict[tuple[str, str], Draft] = {}
    for draft in drafts:
        key = (draft.path, draft.kind)
        if key not in out:
            out[key] = draft
            continue
        kept = out[key]
        kept.sites.extend(s for s in draft.sites if s not in kept.sites)
        if draft.verdict > kept.verdict:
            kept.verdict, kept.reason, kept.focus = draft.verdict, draft.reason, draft.focus
    return list(out.values())


def array_parts(schema: Mapping[str, Any]) -> tuple[list[Any], Any, str]:
    """Positional item schemas, the schema for the rest, and the keyword holding the rest."""
    items = schema.get("items", True)
    if isinstance(items, list):  # drafts before 2020-12: items as a list, then additionalItems
        return items, schema.get("additionalItems", True), "additionalItems"
    return list(schema.get("prefixItems") or ()), items, "items"


def json_type(value: Any) -> str:
    """The JSON Schema type of a value (an integral float is an integer)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def regex_search(pattern: str, text: str) -> bool:
    """``re.search``, with an invalid pattern matching nothing."""
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def type_list(declared: Any) -> list[str]:
    """The types of a ``type`` keyword as a list in a fixed order (simplest type first)."""
    names = [declared] if isinstance(declared, str) else list(declared)
    return [t for t in TYPE_ORDER if t in names]


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> tuple[Any, list[Any]]:
    """Both schemas as one where that is easy; the rest is returned to filter with.

    Returns ``(merged, leftovers)``; ``merged`` is ``False`` when the two cannot both hold.
    """
    out = dict(base)
    leftovers: list[Any] = []
    for keyword, value in extra.items():
        if keyword not in out or canon(out[keyword]) == canon(value):
            out[keyword] = value
            continue
        current = out[keyword]
        if keyword == "required" and isinstance(current, list) and isinstance(value, list):
            out[keyword] = list(dict.fromkeys([*current, *value]))
        elif (
            keyword in ("properties", "patternProperties")
            and isinstance(current, Mapping)
            and isinstance(value, Mapping)
        ):
            out[keyword] = {
                **current,
                **{
                    name: {"allOf": [current[name], schema]} if name in current else schema
                    for name, schema in value.items()
                },
            }
        elif keyword == "type":
            both = [
                t
                for t in type_list(current)
                if t in type_list(value) or (t == "integer" and "number" in type_list(value))
            ]
            both += [
                t
                for t in type_list(value)
                if t == "integer" and "number" in type_list(current) and t not in both
            ]
            if not both:
                return False, []
            out[keyword] = both
        elif keyword == "enum" and isinstance(current, list) and isinstance(value, list):
            keys = {canon(v) for v in value}
            out[keyword] = [v for v in current if canon(v) in keys]
        elif keyword in LOWER_KEYWORDS and is_number(current) and is_number(value):
            out[keyword] = max(current, value)
        elif keyword in UPPER_KEYWORDS and is_number(current) and is_number(value):
            out[keyword] = min(current, value)
        elif keyword == "allOf":
            out[keyword] = [*current, *value]
        else:
            leftovers.append({keyword: value})
    return out, leftovers
