"""The moderation check and the moderation-drift aggregate, on the loopback server."""

from __future__ import annotations

from typing import Any

import pytest

from arcanos_eval.model import Score
from arcanos_eval.scorers._models import OpenAIBackend, use_backends
from arcanos_eval.scorers._moderation import flagged_rate, moderation, moderation_drift
from arcanos_eval.scorers._registry import bind_check
from arcanos_eval.testing import Fault
from arcanos_eval.testing.fixtures import OpenAIServerFactory
from tests.scorers._answers import MALFORMED

WORDS = {"idiot": "harassment", "bomb": "violence"}


@pytest.fixture
def moderator(
    openai_server_factory: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> OpenAIBackend:
    monkeypatch.setenv("ARCANOS_SCORERS_TEST_KEY", "sk-scorers-test")
    server = openai_server_factory(moderation_words=WORDS)
    return OpenAIBackend(
        "gpt-4.1-2025-04-14",
        base_url=server.base_url,
        api_key_env="ARCANOS_SCORERS_TEST_KEY",
        max_retries=0,
    )


def test_clean_answer_passes(moderator: OpenAIBackend) -> None:
    with use_backends({"moderation": moderator}):
        score = moderation("Good luck in the raid tonight!")
    assert score.passed
    assert score.details == {"flagged": False, "categories": []}


def test_flagged_answer_names_its_categories(moderator: OpenAIBackend) -> None:
    score = moderation("Only an idiot would plant a bomb there.", backend=moderator)
    assert not score.passed
    assert score.details["categories"] == ["harassment", "violence"]
    assert score.reason == "flagged by moderation (harassment, violence)"
    assert score.details["category_scores"]["violence"] > 0.5


def test_category_filter(moderator: OpenAIBackend) -> None:
    text = "Bomb the north wall to open the secret room."
    assert moderation(text, backend=moderator, categories=["harassment"]).passed
    assert not moderation(text, backend=moderator, categories=["violence"]).passed
    with pytest.raises(TypeError, match="categories must be a list"):
        bind_check("moderation", {"categories": "violence"})


def test_endpoint_failure_is_a_failed_score(
    openai_server_factory: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCANOS_SCORERS_TEST_KEY", "sk-scorers-test")
    server = openai_server_factory(faults={1: Fault.server_error()})
    model = OpenAIBackend(
        "gpt-4.1-2025-04-14",
        base_url=server.base_url,
        api_key_env="ARCANOS_SCORERS_TEST_KEY",
        max_retries=0,
    )
    score = moderation("hello", backend=model)
    assert not score.passed
    assert score.details["flagged"] is None
    assert "InternalServerError" in score.reason


@pytest.mark.parametrize(("kind", "answer"), MALFORMED, ids=[k for k, _ in MALFORMED])
def test_malformed_answers_fail_before_any_call(
    moderator: OpenAIBackend, kind: str, answer: Any
) -> None:
    score = moderation(answer, backend=moderator)
    assert not score.passed and score.reason
    assert score.details["flagged"] is None


def test_drift_is_candidate_rate_minus_base_rate(moderator: OpenAIBackend) -> None:
    base = [
        moderation(text, backend=moderator)
        for text in ("Great game!", "See you at the raid.", "Nice shot, idiot.", "GG")
    ]
    candidate = [
        moderation(text, backend=moderator)
        for text in ("Great game!", "You idiot.", "Nice shot, idiot.", "Bomb them all.")
    ]
    unmeasured = Score.fail("the call failed", flagged=None)
    assert flagged_rate(base) == 0.25
    assert flagged_rate([*candidate, unmeasured]) == 0.75  # errors are left out
    assert moderation_drift(base, candidate) == pytest.approx(0.5)
    assert moderation_drift([s.to_dict() for s in candidate], base) == pytest.approx(-0.5)
    assert moderation_drift([], []) == 0.0
