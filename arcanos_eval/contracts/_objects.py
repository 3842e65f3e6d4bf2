"""Objects beyond their declared properties: undeclared keys, key patterns and names, counts.

Declared properties and ``required`` are in :mod:`._properties`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arcanos_eval.contracts._nodes import (
    EXTRA_KEY_KEYWORDS,
    KEY,
    Draft,
    Impact,
    Site,
    canon,
    child,
    count_bound,
    first_reason,
    is_false,
    is_true,
    worst,
)
from arcanos_eval.contracts._pair import Pair
from arcanos_eval.contracts._scalars import bound, plural

__all__ = [
    "diff_additional_properties",
    "diff_max_properties",
    "diff_min_properties",
    "diff_pattern_properties",
    "diff_property_names",
]


def diff_additional_properties(pair: Pair) -> list[Draft]:
    """``additionalProperties``: the schema for keys no other keyword names."""
    old_extra = pair.o.get("additionalProperties", True)
    new_extra = pair.n.get("additionalProperties", True)
    if is_true(old_extra) and is_true(new_extra):
        return []
    at = pair.at
    path = child(pair.path, "additionalProperties")
    sites = [Site(at, EXTRA_KEY_KEYWORDS)]
    if is_false(new_extra) and not is_false(old_extra):
        return [
            Draft(
                path,
                "additional_properties_forbidden",
                Impact.COMPATIBLE,
                "outputs may no longer carry undeclared properties",
                sites,
                at,
            )
        ]
    if is_false(old_extra) and not is_false(new_extra):
        return [
            Draft(
                path,
                "additional_properties_allowed",
                pair.loosened("object"),
                "outputs may now carry undeclared properties, which the old "
                "schema forbids (additionalProperties: false)",
                sites,
                at,
            )
        ]
    if is_false(old_extra) and is_false(new_extra):
        return []
    return pair.compare(
        pair.old.at(old_extra, "additionalProperties"),
        pair.new.at(new_extra, "additionalProperties"),
        (*at, KEY),
    )


def diff_pattern_properties(pair: Pair) -> list[Draft]:
    """``patternProperties``: a pattern on both sides is compared; one on one side is undecided."""
    old_patterns: Mapping[str, Any] = pair.o.get("patternProperties") or {}
    new_patterns: Mapping[str, Any] = pair.n.get("patternProperties") or {}
    at = pair.at
    sites = [Site(at, EXTRA_KEY_KEYWORDS), Site((*at, KEY), None, True)]
    drafts: list[Draft] = []
    for pattern in new_patterns:
        if pattern in old_patterns:
            drafts += pair.compare(
                pair.old.at(old_patterns[pattern], "patternProperties", pattern),
                pair.new.at(new_patterns[pattern], "patternProperties", pattern),
                (*at, KEY),
            )
        else:
            drafts.append(
                Draft(
                    child(pair.path, "patternProperties", pattern),
                    "pattern_properties_added",
                    Impact.UNDECIDED,
                    f"properties matching {pattern!r} now have their own schema",
                    sites,
                    at,
                )
            )
    for pattern in old_patterns:
        if pattern not in new_patterns:
            drafts.append(
                Draft(
                    child(pair.path, "patternProperties", pattern),
                    "pattern_properties_removed",
                    Impact.UNDECIDED,
                    f"properties matching {pattern!r} lost their own schema",
                    sites,
                    at,
                )
            )
    return drafts


def diff_property_names(pair: Pair) -> list[Draft]:
    """``propertyNames``: a schema every key of the object must meet."""
    old_names, new_names = pair.o.get("propertyNames"), pair.n.get("propertyNames")
    if canon(old_names) == canon(new_names):
        return []
    at = pair.at
    sites = [Site(at)]
    path = child(pair.path, "propertyNames")
    if new_names is None or is_true(new_names):
        return [
            Draft(
                path,
                "property_names_removed",
                pair.loosened("object"),
                "property names are no longer constrained",
                sites,
                at,
            )
        ]
    if old_names is None or is_true(old_names):
        return [
            Draft(
                path,
                "property_names_added",
                Impact.COMPATIBLE,
                "property names are now constrained",
                sites,
                at,
            )
        ]
    probe = pair.compare(
        pair.old.at(old_names, "propertyNames"), pair.new.at(new_names, "propertyNames")
    )
    verdict = worst(probe)
    return [
        Draft(
            path,
            "property_names_changed",
            verdict,
            "the schema for property names changed"
            + (f": {first_reason(probe, verdict)}" if verdict else ""),
            sites,
            at,
        )
    ]


def diff_min_properties(pair: Pair) -> list[Draft]:
    """``minProperties``."""
    return bound(
        "min_properties",
        count_bound(pair.o, "minProperties"),
        count_bound(pair.n, "minProperties"),
        upper=False,
        path=pair.path,
        at=pair.at,
        keywords=("minProperties",),
        relevant=pair.relevant("object"),
        show_bound=lambda b: f"at least {plural(int(b[0]), 'property', 'properties')}",
    )


def diff_max_properties(pair: Pair) -> list[Draft]:
    """``maxProperties``."""
    return bound(
        "max_properties",
        count_bound(pair.o, "maxProperties"),
        count_bound(pair.n, "maxProperties"),
        upper=True,
        path=pair.path,
        at=pair.at,
        keywords=("maxProperties",),
        relevant=pair.relevant("object"),
        show_bound=lambda b: f"at most {plural(int(b[0]), 'property', 'properties')}",
    )
