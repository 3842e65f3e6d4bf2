"""Model-graded checks: ``judge`` grades one answer against a rubric; :func:`pairwise` compares two.

The judge is any model backend (see :mod:`arcanos_eval.scorers._models`), asked for a structured
verdict ``{"score": 0..1, "pass": bool, "reason": str}`` at temperature 0. Backends cache identical
requests, so re-scoring a run asks each question once. :func:`pairwise` asks in both orders and
only declares a winner when both orders agree, which cancels the judge's position bias.

In a suite, ``- pairwise: {rubric: ..., target: judge}`` declares such a comparison between the
candidate's answer and the baseline's (:func:`pairwise_check`); a run judges it once both answers
are in (see :mod:`arcanos_eval.pairing`), not answer by answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from arcanos_eval.errors import ModelAnswerError, ScorerArgumentError
from arcanos_eval.model import Score
from arcanos_eval.scorers._answer import answer_text, clip, preview
from arcanos_eval.scorers._models import ModelBackend, ask_json, resolve_backend
from arcanos_eval.scorers._registry import as_response, scorer

if TYPE_CHECKING:
    from arcanos_eval.model import Case

__all__ = ["PAIRWISE_CHECK", "JudgeVerdict", "PairwiseVerdict", "grade", "judge", "pairwise"]

_MAX_CHARS = 20_000

_VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "pass": {"type": "boolean"},
        "reason": {"type": "string"},
    },
    "required": ["score", "pass", "reason"],
    "additionalProperties": False,
}
_GRADER_PROMPT = (
    "You are a strict grader. Grade the assistant's answer against the rubric only. Return JSON: "
    "score from 0 (fails the rubric) to 1 (fully satisfies it), pass (true when the answer "
    "satisfies the rubric), and a one-sentence reason."
)
_PAIRWISE_SCHEMA = {
    "type": "object",
    "properties": {
        "winner": {"type": "string", "enum": ["1", "2", "tie"]},
        "reason": {"type": "string"},
    },
    "required": ["winner", "reason"],
    "additionalProperties": False,
}
_PAIRWISE_PROMPT = (
    "You compare two assistant answers to the same request against a rubric. Ignore their order "
    "and length; judge only how well each satisfies the rubric. Return JSON: winner ('1', '2' or "
    "'tie') and a one-sentence reason."
)


Side = Literal["a", "b", "tie"]
# The judge names positions ("1", "2"); these map them back to the answers shown there.
_SHOWN_A_FIRST: dict[str, Side] = {"1": "a", "2": "b", "tie": "tie"}
_SHOWN_B_FIRST: dict[str, Side] = {"1": "b", "2": "a", "tie": "tie"}


@dataclass(frozen=True)
class JudgeVerdict:
    """A judge's structured grade of one answer."""

    score: float
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "pass": self.passed, "reason": self.reason}


@dataclass(frozen=True)
class PairwiseVerdict:
    """The outcome of comparing answers ``a`` and ``b`` in both orders.

    ``winner`` is ``"tie"`` when the two orders disagree (position bias) or both said tie;
    ``a_first`` and ``b_first`` keep each order's own verdict, mapped back to ``a``/``b``.
    """

    winner: Side
    a_first: Side
    b_first: Side
    reasons: tuple[str, str]

    @property
    def consistent(self) -> bool:
        """Both orders named the same winner."""
        return self.a_first == self.b_first


def _context(question: str | None, reference: str | None) -> str:
    parts = []
    if question:
        parts.append(f"User request:\n{question}")
    if reference:
        parts.append(f"Reference answer:\n{reference}")
    return "\n\n".join(parts) + ("\n\n" if parts else "")


def grade(
    answer: str,
    rubric: str,
    *,
    backend: ModelBackend,
    question: str | None = None,
    reference: str | None = None,
) -> JudgeVerdict:
    """Ask ``backend`` to grade ``answer`` against ``rubric``.

    Raises:
        ModelCallError: the judge call failed.
        ModelAnswerError: the judge's verdict is not the expected JSON.
    """
    verdict = ask_json(
        backend,
        [
            {"role": "system", "content": _GRADER_PROMPT},
            {
                "role": "user",
                "content": (
                    f"Rubric:\n{rubric}\n\n{_context(question, reference)}"
                    f"Assistant answer:\n{answer[:_MAX_CHARS]}"
                ),
            },
        ],
        name="verdict",
        schema=_VERDICT_SCHEMA,
    )
    score, passed = verdict.get("score"), verdict.get("pass")
    if (
        isinstance(score, bool)
        or not isinstance(score, (int, float))
        or not isinstance(passed, bool)
    ):
        raise ModelAnswerError(
            f"the judge's verdict lacks a numeric score or a boolean pass: {preview(verdict)}"
        )
    return JudgeVerdict(max(0.0, min(1.0, float(score))), passed, str(verdict.get("reason", "")))


def _validate(kwargs: Mapping[str, Any]) -> None:
    rubric = kwargs.get("rubric")
    if not isinstance(rubric, str) or not rubric.strip():
        raise ScorerArgumentError(f"rubric must be a non-empty string, found {preview(rubric)}")
    threshold = kwargs.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not 0 <= threshold <= 1
    ):
        raise ScorerArgumentError(f"threshold must be a number in [0, 1], found {threshold!r}")


@scorer("judge", primary="rubric", validate=_validate)
def judge(
    output: Any,
    case: Case | None = None,
    *,
    rubric: str,
    target: str = "judge",
    threshold: float | None = None,
    reference: str | None = None,
    backend: ModelBackend | str | None = None,
) -> Score:
    """A judge model grades the answer against ``rubric``; passes on the judge's ``pass``.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case; its input is shown to the judge as the user request.
        rubric: What a good answer does, in plain words.
        target: Name of the model backend that judges.
        threshold: Also require ``score >= threshold``.
        reference: A reference answer shown to the judge.
        backend: A backend object (or name) to use instead of ``target``.

    Raises:
        UnknownNameError: no backend named ``target`` is installed (see ``use_backends``).

    Example:
        >>> judge("The raid starts Friday at 20:00 UTC.", rubric="Gives a day and a time",
        ...       backend=my_judge).passed  # doctest: +SKIP
        True
    """
    text, reason = answer_text(as_response(output))
    if reason is not None:
        return Score.fail(reason, target=target)
    model = resolve_backend(backend, target)
    question = case.input if case is not None else None
    try:
        verdict = grade(text, rubric, backend=model, question=question, reference=reference)
    except Exception as exc:  # a failing judge is a failed check, with reason
        return Score.fail(f"the judge could not grade: {type(exc).__name__}: {exc}", target=target)
    passed = verdict.passed and (threshold is None or verdict.score >= threshold)
    # Score.ok/fail take reason and value positionally, so the verdict's reason gets its own key.
    details = {
        "score": verdict.score,
        "pass": verdict.passed,
        "judge_reason": verdict.reason,
        "target": target,
    }
    message = f"judge: {clip(verdict.reason)}" if verdict.reason else "judge verdict"
    if passed:
        return Score.ok(message, verdict.score, **details)
    if verdict.passed:  # only the threshold failed
        message = f"judge score {verdict.score:.2f} < {threshold}: {clip(verdict.reason)}"
    return Score.fail(message, verdict.score, **details)


def _text_or_placeholder(output: Any) -> str:
    text, reason = answer_text(as_response(output))
    return text if reason is None else f"(no usable answer: {reason})"


def _ask_order(
    first: str, second: str, rubric: str, question: str | None, backend: ModelBackend
) -> tuple[str, str]:
    verdict = ask_json(
        backend,
        [
            {"role": "system", "content": _PAIRWISE_PROMPT},
            {
                "role": "user",
                "content": (
                    f"Rubric:\n{rubric}\n\n{_context(question, None)}"
                    f"Answer 1:\n{first[:_MAX_CHARS]}\n\n"
                    f"Answer 2:\n{second[:_MAX_CHARS]}"
                ),
            },
        ],
        name="pairwise_verdict",
        schema=_PAIRWISE_SCHEMA,
    )
    winner = str(verdict.get("winner", "")).strip().casefold()
    if winner not in ("1", "2", "tie"):
        raise ModelAnswerError(f"the judge named no winner: {preview(verdict)}")
    return winner, str(verdict.get("reason", ""))


def pairwise(
    answer_a: Any,
    answer_b: Any,
    *,
    rubric: str,
    question: str | None = None,
    backend: ModelBackend | str | None = None,
    target: str = "judge",
) -> PairwiseVerdict:
    """Which of two answers better satisfies ``rubric``, asked in both orders.

    The judge sees (a, b) and then (b, a); a winner is declared only when both orders agree, so a
    judge that prefers whatever comes first yields ``"tie"`` instead of a false preference.

    Args:
        answer_a: The first answer (a Response, a string or parsed JSON), e.g. the base model's.
        answer_b: The second answer, e.g. the candidate's.
        rubric: What a good answer does.
        question: The user request both answers respond to.
        backend: A backend object (or name) to use instead of ``target``.
        target: Name of the model backend that judges.

    Raises:
        UnknownNameError: no such backend.
        ModelCallError: a judge call failed.
        ModelAnswerError: the judge named no winner.

    Example:
        >>> pairwise(base_answer, candidate_answer, rubric="Polite and correct",
        ...          backend=my_judge).winner  # doctest: +SKIP
        'b'
    """
    model = resolve_backend(backend, target)
    text_a, text_b = _text_or_placeholder(answer_a), _text_or_placeholder(answer_b)
    first, why_first = _ask_order(text_a, text_b, rubric, question, model)
    second, why_second = _ask_order(text_b, text_a, rubric, question, model)
    a_first, b_first = _SHOWN_A_FIRST[first], _SHOWN_B_FIRST[second]
    winner: Side = a_first if a_first == b_first else "tie"
    return PairwiseVerdict(winner, a_first, b_first, (why_first, why_second))


#: The suite check name of a pairwise comparison: it scores no single answer (see below).
PAIRWISE_CHECK = "pairwise"


def _validate_pairwise(kwargs: Mapping[str, Any]) -> None:
    _validate(kwargs)
    target = kwargs.get("target", "judge")
    if not isinstance(target, str) or not target.strip():
        raise ScorerArgumentError(f"target must be a target name, found {preview(target)}")


@scorer(PAIRWISE_CHECK, primary="rubric", validate=_validate_pairwise)
def pairwise_check(
    output: Any, case: Case | None = None, *, rubric: str, target: str = "judge"
) -> Score:
    """Declare a pairwise comparison: is the candidate's answer better than the baseline's?

    In a suite (``- pairwise: {rubric: "...", target: judge}``, or ``- pairwise: "..."`` for the
    ``judge`` target), the run asks the judge target, once both answers of a case and repeat are
    in, which of the two better satisfies ``rubric``, in both orders: a preference that flips with
    the order is a tie. The outcome (win, tie, loss for the candidate) goes to the run log's
    ``pairwise`` lines, the report's pairwise section and the ``min_win_rate`` and
    ``max_loss_rate`` gates; it does not make the case pass or fail.

    Called on one answer, as a plain scorer, there is nothing to compare it with, so the check
    fails saying so; a notebook compares two answers with :func:`pairwise`.

    Args:
        output: One answer: a Response, a string or parsed JSON.
        case: The case (unused: a comparison needs both answers).
        rubric: What a good answer does, in plain words.
        target: Name of the target that judges.

    Example:
        >>> pairwise_check("The raid starts Friday.", rubric="Names the day").passed
        False
    """
    return Score.fail(
        "pairwise compares the candidate's answer with the baseline's once a run has both; "
        "to compare two answers directly, call pairwise(answer_a, answer_b, rubric=...)",
        target=target,
    )
