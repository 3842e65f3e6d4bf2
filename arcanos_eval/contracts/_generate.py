"""Hypothesis strategies for documents valid under a JSON Schema.

Structure (objects, arrays, ``$ref``, ``allOf``/``anyOf``/``oneOf``/``not``) is built here;
scalar leaves (strings with ``format`` or ``pattern``, numbers with bounds) come from
hypothesis-jsonschema.
hypothesis-jsonschema 0.23 cannot generate objects with current hypothesis releases (its object
strategy drives a hypothesis internal that changed), so it is only asked for leaves.

Every node whose keywords are not fully modelled is filtered by ``jsonschema``, and so is the whole
document, so an imprecise construction costs examples, never correctness. Optional properties are
drawn with a boolean, so shrinking removes them: counterexamples come out small.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from arcanos_eval.contracts._nodes import TYPE_ORDER, canon, merge, type_list
from arcanos_eval.contracts._schema import SchemaDocument

__all__ = ["ANY_JSON", "instances"]

_REF_DEPTH = 6  # $ref expansions on one path; deeper recursive branches generate nothing
_EXTRA_KEYS = 2  # undeclared properties per object, at most
_EXTRA_ITEMS = 4  # items beyond minItems (or the positional ones), at most
_LEAF_KEYWORDS = {
    "string": ("minLength", "maxLength", "pattern", "format"),
    "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "integer": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
}
# Keywords the construction below does not guarantee: a node holding one is filtered.
_FILTERED = frozenset(
    {
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "unevaluatedProperties",
        "unevaluatedItems",
        "if",
        "then",
        "else",
        "not",
        "oneOf",
        "$dynamicRef",
    }
)

_SCALARS: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
# Any JSON, two levels deep: enough to show a client an unexpected shape, and cheap to draw
# (st.recursive costs several times more per example).
ANY_JSON: st.SearchStrategy[Any] = (
    _SCALARS
    | st.lists(_SCALARS, max_size=3)
    | st.dictionaries(st.text(max_size=6), _SCALARS, max_size=3)
)

Predicate = Callable[[Any], bool]


def _hint_types(value: Any) -> tuple[str, ...]:
    if isinstance(value, bool):
        return ("boolean",)
    if isinstance(value, int):
        return ("integer", "number")
    if isinstance(value, float):
        return ("number",)
    if isinstance(value, str):
        return ("string",)
    return ()


class _Builder:
    def __init__(self, document: SchemaDocument, hints: Sequence[Any]) -> None:
        self.document = document
        self.hints: dict[str, list[Any]] = {}
        for value in hints:
            for kind in _hint_types(value):
                self.hints.setdefault(kind, []).append(value)

    def valid_at(self, schema: Any, resolver: Any) -> Predicate:
        check: Predicate = self.document.validator.evolve(
            schema=schema, _resolver=resolver
        ).is_valid
        return check

    def resolve(self, schema: Any, resolver: Any) -> tuple[Any, Any, int]:
        """Follow ``$ref`` chains; siblings of a ``$ref`` are merged into its target."""
        hops = 0
        while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and hops < 64:
            target, resolver = self.document.lookup(schema["$ref"], resolver)
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            if siblings and isinstance(target, Mapping):
                schema = {"allOf": [target, siblings]}
            elif siblings:
                schema = siblings if target is True else False
            else:
                schema = target
            hops += 1
        return schema, resolver, hops

    def build(self, schema: Any, resolver: Any, refs: int) -> st.SearchStrategy[Any]:
        schema, resolver, hops = self.resolve(schema, resolver)
        refs += hops
        if hops and refs > _REF_DEPTH:
            return st.nothing()
        if schema is True:
            return ANY_JSON
        if schema is False or not isinstance(schema, Mapping):
            return st.nothing()
        strategy = self._node(schema, resolver, refs)
        if _FILTERED & schema.keys():
            strategy = strategy.filter(self.valid_at(schema, resolver))
        return strategy

    def _node(self, schema: Mapping[str, Any], resolver: Any, refs: int) -> st.SearchStrategy[Any]:
        if "allOf" in schema:
            merged: Any = {k: v for k, v in schema.items() if k != "allOf"}
            leftovers: list[Any] = []
            for branch in schema["allOf"]:
                branch, _, _ = self.resolve(branch, resolver)
                if branch is False or merged is False:
                    return st.nothing()
                if branch is True:
                    continue
                merged, left = merge(merged, branch)
                leftovers += left
            strategy = self.build(merged, resolver, refs)
            for left in leftovers:
                strategy = strategy.filter(self.valid_at(left, resolver))
            return strategy
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                rest = {k: v for k, v in schema.items() if k != keyword}
                options = []
                for branch in schema[keyword]:
                    branch, _, _ = self.resolve(branch, resolver)
                    if branch is False:
                        continue
                    merged, left = merge(rest, {} if branch is True else branch)
                    option = self.build(merged, resolver, refs)
                    for extra in left:
                        option = option.filter(self.valid_at(extra, resolver))
                    options.append(option)
                return st.one_of(options) if options else st.nothing()
        if "not" in schema:
            rest = {k: v for k, v in schema.items() if k != "not"}
            return self.build(rest, resolver, refs)  # the node filter applies "not"
        if "enum" in schema or "const" in schema:
            values = list(schema.get("enum", [schema.get("const")]))
            if "const" in schema:
                values = [v for v in values if canon(v) == canon(schema["const"])]
            check = self.valid_at(schema, resolver)
            values = [v for v in values if check(v)]
            return st.sampled_from(values) if values else st.nothing()
        types = type_list(schema["type"]) if "type" in schema else list(TYPE_ORDER)
        if "integer" in types and "number" in types:
            types.remove("integer")  # numbers already include integers
        return st.one_of([self._typed(t, schema, resolver, refs) for t in types])

    def _typed(
        self, kind: str, schema: Mapping[str, Any], resolver: Any, refs: int
    ) -> st.SearchStrategy[Any]:
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind in _LEAF_KEYWORDS:
            import hypothesis_jsonschema  # slow to import; only generation needs it

            leaf = {"type": kind, **{k: schema[k] for k in _LEAF_KEYWORDS[kind] if k in schema}}
            strategy: st.SearchStrategy[Any] = hypothesis_jsonschema.from_schema(leaf)
            if kind == "number":
                # Integers are numbers too, and often the simplest counterexample.
                strategy = hypothesis_jsonschema.from_schema({**leaf, "type": "integer"}) | strategy
            check = self.valid_at(leaf, resolver)
            hinted = [v for v in self.hints.get(kind, ()) if check(v)]
            if hinted:
                # Values the schemas name (enum, const, examples) are where a "not", a "const"
                # or a narrowed pattern differ; random text rarely lands on them.
                strategy = strategy | st.sampled_from(hinted)
            return strategy
        if kind == "array":
            return self._array(schema, resolver, refs)
        return self._object(schema, resolver, refs)

    def _array(self, schema: Mapping[str, Any], resolver: Any, refs: int) -> st.SearchStrategy[Any]:
        items = schema.get("items", True)
        if isinstance(items, list):  # drafts before 2020-12
            prefix, rest = items, schema.get("additionalItems", True)
        else:
            prefix, rest = list(schema.get("prefixItems") or ()), items
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        prefix_strategies = [self.build(p, resolver, refs) for p in prefix]
        rest_strategy = self.build(rest, resolver, refs)
        tail_low = max(0, low - len(prefix))
        tail_high = tail_low + _EXTRA_ITEMS
        if high is not None:
            tail_high = min(tail_high, int(high) - len(prefix))
        if rest is False:
            tail_high = 0
        if tail_high < tail_low:
            return st.nothing()
        most = len(prefix) if high is None else min(len(prefix), int(high))
        unique = schema.get("uniqueItems") is True
        # An item meeting "contains", drawn on purpose: random items rarely do.
        wanted = self._contained(schema, rest, resolver, refs) if not prefix else None
        if wanted is not None and tail_high < 1:
            return st.nothing()

        @st.composite
        def arrays(draw: st.DrawFn) -> list[Any]:
            # Positional items may stop early, unless minItems needs them all.
            count = draw(st.integers(min(low, most), most)) if most else 0
            head = [draw(s) for s in prefix_strategies[:count]]
            if count < len(prefix):
                return head
            extra = 0 if wanted is None else 1
            tail = draw(
                st.lists(
                    rest_strategy,
                    min_size=max(tail_low - extra, 0),
                    max_size=tail_high - extra,
                    unique_by=canon if unique else None,
                )
            )
            if wanted is not None:
                tail.insert(draw(st.integers(0, len(tail))), draw(wanted))
            return head + tail

        return arrays()

    def _contained(
        self, schema: Mapping[str, Any], rest: Any, resolver: Any, refs: int
    ) -> st.SearchStrategy[Any] | None:
        """Items valid under both the items schema and ``contains``, if the array needs one."""
        if "contains" not in schema or schema.get("minContains", 1) == 0:
            return None
        target, _, _ = self.resolve(schema["contains"], resolver)
        rest, _, _ = self.resolve(rest, resolver)
        if target is False or rest is False:
            return st.nothing()
        if not isinstance(target, Mapping) or not isinstance(rest, Mapping):
            return self.build(target if rest is True else rest, resolver, refs)
        merged, leftovers = merge(rest, target)
        strategy = self.build(merged, resolver, refs)
        for left in leftovers:
            strategy = strategy.filter(self.valid_at(left, resolver))
        return strategy

    def _object(
        self, schema: Mapping[str, Any], resolver: Any, refs: int
    ) -> st.SearchStrategy[Any]:
        import hypothesis_jsonschema  # slow to import; only generation needs it

        properties: Mapping[str, Any] = schema.get("properties") or {}
        patterns: Mapping[str, Any] = schema.get("patternProperties") or {}
        additional = schema.get("additionalProperties", schema.get("unevaluatedProperties", True))
        required = [r for r in schema.get("required") or () if isinstance(r, str)]

        def matching(name: str) -> list[Any]:
            found = []
            for pattern, sub in patterns.items():
                try:
                    if re.search(pattern, name):
                        found.append(sub)
                except re.error:
                    continue
            return found

        def member(name: str) -> st.SearchStrategy[Any]:
            subs = matching(name)
            own = properties.get(name, additional if not subs else subs.pop(0))
            strategy = self.build(own, resolver, refs)
            for sub in subs:
                strategy = strategy.filter(self.valid_at(sub, resolver))
            return strategy

        members = {name: member(name) for name in dict.fromkeys([*required, *properties])}
        optional = [name for name in properties if name not in required]
        extracanon = st.text(min_size=1, max_size=8).filter(
            lambda k: k not in properties and not matching(k)
        )
        extras: list[tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = []
        if additional is not False:
            extras.append((extracanon, self.build(additional, resolver, refs)))
        for pattern, sub in patterns.items():
            try:
                re.compile(pattern)
            except re.error:
                continue
            names = hypothesis_jsonschema.from_schema({"type": "string", "pattern": pattern})
            extras.append(
                (names.filter(lambda k: k not in properties), self.build(sub, resolver, refs))
            )

        @st.composite
        def objects(draw: st.DrawFn) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name in required:
                out[name] = draw(members[name])
            for name in optional:
                if draw(st.booleans()):
                    out[name] = draw(members[name])
            for names, values in extras:
                for _ in range(draw(st.integers(0, _EXTRA_KEYS))):
                    name = draw(names)
                    if name not in out:
                        value = draw(values)
                        if all(self.valid_at(s, resolver)(value) for s in matching(name)):
                            out[name] = value
            return out

        return objects()


def instances(
    document: SchemaDocument, schema: Mapping[str, Any] | None = None, *, hints: Sequence[Any] = ()
) -> st.SearchStrategy[Any]:
    """A strategy for documents valid under ``schema`` (default: the document's root schema).

    Args:
        document: resolves ``$ref`` and validates.
        schema: the root, or an extension of it (an added ``allOf`` entry) whose ``$ref`` resolve
            against ``document``.
        hints: scalar values to try where they fit, besides random ones.
    """
    root = document.schema if schema is None else schema
    check = document.validator.evolve(schema=root).is_valid
    return _Builder(document, hints).build(root, document.resolver, 0).filter(check)
