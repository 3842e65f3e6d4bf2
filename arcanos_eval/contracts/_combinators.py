"""Combinators: ``allOf``, ``anyOf``/``oneOf`` alternatives, ``not``, ``if``/``then``/``else``.

Alternatives are paired by inclusion, not by position: a new alternative is harmless when some old
alternative (or all of them together) allows everything it allows. :func:`new_alternatives` is a
node rule the walker applies before its keyword table, since the keywords next to brand-new
alternatives hold only part of the constraint.
"""

from __future__ import annotations

from typing import Any

from arcanos_eval.contracts._nodes import (
    CONDITIONAL,
    Draft,
    Impact,
    Side,
    Site,
    canon,
    child,
    first_reason,
    show,
    with_siblings,
    worst,
)
from arcanos_eval.contracts._pair import Pair

__all__ = [
    "diff_all_of",
    "diff_any_of",
    "diff_conditional",
    "diff_not",
    "diff_one_of",
    "new_alternatives",
]


def diff_all_of(pair: Pair) -> list[Draft]:
    """``allOf`` entries left after flattening: equal ones cancel, the rest pair up in order."""
    old, new, at = pair.old, pair.new, pair.at
    old_list = list(pair.o.get("allOf") or ())
    new_list = list(pair.n.get("allOf") or ())
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
            drafts += pair.compare(old.at(old_list[i], "allOf", i), new.at(new_list[j], "allOf", j))
        else:
            drafts.append(
                Draft(
                    child(new.path, "allOf", j),
                    "allof_branch_added",
                    Impact.COMPATIBLE,
                    "a new constraint every output must meet: outputs are only more constrained",
                    [Site(at, None, True)],
                    at,
                )
            )
    for i in left:
        drafts.append(
            Draft(
                child(new.path, "allOf"),
                "allof_branch_removed",
                Impact.UNDECIDED,
                f"old constraint {i} ({show(old_list[i], 40)}) was dropped",
                [Site(at, None, True)],
                at,
            )
        )
    return drafts


def diff_any_of(pair: Pair) -> list[Draft]:
    """``anyOf``."""
    return _alternatives(pair, "anyOf")


def diff_one_of(pair: Pair) -> list[Draft]:
    """``oneOf``, read like ``anyOf``: fewer shapes are safe unless old alternatives overlapped."""
    return _alternatives(pair, "oneOf")


def new_alternatives(pair: Pair) -> list[Draft] | None:
    """Alternatives only the new node has, or ``None`` when there are none.

    Each alternative, with the keywords next to it, is compared with the whole old node.
    """
    for keyword in ("anyOf", "oneOf"):
        if pair.n.get(keyword) and not pair.o.get(keyword):
            return _alternatives(pair, keyword)
    return None


def _alternatives(pair: Pair, keyword: str) -> list[Draft]:
    old, new, at = pair.old, pair.new, pair.at
    old_list: list[Any] = pair.o.get(keyword) or []
    new_list: list[Any] = pair.n.get(keyword) or []
    if not old_list and not new_list:
        return []
    tag = keyword.lower()
    path = child(new.path, keyword)
    sites = [Site(at, None, True)]
    if not old_list:
        verdicts = []
        for j, branch in enumerate(new_list):
            merged = new.at(with_siblings(new.schema, keyword, branch), keyword, j)
            probe = pair.compare(old, merged)
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
        plain = Side({k: v for k, v in new.schema.items() if k != keyword}, new.resolver, new.path)
        best = Impact.BREAKING
        for i, branch in enumerate(old_list):
            merged = old.at(with_siblings(old.schema, keyword, branch), keyword, i)
            best = min(best, worst(pair.compare(merged, plain)))
        reason = f"the {len(old_list)} alternatives were replaced by one shape" + (
            "" if best == Impact.COMPATIBLE else " that no single old alternative allows"
        )
        return [
            Draft(path, f"{tag}_removed", best, reason, [Site(at, frozenset({keyword}), True)], at)
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
            probe = pair.compare(old.at(old_list[i], keyword, i), new_branch)
            if worst(probe) == Impact.COMPATIBLE:
                match = (i, probe)
                break
        if match is None:
            # Inside the old alternatives taken together (a nested anyOf, a split one)?
            merged = new.at(with_siblings(new.schema, keyword, new_list[j]), keyword, j)
            if worst(pair.compare(old, merged)) == Impact.COMPATIBLE:
                drafts.append(
                    Draft(
                        child(path, j),
                        f"{tag}_branch_added",
                        Impact.COMPATIBLE,
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
                    Impact.COMPATIBLE,
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
                probe = pair.compare(old.at(old_list[i], keyword, i), new_branch)
                scored.append((sum(d.kind != "annotation_changed" for d in probe), i, probe))
            _, i, probe = min(scored, key=lambda s: (s[0], s[1]))
            left.remove(i)
            drafts += probe
        else:
            drafts.append(
                Draft(
                    child(path, j),
                    f"{tag}_branch_added",
                    Impact.BREAKING,
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
                Impact.COMPATIBLE,
                f"old alternative {i} ({show(old_list[i], 40)}) was dropped: "
                f"outputs take fewer shapes{caveat}",
                [Site(at, frozenset({keyword}))],
                at,
            )
        )
    return drafts


def diff_not(pair: Pair) -> list[Draft]:
    """``not``: ``not N`` fits inside ``not O`` exactly when ``O`` fits inside ``N``."""
    o_not, n_not = pair.o.get("not"), pair.n.get("not")
    if canon(o_not) == canon(n_not):
        return []
    at = pair.at
    path = child(pair.path, "not")
    sites = [Site(at, frozenset({"not"}))]
    if n_not is None:
        return [
            Draft(
                path,
                "not_removed",
                Impact.BREAKING,
                "outputs the old schema excluded with 'not' are now valid",
                sites,
                at,
            )
        ]
    if o_not is None:
        return [
            Draft(
                path,
                "not_added",
                Impact.COMPATIBLE,
                "the new schema excludes more outputs",
                sites,
                at,
            )
        ]
    # Compared in reverse: the new excluded shape as the "old" node, the old one as the "new".
    probe = pair.compare(Side(n_not, pair.new.resolver, path), Side(o_not, pair.old.resolver, path))
    verdict = worst(probe)
    return [
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
    ]


def diff_conditional(pair: Pair) -> list[Draft]:
    """``if``/``then``/``else``: what a changed condition admits is left to the examples."""
    if all(canon(pair.o.get(k)) == canon(pair.n.get(k)) for k in CONDITIONAL):
        return []
    return [
        Draft(
            pair.path,
            "conditional_changed",
            Impact.UNDECIDED,
            "if/then/else changed",
            [Site(pair.at, None, True)],
            pair.at,
        )
    ]
