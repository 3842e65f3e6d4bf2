"""The schema walker (``arcanos_eval/contracts/_diff.py``) on generated pairs of schemas.

The strategies below write schemas that use every keyword the walker has a handler for, plus
annotations, unknown keywords and ``$ref`` into ``$defs``; a pair is two independent schemas, a
schema and a mutation of it (a keyword dropped, added or changed, a property renamed), or two flat
nodes of one keyword family, so both the far and the near cases of each handler are reached.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from referencing.exceptions import Unresolvable

from arcanos_eval._fastcheck import ANNOTATIONS
from arcanos_eval.contracts._diff import KEYWORDS, Walker
from arcanos_eval.contracts._nodes import Draft, Impact, Side, worst
from arcanos_eval.contracts._pair import Pair
from arcanos_eval.contracts._schema import ContractError, SchemaDocument
from arcanos_eval.contracts._values import diff_type

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
NAMES = st.sampled_from(["a", "b", "c", "x-1"])
VALUES = st.sampled_from(["a", "b", "", 0, 1, 1.0, 2.5, -3, None, True, False, [], {}, [1]])
NUMBERS = st.sampled_from([-2, 0, 0.5, 1, 1.5, 2, 10])
COUNTS = st.integers(0, 3)
TYPES = st.sampled_from(["null", "boolean", "integer", "number", "string", "array", "object"])
TEXT = st.sampled_from(["one", "two"])

# Keywords that hold no subschema, each with the values it is drawn from.
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "type": st.one_of(TYPES, st.lists(TYPES, min_size=1, max_size=3, unique=True)),
    "enum": st.lists(VALUES, min_size=1, max_size=3),
    "const": VALUES,
    "minimum": NUMBERS,
    "maximum": NUMBERS,
    "exclusiveMinimum": NUMBERS,
    "exclusiveMaximum": NUMBERS,
    "multipleOf": st.sampled_from([1, 2, 0.5, 3, 4, 0.25]),
    "minLength": COUNTS,
    "maxLength": COUNTS,
    "pattern": st.sampled_from(["^a", "x", "^[a-z]+$", "b$"]),
    "format": st.sampled_from(["email", "idn-email", "uri", "iri", "uri-reference", "date"]),
    "minItems": COUNTS,
    "maxItems": COUNTS,
    "uniqueItems": st.booleans(),
    "required": st.lists(NAMES, max_size=3, unique=True),
    "minProperties": COUNTS,
    "maxProperties": COUNTS,
    "title": TEXT,
    "description": TEXT,
    "default": VALUES,
    "deprecated": st.booleans(),
    "x-owner": TEXT,
    "dependentRequired": st.just({"a": ["b"]}),
    "$ref": st.sampled_from(["#/$defs/p", "#/$defs/q"]),
}
SCALAR = st.sampled_from(sorted(SCALARS)).flatmap(
    lambda keyword: SCALARS[keyword].map(lambda value: {keyword: value})
)
# Keywords whose value is one subschema, a list of them, or a mapping of names to them.
ONE = (
    "items",
    "additionalItems",
    "additionalProperties",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "contains",
)
LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
MAPS = ("properties", "patternProperties")


def _nested(inner: st.SearchStrategy[Any], *, draft_07: bool) -> st.SearchStrategy[dict[str, Any]]:
    """One or two keywords that hold subschemas drawn from ``inner``."""
    some = st.lists(inner, min_size=1, max_size=3)
    fragments = [
        st.builds(lambda s: {"items": s}, inner),
        st.builds(lambda s: {"properties": s}, st.dictionaries(NAMES, inner, max_size=3)),
        st.builds(lambda s: {"additionalProperties": s}, inner),
        st.builds(
            lambda s: {"patternProperties": s},
            st.dictionaries(st.sampled_from(["^a", "1$"]), inner, min_size=1, max_size=2),
        ),
        st.builds(lambda s: {"propertyNames": s}, inner),
        st.builds(lambda s: {"allOf": s}, some),
        st.builds(lambda s: {"anyOf": s}, some),
        st.builds(lambda s: {"oneOf": s}, some),
        st.builds(lambda s: {"not": s}, inner),
        st.builds(lambda i, t: {"if": i, "then": t}, inner, inner),
        st.builds(lambda s: {"contains": s}, inner),
    ]
    if draft_07:
        fragments.append(
            st.builds(lambda s, rest: {"items": s, "additionalItems": rest}, some, inner)
        )
    else:
        fragments.append(st.builds(lambda s: {"prefixItems": s}, some))
    return st.one_of(fragments)


def _merged(fragments: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fragment in fragments:
        out.update(fragment)
    return out


def _nodes(*, draft_07: bool) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.sampled_from([True, False, {}, {"not": {}}]),
        st.lists(SCALAR, min_size=1, max_size=3).map(_merged),
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(
            st.one_of(SCALAR, _nested(inner, draft_07=draft_07)), min_size=1, max_size=4
        ).map(_merged),
        max_leaves=6,
    )


NODES = {False: _nodes(draft_07=False), True: _nodes(draft_07=True)}


@st.composite
def _documents(draw: st.DrawFn, draft_07: bool) -> dict[str, Any]:
    root = draw(NODES[draft_07])
    document = dict({} if root is True else {"not": {}} if root is False else root)
    document["$defs"] = {"p": draw(NODES[draft_07]), "q": draw(NODES[draft_07])}
    if draft_07:
        document["$schema"] = DRAFT_07
    return document


@st.composite
def _mutated(draw: st.DrawFn, schema: Any, draft_07: bool, depth: int = 0) -> Any:
    """``schema`` with a few changes: keywords dropped, added or changed, properties renamed."""
    if not isinstance(schema, dict) or depth > 4:
        return draw(NODES[draft_07]) if draw(st.integers(0, 5)) == 0 else schema
    out = dict(schema)
    for keyword in list(out):
        if keyword == "$schema":
            continue
        action = draw(st.integers(0, 9))
        value = out[keyword]
        if action == 0:
            del out[keyword]
        elif action == 1:
            out.update(draw(SCALAR))
        elif action in (2, 3, 4):
            out[keyword] = draw(_changed(keyword, value, draft_07, depth))
    if draw(st.integers(0, 4)) == 0:
        out.update(draw(st.one_of(SCALAR, _nested(NODES[draft_07], draft_07=draft_07))))
    return out


@st.composite
def _changed(draw: st.DrawFn, keyword: str, value: Any, draft_07: bool, depth: int) -> Any:
    """A new value for ``keyword``, often close to ``value``."""
    if keyword in SCALARS:
        return draw(SCALARS[keyword])
    if keyword in ONE and not isinstance(value, list):
        return draw(_mutated(value, draft_07, depth + 1))
    if isinstance(value, dict):  # properties, patternProperties, $defs
        changed = {k: draw(_mutated(v, draft_07, depth + 1)) for k, v in value.items()}
        if changed and keyword == "properties" and draw(st.booleans()):
            old_name, new_name = draw(st.sampled_from(sorted(changed))), draw(NAMES)
            changed = {new_name if k == old_name else k: v for k, v in value.items()}
        return changed
    changed = [draw(_mutated(v, draft_07, depth + 1)) for v in value]
    if draw(st.booleans()):
        changed = list(draw(st.permutations(changed)))
    if draw(st.integers(0, 3)) == 0:
        changed.append(draw(NODES[draft_07]))
    elif len(changed) > 1 and draw(st.integers(0, 3)) == 0:
        changed.pop(draw(st.integers(0, len(changed) - 1)))
    return changed


# Small subschemas for the flat pairs: equal ones are common, so renames and matches happen.
LEAF = st.sampled_from(
    [
        {"type": "string"},
        {"type": "string", "title": "renamed"},
        {"type": "integer"},
        {"type": "integer", "minimum": 0},
        {"type": ["string", "null"]},
        {"enum": ["a", "b"]},
        {},
        True,
        False,
    ]
)
LEAVES = st.lists(LEAF, min_size=1, max_size=3)
SUBSCHEMAS: dict[str, st.SearchStrategy[Any]] = {
    "properties": st.dictionaries(NAMES, LEAF, max_size=3),
    "additionalProperties": LEAF,
    "patternProperties": st.dictionaries(st.sampled_from(["^a", "1$"]), LEAF, min_size=1),
    "propertyNames": st.sampled_from([{"maxLength": 1}, {"pattern": "^[a-c]"}, True, {}]),
    "items": LEAF,
    "prefixItems": LEAVES,
    "allOf": LEAVES,
    "anyOf": LEAVES,
    "oneOf": LEAVES,
    "not": LEAF,
    "if": LEAF,
    "then": LEAF,
}
# Keywords that constrain one kind of value, with the types such a node is drawn with: a flat
# pair of nodes from one family makes every handler of that family speak at once.
FAMILIES: dict[str, tuple[list[Any], tuple[str, ...]]] = {
    "number": (
        ["integer", "number", ["integer", "null"], "string"],
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    ),
    "string": (
        ["string", ["string", "null"], "integer"],
        ("minLength", "maxLength", "pattern", "format"),
    ),
    "array": (
        ["array", ["array", "null"], "object"],
        ("prefixItems", "items", "minItems", "maxItems", "uniqueItems"),
    ),
    "object": (
        ["object", ["object", "array"], "string"],
        (
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "propertyNames",
            "minProperties",
            "maxProperties",
            "x-owner",
        ),
    ),
    "combinators": (
        ["object", "string", ["string", "integer"]],
        ("allOf", "anyOf", "oneOf", "not", "if", "then", "title"),
    ),
}


def _values_of(keyword: str) -> st.SearchStrategy[Any]:
    return SUBSCHEMAS[keyword] if keyword in SUBSCHEMAS else SCALARS[keyword]


@st.composite
def _nearby(draw: st.DrawFn, keyword: str, value: Any) -> Any:
    """Another value for ``keyword``: a fresh one, or for properties one key renamed."""
    if keyword == "properties" and value and draw(st.booleans()):
        old_name, new_name = draw(st.sampled_from(sorted(value))), draw(NAMES)
        return {new_name if k == old_name else k: v for k, v in value.items()}
    if keyword in SUBSCHEMAS and isinstance(value, list) and value and draw(st.booleans()):
        return [*draw(st.permutations(value)), *draw(st.lists(LEAF, max_size=1))]
    return draw(_values_of(keyword))


@st.composite
def _flat_pair(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    types, keywords = FAMILIES[draw(st.sampled_from(sorted(FAMILIES)))]
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for keyword in ("type", *keywords):
        values = _values_of(keyword)
        if keyword == "type":
            values = st.sampled_from(types)
        if draw(st.sampled_from([True, True, True, False])):
            old[keyword] = draw(values)
        choice = draw(st.sampled_from(["same", "other", "other", "none"]))
        if choice == "same" and keyword in old:
            new[keyword] = old[keyword]
        elif choice == "other" and keyword in old and keyword != "type":
            new[keyword] = draw(_nearby(keyword, old[keyword]))
        elif choice == "other":
            new[keyword] = draw(values)
    return old, new


@st.composite
def schema_pairs(draw: st.DrawFn) -> tuple[Any, Any]:
    """Two independent documents, a document and a mutation of it, or two flat nodes."""
    shape = draw(st.sampled_from(["flat", "flat", "independent", "mutated", "mutated"]))
    if shape == "flat":
        return draw(_flat_pair())
    draft_07 = draw(st.booleans())
    old = draw(_documents(draft_07))
    if shape == "independent":
        return old, draw(_documents(draft_07))
    return old, draw(_mutated(copy.deepcopy(old), draft_07))


def _drafts(old: Any, new: Any) -> list[Draft] | None:
    """The walker's drafts, or ``None`` for documents the walk cannot take.

    Those are a ``$ref`` a mutation left dangling (a ``ContractError``, or the validator's own
    error when a listed value meets it first), and a ``$ref`` cycle no instance gets out of.
    """
    try:
        documents = (
            SchemaDocument.build(old, role="old schema"),
            SchemaDocument.build(new, role="new schema"),
        )
        return Walker(*documents).run()
    except (ContractError, Unresolvable, RecursionError):
        return None


WALKS = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def one_keyword_changed(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A flat node and the same node with one keyword (never ``type``) changed or dropped."""
    untyped = _flat_pair().map(lambda pair: {k: v for k, v in pair[0].items() if k != "type"})
    old = draw(untyped.filter(bool))
    old["type"] = draw(TYPES)
    keyword = draw(st.sampled_from(sorted(k for k in old if k != "type")))
    new = dict(old)
    new[keyword] = draw(_nearby(keyword, old[keyword]))
    if new[keyword] == old[keyword] or draw(st.booleans()):
        del new[keyword]
    return old, new, keyword


@WALKS
@given(schema_pairs())
def test_a_document_compared_with_itself_breaks_nothing(pair):
    for document in pair:
        drafts = _drafts(document, copy.deepcopy(document))
        if drafts is not None:
            assert worst(drafts) == Impact.COMPATIBLE, drafts


@WALKS
@given(one_keyword_changed())
def test_only_the_handler_of_a_changed_keyword_reports_it(change):
    """What makes the table sound: a handler speaks for its own keywords and no others.

    ``type`` is left out: its handler reads the types every other keyword implies.
    """
    old, new, keyword = change
    documents = (
        SchemaDocument.build(old, role="old schema"),
        SchemaDocument.build(new, role="new schema"),
    )
    walker = Walker(*documents)
    pair = Pair(
        walker, Side(old, documents[0].resolver), Side(new, documents[1].resolver), (), frozenset()
    )
    owner = KEYWORDS.get(keyword)
    for handler in dict.fromkeys(KEYWORDS.values()):
        if handler not in (owner, diff_type):
            assert handler(pair) == [], (handler.__name__, keyword)
    drafts = walker.run()
    if owner is None and keyword not in ANNOTATIONS:
        # Unknown to the table: left to the generated examples.
        assert [(d.kind, d.verdict) for d in drafts] == [("keyword_changed", Impact.UNDECIDED)]
