"""The schema walker as it stood before the keyword table: a frozen copy to compare against.

Kept only while the table-driven walker is checked against it (``test_walker_table.py``).
"""
# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

from arcanos_eval._fastcheck import ANNOTATIONS
from arcanos_eval.contracts._nodes import (
    EXTRA_KEY_KEYWORDS,
    ITEM,
    KEY,
    NARROWER_FORMATS,
    Bound,
    Draft,
    InstancePath,
    Side,
    Site,
    Verdict,
    array_parts,
    canon,
    child,
    count_bound,
    covered,
    declared_types,
    dedupe,
    finite,
    first_reason,
    format_bound,
    integral,
    intersect,
    is_false,
    is_number,
    is_true,
    json_type,
    lower_bound,
    merge,
    norm_types,
    pointer_path,
    regex_search,
    show,
    show_all,
    show_types,
    union,
    upper_bound,
    with_siblings,
    worst,
)
from arcanos_eval.contracts._schema import ContractError, SchemaDocument

# Identifiers and containers: they do not constrain instances by themselves.
INERT = frozenset(
    {"$schema", "$id", "$anchor", "$dynamicAnchor", "$defs", "definitions", "$vocabulary", "$ref"}
)
HANDLED = frozenset(
    {
        "type",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "items",
        "prefixItems",
        "additionalItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
    }
)
CONDITIONAL = ("if", "then", "else")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``plural(1, "item")`` is ``1 item``, ``plural(2, "item")`` is ``2 items``."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def annotation_changes(
    o: Mapping[str, Any], n: Mapping[str, Any], path: str, at: InstancePath
) -> list[Draft]:
    drafts = []
    for keyword in sorted(ANNOTATIONS):
        if canon(o.get(keyword)) != canon(n.get(keyword)):
            drafts.append(
                Draft(
                    path,
                    "annotation_changed",
                    Verdict.COMPATIBLE,
                    f"{keyword} changed; annotations do not constrain outputs",
                    [],
                    at,
                )
            )
    return drafts


def type_change(
    old: frozenset[str] | None, new: frozenset[str] | None, path: str, at: InstancePath
) -> list[Draft]:
    if old == new:
        return []
    sites = [Site(at, frozenset({"type"}))]
    if new is None:
        return [
            Draft(
                path,
                "type_removed",
                Verdict.BREAKING,
                f"the old schema required {show_types(old)}; any JSON type may now appear",
                sites,
                at,
            )
        ]
    if old is None:
        return [
            Draft(
                path,
                "type_added",
                Verdict.COMPATIBLE,
                f"outputs are now restricted to {show_types(new)}",
                sites,
                at,
            )
        ]
    extra = sorted(t for t in new if not covered(t, old))
    if not extra:
        return [
            Draft(
                path,
                "type_narrowed",
                Verdict.COMPATIBLE,
                f"{show_types(old)} became {show_types(new)}: every new type was already allowed",
                sites,
                at,
            )
        ]
    if all(covered(t, new) for t in old):
        return [
            Draft(
                path,
                "type_widened",
                Verdict.BREAKING,
                f"{show_types(old)} became {show_types(new)}: outputs may now be "
                f"{' or '.join(extra)}, which clients reject",
                sites,
                at,
            )
        ]
    return [
        Draft(
            path,
            "type_changed",
            Verdict.BREAKING,
            f"{show_types(old)} became {show_types(new)}",
            sites,
            at,
        )
    ]


def bound(
    name: str,
    old: Bound | None,
    new: Bound | None,
    *,
    upper: bool,
    path: str,
    at: InstancePath,
    keywords: Iterable[str],
    relevant: bool,
    show_bound: Callable[[Bound], str] | None = None,
) -> list[Draft]:
    if old == new:
        return []

    def fmt(bound: Bound) -> str:
        return show_bound(bound) if show_bound else format_bound(bound, upper=upper)

    sites = [Site(at, frozenset(keywords))]
    if old is None and new is not None:
        return [
            Draft(
                path,
                f"{name}_added",
                Verdict.COMPATIBLE,
                f"new bound {fmt(new)}: outputs are only more constrained",
                sites,
                at,
            )
        ]
    if old is None or new is None:
        if old is None:
            return []
        verdict, kind = Verdict.BREAKING, f"{name}_removed"
        reason = (
            f"bound {fmt(old)} removed: outputs beyond it are now valid, and clients reject them"
        )
    else:
        tighter = (new[0] < old[0]) if upper else (new[0] > old[0])
        same_value_tighter = new[0] == old[0] and (new[1] or not old[1])
        if tighter or same_value_tighter:
            return [
                Draft(
                    path,
                    f"{name}_tightened",
                    Verdict.COMPATIBLE,
                    f"{fmt(old)} became {fmt(new)}: outputs are only more constrained",
                    sites,
                    at,
                )
            ]
        verdict, kind = Verdict.BREAKING, f"{name}_loosened"
        reason = (
            f"{fmt(old)} became {fmt(new)}: outputs between the two bounds are now "
            "valid, and clients reject them"
        )
    if not relevant:
        verdict = Verdict.COMPATIBLE
        reason += " (but no value it applies to can appear here under the new schema)"
    return [Draft(path, kind, verdict, reason, sites, at)]


def numbers(
    o: Mapping[str, Any],
    n: Mapping[str, Any],
    path: str,
    at: InstancePath,
    old_types: frozenset[str] | None,
    new_types: frozenset[str] | None,
) -> list[Draft]:
    relevant = new_types is None or bool({"number", "integer"} & new_types)
    integers = (
        old_types is not None
        and new_types is not None
        and old_types <= {"integer"}
        and new_types <= {"integer"}
    )
    lower_old, lower_new, upper_old, upper_new = (
        lower_bound(o),
        lower_bound(n),
        upper_bound(o),
        upper_bound(n),
    )
    if integers:
        lower_old, lower_new = (integral(lower_old, upper=False), integral(lower_new, upper=False))
        upper_old, upper_new = (integral(upper_old, upper=True), integral(upper_new, upper=True))
    drafts = bound(
        "minimum",
        lower_old,
        lower_new,
        upper=False,
        path=path,
        at=at,
        keywords=("minimum", "exclusiveMinimum"),
        relevant=relevant,
    )
    drafts += bound(
        "maximum",
        upper_old,
        upper_new,
        upper=True,
        path=path,
        at=at,
        keywords=("maximum", "exclusiveMaximum"),
        relevant=relevant,
    )
    old_step, new_step = o.get("multipleOf"), n.get("multipleOf")
    if is_number(old_step) or is_number(new_step):
        if not is_number(new_step):
            verdict = Verdict.BREAKING if relevant else Verdict.COMPATIBLE
            drafts.append(
                Draft(
                    path,
                    "multiple_of_removed",
                    verdict,
                    f"outputs no longer need to be multiples of {old_step}",
                    [Site(at, frozenset({"multipleOf"}))],
                    at,
                )
            )
        elif not is_number(old_step):
            drafts.append(
                Draft(
                    path,
                    "multiple_of_added",
                    Verdict.COMPATIBLE,
                    f"outputs must now be multiples of {new_step}",
                    [Site(at, frozenset({"multipleOf"}))],
                    at,
                )
            )
        elif canon(old_step) != canon(new_step):
            ratio = Fraction(str(new_step)) / Fraction(str(old_step))
            fits = ratio.denominator == 1
            verdict = Verdict.COMPATIBLE if fits or not relevant else Verdict.BREAKING
            drafts.append(
                Draft(
                    path,
                    "multiple_of_changed",
                    verdict,
                    f"multipleOf {old_step} became {new_step}: "
                    + (
                        "every multiple of the new step is one of the old"
                        if fits
                        else f"multiples of {new_step} need not be multiples of {old_step}"
                    ),
                    [Site(at, frozenset({"multipleOf"}))],
                    at,
                )
            )
    return drafts


def strings(
    o: Mapping[str, Any],
    n: Mapping[str, Any],
    path: str,
    at: InstancePath,
    new_types: frozenset[str] | None,
) -> list[Draft]:
    relevant = covered("string", new_types)

    def length(bound: Bound) -> str:
        return plural(int(bound[0]), "character")

    drafts = bound(
        "min_length",
        count_bound(o, "minLength"),
        count_bound(n, "minLength"),
        upper=False,
        path=path,
        at=at,
        keywords=("minLength",),
        relevant=relevant,
        show_bound=lambda b: f"at least {length(b)}",
    )
    drafts += bound(
        "max_length",
        count_bound(o, "maxLength"),
        count_bound(n, "maxLength"),
        upper=True,
        path=path,
        at=at,
        keywords=("maxLength",),
        relevant=relevant,
        show_bound=lambda b: f"at most {length(b)}",
    )
    breaking = Verdict.BREAKING if relevant else Verdict.COMPATIBLE
    old_pattern, new_pattern = o.get("pattern"), n.get("pattern")
    sites = [Site(at, frozenset({"pattern"}))]
    if old_pattern != new_pattern:
        if new_pattern is None:
            drafts.append(
                Draft(
                    path,
                    "pattern_removed",
                    breaking,
                    f"outputs no longer have to match {old_pattern!r}",
                    sites,
                    at,
                )
            )
        elif old_pattern is None:
            drafts.append(
                Draft(
                    path,
                    "pattern_added",
                    Verdict.COMPATIBLE,
                    f"outputs must now match {new_pattern!r}",
                    sites,
                    at,
                )
            )
        else:
            drafts.append(
                Draft(
                    path,
                    "pattern_changed",
                    Verdict.UNDECIDED if relevant else Verdict.COMPATIBLE,
                    f"pattern {old_pattern!r} became {new_pattern!r}",
                    sites,
                    at,
                )
            )
    old_format, new_format = o.get("format"), n.get("format")
    sites = [Site(at, frozenset({"format"}))]
    if old_format != new_format:
        if new_format is None:
            drafts.append(
                Draft(
                    path,
                    "format_removed",
                    breaking,
                    f"outputs no longer have to be {old_format!r}",
                    sites,
                    at,
                )
            )
        elif old_format is None:
            drafts.append(
                Draft(
                    path,
                    "format_added",
                    Verdict.COMPATIBLE,
                    f"outputs must now be {new_format!r}",
                    sites,
                    at,
                )
            )
        elif (new_format, old_format) in NARROWER_FORMATS:
            drafts.append(
                Draft(
                    path,
                    "format_changed",
                    Verdict.COMPATIBLE,
                    f"format {old_format!r} became the narrower {new_format!r}",
                    sites,
                    at,
                )
            )
        else:
            drafts.append(
                Draft(
                    path,
                    "format_changed",
                    breaking,
                    f"format {old_format!r} became {new_format!r}: a "
                    f"{new_format!r} value need not be a {old_format!r} one",
                    sites,
                    at,
                )
            )
    return drafts


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

    def compare(
        self, old: Side, new: Side, at: InstancePath, stack: frozenset[tuple[int, int]]
    ) -> list[Draft]:
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

    def _node(
        self, old: Side, new: Side, at: InstancePath, stack: frozenset[tuple[int, int]]
    ) -> list[Draft]:
        old, new = self._flatten(self.old, old), self._flatten(self.new, new)
        o, n = old.schema, new.schema
        if is_false(n):
            if is_false(o):
                return []
            return [
                Draft(
                    new.path,
                    "now_forbidden",
                    Verdict.COMPATIBLE,
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
                    Verdict.BREAKING,
                    "the old schema allowed nothing here; outputs may now hold a value",
                    [Site(at, None, True)],
                    at,
                )
            ]
        o = {} if o is True else o
        n = {} if n is True else n
        old, new = Side(o, old.resolver, old.path), Side(n, new.resolver, new.path)
        drafts = annotation_changes(o, n, new.path, at)
        values = finite(n)
        if values is not None:
            return drafts + self._enumerated(old, new, values, at)
        for keyword in ("anyOf", "oneOf"):
            if n.get(keyword) and not o.get(keyword):
                # New alternatives: the keywords next to them hold only part of the constraint,
                # so each alternative, with them, is compared with the whole old node instead.
                return drafts + self._alternatives(old, new, keyword, at, stack)
        old_types = self._effective_types(self.old, old, 0)
        new_types = self._effective_types(self.new, new, 0)
        drafts += type_change(old_types, new_types, new.path, at)
        old_values = finite(o)
        if old_values is not None:
            keyword = "const" if "const" in o else "enum"
            drafts.append(
                Draft(
                    new.path,
                    f"{keyword}_removed",
                    Verdict.BREAKING,
                    f"the old schema only allowed {show_all(old_values)}; any value of the new "
                    "schema's type may now appear",
                    [Site(at, frozenset({"enum", "const"}))],
                    at,
                )
            )
        drafts += numbers(o, n, new.path, at, old_types, new_types)
        drafts += strings(o, n, new.path, at, new_types)
        drafts += self._arrays(old, new, at, stack, new_types)
        drafts += self._objects(old, new, at, stack, new_types)
        drafts += self._combinators(old, new, at, stack)
        drafts += self._others(o, n, new.path, at)
        return drafts

    # ------------------------------------------------------------------ value keywords

    def _enumerated(self, old: Side, new: Side, values: list[Any], at: InstancePath) -> list[Draft]:
        """A new node listing its values: compatible exactly when the old node accepts each."""
        o, n = old.schema, new.schema
        values = [v for v in values if self.new.is_valid_at(n, new.resolver, v)]
        rejected = {canon(v) for v in values if not self.old.is_valid_at(o, old.resolver, v)}
        sites = [Site(at, None, True)]

        def why(value: Any) -> str:
            return self.old.first_error_at(o, old.resolver, value)

        old_values = finite(o)
        keyword = "const" if "const" in n else "enum"
        if old_values is None:
            bad = [v for v in values if canon(v) in rejected]
            if bad:
                return [
                    Draft(
                        new.path,
                        f"{keyword}_added",
                        Verdict.BREAKING,
                        f"outputs are now limited to {show_all(values)}, but the old "
                        f"schema rejects {show_all(bad)} ({why(bad[0])})",
                        sites,
                        at,
                    )
                ]
            return [
                Draft(
                    new.path,
                    f"{keyword}_added",
                    Verdict.COMPATIBLE,
                    f"outputs are now limited to {show_all(values)}, all valid under "
                    "the old schema",
                    sites,
                    at,
                )
            ]
        old_keys = {canon(v) for v in old_values}
        new_keys = {canon(v) for v in values}
        added = [v for v in values if canon(v) not in old_keys]
        removed = [v for v in old_values if canon(v) not in new_keys]
        drafts: list[Draft] = []
        if "const" in o and "const" in n and added:
            verdict = Verdict.BREAKING if rejected else Verdict.COMPATIBLE
            return [
                Draft(
                    new.path,
                    "const_changed",
                    verdict,
                    f"const {show(o['const'])} became {show(n['const'])}"
                    + ("; clients expect the old value" if rejected else ""),
                    sites,
                    at,
                )
            ]
        if added:
            bad = [v for v in added if canon(v) in rejected]
            if bad:
                drafts.append(
                    Draft(
                        new.path,
                        "enum_value_added",
                        Verdict.BREAKING,
                        f"new value(s) {show_all(bad)}: clients written against the old schema do "
                        "not know them",
                        sites,
                        at,
                    )
                )
            else:
                drafts.append(
                    Draft(
                        new.path,
                        "enum_value_added",
                        Verdict.COMPATIBLE,
                        f"new value(s) {show_all(added)} were already valid under the old schema",
                        sites,
                        at,
                    )
                )
        if removed:
            drafts.append(
                Draft(
                    new.path,
                    "enum_value_removed",
                    Verdict.COMPATIBLE,
                    f"value(s) {show_all(removed)} are no longer produced; clients still accept "
                    "every remaining value",
                    [Site(at, frozenset({"enum", "const"}))],
                    at,
                )
            )
        kept_bad = [v for v in values if canon(v) in rejected and canon(v) in old_keys]
        if kept_bad:
            drafts.append(
                Draft(
                    new.path,
                    "value_rejected",
                    Verdict.BREAKING,
                    f"{show_all(kept_bad)} is listed by both schemas, but the old one rejects it "
                    f"({why(kept_bad[0])})",
                    sites,
                    at,
                )
            )
        return drafts

    def _effective_types(
        self, document: SchemaDocument, side: Side, depth: int
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
            found = intersect(found, self._effective_types(document, side.at(branch), depth + 1))
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword)
            if branches:
                found = intersect(
                    found,
                    union(
                        [self._effective_types(document, side.at(b), depth + 1) for b in branches]
                    ),
                )
        return found

    # ------------------------------------------------------------------ containers

    def _arrays(
        self,
        old: Side,
        new: Side,
        at: InstancePath,
        stack: frozenset[tuple[int, int]],
        new_types: frozenset[str] | None,
    ) -> list[Draft]:
        o, n = old.schema, new.schema
        relevant = covered("array", new_types)
        breaking = Verdict.BREAKING if relevant else Verdict.COMPATIBLE
        drafts: list[Draft] = []
        old_prefix, old_items, old_items_key = array_parts(o)
        new_prefix, new_items, new_items_key = array_parts(n)
        prefix_key = "items" if isinstance(n.get("items"), list) else "prefixItems"
        for index in range(min(len(old_prefix), len(new_prefix))):
            drafts += self.compare(
                old.at(old_prefix[index], prefix_key, index),
                new.at(new_prefix[index], prefix_key, index),
                (*at, index),
                stack,
            )
        if len(old_prefix) != len(new_prefix):
            grew = len(new_prefix) > len(old_prefix)
            span = range(
                min(len(old_prefix), len(new_prefix)), max(len(old_prefix), len(new_prefix))
            )
            drafts.append(
                Draft(
                    child(new.path, prefix_key),
                    "prefix_items_added" if grew else "prefix_items_removed",
                    Verdict.UNDECIDED if relevant else Verdict.COMPATIBLE,
                    f"positional item schemas {list(span)} were {'added' if grew else 'removed'}",
                    [Site((*at, i), None, True) for i in span]
                    + [
                        Site(at, frozenset({"items", "prefixItems", "additionalItems", "maxItems"}))
                    ],
                    at,
                )
            )
        if not (is_true(old_items) and is_true(new_items)):
            # An item a `false` items schema rejects is reported at the array itself.
            item_sites = [
                Site((*at, ITEM), None, True),
                Site(at, frozenset({"items", "additionalItems"})),
            ]
            if is_true(old_items):
                drafts.append(
                    Draft(
                        child(new.path, new_items_key),
                        "items_added",
                        Verdict.COMPATIBLE,
                        "array items are now constrained: outputs are only more constrained",
                        item_sites,
                        (*at, ITEM),
                    )
                )
            elif is_true(new_items):
                drafts.append(
                    Draft(
                        child(new.path, new_items_key),
                        "items_removed",
                        breaking,
                        "array items are no longer constrained: any item may now "
                        "appear, and clients reject what the old items schema "
                        "did not allow",
                        item_sites,
                        (*at, ITEM),
                    )
                )
            elif is_false(old_items) and not is_false(new_items):
                drafts.append(
                    Draft(
                        child(new.path, new_items_key),
                        "additional_items_allowed",
                        breaking,
                        "outputs may now hold items beyond the positional ones, which the old "
                        "schema forbids",
                        item_sites,
                        at,
                    )
                )
            elif is_false(new_items) and not is_false(old_items):
                drafts.append(
                    Draft(
                        child(new.path, new_items_key),
                        "additional_items_forbidden",
                        Verdict.COMPATIBLE,
                        "outputs may no longer hold items beyond the positional ones",
                        item_sites,
                        at,
                    )
                )
            else:
                drafts += self.compare(
                    old.at(old_items, old_items_key),
                    new.at(new_items, new_items_key),
                    (*at, ITEM),
                    stack,
                )
        drafts += bound(
            "min_items",
            count_bound(o, "minItems"),
            count_bound(n, "minItems"),
            upper=False,
            path=new.path,
            at=at,
            keywords=("minItems",),
            relevant=relevant,
            show_bound=lambda b: f"at least {plural(int(b[0]), 'item')}",
        )
        drafts += bound(
            "max_items",
            count_bound(o, "maxItems"),
            count_bound(n, "maxItems"),
            upper=True,
            path=new.path,
            at=at,
            keywords=("maxItems",),
            relevant=relevant,
            show_bound=lambda b: f"at most {plural(int(b[0]), 'item')}",
        )
        old_unique, new_unique = o.get("uniqueItems") is True, n.get("uniqueItems") is True
        if old_unique and not new_unique:
            drafts.append(
                Draft(
                    new.path,
                    "unique_items_removed",
                    breaking,
                    "arrays may now repeat items; the old schema forbade it",
                    [Site(at, frozenset({"uniqueItems"}))],
                    at,
                )
            )
        elif new_unique and not old_unique:
            drafts.append(
                Draft(
                    new.path,
                    "unique_items_added",
                    Verdict.COMPATIBLE,
                    "arrays may no longer repeat items",
                    [Site(at, frozenset({"uniqueItems"}))],
                    at,
                )
            )
        return drafts

    def _member(self, side: Side, name: str) -> Side:
        """The schema ``side`` applies to a property ``name``."""
        schema = side.schema
        if not isinstance(schema, Mapping):
            return side
        properties = schema.get("properties") or {}
        if name in properties:
            return side.at(properties[name], "properties", name)
        patterns = [
            (p, s)
            for p, s in (schema.get("patternProperties") or {}).items()
            if regex_search(p, name)
        ]
        if len(patterns) == 1:
            return side.at(patterns[0][1], "patternProperties", patterns[0][0])
        if patterns:
            return side.at({"allOf": [s for _, s in patterns]}, "patternProperties")
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            if keyword in schema:
                return side.at(schema[keyword], keyword)
        return side.at(True, "additionalProperties")

    def _objects(
        self,
        old: Side,
        new: Side,
        at: InstancePath,
        stack: frozenset[tuple[int, int]],
        new_types: frozenset[str] | None,
    ) -> list[Draft]:
        o, n = old.schema, new.schema
        relevant = covered("object", new_types)
        breaking = Verdict.BREAKING if relevant else Verdict.COMPATIBLE
        old_props: Mapping[str, Any] = o.get("properties") or {}
        new_props: Mapping[str, Any] = n.get("properties") or {}
        old_req = [r for r in o.get("required") or () if isinstance(r, str)]
        new_req = [r for r in n.get("required") or () if isinstance(r, str)]
        drafts: list[Draft] = []

        removed = [k for k in old_props if k not in new_props]
        added = [k for k in new_props if k not in old_props]
        renamed: dict[str, str] = {}
        for new_name in added:
            for old_name in removed:
                if old_name in renamed.values() or (old_name in old_req) != (new_name in new_req):
                    continue
                probe = self.compare(
                    old.at(old_props[old_name], "properties", old_name),
                    new.at(new_props[new_name], "properties", new_name),
                    (*at, new_name),
                    stack,
                )
                if all(d.kind == "annotation_changed" for d in probe):
                    renamed[new_name] = old_name
                    break

        for name in new_props:
            if name in old_props:
                drafts += self.compare(
                    old.at(old_props[name], "properties", name),
                    new.at(new_props[name], "properties", name),
                    (*at, name),
                    stack,
                )
                drafts += self._required_change(
                    name, old_req, new_req, new.path, at, breaking, in_properties=True
                )
            elif name in renamed:
                drafts.append(
                    self._renamed(
                        old, new, renamed[name], name, old_req, new_req, at, stack, relevant
                    )
                )
            else:
                drafts.append(self._added(old, new, name, new_req, at, stack, relevant))
        for name in removed:
            if name not in renamed.values():
                drafts.append(self._removed(old, new, name, old_req, new_req, at, stack, relevant))
        for name in dict.fromkeys([*old_req, *new_req]):
            if name not in old_props and name not in new_props:
                drafts += self._required_change(
                    name, old_req, new_req, new.path, at, breaking, in_properties=False
                )

        old_extra, new_extra = (
            o.get("additionalProperties", True),
            n.get("additionalProperties", True),
        )
        extra_sites = [Site(at, EXTRA_KEY_KEYWORDS)]
        if is_true(old_extra) and is_true(new_extra):
            pass
        elif is_false(new_extra) and not is_false(old_extra):
            drafts.append(
                Draft(
                    child(new.path, "additionalProperties"),
                    "additional_properties_forbidden",
                    Verdict.COMPATIBLE,
                    "outputs may no longer carry undeclared properties",
                    extra_sites,
                    at,
                )
            )
        elif is_false(old_extra) and not is_false(new_extra):
            drafts.append(
                Draft(
                    child(new.path, "additionalProperties"),
                    "additional_properties_allowed",
                    breaking,
                    "outputs may now carry undeclared properties, which the old "
                    "schema forbids (additionalProperties: false)",
                    extra_sites,
                    at,
                )
            )
        elif not (is_false(old_extra) and is_false(new_extra)):
            drafts += self.compare(
                old.at(old_extra, "additionalProperties"),
                new.at(new_extra, "additionalProperties"),
                (*at, KEY),
                stack,
            )

        old_patterns: Mapping[str, Any] = o.get("patternProperties") or {}
        new_patterns: Mapping[str, Any] = n.get("patternProperties") or {}
        pattern_sites = [Site(at, EXTRA_KEY_KEYWORDS), Site((*at, KEY), None, True)]
        for pattern in new_patterns:
            if pattern in old_patterns:
                drafts += self.compare(
                    old.at(old_patterns[pattern], "patternProperties", pattern),
                    new.at(new_patterns[pattern], "patternProperties", pattern),
                    (*at, KEY),
                    stack,
                )
            else:
                drafts.append(
                    Draft(
                        child(new.path, "patternProperties", pattern),
                        "pattern_properties_added",
                        Verdict.UNDECIDED,
                        f"properties matching {pattern!r} now have their own schema",
                        pattern_sites,
                        at,
                    )
                )
        for pattern in old_patterns:
            if pattern not in new_patterns:
                drafts.append(
                    Draft(
                        child(new.path, "patternProperties", pattern),
                        "pattern_properties_removed",
                        Verdict.UNDECIDED,
                        f"properties matching {pattern!r} lost their own schema",
                        pattern_sites,
                        at,
                    )
                )

        old_names, new_names = o.get("propertyNames"), n.get("propertyNames")
        if canon(old_names) != canon(new_names):
            name_sites = [Site(at)]
            path = child(new.path, "propertyNames")
            if new_names is None or is_true(new_names):
                drafts.append(
                    Draft(
                        path,
                        "property_names_removed",
                        breaking,
                        "property names are no longer constrained",
                        name_sites,
                        at,
                    )
                )
            elif old_names is None or is_true(old_names):
                drafts.append(
                    Draft(
                        path,
                        "property_names_added",
                        Verdict.COMPATIBLE,
                        "property names are now constrained",
                        name_sites,
                        at,
                    )
                )
            else:
                probe = self.compare(
                    old.at(old_names, "propertyNames"),
                    new.at(new_names, "propertyNames"),
                    at,
                    stack,
                )
                verdict = worst(probe)
                drafts.append(
                    Draft(
                        path,
                        "property_names_changed",
                        verdict,
                        "the schema for property names changed"
                        + (f": {first_reason(probe, verdict)}" if verdict else ""),
                        name_sites,
                        at,
                    )
                )

        drafts += bound(
            "min_properties",
            count_bound(o, "minProperties"),
            count_bound(n, "minProperties"),
            upper=False,
            path=new.path,
            at=at,
            keywords=("minProperties",),
            relevant=relevant,
            show_bound=lambda b: f"at least {plural(int(b[0]), 'property', 'properties')}",
        )
        drafts += bound(
            "max_properties",
            count_bound(o, "maxProperties"),
            count_bound(n, "maxProperties"),
            upper=True,
            path=new.path,
            at=at,
            keywords=("maxProperties",),
            relevant=relevant,
            show_bound=lambda b: f"at most {plural(int(b[0]), 'property', 'properties')}",
        )
        return drafts

    def _required_change(
        self,
        name: str,
        old_req: list[str],
        new_req: list[str],
        path: str,
        at: InstancePath,
        breaking: Verdict,
        *,
        in_properties: bool,
    ) -> list[Draft]:
        where = child(path, "properties", name) if in_properties else child(path, "required")
        if name in old_req and name not in new_req:
            return [
                Draft(
                    where,
                    "required_removed",
                    breaking,
                    f"{name!r} is no longer required: outputs may omit it, and clients "
                    "written against the old schema expect it",
                    [Site(at, frozenset({"required", "dependentRequired"}))],
                    at,
                )
            ]
        if name in new_req and name not in old_req:
            return [
                Draft(
                    where,
                    "required_added",
                    Verdict.COMPATIBLE,
                    f"{name!r} is now always present; clients already accept it",
                    [Site(at, frozenset({"required"}))],
                    at,
                )
            ]
        return []

    def _added(
        self,
        old: Side,
        new: Side,
        name: str,
        new_req: list[str],
        at: InstancePath,
        stack: frozenset[tuple[int, int]],
        relevant: bool,
    ) -> Draft:
        schema = (new.schema.get("properties") or {})[name]
        path = child(new.path, "properties", name)
        sites = [Site(at, EXTRA_KEY_KEYWORDS), Site((*at, name), None, True)]
        focus = (*at, name)
        required = "required" if name in new_req else "optional"
        if is_false(schema):
            return Draft(
                path,
                "property_added",
                Verdict.COMPATIBLE,
                f"{name!r} is now explicitly forbidden",
                sites,
                focus,
            )
        known = self._member(old, name)
        if is_false(known.schema):
            verdict = Verdict.BREAKING if relevant else Verdict.COMPATIBLE
            return Draft(
                path,
                "property_added",
                verdict,
                f"new {required} property {name!r}: the old schema forbids undeclared "
                "properties, so clients reject outputs carrying it",
                sites,
                focus,
            )
        probe = self.compare(known, new.at(schema, "properties", name), (*at, name), stack)
        verdict = worst(probe) if relevant else Verdict.COMPATIBLE
        if verdict == Verdict.COMPATIBLE:
            reason = (
                f"new {required} property {name!r}; the old schema accepts it as an "
                "undeclared property, so clients ignore it"
            )
        else:
            reason = (
                f"new {required} property {name!r} holds values the old schema rejects "
                f"for it ({first_reason(probe, verdict)})"
            )
        return Draft(path, "property_added", verdict, reason, sites, focus)

    def _removed(
        self,
        old: Side,
        new: Side,
        name: str,
        old_req: list[str],
        new_req: list[str],
        at: InstancePath,
        stack: frozenset[tuple[int, int]],
        relevant: bool,
    ) -> Draft:
        schema = (old.schema.get("properties") or {})[name]
        path = child(new.path, "properties", name)
        missing = name in old_req and name not in new_req and relevant
        sites = [Site((*at, name), None, True)]
        if name in old_req:
            sites.insert(0, Site(at, frozenset({"required"})))
        focus = at if missing else (*at, name)
        known = self._member(new, name)
        if is_false(known.schema) or not relevant:
            if missing:
                return Draft(
                    path,
                    "property_removed",
                    Verdict.BREAKING,
                    f"{name!r} was removed, and it was required: outputs lack it, and "
                    "clients written against the old schema expect it",
                    sites,
                    focus,
                )
            return Draft(
                path,
                "property_removed",
                Verdict.COMPATIBLE,
                f"{name!r} was optional and is no longer produced: clients already "
                "handle its absence",
                sites,
                focus,
            )
        probe = self.compare(old.at(schema, "properties", name), known, (*at, name), stack)
        verdict = worst(probe)
        if missing:
            return Draft(
                path,
                "property_removed",
                Verdict.BREAKING,
                f"{name!r} was removed, and it was required: outputs may lack it, and "
                "clients written against the old schema expect it",
                sites,
                focus,
            )
        if verdict == Verdict.COMPATIBLE:
            reason = (
                f"{name!r} is no longer declared; the new schema still constrains it compatibly"
            )
        else:
            reason = (
                f"{name!r} is no longer declared, so outputs may carry any value under it "
                f"({first_reason(probe, verdict)})"
            )
        return Draft(path, "property_removed", verdict, reason, sites, focus)

    def _renamed(
        self,
        old: Side,
        new: Side,
        old_name: str,
        new_name: str,
        old_req: list[str],
        new_req: list[str],
        at: InstancePath,
        stack: frozenset[tuple[int, int]],
        relevant: bool,
    ) -> Draft:
        gone = self._removed(old, new, old_name, old_req, new_req, at, stack, relevant)
        came = self._added(old, new, new_name, new_req, at, stack, relevant)
        verdict = max(gone.verdict, came.verdict)
        if verdict == Verdict.COMPATIBLE:
            reason = (
                f"{old_name!r} renamed to {new_name!r} (same schema); {gone.reason}; {came.reason}"
            )
        else:
            parts = [d.reason for d in (gone, came) if d.verdict == verdict]
            reason = f"{old_name!r} renamed to {new_name!r} (same schema): " + "; ".join(parts)
        focus = gone.focus if gone.verdict >= came.verdict else came.focus
        return Draft(
            child(new.path, "properties", new_name),
            "property_renamed",
            verdict,
            reason,
            gone.sites + came.sites,
            focus,
        )

    # ------------------------------------------------------------------ combinators

    def _combinators(
        self, old: Side, new: Side, at: InstancePath, stack: frozenset[tuple[int, int]]
    ) -> list[Draft]:
        drafts = self._all_of(old, new, at, stack)
        for keyword in ("anyOf", "oneOf"):
            drafts += self._alternatives(old, new, keyword, at, stack)
        o_not, n_not = old.schema.get("not"), new.schema.get("not")
        if canon(o_not) != canon(n_not):
            path = child(new.path, "not")
            sites = [Site(at, frozenset({"not"}))]
            if n_not is None:
                drafts.append(
                    Draft(
                        path,
                        "not_removed",
                        Verdict.BREAKING,
                        "outputs the old schema excluded with 'not' are now valid",
                        sites,
                        at,
                    )
                )
            elif o_not is None:
                drafts.append(
                    Draft(
                        path,
                        "not_added",
                        Verdict.COMPATIBLE,
                        "the new schema excludes more outputs",
                        sites,
                        at,
                    )
                )
            else:
                # not N fits inside not O exactly when O fits inside N: compare in reverse.
                probe = self.compare(
                    Side(n_not, new.resolver, path), Side(o_not, old.resolver, path), at, stack
                )
                verdict = worst(probe)
                drafts.append(
                    Draft(
                        path,
                        "not_changed",
                        verdict,
                        "the excluded shape changed"
                        + (
                            ": the new schema excludes less than the old one"
                            if verdict
                            else ": it excludes at least as much"
                        ),
                        sites,
                        at,
                    )
                )
        return drafts

    def _all_of(
        self, old: Side, new: Side, at: InstancePath, stack: frozenset[tuple[int, int]]
    ) -> list[Draft]:
        old_list = list(old.schema.get("allOf") or ())
        new_list = list(new.schema.get("allOf") or ())
        if not old_list and not new_list:
            return []
        drafts: list[Draft] = []
        left = list(range(len(old_list)))
        unmatched: list[int] = []
        for j, branch in enumerate(new_list):
            same = next((i for i in left if canon(old_list[i]) == canon(branch)), None)
            if same is None:
                unmatched.append(j)
            else:
                left.remove(same)
        for j in unmatched:
            if left:
                i = left.pop(0)
                drafts += self.compare(
                    old.at(old_list[i], "allOf", i), new.at(new_list[j], "allOf", j), at, stack
                )
            else:
                drafts.append(
                    Draft(
                        child(new.path, "allOf", j),
                        "allof_branch_added",
                        Verdict.COMPATIBLE,
                        "a new constraint every output must meet: outputs are only "
                        "more constrained",
                        [Site(at, None, True)],
                        at,
                    )
                )
        for i in left:
            drafts.append(
                Draft(
                    child(new.path, "allOf"),
                    "allof_branch_removed",
                    Verdict.UNDECIDED,
                    f"old constraint {i} ({show(old_list[i], 40)}) was dropped",
                    [Site(at, None, True)],
                    at,
                )
            )
        return drafts

    def _alternatives(
        self,
        old: Side,
        new: Side,
        keyword: str,
        at: InstancePath,
        stack: frozenset[tuple[int, int]],
    ) -> list[Draft]:
        old_list, new_list = old.schema.get(keyword), new.schema.get(keyword)
        if not old_list and not new_list:
            return []
        tag = keyword.lower()
        path = child(new.path, keyword)
        sites = [Site(at, None, True)]
        if not old_list:
            verdicts = []
            for j, branch in enumerate(new_list):
                merged = new.at(with_siblings(new.schema, keyword, branch), keyword, j)
                probe = self.compare(old, merged, at, stack)
                verdicts.append((worst(probe), j, probe))
            verdict, j, probe = max(verdicts, key=lambda v: (v[0], -v[1]))
            reason = (
                f"outputs must now match {'one' if tag == 'oneof' else 'any'} of "
                f"{len(new_list)} alternatives"
            )
            reason += (
                f"; alternative {j} admits outputs the old schema rejects "
                f"({first_reason(probe, verdict)})"
                if verdict
                else ", each allowed by the old schema"
            )
            return [Draft(path, f"{tag}_added", verdict, reason, sites, at)]
        if not new_list:
            plain = Side(
                {k: v for k, v in new.schema.items() if k != keyword}, new.resolver, new.path
            )
            best = Verdict.BREAKING
            for i, branch in enumerate(old_list):
                merged = old.at(with_siblings(old.schema, keyword, branch), keyword, i)
                best = min(best, worst(self.compare(merged, plain, at, stack)))
            reason = f"the {len(old_list)} alternatives were replaced by one shape" + (
                "" if best == Verdict.COMPATIBLE else " that no single old alternative allows"
            )
            return [
                Draft(
                    path, f"{tag}_removed", best, reason, [Site(at, frozenset({keyword}), True)], at
                )
            ]

        drafts: list[Draft] = []
        left = list(range(len(old_list)))
        unmatched: list[int] = []
        for j, branch in enumerate(new_list):
            same = next((i for i in left if canon(old_list[i]) == canon(branch)), None)
            if same is None:
                unmatched.append(j)
            else:
                left.remove(same)
        changed: list[int] = []
        for j in unmatched:
            new_branch = new.at(new_list[j], keyword, j)
            # A new alternative inside an old one is harmless; prefer a still unpaired old one.
            order = left + [i for i in range(len(old_list)) if i not in left]
            match = None
            for i in order:
                probe = self.compare(old.at(old_list[i], keyword, i), new_branch, at, stack)
                if worst(probe) == Verdict.COMPATIBLE:
                    match = (i, probe)
                    break
            if match is None:
                # Inside the old alternatives taken together (a nested anyOf, a split one)?
                merged = new.at(with_siblings(new.schema, keyword, new_list[j]), keyword, j)
                if worst(self.compare(old, merged, at, stack)) == Verdict.COMPATIBLE:
                    drafts.append(
                        Draft(
                            child(path, j),
                            f"{tag}_branch_added",
                            Verdict.COMPATIBLE,
                            f"new alternative {j} is allowed by the old alternatives together",
                            sites,
                            at,
                        )
                    )
                else:
                    changed.append(j)
                continue
            i, probe = match
            if i in left:
                left.remove(i)
                drafts += probe
            else:
                drafts.append(
                    Draft(
                        child(path, j),
                        f"{tag}_branch_added",
                        Verdict.COMPATIBLE,
                        f"new alternative {j} is already allowed by old alternative {i}",
                        sites,
                        at,
                    )
                )
        for j in changed:
            new_branch = new.at(new_list[j], keyword, j)
            if left:
                scored = []
                for i in left:
                    probe = self.compare(old.at(old_list[i], keyword, i), new_branch, at, stack)
                    scored.append((sum(d.kind != "annotation_changed" for d in probe), i, probe))
                _, i, probe = min(scored, key=lambda s: (s[0], s[1]))
                left.remove(i)
                drafts += probe
            else:
                drafts.append(
                    Draft(
                        child(path, j),
                        f"{tag}_branch_added",
                        Verdict.BREAKING,
                        f"new alternative {j} ({show(new_list[j], 40)}) admits outputs "
                        "no old alternative allows",
                        sites,
                        at,
                    )
                )
        for i in left:
            caveat = "; valid unless old alternatives overlapped" if tag == "oneof" else ""
            drafts.append(
                Draft(
                    path,
                    f"{tag}_branch_removed",
                    Verdict.COMPATIBLE,
                    f"old alternative {i} ({show(old_list[i], 40)}) was dropped: "
                    f"outputs take fewer shapes{caveat}",
                    [Site(at, frozenset({keyword}))],
                    at,
                )
            )
        return drafts

    # ------------------------------------------------------------------ everything else

    def _others(
        self, o: Mapping[str, Any], n: Mapping[str, Any], path: str, at: InstancePath
    ) -> list[Draft]:
        drafts: list[Draft] = []
        if any(canon(o.get(k)) != canon(n.get(k)) for k in CONDITIONAL):
            drafts.append(
                Draft(
                    path,
                    "conditional_changed",
                    Verdict.UNDECIDED,
                    "if/then/else changed",
                    [Site(at, None, True)],
                    at,
                )
            )
        skip = ANNOTATIONS | INERT | HANDLED | set(CONDITIONAL)
        for keyword in [k for k in n if k not in skip] + [
            k for k in o if k not in skip and k not in n
        ]:
            if canon(o.get(keyword)) != canon(n.get(keyword)):
                change = (
                    "added" if keyword not in o else "removed" if keyword not in n else "changed"
                )
                drafts.append(
                    Draft(
                        path,
                        "keyword_changed",
                        Verdict.UNDECIDED,
                        f"{keyword} {change}",
                        [Site(at, None, True)],
                        at,
                    )
                )
        return drafts
