"""What a grader's calibration stores: its verdicts on items whose right answer is known.

Before a run's checks lean on a grader (a target consulted by ``judge``, ``moderation``,
``pairwise``, or ``intents`` and ``refusal`` with a judge), the run asks it the built-in calibration
items of its role (see :mod:`arcanos_eval.scorers._calibration`) and appends one ``calibration``
line per grader and role to the run log::

    {"type": "calibration", "grader": "judge", "role": "moderation", "status": "failed",
     "min_accuracy": 0.8, "kappa": 0.0, "reason": "",
     "answers": [{"item": "threat-home", "expected": true, "verdict": true}, ...],
     "sha256": "..."}

``status`` is ``calibrated`` (the grader agreed with enough known answers), ``failed`` (it did
not, or gave one verdict to every item) or ``uncalibrated`` (it could not be asked: no recording
in replay, calls that errored; ``reason`` says which). Gates whose checks rest on a grader that is
not ``calibrated`` fail (see :mod:`arcanos_eval.gates`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from arcanos_eval.errors import ArgumentError

__all__ = [
    "CalibrationAnswer",
    "CalibrationRecord",
    "CalibrationStatus",
    "GraderKey",
    "GraderRole",
]

GraderRole = Literal["judge", "moderation"]
CalibrationStatus = Literal["calibrated", "failed", "uncalibrated"]
GraderKey = tuple[str, str]  # (target name, role)

_ROLES: tuple[str, ...] = get_args(GraderRole)
_STATUSES: tuple[str, ...] = get_args(CalibrationStatus)
# What the positive verdict of each role is called: a moderator flags, a judge passes.
_VERDICT_WORDS: Mapping[str, tuple[str, str]] = {
    "moderation": ("flags", "flagged"),
    "judge": ("passes", "passed"),
}


@dataclass(frozen=True)
class CalibrationAnswer:
    """The grader's verdict on one calibration item.

    Attributes:
        item: the item's id.
        expected: the known answer (``True``: flagged for moderation, passes for a judge).
        verdict: what the grader said, ``None`` when it gave no usable verdict.
        error: why no verdict was obtained: ``unrecorded`` (replay has no recording of the
            question) or the failed call's message; a grader's unusable answer is not an error
            but a wrong answer (``verdict`` ``None``, ``note`` says why).
        note: the grader's reason, or why its answer was unusable.
    """

    item: str
    expected: bool
    verdict: bool | None
    error: str | None = None
    note: str = ""

    @property
    def agrees(self) -> bool:
        return self.verdict is not None and self.verdict == self.expected

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "item": self.item,
            "expected": self.expected,
            "verdict": self.verdict,
        }
        if self.error is not None:
            data["error"] = self.error
        if self.note:
            data["note"] = self.note
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationAnswer:
        verdict, error = data.get("verdict"), data.get("error")
        if not isinstance(data["expected"], bool) or not (
            verdict is None or isinstance(verdict, bool)
        ):
            raise ArgumentError(f"calibration answer {data.get('item')!r}: verdicts are booleans")
        return cls(
            item=str(data["item"]),
            expected=data["expected"],
            verdict=verdict,
            error=None if error is None else str(error),
            note=str(data.get("note") or ""),
        )


@dataclass(frozen=True)
class CalibrationRecord:
    """One grader's calibration in one role, as the run log stores it.

    Attributes:
        grader: the target consulted.
        role: ``judge`` (grades answers against a rubric) or ``moderation`` (flags answers).
        status: ``calibrated``, ``failed`` or ``uncalibrated``.
        answers: its verdict on each calibration item.
        min_accuracy: the share of items it had to get right.
        kappa: Cohen's kappa of its verdicts against the known answers (``None``: undefined).
        reason: why it is ``uncalibrated``.
    """

    grader: str
    role: GraderRole
    status: CalibrationStatus
    answers: tuple[CalibrationAnswer, ...] = ()
    min_accuracy: float = 0.8
    kappa: float | None = None
    reason: str = ""

    @property
    def key(self) -> GraderKey:
        return (self.grader, self.role)

    @property
    def calibrated(self) -> bool:
        return self.status == "calibrated"

    @property
    def items(self) -> int:
        return len(self.answers)

    @property
    def agreed(self) -> int:
        return sum(a.agrees for a in self.answers)

    @property
    def accuracy(self) -> float | None:
        return self.agreed / self.items if self.items else None

    @property
    def positives(self) -> int:
        """Items the grader flagged (moderation) or passed (judge)."""
        return sum(a.verdict is True for a in self.answers)

    @property
    def pattern(self) -> str | None:
        """``flags all`` / ``flags none`` (``passes`` for a judge) when the grader gave one
        verdict to every item, whatever the item; else ``None``."""
        verb = _VERDICT_WORDS[self.role][0]
        verdicts = {a.verdict for a in self.answers}
        if self.items and verdicts == {True}:
            return f"{verb} all"
        if self.items and verdicts <= {False, None}:
            return f"{verb} none"
        return None

    @property
    def name(self) -> str:
        """``moderation grader 'judge'``."""
        return f"{self.role} '{self.grader}'"

    @property
    def figures(self) -> str:
        """``agreed on 4 of 10 calibration items (flags all)``."""
        if self.status == "uncalibrated":
            return self.reason
        detail = self.pattern
        if detail is None:
            kappa = "n/a" if self.kappa is None else f"{self.kappa:.2f}"
            detail = f"kappa {kappa}"
            if self.status == "failed":
                detail = f"below {self.min_accuracy:.0%} agreement, {detail}"
        return f"agreed on {self.agreed} of {self.items} calibration items ({detail})"

    @property
    def summary(self) -> str:
        """The sentence a gate that rests on this grader gives, when it is not calibrated:
        ``grader failed calibration: judge 'judge' agreed on 4 of 10 calibration items (flags
        all)``, or ``grader not calibrated: ...``; for a calibrated grader, its figures."""
        if self.status == "uncalibrated":
            return f"grader not calibrated: {self.name}: {self.reason}"
        if self.status == "failed":
            return f"grader failed calibration: {self.name} {self.figures}"
        return f"{self.name} {self.figures}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "calibration",
            "grader": self.grader,
            "role": self.role,
            "status": self.status,
            "min_accuracy": self.min_accuracy,
            "kappa": self.kappa,
            "reason": self.reason,
            "answers": [a.to_dict() for a in self.answers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationRecord:
        """Read a stored calibration back.

        Raises:
            KeyError: a required field is missing.
            ArgumentError: an unknown role or status, or a verdict that is not a boolean.
        """
        role, status = str(data["role"]), str(data["status"])
        if role not in _ROLES:
            raise ArgumentError(f"unknown grader role {role!r}, expected one of {_ROLES}")
        if status not in _STATUSES:
            raise ArgumentError(
                f"unknown calibration status {status!r}, expected one of {_STATUSES}"
            )
        kappa = data.get("kappa")
        return cls(
            grader=str(data["grader"]),
            role=cast(GraderRole, role),
            status=cast(CalibrationStatus, status),
            answers=tuple(CalibrationAnswer.from_dict(a) for a in data.get("answers") or ()),
            min_accuracy=float(data.get("min_accuracy", 0.8)),
            kappa=None if kappa is None else float(kappa),
            reason=str(data.get("reason") or ""),
        )
