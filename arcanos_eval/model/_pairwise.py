"""What a ``pairwise`` check stores: the candidate's answer against the baseline's, judged twice.

A pairwise check compares two answers to the same case and repeat, so it cannot be scored as each
answer arrives; the run judges it once both are in and appends one ``pairwise`` line per
comparison to the run log, after the results and before the footer::

    {"type": "pairwise", "suite": "events", "case": "raid-day", "repeat": 0,
     "category": "happy_path", "check": 0, "args": {"rubric": "...", "target": "judge"},
     "judge": "judge", "baseline": "base", "candidate": "candidate", "outcome": "win",
     "orders": [{"first": "base", "winner": "candidate", "reason": "..."},
                {"first": "candidate", "winner": "candidate", "reason": "..."}]}

``outcome`` is the candidate's: ``win`` or ``loss`` when both orders preferred the same answer,
``tie`` when the judge said tie or changed its mind with the order (position bias), and
``undecided`` when there was nothing to judge or the judge gave no verdict (``error`` says why).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from arcanos_eval.errors import ArgumentError

__all__ = ["JudgedOrder", "PairKey", "PairwiseOutcome", "PairwiseRecord", "PairwiseTally"]

PairwiseOutcome = Literal["win", "tie", "loss", "undecided"]
PairKey = tuple[str, int, int]  # (suite::case, repeat, index of the pairwise check in the case)

_OUTCOMES: tuple[str, ...] = get_args(PairwiseOutcome)


@dataclass(frozen=True)
class JudgedOrder:
    """One of the two questions: whose answer was shown first, and which the judge preferred
    (a target name, or ``"tie"``), with its reason."""

    first: str
    winner: str
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"first": self.first, "winner": self.winner, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgedOrder:
        return cls(str(data["first"]), str(data["winner"]), str(data.get("reason") or ""))


@dataclass(frozen=True)
class PairwiseRecord:
    """One comparison of the candidate's answer with the baseline's, as the run log stores it.

    Attributes:
        suite_id / case_id / repeat / category: the case and repeat both answers respond to.
        index: which pairwise check of the case (0 for the first), when it has several.
        args: the check's arguments as the suite gave them (``rubric``, ``target``).
        judge: the target that judged.
        baseline / candidate: the targets whose answers were compared.
        outcome: the candidate's ``win``, ``tie``, ``loss`` or ``undecided``.
        orders: the judge's verdict in each order (none when undecided before asking).
        error: why the comparison is undecided.
    """

    suite_id: str
    case_id: str
    repeat: int
    category: str
    index: int
    judge: str
    baseline: str
    candidate: str
    outcome: PairwiseOutcome
    orders: tuple[JudgedOrder, ...] = ()
    args: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def case_key(self) -> str:
        return f"{self.suite_id}::{self.case_id}"

    @property
    def key(self) -> PairKey:
        return (self.case_key, self.repeat, self.index)

    @property
    def rubric(self) -> str:
        return str(self.args.get("rubric") or "")

    @property
    def consistent(self) -> bool:
        """Both orders named the same winner (an undecided comparison is not)."""
        return len(self.orders) == 2 and self.orders[0].winner == self.orders[1].winner

    @property
    def reason(self) -> str:
        """Why: the error of an undecided comparison, else the judge's reasons, order by order."""
        if self.error:
            return self.error
        return " / ".join(f"{o.first} first: {o.reason or 'no reason given'}" for o in self.orders)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "pairwise",
            "suite": self.suite_id,
            "case": self.case_id,
            "repeat": self.repeat,
            "category": self.category,
            "check": self.index,
            "args": dict(self.args),
            "judge": self.judge,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "outcome": self.outcome,
            "orders": [o.to_dict() for o in self.orders],
        }
        if self.error is not None:
            data["error"] = self.error
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PairwiseRecord:
        """Read a stored comparison back.

        Raises:
            KeyError: a required field is missing.
            ArgumentError: an unknown outcome.
        """
        outcome = str(data["outcome"])
        if outcome not in _OUTCOMES:
            raise ArgumentError(
                f"unknown pairwise outcome {outcome!r}, expected one of {_OUTCOMES}"
            )
        error = data.get("error")
        return cls(
            suite_id=str(data["suite"]),
            case_id=str(data["case"]),
            repeat=int(data.get("repeat", 0)),
            category=str(data.get("category", "")),
            index=int(data.get("check", 0)),
            judge=str(data["judge"]),
            baseline=str(data["baseline"]),
            candidate=str(data["candidate"]),
            outcome=cast(PairwiseOutcome, outcome),
            orders=tuple(JudgedOrder.from_dict(o) for o in data.get("orders") or ()),
            args=dict(data.get("args") or {}),
            error=None if error is None else str(error),
        )


@dataclass(frozen=True)
class PairwiseTally:
    """Counts of comparisons, from the candidate's side, and the two rates the gates bound.

    ``win_rate`` counts a tie as half a win, so 50% means "as good as the baseline on balance";
    ``loss_rate`` counts an undecided comparison as a loss, since it is no evidence for the
    candidate. Both are shares of every comparison, undecided ones included.
    """

    wins: int = 0
    ties: int = 0
    losses: int = 0
    undecided: int = 0
    flipped: int = 0  # ties because the judge's preference followed the order shown

    @classmethod
    def of(cls, records: Iterable[PairwiseRecord]) -> PairwiseTally:
        counts = dict.fromkeys(_OUTCOMES, 0)
        flipped = 0
        for record in records:
            counts[record.outcome] += 1
            flipped += record.outcome == "tie" and len(record.orders) == 2 and not record.consistent
        return cls(counts["win"], counts["tie"], counts["loss"], counts["undecided"], flipped)

    @property
    def comparisons(self) -> int:
        return self.wins + self.ties + self.losses + self.undecided

    @property
    def win_rate(self) -> float | None:
        n = self.comparisons
        return (self.wins + self.ties / 2) / n if n else None

    @property
    def loss_rate(self) -> float | None:
        n = self.comparisons
        return (self.losses + self.undecided) / n if n else None
