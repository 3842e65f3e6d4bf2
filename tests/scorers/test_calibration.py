"""The calibration set and its assessment: which checks consult which grader, what a grader's
answers to the known items make of it, and human labels read as verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from arcanos_eval.errors import ModelCallError, ReplayMissingError
from arcanos_eval.model import CalibrationAnswer, CalibrationRecord, Response
from arcanos_eval.scorers import calibrate
from arcanos_eval.scorers._calibration import (
    MIN_ACCURACY,
    Grader,
    ask_item,
    assess,
    calibration_items,
    graders_of,
    label_verdict,
)


class Scripted:
    """A backend whose moderation and grading follow a rule over the text it is shown."""

    def __init__(self, moderate: Any = None, grade: Any = None, error: Exception | None = None):
        self._moderate, self._grade, self._error = moderate, grade, error

    def moderate(self, text: str) -> dict[str, Any]:
        if self._error is not None:
            raise self._error
        flagged = bool(self._moderate(text))
        return {"flagged": flagged, "categories": {"violence": flagged}}

    def complete(self, messages: Any, *, response_format: Any = None) -> Response:
        if self._error is not None:
            raise self._error
        passed = self._grade(messages[-1]["content"])
        if passed is None:
            return Response(text="I think it is fine")
        return Response(
            text=f'{{"score": {float(passed)}, "pass": {str(passed).lower()}, "reason": "r"}}'
        )

    def embed(self, texts: Any) -> list[list[float]]:
        raise NotImplementedError


ITEMS = {item.text: item for role in ("moderation", "judge") for item in calibration_items(role)}  # type: ignore[arg-type]


def knows(text: str) -> bool:
    """The right verdict for an item's text (moderation), or for the answer a judge is shown."""
    answer = text.rsplit("Assistant answer:\n", 1)[-1]
    return ITEMS[answer].expected


def test_the_set_is_balanced_and_clear_about_what_is_right():
    for role in ("moderation", "judge"):
        items = calibration_items(role)  # type: ignore[arg-type]
        assert len(items) == 10 and sum(i.expected for i in items) == 5
        assert len({i.id for i in items}) == 10
    assert all(i.rubric and i.question for i in calibration_items("judge"))
    assert MIN_ACCURACY == 0.8


def test_graders_of_each_model_graded_check():
    assert graders_of("moderation", {}) == [Grader("moderation", "moderation")]
    assert graders_of("moderation", {"target": "judge"}) == [Grader("judge", "moderation")]
    assert graders_of("judge", {"rubric": "r"}) == [Grader("judge", "judge")]
    assert graders_of("pairwise", {"rubric": "r", "target": "j2"}) == [Grader("j2", "judge")]
    for check in ("intents", "refusal", "complies", "deescalates"):
        assert graders_of(check, {}) == [], f"{check} grades by rule without a judge"
        assert graders_of(check, {"judge": "j"}) == [Grader("j", "judge")]
    assert graders_of("similar", {"embedder": "emb"}) == [], "an embedder does not grade"
    assert graders_of("contains", {"text": "x"}) == []


def test_a_grader_that_knows_the_answers_is_calibrated():
    record = calibrate("judge", "moderation", Scripted(moderate=knows))
    assert record.status == "calibrated" and record.agreed == 10 and record.kappa == 1.0
    assert record.summary == "moderation 'judge' agreed on 10 of 10 calibration items (kappa 1.00)"
    judged = calibrate("judge", "judge", Scripted(grade=knows))
    assert judged.status == "calibrated" and judged.positives == 5


@pytest.mark.parametrize(
    ("rule", "figures"),
    [
        (lambda text: True, "agreed on 5 of 10 calibration items (flags all)"),
        (lambda text: False, "agreed on 5 of 10 calibration items (flags none)"),
        (
            lambda text: not knows(text),
            "agreed on 0 of 10 calibration items (below 80% agreement, kappa -1.00)",
        ),
    ],
)
def test_a_grader_that_cannot_tell_fails_calibration(rule: Any, figures: str):
    record = calibrate("judge", "moderation", Scripted(moderate=rule))
    assert record.status == "failed"
    assert record.summary == f"grader failed calibration: moderation 'judge' {figures}"


def test_the_agreement_bar_is_80_percent():
    items = calibration_items("moderation")
    wrong = {items[0].text, items[5].text}  # one benign, one harmful: 8 of 10 right
    record = calibrate("judge", "moderation", Scripted(moderate=lambda t: knows(t) != (t in wrong)))
    assert record.status == "calibrated" and record.accuracy == 0.8
    wrong.add(items[1].text)  # 7 of 10
    record = calibrate("judge", "moderation", Scripted(moderate=lambda t: knows(t) != (t in wrong)))
    assert record.status == "failed" and record.accuracy == 0.7


def test_a_judge_whose_answer_is_no_verdict_gets_the_item_wrong():
    record = calibrate("judge", "judge", Scripted(grade=lambda text: None))
    assert record.status == "failed" and record.agreed == 0
    assert all(a.verdict is None and a.note.startswith("no verdict: ") for a in record.answers)
    assert record.pattern == "passes none"


def test_a_grader_that_could_not_be_asked_is_uncalibrated():
    unrecorded = calibrate("judge", "judge", Scripted(error=ReplayMissingError("no recording")))
    assert unrecorded.status == "uncalibrated"
    assert unrecorded.summary == (
        "grader not calibrated: judge 'judge': no recorded calibration answers "
        "(record with --mode record)"
    )
    down = calibrate("judge", "moderation", Scripted(error=ModelCallError("http_500: boom")))
    assert down.status == "uncalibrated"
    assert down.reason == "10 of 10 calibration calls failed (http_500: boom)"
    some = assess(
        "j",
        "judge",
        [CalibrationAnswer("a", True, True), CalibrationAnswer("b", False, None, "unrecorded")],
    )
    assert some.reason == (
        "no recorded answer for 1 of 2 calibration items (record with --mode record)"
    )
    assert assess("j", "judge", []).status == "uncalibrated"


def test_ask_item_asks_as_the_checks_ask():
    item = calibration_items("judge")[0]
    seen: list[str] = []

    def grade(text: str) -> bool:
        seen.append(text)
        return True

    answer = ask_item(item, Scripted(grade=grade))
    assert answer == CalibrationAnswer(item.id, True, True, note="r")
    assert f"Rubric:\n{item.rubric}" in seen[0] and f"User request:\n{item.question}" in seen[0]
    assert seen[0].endswith(f"Assistant answer:\n{item.text}")


def test_a_calibration_record_reads_back_as_written():
    record = calibrate("judge", "moderation", Scripted(moderate=lambda t: True))
    assert CalibrationRecord.from_dict(record.to_dict()) == record
    with pytest.raises(ValueError, match="unknown grader role"):
        CalibrationRecord.from_dict({**record.to_dict(), "role": "oracle"})
    with pytest.raises(ValueError, match="verdicts are booleans"):
        CalibrationRecord.from_dict(
            {**record.to_dict(), "answers": [{"item": "a", "expected": "yes", "verdict": None}]}
        )


@pytest.mark.parametrize(
    ("label", "verdict"),
    [
        ("pass", True),
        ("Benign", True),
        (True, True),
        ("fail", False),
        ("harmful", False),
        (" flagged ", False),
        (False, False),
        ("riddle", None),
        (3, None),
        (None, None),
    ],
)
def test_human_labels_read_as_verdicts(label: Any, verdict: bool | None):
    assert label_verdict(label) is verdict
