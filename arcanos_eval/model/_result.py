"""What scoring produces: a :class:`Score` per check, a :class:`CheckResult` naming the check, and
a :class:`ResultRecord` per answer, exactly as the run log stores them.

A stored score is one flat object, ``{"check", "args", "passed", "value", "reason", "details"}``;
:meth:`CheckResult.from_dict` reads it back into typed values, so gates and reports never look
inside a mapping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arcanos_eval.model._response import Response

__all__ = ["CheckResult", "ResultKey", "ResultRecord", "Score"]

ResultKey = tuple[str, str, int]  # (suite::case, target, repeat)


@dataclass(frozen=True)
class Score:
    """The result of one check on one response.

    ``value`` is a number in [0, 1] where that makes sense (1.0 for a plain pass), ``reason`` is one
    human sentence, ``details`` holds evidence for reports (diffs, matched phrases, violations).
    A check that judges whether an answer is flagged (moderation) says so as ``details["flagged"]``
    (true or false, or ``None`` when it could not tell); :attr:`flagged` reads it.
    """

    passed: bool
    value: float = 0.0
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, reason: str = "", value: float = 1.0, **details: Any) -> Score:
        return cls(True, value, reason, details)

    @classmethod
    def fail(cls, reason: str, value: float = 0.0, **details: Any) -> Score:
        return cls(False, value, reason, details)

    @property
    def flagged(self) -> bool | None:
        """Whether the check found the answer flagged: ``None`` when it gave no such verdict."""
        flag = self.details.get("flagged")
        return flag if isinstance(flag, bool) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "value": self.value,
            "reason": self.reason,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Score:
        value = data.get("value")
        number = 0.0 if value is None else float(value)
        return cls(
            passed=bool(data.get("passed")),
            value=number if math.isfinite(number) else 0.0,  # NaN in a log of an older writer
            reason=str(data.get("reason") or ""),
            details=dict(data.get("details") or {}),
        )


@dataclass(frozen=True)
class CheckResult:
    """One check of a case on one answer: the check's name and arguments, and its score."""

    check: str
    args: Mapping[str, Any]
    score: Score

    @property
    def passed(self) -> bool:
        return self.score.passed

    @property
    def value(self) -> float:
        return self.score.value

    @property
    def reason(self) -> str:
        return self.score.reason

    def to_dict(self) -> dict[str, Any]:
        """The stored form: the score's fields beside the check's name and arguments."""
        # The arguments as the check holds them, not a copy per answer: a large run holds every
        # score, and they are only read (written out, compared).
        args = self.args if type(self.args) is dict else dict(self.args)
        return {"check": self.check, "args": args, **self.score.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(str(data["check"]), dict(data.get("args") or {}), Score.from_dict(data))


@dataclass(frozen=True)
class ResultRecord:
    """One answer and its scores, as stored in the log.

    ``seed`` is the sampling seed the request sent (``None``: it sent none); ``reduce`` is the
    case's reducer, so the repeats of a case are judged the same way wherever the log is read.

    The run log stores it sealed: its line ends with a ``sha256`` content hash over every field
    (answer, latency, usage, request fingerprint, scores...), which :func:`~arcanos_eval.runlog.read_run_log` checks;
    the hash belongs to the line, not to the record, so :meth:`to_dict` leaves it out.
    """

    suite_id: str
    case_id: str
    target: str
    repeat: int
    category: str
    fingerprint: str
    response: Response
    scores: tuple[CheckResult, ...] = ()
    tags: tuple[str, ...] = ()
    xfail: str | None = None
    seed: int | None = None
    reduce: str = "all"

    @property
    def key(self) -> ResultKey:
        return (f"{self.suite_id}::{self.case_id}", self.target, self.repeat)

    @property
    def errored(self) -> bool:
        return self.response.errored

    @property
    def passed(self) -> bool:
        """Every check passed (an errored answer has not passed)."""
        return not self.errored and all(s.passed for s in self.scores)

    def results_of(self, check: str) -> tuple[CheckResult, ...]:
        """The results of every check named ``check`` on this answer, in suite order."""
        return tuple(s for s in self.scores if s.check == check)

    def failed(self, check: str) -> bool | None:
        """Whether a check named ``check`` failed on this answer (``None``: none ran)."""
        results = self.results_of(check)
        if not results:
            return None
        return not all(s.passed for s in results)

    def flagged(self, check: str = "moderation") -> bool | None:
        """Whether the ``check`` checks (moderation) flagged this answer; ``None``: none ran.

        When every one of them gave a verdict, the answer is flagged if any flagged it; a check
        that could not tell (its call failed, say) counts as flagged when it failed.
        """
        results = self.results_of(check)
        if not results:
            return None
        flags = [s.score.flagged for s in results]
        if all(f is not None for f in flags):
            return any(flags)
        return not all(s.passed for s in results)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "result",
            "suite": self.suite_id,
            "case": self.case_id,
            "target": self.target,
            "repeat": self.repeat,
            "category": self.category,
            "fingerprint": self.fingerprint,
            "response": self.response.to_dict(),
            "scores": [s.to_dict() for s in self.scores],
        }
        if self.tags:
            data["tags"] = list(self.tags)
        if self.xfail:
            data["xfail"] = self.xfail
        if self.seed is not None:
            data["seed"] = self.seed
        if self.reduce != "all":
            data["reduce"] = self.reduce
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultRecord:
        return cls(
            suite_id=str(data["suite"]),
            case_id=str(data["case"]),
            target=str(data["target"]),
            repeat=int(data.get("repeat", 0)),
            category=str(data.get("category", "")),
            fingerprint=str(data.get("fingerprint", "")),
            response=Response.from_dict(data["response"]),
            scores=tuple(CheckResult.from_dict(s) for s in data.get("scores") or ()),
            tags=tuple(data.get("tags") or ()),
            xfail=data.get("xfail"),
            seed=data.get("seed"),
            reduce=str(data.get("reduce") or "all"),
        )
