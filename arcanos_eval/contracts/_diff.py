"""Structural comparison of an old and a new JSON Schema, node by node.

The question for every difference is the one a client of model outputs asks: *can the new schema
accept an output the old one rejects?* If yes, the difference is breaking (clients were written
against the old schema). Narrowing the new schema is always safe; widening it never is.

The walk follows ``$ref`` on both sides (a pair already on the stack is assumed compatible, so
recursive schemas end), flattens ``allOf`` entries that merge cleanly into their node, and pairs
``anyOf``/``oneOf`` alternatives by inclusion. At each node pair it runs the handler of every
keyword in :data:`KEYWORDS`, in table order; that order is the order of the findings. Differences
whose effect cannot be read off the keywords (a changed ``pattern``, ``if``/``then``, a dropped
``allOf`` entry, unknown keywords) are :attr:`Impact.UNDECIDED` and are settled by generated
examples.

Where the handlers live: :mod:`._values` (``type``, ``enum``, ``const``, annotations),
:mod:`._scalars` (numbers and strings), :mod:`._arrays`, :mod:`._properties` (``properties``,
``required``), :mod:`._objects` (the other object keywords), :mod:`._combinators`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import arcanos_eval.contracts._arrays as _arrays
import arcanos_eval.contracts._combinators as _combinators
import arcanos_eval.contracts._objects as _objects
import arcanos_eval.contracts._properties as _properties
import arcanos_eval.contracts._scalars as _scalars
import arcanos_eval.contracts._values as _values
from arcanos_eval._fastcheck import ANNOTATIONS
from arcanos_eval.contracts._nodes import (
    INERT,
    Draft,
    Impact,
    InstancePath,
    Side,
    Site,
    canon,
    declared_types,
    dedupe,
    finite,
    first_reason,
    intersect,
    is_false,
    json_type,
    merge,
    norm_types,
    pointer_path,
    union,
    with_siblings,
    worst,
)
from arcanos_eval.contracts._pair import Handler, Pair, Stack
from arcanos_eval.contracts._schema import ContractError, SchemaDocument

__all__ = ["KEYWORDS", "Walker"]

# Every keyword the walk compares, with the function that compares it; a keyword family (the two
# lower bounds, the three spellings of items, properties and required, if/then/else) shares one.
# The order of first appearance is the order handlers run in, and so the order of the findings.
# A changed keyword that is neither listed here, nor an annotation, nor INERT is reported as an
# undecided change, left to the generated examples.
KEYWORDS: dict[str, Handler] = {
    "type": _values.diff_type,
    "enum": _values.diff_enum,
    "const": _values.diff_enum,
    "minimum": _scalars.diff_minimum,
    "exclusiveMinimum": _scalars.diff_minimum,
    "maximum": _scalars.diff_maximum,
    "exclusiveMaximum": _scalars.diff_maximum,
    "multipleOf": _scalars.diff_multiple_of,
    "minLength": _scalars.diff_min_length,
    "maxLength": _scalars.diff_max_length,
    "pattern": _scalars.diff_pattern,
    "format": _scalars.diff_format,
    "prefixItems": _arrays.diff_items,
    "items": _arrays.diff_items,
    "additionalItems": _arrays.diff_items,
    "minItems": _arrays.diff_min_items,
    "maxItems": _arrays.diff_max_items,
    "uniqueItems": _arrays.diff_unique_items,
    "properties": _properties.diff_properties,
    "required": _properties.diff_properties,
    "additionalProperties": _objects.diff_additional_properties,
    "patternProperties": _objects.diff_pattern_properties,
    "propertyNames": _objects.diff_property_names,
    "minProperties": _objects.diff_min_properties,
    "maxProperties": _objects.diff_max_properties,
    "allOf": _combinators.diff_all_of,
    "anyOf": _combinators.diff_any_of,
    "oneOf": _combinators.diff_one_of,
    "not": _combinators.diff_not,
    "if": _combinators.diff_conditional,
    "then": _combinators.diff_conditional,
    "else": _combinators.diff_conditional,
}
# Each handler once, in table order: a handler reads its whole family (and diff_type reads what
# enum, allOf and the rest imply), so it runs for every node pair and reports only differences.
_HANDLERS: tuple[Handler, ...] = tuple(dict.fromkeys(KEYWORDS.values()))
_NOT_UNKNOWN = ANNOTATIONS | INERT | KEYWORDS.keys()


class Walker:
    """Compares two schema documents node by node; :meth:`run` returns every difference."""

    def __init__(self, old: SchemaDocument, new: SchemaDocument) -> None:
        self.old = old
        self.new = new

    def run(self) -> list[Draft]:
        """Every difference between the two documents, in the order of the new schema."""
        root_old = Side(self.old.schema, self.old.resolver)
        root_new = Side(self.new.schema, self.new.resolver)
        return dedupe(self.compare(root_old, root_new, (), frozenset()))

    # ------------------------------------------------------------------ entry for every node pair

    def compare(self, old: Side, new: Side, at: InstancePath, stack: Stack) -> list[Draft]:
        """The differences between two nodes found at instance path ``at``."""
        old_side, old_ref = self._deref(self.old, old)
        new_side, new_ref = self._deref(self.new, new)
        if old_ref is not None or new_ref is not None:
            # Recursive schemas: a pair already being compared is assumed compatible, the
            # greatest fixpoint, so a loop through $ref ends.
            key = (id(old_side.schema), id(new_side.schema))
            if key in stack:
                return []
            stack = stack | {key}
        drafts = self._node(old_side, new_side, at, stack)
        if old_ref is not None and new_ref is not None and old_ref != new_ref:
            verdict = worst(drafts)
            detail = first_reason(drafts, verdict)
            reason = f"$ref now points at {new_ref} instead of {old_ref}"
            reason += f"; {detail}" if detail else "; the two targets accept the same outputs"
            return [
                Draft(new.path, "ref_target_changed", verdict, reason, [Site(at, None, True)], at)
            ]
        return drafts

    def _deref(self, document: SchemaDocument, side: Side) -> tuple[Side, str | None]:
        schema, resolver, path = side.schema, side.resolver, side.path
        first: str | None = None
        for _ in range(64):  # a chain of $ref to $ref; a cycle of pure refs is not a schema
            if not (isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str)):
                break
            ref: str = schema["$ref"]
            first = first or ref
            target, resolver = document.lookup(ref, resolver)
            path = pointer_path(ref, path)
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            if not siblings:
                schema = target
            elif isinstance(target, Mapping):
                merged = with_siblings(target, "", siblings)
                annotations = {k: v for k, v in siblings.items() if k in ANNOTATIONS}
                schema = False if merged is False else {**merged, **annotations}
            else:
                schema = siblings if target is True else False
        return Side(schema, resolver, path), first

    def _flatten(self, document: SchemaDocument, side: Side) -> Side:
        """``side`` with the ``allOf`` entries that merge cleanly merged into the node itself.

        ``{"allOf": [{"$ref": "#/$defs/Base"}, {"required": ["id"]}]}`` is then compared like the
        object it means, not as an opaque list of constraints.
        """
        schema = side.schema
        for _ in range(4):  # merged entries may bring their own allOf
            if not isinstance(schema, Mapping) or not schema.get("allOf"):
                break
            merged: Any = {k: v for k, v in schema.items() if k != "allOf"}
            kept: list[Any] = []
            for branch in schema["allOf"]:
                target = branch
                if (
                    isinstance(branch, Mapping)
                    and isinstance(branch.get("$ref"), str)
                    and branch["$ref"].startswith("#")
                ):
                    # A reference inside the same document resolves alike from here.
                    target = self._deref(document, Side(branch, side.resolver, side.path))[0].schema
                if target is True:
                    continue
                if not isinstance(target, Mapping) or "$ref" in target:
                    kept.append(branch)
                    continue
                candidate, leftovers = merge(merged, target)
                if candidate is False:
                    return Side(False, side.resolver, side.path)
                if leftovers:
                    kept.append(branch)
                else:
                    merged = candidate
            if kept:
                merged["allOf"] = [*merged.get("allOf", ()), *kept]
            if canon(merged) == canon(schema):
                break
            schema = merged
        return Side(schema, side.resolver, side.path)

    def _node(self, old: Side, new: Side, at: InstancePath, stack: Stack) -> list[Draft]:
        old, new = self._flatten(self.old, old), self._flatten(self.new, new)
        o, n = old.schema, new.schema
        if is_false(n):
            if is_false(o):
                return []
            return [
                Draft(
                    new.path,
                    "now_forbidden",
                    Impact.COMPATIBLE,
                    "the new schema allows nothing here: outputs never hold a value here",
                    [Site(at)],
                    at,
                )
            ]
        if is_false(o):
            return [
                Draft(
                    new.path,
                    "now_allowed",
                    Impact.BREAKING,
                    "the old schema allowed nothing here; outputs may now hold a value",
                    [Site(at, None, True)],
                    at,
                )
            ]
        o = {} if o is True else o
        n = {} if n is True else n
        pair = Pair(
            self, Side(o, old.resolver, old.path), Side(n, new.resolver, new.path), at, stack
        )
        drafts = _values.annotation_changes(o, n, new.path, at)
        # Two node rules come before the table: a node listing its values is settled value by
        # value, and brand-new alternatives are each compared with the whole old node.
        values = finite(n)
        if values is not None:
            return drafts + _values.enumerated(pair, values)
        alternatives = _combinators.new_alternatives(pair)
        if alternatives is not None:
            return drafts + alternatives
        for handler in _HANDLERS:
            drafts += handler(pair)
        return drafts + _unknown_keywords(pair)

    # ------------------------------------------------------------------ types, through combinators

    def effective_types(
        self, document: SchemaDocument, side: Side, depth: int = 0
    ) -> frozenset[str] | None:
        """The JSON types a node admits, looking through ``allOf``/``anyOf``/``oneOf``/``$ref``."""
        try:
            side, _ = self._deref(document, side)
        except ContractError:  # an unresolvable ref surfaces in compare(); here it only widens
            return None
        schema = side.schema
        if schema is True or not isinstance(schema, Mapping):
            return None if schema is not False else frozenset()
        found = declared_types(schema)
        values = finite(schema)
        if values is not None:
            found = intersect(found, norm_types(json_type(v) for v in values))
        if depth >= 4:
            return found
        for branch in schema.get("allOf") or ():
            found = intersect(found, self.effective_types(document, side.at(branch), depth + 1))
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword)
            if branches:
                found = intersect(
                    found,
                    union(
                        [self.effective_types(document, side.at(b), depth + 1) for b in branches]
                    ),
                )
        return found


def _unknown_keywords(pair: Pair) -> list[Draft]:
    """Keywords the table does not know, added, removed or changed: left to the examples."""
    o, n = pair.o, pair.n
    drafts: list[Draft] = []
    for keyword in [k for k in n if k not in _NOT_UNKNOWN] + [
        k for k in o if k not in _NOT_UNKNOWN and k not in n
    ]:
        if canon(o.get(keyword)) != canon(n.get(keyword)):
            change = "added" if keyword not in o else "removed" if keyword not in n else "changed"
            drafts.append(
                Draft(
                    pair.path,
                    "keyword_changed",
                    Impact.UNDECIDED,
                    f"{keyword} {change}",
                    [Site(pair.at, None, True)],
                    pair.at,
                )
            )
    return drafts
