"""Numbers and strings: bounds, ``multipleOf``, lengths, ``pattern`` and ``format``.

:func:`bound` classifies any lower or upper bound (a value and whether it is exclusive); the array
and object handlers use it for their counts too. A loosened bound is breaking only when a value it
applies to can still appear under the new schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction

from arcanos_eval.contracts._nodes import (
    NARROWER_FORMATS,
    Bound,
    Draft,
    Impact,
    InstancePath,
    Site,
    canon,
    count_bound,
    format_bound,
    integral,
    is_number,
    lower_bound,
    upper_bound,
)
from arcanos_eval.contracts._pair import Pair

__all__ = [
    "bound",
    "diff_format",
    "diff_max_length",
    "diff_maximum",
    "diff_min_length",
    "diff_minimum",
    "diff_multiple_of",
    "diff_pattern",
    "plural",
]


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``plural(1, "item")`` is ``1 item``, ``plural(2, "item")`` is ``2 items``."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


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
    """The draft for one bound: ``{name}_added``, ``_removed``, ``_tightened`` or ``_loosened``."""
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
                Impact.COMPATIBLE,
                f"new bound {fmt(new)}: outputs are only more constrained",
                sites,
                at,
            )
        ]
    if old is None or new is None:
        if old is None:
            return []
        verdict, kind = Impact.BREAKING, f"{name}_removed"
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
                    Impact.COMPATIBLE,
                    f"{fmt(old)} became {fmt(new)}: outputs are only more constrained",
                    sites,
                    at,
                )
            ]
        verdict, kind = Impact.BREAKING, f"{name}_loosened"
        reason = (
            f"{fmt(old)} became {fmt(new)}: outputs between the two bounds are now "
            "valid, and clients reject them"
        )
    if not relevant:
        verdict = Impact.COMPATIBLE
        reason += " (but no value it applies to can appear here under the new schema)"
    return [Draft(path, kind, verdict, reason, sites, at)]


# ----------------------------------------------------------------------------- numbers


def _integers(pair: Pair) -> bool:
    """Whether both nodes admit integers only, so ``> 1.5`` means ``>= 2``."""
    old, new = pair.old_types, pair.new_types
    return old is not None and new is not None and old <= {"integer"} and new <= {"integer"}


def diff_minimum(pair: Pair) -> list[Draft]:
    """``minimum`` and ``exclusiveMinimum``, taken together as the tightest lower bound."""
    old, new = lower_bound(pair.o), lower_bound(pair.n)
    if _integers(pair):
        old, new = integral(old, upper=False), integral(new, upper=False)
    return bound(
        "minimum",
        old,
        new,
        upper=False,
        path=pair.path,
        at=pair.at,
        keywords=("minimum", "exclusiveMinimum"),
        relevant=pair.relevant("integer"),
    )


def diff_maximum(pair: Pair) -> list[Draft]:
    """``maximum`` and ``exclusiveMaximum``, taken together as the tightest upper bound."""
    old, new = upper_bound(pair.o), upper_bound(pair.n)
    if _integers(pair):
        old, new = integral(old, upper=True), integral(new, upper=True)
    return bound(
        "maximum",
        old,
        new,
        upper=True,
        path=pair.path,
        at=pair.at,
        keywords=("maximum", "exclusiveMaximum"),
        relevant=pair.relevant("integer"),
    )


def diff_multiple_of(pair: Pair) -> list[Draft]:
    """``multipleOf``: a new step is compatible when it is a whole multiple of the old one."""
    old_step, new_step = pair.o.get("multipleOf"), pair.n.get("multipleOf")
    if not (is_number(old_step) or is_number(new_step)):
        return []
    path, at = pair.path, pair.at
    relevant = pair.relevant("integer")
    sites = [Site(at, frozenset({"multipleOf"}))]
    if not is_number(new_step):
        verdict = Impact.BREAKING if relevant else Impact.COMPATIBLE
        reason = f"outputs no longer need to be multiples of {old_step}"
        return [Draft(path, "multiple_of_removed", verdict, reason, sites, at)]
    if not is_number(old_step):
        reason = f"outputs must now be multiples of {new_step}"
        return [Draft(path, "multiple_of_added", Impact.COMPATIBLE, reason, sites, at)]
    if canon(old_step) == canon(new_step):
        return []
    ratio = Fraction(str(new_step)) / Fraction(str(old_step))
    fits = ratio.denominator == 1
    verdict = Impact.COMPATIBLE if fits or not relevant else Impact.BREAKING
    reason = f"multipleOf {old_step} became {new_step}: " + (
        "every multiple of the new step is one of the old"
        if fits
        else f"multiples of {new_step} need not be multiples of {old_step}"
    )
    return [Draft(path, "multiple_of_changed", verdict, reason, sites, at)]


# ----------------------------------------------------------------------------- strings


def _characters(bound: Bound) -> str:
    return plural(int(bound[0]), "character")


def diff_min_length(pair: Pair) -> list[Draft]:
    """``minLength``."""
    return bound(
        "min_length",
        count_bound(pair.o, "minLength"),
        count_bound(pair.n, "minLength"),
        upper=False,
        path=pair.path,
        at=pair.at,
        keywords=("minLength",),
        relevant=pair.relevant("string"),
        show_bound=lambda b: f"at least {_characters(b)}",
    )


def diff_max_length(pair: Pair) -> list[Draft]:
    """``maxLength``."""
    return bound(
        "max_length",
        count_bound(pair.o, "maxLength"),
        count_bound(pair.n, "maxLength"),
        upper=True,
        path=pair.path,
        at=pair.at,
        keywords=("maxLength",),
        relevant=pair.relevant("string"),
        show_bound=lambda b: f"at most {_characters(b)}",
    )


def diff_pattern(pair: Pair) -> list[Draft]:
    """``pattern``: whether one regular expression implies another is left to the examples."""
    old_pattern, new_pattern = pair.o.get("pattern"), pair.n.get("pattern")
    if old_pattern == new_pattern:
        return []
    path, at = pair.path, pair.at
    sites = [Site(at, frozenset({"pattern"}))]
    if new_pattern is None:
        reason = f"outputs no longer have to match {old_pattern!r}"
        return [Draft(path, "pattern_removed", pair.loosened("string"), reason, sites, at)]
    if old_pattern is None:
        reason = f"outputs must now match {new_pattern!r}"
        return [Draft(path, "pattern_added", Impact.COMPATIBLE, reason, sites, at)]
    verdict = Impact.UNDECIDED if pair.relevant("string") else Impact.COMPATIBLE
    reason = f"pattern {old_pattern!r} became {new_pattern!r}"
    return [Draft(path, "pattern_changed", verdict, reason, sites, at)]


def diff_format(pair: Pair) -> list[Draft]:
    """``format``, asserted: a changed format is a changed promise."""
    old_format, new_format = pair.o.get("format"), pair.n.get("format")
    if old_format == new_format:
        return []
    path, at = pair.path, pair.at
    sites = [Site(at, frozenset({"format"}))]
    if new_format is None:
        reason = f"outputs no longer have to be {old_format!r}"
        return [Draft(path, "format_removed", pair.loosened("string"), reason, sites, at)]
    if old_format is None:
        reason = f"outputs must now be {new_format!r}"
        return [Draft(path, "format_added", Impact.COMPATIBLE, reason, sites, at)]
    if (new_format, old_format) in NARROWER_FORMATS:
        reason = f"format {old_format!r} became the narrower {new_format!r}"
        return [Draft(path, "format_changed", Impact.COMPATIBLE, reason, sites, at)]
    reason = (
        f"format {old_format!r} became {new_format!r}: a "
        f"{new_format!r} value need not be a {old_format!r} one"
    )
    return [Draft(path, "format_changed", pair.loosened("string"), reason, sites, at)]
