"""The similar check: lexical (default) and a target's embeddings endpoint (local: its own file)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcanos_eval.scorers._models import OpenAIBackend, use_backends
from arcanos_eval.scorers._registry import bind_check
from arcanos_eval.scorers._similarity import (
    _MAX_CHARS,
    cosine,
    lexical_similarity,
    negation_words,
    similar,
)
from arcanos_eval.testing.fixtures import OpenAIServerFactory
from tests.scorers._answers import HUGE, MALFORMED, ODD

REFERENCE = "The raid starts on Friday at 20:00 UTC."


def test_lexical_similarity_orders_paraphrase_above_unrelated() -> None:
    same = lexical_similarity(REFERENCE, "the raid starts on friday at 20:00 utc")
    paraphrase = lexical_similarity(REFERENCE, "Friday at 20:00 UTC is when the raid starts.")
    unrelated = lexical_similarity(REFERENCE, "Reset your password from the login screen.")
    assert same == pytest.approx(1.0)
    assert 0.6 < paraphrase < 1.0
    assert unrelated < 0.25
    assert lexical_similarity("", REFERENCE) == 0.0


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_property_lexical_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    value = lexical_similarity(a, b)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(lexical_similarity(b, a))


def test_cosine() -> None:
    assert cosine([1.0, 0.0], [1.0, 0.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 2.0]) == pytest.approx(0.0)
    assert cosine([0.0, 0.0], [1.0, 1.0]) == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        cosine([1.0], [1.0, 2.0])


def test_similar_passes_and_fails_on_threshold() -> None:
    passed = similar(
        "Friday at 20:00 UTC is when the raid starts.", reference=REFERENCE, threshold=0.6
    )
    assert passed.passed
    assert passed.details["embedder"] == "lexical"
    assert passed.details["note"].startswith("lexical: measures word overlap, not meaning")
    failed = similar("Reset your password.", reference=REFERENCE)
    assert not failed.passed
    assert failed.reason.startswith("similarity 0.")
    assert "< 0.8" in failed.reason


def test_the_lexical_embedder_scores_a_negation_high_and_says_it_reads_words() -> None:
    # What the note warns about: shared words, opposite meaning, a high lexical score.
    negation = similar("The raid does not start on Friday at 20:00 UTC.", reference=REFERENCE)
    paraphrase = similar("The raid kicks off Friday evening, 8 pm UTC.", reference=REFERENCE)
    assert negation.value > paraphrase.value
    for score in (negation, paraphrase):
        assert score.details["embedder"] == "lexical"
        assert "not meaning" in score.details["note"]
        assert "negation" not in score.details  # the negation check belongs to `local`


def test_negation_words_are_counted() -> None:
    assert negation_words("You can't trade yet, and gifts are not allowed.") == 2
    assert negation_words("No. Never, nothing, none, nobody, nowhere; neither nor without.") == 9
    assert negation_words("Don’t cancel: notes and nothingness are nouns, know it.") == 1
    assert negation_words("The raid starts on Friday.") == 0


def test_similar_binds_reference_as_primary_and_validates() -> None:
    _, kwargs = bind_check("similar", REFERENCE)
    assert kwargs == {"reference": REFERENCE}
    with pytest.raises(TypeError, match="threshold"):
        bind_check("similar", {"reference": REFERENCE, "threshold": 2})
    with pytest.raises(TypeError, match="reference must be"):
        bind_check("similar", {"reference": ""})


def test_embeddings_from_a_target(
    openai_server_factory: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCANOS_SCORERS_TEST_KEY", "sk-scorers-test")
    server = openai_server_factory(embedding_dimensions=256)
    model = OpenAIBackend(
        "gpt-4.1-2025-04-14",
        base_url=server.base_url,
        api_key_env="ARCANOS_SCORERS_TEST_KEY",
        max_retries=0,
    )
    with use_backends({"embedder": model}):
        close = similar(
            "the raid starts on friday at 20:00 utc",
            reference=REFERENCE,
            embedder="embedder",
            threshold=0.9,
        )
        far = similar(
            "reset your password from the login screen",
            reference=REFERENCE,
            embedder="embedder",
            threshold=0.5,
        )
    assert close.passed, close.reason
    assert close.details["embedder"] == "embedder"
    assert not far.passed
    assert server.path_counts["/v1/embeddings"] == 2  # the reference was embedded once
    with pytest.raises(LookupError, match="unknown model backend 'embedder'"):
        similar("x", reference=REFERENCE, embedder="embedder")


def test_failing_endpoint_is_a_failed_score(
    openai_server_factory: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arcanos_eval.testing import Fault

    monkeypatch.setenv("ARCANOS_SCORERS_TEST_KEY", "sk-scorers-test")
    server = openai_server_factory(faults={1: Fault.http_status(400, "no such model")})
    model = OpenAIBackend(
        "gpt-4.1-2025-04-14",
        base_url=server.base_url,
        api_key_env="ARCANOS_SCORERS_TEST_KEY",
        max_retries=0,
    )
    score = similar("Friday.", reference=REFERENCE, backend=model)
    assert not score.passed
    assert score.reason.startswith("embedding failed (backend): BadRequestError")


@pytest.mark.parametrize(("kind", "answer"), MALFORMED, ids=[k for k, _ in MALFORMED])
def test_malformed_answers_fail_with_a_reason(kind: str, answer: Any) -> None:
    score = similar(answer, reference=REFERENCE)
    assert not score.passed and score.reason


@pytest.mark.parametrize(("kind", "answer"), ODD, ids=[k for k, _ in ODD])
def test_odd_answers_never_raise(kind: str, answer: Any) -> None:
    score = similar(answer, reference=REFERENCE)
    assert 0.0 <= score.value <= 1.0


def test_only_the_head_of_a_huge_answer_is_compared() -> None:
    """Only the first ``_MAX_CHARS`` characters are read, lexically or sent to an embedder, so a
    megabyte answer costs what its head costs."""
    head = HUGE[:_MAX_CHARS]
    tail = "Reset your password from the account page. " * 1_000
    assert similar(tail, reference=REFERENCE).value != similar(head, reference=REFERENCE).value
    assert (
        similar(head + tail, reference=REFERENCE).value == similar(head, reference=REFERENCE).value
    )

    class Recording:
        def __init__(self) -> None:
            self.sent: list[str] = []

        def embed(self, texts: Sequence[str]) -> list[list[float]]:
            self.sent.extend(texts)
            return [[1.0, 0.0] for _ in texts]

    backend = Recording()
    assert similar(head + tail, reference=REFERENCE, backend=backend).passed
    assert backend.sent == [head, REFERENCE]
