"""Arrays: positional and further items, item counts, ``uniqueItems``.

Both spellings of positional items are read alike: ``prefixItems`` then ``items`` (draft 2020-12),
and ``items`` as a list then ``additionalItems`` (earlier drafts).
"""

from __future__ import annotations

from arcanos_eval.contracts._nodes import (
    ITEM,
    Draft,
    Impact,
    Site,
    array_parts,
    child,
    count_bound,
    is_false,
    is_true,
)
from arcanos_eval.contracts._pair import Pair
from arcanos_eval.contracts._scalars import bound, plural

__all__ = ["diff_items", "diff_max_items", "diff_min_items", "diff_unique_items"]


def diff_items(pair: Pair) -> list[Draft]:
    """``prefixItems``, ``items`` and ``additionalItems``: each position, then the rest."""
    old, new, at = pair.old, pair.new, pair.at
    o, n = pair.o, pair.n
    relevant = pair.relevant("array")
    breaking = pair.loosened("array")
    drafts: list[Draft] = []
    old_prefix, old_items, old_items_key = array_parts(o)
    new_prefix, new_items, new_items_key = array_parts(n)
    prefix_key = "items" if isinstance(n.get("items"), list) else "prefixItems"
    for index in range(min(len(old_prefix), len(new_prefix))):
        drafts += pair.compare(
            old.at(old_prefix[index], prefix_key, index),
            new.at(new_prefix[index], prefix_key, index),
            (*at, index),
        )
    if len(old_prefix) != len(new_prefix):
        grew = len(new_prefix) > len(old_prefix)
        span = range(min(len(old_prefix), len(new_prefix)), max(len(old_prefix), len(new_prefix)))
        drafts.append(
            Draft(
                child(new.path, prefix_key),
                "prefix_items_added" if grew else "prefix_items_removed",
                Impact.UNDECIDED if relevant else Impact.COMPATIBLE,
                f"positional item schemas {list(span)} were {'added' if grew else 'removed'}",
                [Site((*at, i), None, True) for i in span]
                + [Site(at, frozenset({"items", "prefixItems", "additionalItems", "maxItems"}))],
                at,
            )
        )
    if is_true(old_items) and is_true(new_items):
        return drafts
    # An item a `false` items schema rejects is reported at the array itself.
    item_sites = [Site((*at, ITEM), None, True), Site(at, frozenset({"items", "additionalItems"}))]
    path = child(new.path, new_items_key)
    if is_true(old_items):
        drafts.append(
            Draft(
                path,
                "items_added",
                Impact.COMPATIBLE,
                "array items are now constrained: outputs are only more constrained",
                item_sites,
                (*at, ITEM),
            )
        )
    elif is_true(new_items):
        drafts.append(
            Draft(
                path,
                "items_removed",
                breaking,
                "array items are no longer constrained: any item may now appear, and clients "
                "reject what the old items schema did not allow",
                item_sites,
                (*at, ITEM),
            )
        )
    elif is_false(old_items) and not is_false(new_items):
        drafts.append(
            Draft(
                path,
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
                path,
                "additional_items_forbidden",
                Impact.COMPATIBLE,
                "outputs may no longer hold items beyond the positional ones",
                item_sites,
                at,
            )
        )
    else:
        drafts += pair.compare(
            old.at(old_items, old_items_key), new.at(new_items, new_items_key), (*at, ITEM)
        )
    return drafts


def diff_min_items(pair: Pair) -> list[Draft]:
    """``minItems``."""
    return bound(
        "min_items",
        count_bound(pair.o, "minItems"),
        count_bound(pair.n, "minItems"),
        upper=False,
        path=pair.path,
        at=pair.at,
        keywords=("minItems",),
        relevant=pair.relevant("array"),
        show_bound=lambda b: f"at least {plural(int(b[0]), 'item')}",
    )


def diff_max_items(pair: Pair) -> list[Draft]:
    """``maxItems``."""
    return bound(
        "max_items",
        count_bound(pair.o, "maxItems"),
        count_bound(pair.n, "maxItems"),
        upper=True,
        path=pair.path,
        at=pair.at,
        keywords=("maxItems",),
        relevant=pair.relevant("array"),
        show_bound=lambda b: f"at most {plural(int(b[0]), 'item')}",
    )


def diff_unique_items(pair: Pair) -> list[Draft]:
    """``uniqueItems``: only ``true`` constrains."""
    old_unique, new_unique = pair.o.get("uniqueItems") is True, pair.n.get("uniqueItems") is True
    sites = [Site(pair.at, frozenset({"uniqueItems"}))]
    if old_unique and not new_unique:
        return [
            Draft(
                pair.path,
                "unique_items_removed",
                pair.loosened("array"),
                "arrays may now repeat items; the old schema forbade it",
                sites,
                pair.at,
            )
        ]
    if new_unique and not old_unique:
        return [
            Draft(
                pair.path,
                "unique_items_added",
                Impact.COMPATIBLE,
                "arrays may no longer repeat items",
                sites,
                pair.at,
            )
        ]
    return []
