"""Graders that prove they can grade: a built-in calibration set with known answers.

A check that consults a model to grade (``judge``, ``pairwise``, ``moderation``, and ``intents``,
``refusal``, ``complies`` or ``deescalates`` given a ``judge``) is only as right as that model. Before
a run leans on one, it asks it the calibration items of its role (shipped as ``calibration.json``
beside this module, written for arcanos-eval):

* ``moderation``: 5 clearly benign texts (one is game combat) and 5 clearly harmful ones (a
  threat, hate, self-harm encouragement, instructions to steal accounts, sexual extortion), asked
  through :meth:`~arcanos_eval.scorers.ModelBackend.moderate` as the ``moderation`` check asks;
* ``judge``: 5 answers that clearly meet a one-line rubric and 5 that clearly miss it, asked
  through :func:`~arcanos_eval.scorers.grade` as the ``judge`` check asks.

:func:`assess` turns the verdicts into a :class:`~arcanos_eval.model.CalibrationRecord`: the
grader **fails** calibration when it agrees with fewer than ``min_accuracy`` (80%) of the known
answers, or gives one verdict to every item (flags all, flags none); it is **uncalibrated** when it
could not be asked (no recording in replay, calls that errored). The ``judge`` role stands for
every rubric-like use of a target (``pairwise``, and the judge of ``intents`` and ``refusal``): the
calibration checks that the model can tell an answer that meets a plain criterion from one that
does not, not each prompt's own wording.

In a notebook, :func:`calibrate` asks a backend directly::

    calibrate("judge", "judge", OpenAIBackend("gpt-4.1-mini")).summary
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, NamedTuple, cast

from arcanos_eval.errors import ModelCallError, ReplayMissingError
from arcanos_eval.model import (
    CalibrationAnswer,
    CalibrationRecord,
    CalibrationStatus,
    GraderRole,
)
from arcanos_eval.scorers._judge import grade
from arcanos_eval.scorers._models import ModelBackend
from arcanos_eval.scorers._moderation import flag_verdict
from arcanos_eval.stats import cohen_kappa

__all__ = [
    "GRADER_CHECKS",
    "MIN_ACCURACY",
    "CalibrationItem",
    "Grader",
    "ask_item",
    "assess",
    "calibrate",
    "calibration_items",
    "graders_of",
    "label_verdict",
]

#: The checks that grade through a model, and the argument naming it (``None``: no default).
GRADER_CHECKS: Mapping[str, tuple[str, str | None]] = {
    "judge": ("target", "judge"),
    "pairwise": ("target", "judge"),
    "moderation": ("target", "moderation"),
    "intents": ("judge", None),
    "refusal": ("judge", None),
    "complies": ("judge", None),
    "deescalates": ("judge", None),
}

#: What a ``unrecorded`` answer's error says; the reason a run gives for such a grader.
UNRECORDED = "unrecorded"


class Grader(NamedTuple):
    """A target consulted to grade, in one role (``judge`` or ``moderation``)."""

    target: str
    role: GraderRole


def graders_of(check: str, args: Mapping[str, Any]) -> list[Grader]:
    """The graders a check with these arguments consults (none for a check that grades by rule).

    Example:
        >>> graders_of("moderation", {"target": "judge"})
        [Grader(target='judge', role='moderation')]
        >>> graders_of("intents", {"intents": ["a", "b"]})
        []
    """
    spec = GRADER_CHECKS.get(check)
    if spec is None:
        return []
    argument, default = spec
    name = args.get(argument, default)
    if not isinstance(name, str) or not name:
        return []
    return [Grader(name, "moderation" if check == "moderation" else "judge")]


@dataclass(frozen=True)
class CalibrationItem:
    """One question with a known answer. ``expected`` is the right verdict: flagged (moderation)
    or passes the rubric (judge)."""

    id: str
    role: GraderRole
    expected: bool
    text: str = ""  # moderation: the text to moderate; judge: the answer to grade
    rubric: str = ""
    question: str = ""


@functools.cache
def _load() -> Mapping[str, Any]:
    raw = resources.files("arcanos_eval.scorers").joinpath("calibration.json").read_text("utf-8")
    return cast(Mapping[str, Any], json.loads(raw))


#: The share of calibration items a grader must get right.
MIN_ACCURACY: float = float(_load()["min_accuracy"])


def calibration_items(role: GraderRole) -> tuple[CalibrationItem, ...]:
    """The built-in items of ``role``, in file order.

    Example:
        >>> items = calibration_items("moderation")
        >>> len(items), sum(item.expected for item in items)
        (10, 5)
    """
    data = _load()
    if role == "moderation":
        return tuple(
            CalibrationItem(str(i["id"]), role, bool(i["flagged"]), text=str(i["text"]))
            for i in data["moderation"]
        )
    return tuple(
        CalibrationItem(
            str(i["id"]),
            role,
            bool(i["pass"]),
            text=str(i["answer"]),
            rubric=str(i["rubric"]),
            question=str(i.get("question") or ""),
        )
        for i in data["judge"]
    )


def ask_item(item: CalibrationItem, backend: ModelBackend) -> CalibrationAnswer:
    """The grader's verdict on one item, asked as the checks of its role ask.

    Never raises for the grader's sake: a failed call is an answer with an ``error`` (the grader
    could not be asked), an unusable answer one with no verdict (the grader's mistake).
    """
    try:
        if item.role == "moderation":
            flagged, hit = flag_verdict(backend.moderate(item.text))
            named = ", ".join(hit)
            return CalibrationAnswer(item.id, item.expected, flagged, note=named)
        verdict = grade(item.text, item.rubric, backend=backend, question=item.question or None)
        return CalibrationAnswer(item.id, item.expected, verdict.passed, note=verdict.reason)
    except ReplayMissingError:
        return CalibrationAnswer(item.id, item.expected, None, error=UNRECORDED)
    except ModelCallError as exc:
        return CalibrationAnswer(item.id, item.expected, None, error=str(exc)[:300])
    except Exception as exc:  # an answer that is not a verdict is a wrong answer, not a crash
        return CalibrationAnswer(
            item.id, item.expected, None, note=f"no verdict: {type(exc).__name__}: {exc}"[:300]
        )


def assess(
    grader: str,
    role: GraderRole,
    answers: Sequence[CalibrationAnswer],
    *,
    min_accuracy: float = MIN_ACCURACY,
) -> CalibrationRecord:
    """Decide from the grader's answers whether it is calibrated.

    Uncalibrated when any item could not be asked (the reason names how many and why); failed
    when it gave one verdict to every item or agreed with fewer than ``min_accuracy`` of them.
    """
    answers = tuple(answers)
    kappa = cohen_kappa((a.expected, a.verdict) for a in answers if a.error is None)
    record = CalibrationRecord(grader, role, "calibrated", answers, min_accuracy, kappa)
    unrecorded = sum(a.error == UNRECORDED for a in answers)
    failed_calls = [a for a in answers if a.error is not None and a.error != UNRECORDED]
    if not answers:
        return _with(record, "uncalibrated", "no calibration item was asked")
    if unrecorded:
        what = (
            "no recorded calibration answers"
            if unrecorded == len(answers)
            else f"no recorded answer for {unrecorded} of {len(answers)} calibration items"
        )
        return _with(record, "uncalibrated", f"{what} (record with --mode record)")
    if failed_calls:
        return _with(
            record,
            "uncalibrated",
            f"{len(failed_calls)} of {len(answers)} calibration calls failed "
            f"({failed_calls[0].error})",
        )
    accuracy = record.accuracy or 0.0
    if record.pattern is not None or accuracy < min_accuracy - 1e-12:
        return _with(record, "failed", "")
    return record


def _with(record: CalibrationRecord, status: CalibrationStatus, reason: str) -> CalibrationRecord:
    return replace(record, status=status, reason=reason)


def calibrate(
    grader: str,
    role: GraderRole,
    backend: ModelBackend,
    *,
    items: Iterable[CalibrationItem] | None = None,
) -> CalibrationRecord:
    """Ask ``backend`` every calibration item of ``role`` (one after the other) and assess it.

    Example:
        >>> calibrate("judge", "moderation", my_backend).summary  # doctest: +SKIP
        "grader failed calibration: moderation 'judge' agreed on 5 of 10 ... (flags all)"
    """
    chosen = calibration_items(role) if items is None else tuple(items)
    return assess(grader, role, [ask_item(item, backend) for item in chosen])


# Human labels on cases (``metadata.label``): the verdict the case's graded checks should reach.
_PASS_LABELS = frozenset({"pass", "passed", "ok", "good", "benign", "safe", "true"})
_FAIL_LABELS = frozenset({"fail", "failed", "bad", "harmful", "unsafe", "flagged", "false"})


def label_verdict(label: Any) -> bool | None:
    """A human label read as the verdict a graded check should reach: ``True`` (the check should
    pass: ``pass``, ``good``, ``benign``, ``safe``, ``true``), ``False`` (``fail``, ``bad``,
    ``harmful``, ``unsafe``, ``flagged``, ``false``), ``None`` for any other value (a label of
    another kind, such as a class name, is not a grader's verdict).

    Example:
        >>> label_verdict("harmful"), label_verdict(True), label_verdict("riddle")
        (False, True, None)
    """
    if isinstance(label, bool):
        return label
    if not isinstance(label, str):
        return None
    word = label.strip().casefold()
    if word in _PASS_LABELS:
        return True
    if word in _FAIL_LABELS:
        return False
    return None
