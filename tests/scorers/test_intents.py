"""The intents check: by JSON field, by keywords (from the check or the case), or by a judge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arcanos_eval.model import Case
from arcanos_eval.scorers._intents import intent_patterns, intents
from arcanos_eval.scorers._models import OpenAIBackend
from arcanos_eval.scorers._registry import bind_check
from arcanos_eval.testing import ChatRequest, Reply
from arcanos_eval.testing.fixtures import OpenAIServerFactory
from tests.scorers._answers import MALFORMED, ODD

EXPECTED = ["account_recovery", "event_schedule"]
KEYWORDS = {
    "account_recovery": ["reset link", r"re:password\s+reset", "recover"],
    "event_schedule": ["raid", r"/\b\d{1,2}:\d{2}\b/"],
    "billing": ["refund", "charge"],
}


def test_json_field_covers_every_intent_the_reply_addresses() -> None:
    answer = {
        "intents": ["account_recovery", "event_schedule"],
        "reply": "I sent a reset link to your email; the raid starts Friday at 20:00.",
    }
    score = intents(json.dumps(answer), intents=EXPECTED, keywords=KEYWORDS)
    assert score.passed
    assert score.value == 1.0
    assert score.details["source"] == "field 'intents'"
    assert score.reason == (
        "addressed all 2 intents (by field 'intents', each confirmed in the reply by keywords)"
    )
    assert score.details["evidence"] == {
        "account_recovery": r"keyword (?<!\w)reset\ link(?!\w)",
        "event_schedule": r"keyword (?<!\w)raid(?!\w)",
    }


def test_a_claim_the_reply_does_not_address_fails() -> None:
    # The field is the model's claim; the reply is the evidence, and "Hi!" addresses nothing.
    claim = {"intents": ["account_recovery", "event_schedule"], "reply": "Hi!"}
    score = intents(claim, intents=EXPECTED, keywords=KEYWORDS)
    assert not score.passed and score.value == 0.0
    assert score.reason == (
        "claimed but not addressed: account_recovery, event_schedule (by field 'intents')"
    )
    assert score.details["claimed_not_addressed"] == EXPECTED
    assert score.details["addressed"] == []
    # Half the claim backed: half the value; the field's own words are not evidence.
    half = intents(
        {"intents": EXPECTED, "reply": "The raid is at 20:00.", "note": "account_recovery"},
        intents=EXPECTED,
        keywords={**KEYWORDS, "account_recovery": ["account_recovery"]},
        field="intents",
    )
    assert half.details["evidence"] == {
        "account_recovery": r"keyword (?<!\w)account_recovery(?!\w)",
        "event_schedule": r"keyword (?<!\w)raid(?!\w)",
    }, "every text value but the field's counts as the reply"
    only_field = intents(
        {"intents": EXPECTED, "reply": "The raid is at 20:00."},
        intents=EXPECTED,
        keywords={**KEYWORDS, "account_recovery": ["account_recovery"]},
    )
    assert only_field.reason == ("claimed but not addressed: account_recovery (by field 'intents')")
    assert only_field.value == 0.5


def test_a_claim_without_a_keyword_set_or_judge_fails_closed() -> None:
    answer = {"intents": EXPECTED, "reply": "Reset link sent; the raid is Friday."}
    score = intents(answer, intents=EXPECTED)
    assert not score.passed
    assert score.reason == (
        "cannot check that the reply addresses account_recovery, event_schedule: no keyword set "
        "for them and no judge (give keywords: {intent: [...]} or judge: <target>) "
        "(by field 'intents')"
    )
    assert score.details["unverified"] == EXPECTED
    partial = intents(answer, intents=EXPECTED, keywords={"event_schedule": ["raid"]})
    assert partial.reason.startswith(
        "cannot check that the reply addresses account_recovery: no keyword set for it"
    )
    assert partial.value == 0.5


def test_json_field_names_missed_and_invented_intents() -> None:
    answer = {
        "intents": [{"name": "event_schedule"}, {"intent": "billing"}],
        "reply": "The raid is on Friday; refund sent.",
    }
    lenient = intents(answer, intents=EXPECTED, keywords=KEYWORDS)
    assert not lenient.passed
    assert lenient.reason == "missed account_recovery (by field 'intents')"
    assert lenient.value == 0.5
    assert lenient.details["invented"] == ["billing"]
    strict = intents(
        {
            "intents": ["account_recovery", "event_schedule", "billing"],
            "reply": "Reset link sent; the raid is on Friday.",
        },
        intents=EXPECTED,
        keywords=KEYWORDS,
        allow_extra=False,
    )
    assert strict.reason == "invented billing (by field 'intents')"


def test_custom_field_path_and_bad_shapes() -> None:
    answer = {
        "routing": {"detected": ["Account Recovery", "event-schedule"]},
        "text": "Use the reset link; the raid is at 8:00.",
    }
    assert intents(answer, intents=EXPECTED, field="routing.detected", keywords=KEYWORDS).passed
    bad = intents({"intents": [1, 2]}, intents=EXPECTED)
    assert not bad.passed and "is not a list of intent names" in bad.reason


def test_keywords_in_prose() -> None:
    text = "I've sent a reset link to your email. The raid starts Friday at 20:00 UTC."
    score = intents(text, intents=EXPECTED, keywords=KEYWORDS)
    assert score.passed
    assert score.details["matched"] == {
        "account_recovery": r"(?<!\w)reset\ link(?!\w)",
        "event_schedule": r"(?<!\w)raid(?!\w)",
    }
    missed = intents("The raid starts at 20:00.", intents=EXPECTED, keywords=KEYWORDS)
    assert missed.reason == "missed account_recovery (by keywords)"
    extra = intents(
        "Password reset sent; the raid is at 8:00; your refund is on its way.",
        intents=EXPECTED,
        keywords=KEYWORDS,
        allow_extra=False,
    )
    assert extra.reason == "invented billing (by keywords)"


def test_keywords_from_the_case_metadata() -> None:
    case = Case(
        id="reset-and-raid",
        suite_id="support",
        category="multi_intent",
        messages=({"role": "user", "content": "I forgot my password, and when's the raid?"},),
        metadata={"intent_keywords": KEYWORDS},
    )
    assert intents("Reset link sent. Raid: Friday.", case, intents=EXPECTED).passed


def test_no_way_to_tell_fails_clearly() -> None:
    score = intents("Reset link sent. Raid: Friday.", intents=EXPECTED)
    assert not score.passed
    assert "no 'intents' field and the check gives no keywords or judge" in score.reason


def test_keyword_patterns_and_load_time_validation() -> None:
    patterns = intent_patterns({"a": "c++ help", "b": ["/raid (start|time)s?/", "re:ra+id"]})
    assert patterns["a"][0].search("need C++ HELP")  # a phrase, not a regex
    assert not patterns["a"][0].search("abc++ helper")
    assert patterns["b"][0].search("Raid starts soon")
    assert patterns["b"][1].search("raaaid")
    with pytest.raises(TypeError, match="keyword pattern"):
        bind_check("intents", {"intents": EXPECTED, "keywords": {"a": ["/(unclosed/"]}})
    with pytest.raises(TypeError, match="intents must be a non-empty list"):
        bind_check("intents", {"intents": []})
    _, kwargs = bind_check("intents", EXPECTED)
    assert kwargs == {"intents": EXPECTED}


def coverage_judge(request: ChatRequest) -> Reply:
    answer = request.prompt.split("Assistant answer:\n", 1)[-1].casefold()
    addressed = [
        name
        for name, word in (("account_recovery", "password"), ("event_schedule", "raid"))
        if word in answer
    ]
    others = ["billing"] if "refund" in answer else []
    return Reply.json({"addressed": addressed, "other_intents": others, "reason": "read it"})


def test_judge_decides_for_prose(
    openai_server_factory: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCANOS_SCORERS_TEST_KEY", "sk-scorers-test")
    server = openai_server_factory(responder=coverage_judge)
    model = OpenAIBackend(
        "gpt-4.1-2025-04-14",
        base_url=server.base_url,
        api_key_env="ARCANOS_SCORERS_TEST_KEY",
        max_retries=0,
    )
    assert intents(
        "Your password is reset and the raid is Friday.", intents=EXPECTED, backend=model
    ).passed
    score = intents(
        "Refund issued; the raid is Friday.", intents=EXPECTED, backend=model, allow_extra=False
    )
    assert score.reason == "missed account_recovery; invented billing (by judge)"
    assert score.details["judge_reason"] == "read it"


def test_the_judge_reads_only_the_head_of_a_huge_answer(
    openai_server_factory: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCANOS_SCORERS_TEST_KEY", "sk-scorers-test")
    server = openai_server_factory(responder=coverage_judge)
    model = OpenAIBackend(
        "gpt-4.1-2025-04-14",
        base_url=server.base_url,
        api_key_env="ARCANOS_SCORERS_TEST_KEY",
        max_retries=0,
    )
    head = "Your password is reset. " + "Thanks for your patience. " * 2_000
    assert len(head) > 20_000
    score = intents(head + "The raid is Friday.", intents=EXPECTED, backend=model)
    assert score.reason == "missed event_schedule (by judge)"  # the tail never reached the judge
    sent = server.requests[-1].body["messages"][-1]["content"]
    assert sent.endswith("Assistant answer:\n" + head[:20_000])


def test_the_judge_confirms_claims_that_have_no_keywords(
    openai_server_factory: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCANOS_SCORERS_TEST_KEY", "sk-scorers-test")
    server = openai_server_factory(responder=coverage_judge)
    model = OpenAIBackend(
        "gpt-4.1-2025-04-14",
        base_url=server.base_url,
        api_key_env="ARCANOS_SCORERS_TEST_KEY",
        max_retries=0,
    )
    backed = {"intents": EXPECTED, "reply": "Your password is reset; the raid is on Friday."}
    score = intents(backed, intents=EXPECTED, backend=model)
    assert score.passed, score.reason
    assert score.reason.endswith("each confirmed in the reply by judge)")
    # The judge sees the reply, never the claim: the field is left out of what it reads.
    sent = server.requests[-1].body["messages"][-1]["content"]
    assert sent.endswith("Assistant answer:\nYour password is reset; the raid is on Friday.")
    assert "account_recovery, event_schedule" in sent  # the intents it is asked about
    claim = intents({"intents": EXPECTED, "reply": "Hi!"}, intents=EXPECTED, backend=model)
    assert claim.reason == (
        "claimed but not addressed: account_recovery, event_schedule (by field 'intents')"
    )
    # Keywords decide the intents that have them; the judge only the others.
    mixed = intents(
        {"intents": EXPECTED, "reply": "Reset link sent. Your password works; see you Friday."},
        intents=EXPECTED,
        keywords={"event_schedule": ["raid"]},
        backend=model,
    )
    assert mixed.reason == "claimed but not addressed: event_schedule (by field 'intents')"
    assert mixed.details["evidence"] == {"account_recovery": "judge: read it"}


@pytest.mark.parametrize(("kind", "answer"), MALFORMED, ids=[k for k, _ in MALFORMED])
def test_malformed_answers_fail_with_a_reason(kind: str, answer: Any) -> None:
    score = intents(answer, intents=EXPECTED, keywords=KEYWORDS)
    assert not score.passed
    assert score.details["missed"] == EXPECTED


@pytest.mark.parametrize(("kind", "answer"), ODD, ids=[k for k, _ in ODD])
def test_odd_answers_never_raise(kind: str, answer: Any) -> None:
    score = intents(answer, intents=EXPECTED, keywords=KEYWORDS)
    assert len(score.reason) < 500
