"""Declared properties and ``required``: kept, added, removed and renamed properties.

A property only one side declares is compared with the schema the other side applies to that
name (a ``patternProperties`` entry, ``additionalProperties``, or nothing at all); a removed and an
added property with the same schema and the same ``required`` status are one rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arcanos_eval.contracts._nodes import (
    EXTRA_KEY_KEYWORDS,
    Draft,
    Impact,
    InstancePath,
    Side,
    Site,
    child,
    first_reason,
    is_false,
    regex_search,
    worst,
)
from arcanos_eval.contracts._pair import Pair

__all__ = ["diff_properties"]


def diff_properties(pair: Pair) -> list[Draft]:
    """``properties`` and ``required``, property by property, in the order of the new schema."""
    old, new, at = pair.old, pair.new, pair.at
    o, n = pair.o, pair.n
    breaking = pair.loosened("object")
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
            probe = pair.compare(
                old.at(old_props[old_name], "properties", old_name),
                new.at(new_props[new_name], "properties", new_name),
                (*at, new_name),
            )
            if all(d.kind == "annotation_changed" for d in probe):
                renamed[new_name] = old_name
                break

    for name in new_props:
        if name in old_props:
            drafts += pair.compare(
                old.at(old_props[name], "properties", name),
                new.at(new_props[name], "properties", name),
                (*at, name),
            )
            drafts += _required_change(
                name, old_req, new_req, new.path, at, breaking, in_properties=True
            )
        elif name in renamed:
            drafts.append(_renamed(pair, renamed[name], name, old_req, new_req))
        else:
            drafts.append(_added(pair, name, new_req))
    for name in removed:
        if name not in renamed.values():
            drafts.append(_removed(pair, name, old_req, new_req))
    for name in dict.fromkeys([*old_req, *new_req]):
        if name not in old_props and name not in new_props:
            drafts += _required_change(
                name, old_req, new_req, new.path, at, breaking, in_properties=False
            )
    return drafts


def _member(side: Side, name: str) -> Side:
    """The schema ``side`` applies to a property ``name``."""
    schema = side.schema
    if not isinstance(schema, Mapping):
        return side
    properties = schema.get("properties") or {}
    if name in properties:
        return side.at(properties[name], "properties", name)
    patterns = [
        (p, s) for p, s in (schema.get("patternProperties") or {}).items() if regex_search(p, name)
    ]
    if len(patterns) == 1:
        return side.at(patterns[0][1], "patternProperties", patterns[0][0])
    if patterns:
        return side.at({"allOf": [s for _, s in patterns]}, "patternProperties")
    for keyword in ("additionalProperties", "unevaluatedProperties"):
        if keyword in schema:
            return side.at(schema[keyword], keyword)
    return side.at(True, "additionalProperties")


def _required_change(
    name: str,
    old_req: list[str],
    new_req: list[str],
    path: str,
    at: InstancePath,
    breaking: Impact,
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
                Impact.COMPATIBLE,
                f"{name!r} is now always present; clients already accept it",
                [Site(at, frozenset({"required"}))],
                at,
            )
        ]
    return []


def _added(pair: Pair, name: str, new_req: list[str]) -> Draft:
    new, at = pair.new, pair.at
    relevant = pair.relevant("object")
    schema = (pair.n.get("properties") or {})[name]
    path = child(new.path, "properties", name)
    sites = [Site(at, EXTRA_KEY_KEYWORDS), Site((*at, name), None, True)]
    focus = (*at, name)
    required = "required" if name in new_req else "optional"
    if is_false(schema):
        return Draft(
            path,
            "property_added",
            Impact.COMPATIBLE,
            f"{name!r} is now explicitly forbidden",
            sites,
            focus,
        )
    known = _member(pair.old, name)
    if is_false(known.schema):
        verdict = Impact.BREAKING if relevant else Impact.COMPATIBLE
        return Draft(
            path,
            "property_added",
            verdict,
            f"new {required} property {name!r}: the old schema forbids undeclared "
            "properties, so clients reject outputs carrying it",
            sites,
            focus,
        )
    probe = pair.compare(known, new.at(schema, "properties", name), (*at, name))
    verdict = worst(probe) if relevant else Impact.COMPATIBLE
    if verdict == Impact.COMPATIBLE:
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


def _removed(pair: Pair, name: str, old_req: list[str], new_req: list[str]) -> Draft:
    new, at = pair.new, pair.at
    relevant = pair.relevant("object")
    schema = (pair.o.get("properties") or {})[name]
    path = child(new.path, "properties", name)
    missing = name in old_req and name not in new_req and relevant
    sites = [Site((*at, name), None, True)]
    if name in old_req:
        sites.insert(0, Site(at, frozenset({"required"})))
    focus = at if missing else (*at, name)
    known = _member(new, name)
    if is_false(known.schema) or not relevant:
        if missing:
            return Draft(
                path,
                "property_removed",
                Impact.BREAKING,
                f"{name!r} was removed, and it was required: outputs lack it, and "
                "clients written against the old schema expect it",
                sites,
                focus,
            )
        return Draft(
            path,
            "property_removed",
            Impact.COMPATIBLE,
            f"{name!r} was optional and is no longer produced: clients already handle its absence",
            sites,
            focus,
        )
    probe = pair.compare(pair.old.at(schema, "properties", name), known, (*at, name))
    verdict = worst(probe)
    if missing:
        return Draft(
            path,
            "property_removed",
            Impact.BREAKING,
            f"{name!r} was removed, and it was required: outputs may lack it, and "
            "clients written against the old schema expect it",
            sites,
            focus,
        )
    if verdict == Impact.COMPATIBLE:
        reason = f"{name!r} is no longer declared; the new schema still constrains it compatibly"
    else:
        reason = (
            f"{name!r} is no longer declared, so outputs may carry any value under it "
            f"({first_reason(probe, verdict)})"
        )
    return Draft(path, "property_removed", verdict, reason, sites, focus)


def _renamed(
    pair: Pair, old_name: str, new_name: str, old_req: list[str], new_req: list[str]
) -> Draft:
    gone = _removed(pair, old_name, old_req, new_req)
    came = _added(pair, new_name, new_req)
    verdict = max(gone.verdict, came.verdict)
    if verdict == Impact.COMPATIBLE:
        reason = f"{old_name!r} renamed to {new_name!r} (same schema); {gone.reason}; {came.reason}"
    else:
        parts = [d.reason for d in (gone, came) if d.verdict == verdict]
        reason = f"{old_name!r} renamed to {new_name!r} (same schema): " + "; ".join(parts)
    focus = gone.focus if gone.verdict >= came.verdict else came.focus
    return Draft(
        child(pair.new.path, "properties", new_name),
        "property_renamed",
        verdict,
        reason,
        gone.sites + came.sites,
        focus,
    )
