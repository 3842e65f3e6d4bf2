"""Which values a node admits at all: annotations, ``type``, ``enum`` and ``const``.

:func:`annotation_changes` and :func:`enumerated` are node rules the walker applies before its
keyword table: annotations constrain nothing and are reported first, and a new node that lists its
values is settled value by value, whatever its other keywords say.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arcanos_eval._fastcheck import ANNOTATIONS
from arcanos_eval.contracts._nodes import (
    Draft,
    Impact,
    InstancePath,
    Site,
    canon,
    covered,
    finite,
    show,
    show_all,
    show_types,
)
from arcanos_eval.contracts._pair import Pair

__all__ = ["annotation_changes", "diff_enum", "diff_type", "enumerated"]


def annotation_changes(
    o: Mapping[str, Any], n: Mapping[str, Any], path: str, at: InstancePath
) -> list[Draft]:
    """One compatible draft per changed annotation (``title``, ``description``, ...)."""
    drafts = []
    for keyword in sorted(ANNOTATIONS):
        if canon(o.get(keyword)) != canon(n.get(keyword)):
            drafts.append(
                Draft(
                    path,
                    "annotation_changed",
                    Impact.COMPATIBLE,
                    f"{keyword} changed; annotations do not constrain outputs",
                    [],
                    at,
                )
            )
    return drafts


def diff_type(pair: Pair) -> list[Draft]:
    """``type``, read as the types each node admits through ``enum``, ``allOf``, ``anyOf``...

    ``{"enum": ["a"]}`` admits strings only, so widening it to ``{"type": "string"}`` adds no
    type; dropping ``{"type": "string"}`` in favour of ``{}`` does.
    """
    old, new, path, at = pair.old_types, pair.new_types, pair.path, pair.at
    if old == new:
        return []
    sites = [Site(at, frozenset({"type"}))]
    if new is None:
        return [
            Draft(
                path,
                "type_removed",
                Impact.BREAKING,
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
                Impact.COMPATIBLE,
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
                Impact.COMPATIBLE,
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
                Impact.BREAKING,
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
            Impact.BREAKING,
            f"{show_types(old)} became {show_types(new)}",
            sites,
            at,
        )
    ]


def diff_enum(pair: Pair) -> list[Draft]:
    """``enum``/``const`` on the old node only (a new node that lists values is :func:`enumerated`)."""
    o, at = pair.o, pair.at
    old_values = finite(o)
    if old_values is None:
        return []
    keyword = "const" if "const" in o else "enum"
    return [
        Draft(
            pair.path,
            f"{keyword}_removed",
            Impact.BREAKING,
            f"the old schema only allowed {show_all(old_values)}; any value of the new "
            "schema's type may now appear",
            [Site(at, frozenset({"enum", "const"}))],
            at,
        )
    ]


def enumerated(pair: Pair, values: list[Any]) -> list[Draft]:
    """A new node listing its ``values``: compatible exactly when the old node accepts each."""
    old, new, at = pair.old, pair.new, pair.at
    old_document, new_document = pair.walker.old, pair.walker.new
    o, n = pair.o, pair.n
    values = [v for v in values if new_document.is_valid_at(n, new.resolver, v)]
    rejected = {canon(v) for v in values if not old_document.is_valid_at(o, old.resolver, v)}
    sites = [Site(at, None, True)]

    def why(value: Any) -> str:
        return old_document.first_error_at(o, old.resolver, value)

    old_values = finite(o)
    keyword = "const" if "const" in n else "enum"
    if old_values is None:
        bad = [v for v in values if canon(v) in rejected]
        if bad:
            return [
                Draft(
                    new.path,
                    f"{keyword}_added",
                    Impact.BREAKING,
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
                Impact.COMPATIBLE,
                f"outputs are now limited to {show_all(values)}, all valid under the old schema",
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
        verdict = Impact.BREAKING if rejected else Impact.COMPATIBLE
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
                    Impact.BREAKING,
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
                    Impact.COMPATIBLE,
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
                Impact.COMPATIBLE,
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
                Impact.BREAKING,
                f"{show_all(kept_bad)} is listed by both schemas, but the old one rejects it "
                f"({why(kept_bad[0])})",
                sites,
                at,
            )
        )
    return drafts
