"""Comparisons of the keywords that constrain a value itself: type, bounds, strings, annotations.

Each function returns the drafts for one group of keywords of one node pair. A loosened constraint
is breaking only when a value it applies to can still appear under the new schema (``relevant``):
a looser ``maxLength`` on a node that no longer admits strings breaks nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

from arcanos_eval._fastcheck import ANNOTATIONS
from arcanos_eval.contracts._nodes import (
    NARROWER_FORMATS,
    Bound,
    Draft,
    InstancePath,
    Site,
    Verdict,
    canon,
    count_bound,
    covered,
    format_bound,
    integral,
    is_number,
    lower_bound,
    show_types,
    upper_bound,
)

__all__ = ["annotation_changes", "bound", "numbers", "plural", "strings", "type_change"]


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
