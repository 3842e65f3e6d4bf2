"""Scripted graders for the loopback server: answering the built-in calibration questions.

A run asks every grader its calibration items before its verdicts count (see
:mod:`arcanos_eval.calibration`). A test whose judge is a scripted responder wraps it in
:func:`calibrated` so the judge passes calibration and the test's own script decides the rest::

    server = openai_server_factory(responder=calibrated(my_judge))
"""

from __future__ import annotations

from collections.abc import Mapping

from arcanos_eval.model import GraderRole
from arcanos_eval.scorers._calibration import CalibrationItem, calibration_items
from arcanos_eval.testing._reply import ChatRequest, Reply, Responder, echo

__all__ = ["calibrated", "calibration_reply"]


def _items() -> Mapping[str, CalibrationItem]:
    roles: tuple[GraderRole, ...] = ("moderation", "judge")
    return {item.text: item for role in roles for item in calibration_items(role)}


def _item_asked(request: ChatRequest) -> CalibrationItem | None:
    """The calibration item ``request`` asks about, if it is one."""
    items = _items()
    item = items.get(request.prompt)
    if item is not None and item.role == "moderation":
        return item
    answer = request.prompt.rsplit("Assistant answer:\n", 1)
    if len(answer) == 2:
        item = items.get(answer[1])
        if item is not None and item.role == "judge" and f"Rubric:\n{item.rubric}" in answer[0]:
            return item
    return None


def calibration_reply(request: ChatRequest, *, correct: bool = True) -> Reply | None:
    """The right verdict (``correct=False``: the wrong one) when ``request`` is a calibration
    question, as a moderation verdict or a judge's grade; ``None`` for any other request.

    Example:
        >>> calibration_reply(ChatRequest("chat", "m", "hello")) is None
        True
    """
    item = _item_asked(request)
    if item is None:
        return None
    verdict = item.expected if correct else not item.expected
    if item.role == "moderation":
        return Reply.json({"flagged": verdict, "categories": ["calibration"] if verdict else []})
    reason = "meets the rubric" if verdict else "misses the rubric"
    return Reply.json({"score": 1.0 if verdict else 0.0, "pass": verdict, "reason": reason})


def calibrated(responder: Responder = echo) -> Responder:
    """A responder that answers the built-in calibration questions right and hands every other
    request to ``responder``: a grader that passes calibration, scripted by the test."""

    def respond(request: ChatRequest) -> Reply | str:
        reply = calibration_reply(request)
        return responder(request) if reply is None else reply

    return respond
