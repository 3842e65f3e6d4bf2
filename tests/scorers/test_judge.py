"""The judge scorer and pairwise comparison, graded by a scripted judge on the loopback server."""

from __future__ import annotations

import re
from typing import Any

import pytest

from arcanos_eval.errors import ModelAnswerError, UnknownNameError
from arcanos_eval.model import Case
from arcanos_eval.scorers._judge import grade, judge, pairwise
from arcanos_eval.scorers._models import OpenAIBackend, use_backends
from arcanos_eval.scorers._registry import bind_check, run_check
from arcanos_eval.testing import ChatRequest, Fault, Reply
from arcanos_eval.testing.fixtures import OpenAIServerFactory
from tests.scorers._answers import MALFORMED

KEY_ENV = "ARCANOS_SCORERS_TEST_KEY"


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-scorers-test")


def grader(request: ChatRequest) -> Reply:
    """A judge that passes answers naming a day of the week, and reports what it was shown."""
    answer = request.prompt.split("Assistant answer:\n", 1)[-1]
    named = re.search(
        r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", answer, re.IGNORECASE
    )
    shown_request = "User request:" in request.prompt
    reason = f"names {named.group(0)}" if named else "names no day"
    return Reply.json(
        {
            "score": 0.9 if named else 0.2,
            "pass": bool(named),
            "reason": f"{reason}; request shown: {shown_request}",
        }
    )


def first_wins(request: ChatRequest) -> Reply:
    """A judge with pure position bias: it always prefers whatever it saw first."""
    return Reply.json({"winner": "1", "reason": "the first one reads better"})


def prefers_friday(request: ChatRequest) -> Reply:
    first, second = request.prompt.split("Answer 1:\n", 1)[1].split("\n\nAnswer 2:\n", 1)
    if "Friday" in first and "Friday" not in second:
        return Reply.json({"winner": "1", "reason": "only answer 1 names the day"})
    if "Friday" in second and "Friday" not in first:
        return Reply.json({"winner": "2", "reason": "only answer 2 names the day"})
    return Reply.json({"winner": "tie", "reason": "equivalent"})


def backend(server_url: str) -> OpenAIBackend:
    return OpenAIBackend(
        "gpt-4.1-2025-04-14", base_url=server_url, api_key_env=KEY_ENV, max_retries=0, timeout=5.0
    )


RAID_CASE = Case(
    id="raid-day",
    suite_id="events",
    category="happy_path",
    messages=({"role": "user", "content": "When is the raid?"},),
)


def test_judge_passes_and_fails_by_the_verdict(openai_server_factory: OpenAIServerFactory) -> None:
    model = backend(openai_server_factory(responder=grader).base_url)
    with use_backends({"judge": model}):
        passed = judge("The raid is on Friday at 20:00.", RAID_CASE, rubric="Names the day")
        failed = judge("The raid is soon.", RAID_CASE, rubric="Names the day")
    assert passed.passed and passed.value == pytest.approx(0.9)
    assert passed.details["judge_reason"] == "names Friday; request shown: True"
    assert passed.details["target"] == "judge"
    assert not failed.passed and failed.value == pytest.approx(0.2)
    assert failed.reason == "judge: names no day; request shown: True"


def test_judge_threshold_and_explicit_backend(openai_server_factory: OpenAIServerFactory) -> None:
    model = backend(openai_server_factory(responder=grader).base_url)
    score = judge("Friday.", rubric="Names the day", threshold=0.95, backend=model)
    assert not score.passed
    assert score.reason.startswith("judge score 0.90 < 0.95")
    assert judge("Friday.", rubric="Names the day", threshold=0.5, backend=model).passed


def test_the_same_question_is_asked_once(openai_server_factory: OpenAIServerFactory) -> None:
    server = openai_server_factory(responder=grader)
    model = backend(server.base_url)
    with use_backends({"judge": model}):
        for _ in range(3):
            assert judge("Friday.", RAID_CASE, rubric="Names the day").passed
    assert server.path_counts["/v1/chat/completions"] == 1


def test_judge_through_a_suite_check(openai_server_factory: OpenAIServerFactory) -> None:
    spec, kwargs = bind_check("judge", "Names the day")
    assert kwargs == {"rubric": "Names the day"}
    model = backend(openai_server_factory(responder=grader).base_url)
    with use_backends({"judge": model}):
        assert run_check(spec, kwargs, "Saturday it is.", RAID_CASE).passed


def test_unreadable_or_failed_verdicts_fail_with_a_reason(
    openai_server_factory: OpenAIServerFactory,
) -> None:
    server = openai_server_factory(
        replies={("gpt-4.1-2025-04-14", "*"): Reply(text="I think it's fine.")},
        faults={2: Fault.server_error()},
    )
    model = backend(server.base_url)
    prose = judge("Friday.", rubric="Names the day", backend=model)
    assert not prose.passed
    assert prose.reason.startswith("the judge could not grade: ModelAnswerError")
    crashed = judge("Saturday.", rubric="Names the day", backend=model)
    assert "ModelCallError" in crashed.reason and "InternalServerError" in crashed.reason


def test_verdict_without_types_is_rejected(openai_server_factory: OpenAIServerFactory) -> None:
    server = openai_server_factory(
        responder=lambda r: Reply.json({"score": "high", "pass": "yes", "reason": ""})
    )
    with pytest.raises(ModelAnswerError, match="lacks a numeric score"):
        grade("Friday.", "Names the day", backend=backend(server.base_url))


def test_missing_backend_is_a_configuration_error() -> None:
    with pytest.raises(UnknownNameError, match="unknown model backend 'judge'"):
        judge("Friday.", rubric="Names the day")


def test_rubric_is_validated_at_load_time() -> None:
    with pytest.raises(TypeError, match="rubric must be a non-empty string"):
        bind_check("judge", {"rubric": ""})
    with pytest.raises(TypeError, match="threshold"):
        bind_check("judge", {"rubric": "x", "threshold": 3})


@pytest.mark.parametrize(("kind", "answer"), MALFORMED, ids=[k for k, _ in MALFORMED])
def test_malformed_answers_fail_without_calling_the_judge(
    openai_server_factory: OpenAIServerFactory, kind: str, answer: Any
) -> None:
    server = openai_server_factory(responder=grader)
    score = judge(answer, rubric="Names the day", backend=backend(server.base_url))
    assert not score.passed and score.reason
    assert server.total_requests == 0


# --- pairwise -----------------------------------------------------------------------------------


def test_pairwise_cancels_position_bias(openai_server_factory: OpenAIServerFactory) -> None:
    server = openai_server_factory(responder=first_wins)
    verdict = pairwise(
        "Base answer.", "Candidate answer.", rubric="Helpful", backend=backend(server.base_url)
    )
    assert (verdict.a_first, verdict.b_first) == ("a", "b")
    assert verdict.winner == "tie"
    assert not verdict.consistent
    assert server.path_counts["/v1/chat/completions"] == 2


def test_pairwise_declares_a_consistent_winner(openai_server_factory: OpenAIServerFactory) -> None:
    model = backend(openai_server_factory(responder=prefers_friday).base_url)
    with use_backends({"judge": model}):
        verdict = pairwise(
            "Soon.", "Friday at 20:00.", rubric="Names the day", question="When is the raid?"
        )
    assert verdict.winner == "b" and verdict.consistent
    assert verdict.reasons == ("only answer 2 names the day", "only answer 1 names the day")
    reverse = pairwise("Friday.", "Soon.", rubric="Names the day", backend=model)
    assert reverse.winner == "a"
    assert pairwise("Friday.", "Friday!", rubric="x", backend=model).winner == "tie"


def test_pairwise_in_a_suite_binds_a_rubric_and_a_judge_target() -> None:
    spec, kwargs = bind_check("pairwise", "Names the day")
    assert (spec.name, kwargs) == ("pairwise", {"rubric": "Names the day"})
    assert spec.parameters["target"].default == "judge"
    _, kwargs = bind_check("pairwise", {"rubric": "Names the day", "target": "grader"})
    assert kwargs["target"] == "grader"
    with pytest.raises(TypeError, match="rubric must be a non-empty string"):
        bind_check("pairwise", {"rubric": " "})
    with pytest.raises(TypeError, match="target must be a target name"):
        bind_check("pairwise", {"rubric": "x", "target": ""})
    with pytest.raises(TypeError, match="unexpected argument"):
        bind_check("pairwise", {"rubric": "x", "threshold": 0.5})


def test_pairwise_on_one_answer_fails_saying_it_needs_two(
    openai_server_factory: OpenAIServerFactory,
) -> None:
    server = openai_server_factory(responder=prefers_friday)
    spec, kwargs = bind_check("pairwise", "Names the day")
    with use_backends({"judge": backend(server.base_url)}):
        score = run_check(spec, kwargs, "Friday at 20:00.", RAID_CASE)
    assert (
        not score.passed and "compares the candidate's answer with the baseline's" in score.reason
    )
    assert server.total_requests == 0
