"""Patterns on model text run with a time limit: a catastrophic pattern is a failed check with a
reason, never a hang; normal patterns keep ``re``'s semantics; bad patterns fail at suite load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcanos_eval.errors import ScorerArgumentError, SuiteError
from arcanos_eval.run import execute_run
from arcanos_eval.scorers import field, intents, regex
from arcanos_eval.scorers._pattern import PATTERN_CHARS, PATTERN_TIMEOUT_S, compile_pattern
from arcanos_eval.suite.loader import load_suites
from tests.conftest import hang_guard, write_suite

# 40 letters and a character that makes every way of splitting them fail: ``re`` tries them all.
HOSTILE = "a" * 40 + "!"
TIMED_OUT = f"pattern timed out after {PATTERN_TIMEOUT_S:g} s"


def test_the_pattern_that_hangs_re_fails_at_once() -> None:
    # (a+)+$ backtracks 2**40 times in ``re``; the ``regex`` matcher rules it out directly.
    with hang_guard(doing="matching"):
        score = regex(HOSTILE, pattern=r"(a+)+$")
    assert not score.passed
    assert score.reason == "the answer does not match /(a+)+$/"


def test_a_catastrophic_pattern_is_a_failed_check_that_timed_out() -> None:
    with hang_guard(doing="matching"):
        score = regex(HOSTILE, pattern=r"(a|aa)+$")
    assert not score.passed
    assert score.reason == TIMED_OUT == "pattern timed out after 1 s"
    assert score.details == {"pattern": "(a|aa)+$", "timed_out": True}


def test_a_field_pattern_has_the_same_limit() -> None:
    with hang_guard(doing="matching"):
        score = field({"reply": HOSTILE}, path="reply", matches=r"(a|aa)+$")
    assert not score.passed and score.reason.startswith(f"reply: /(a|aa)+$/ {TIMED_OUT}, found")


def test_keyword_patterns_have_the_same_limit() -> None:
    with hang_guard(doing="matching"):
        score = intents(HOSTILE, intents=["x"], keywords={"x": ["raid", "re:(a|aa)+$"]})
    assert not score.passed and score.reason == f"keywords: {TIMED_OUT}"


def test_a_run_with_a_catastrophic_pattern_finishes_and_logs_the_failed_check(
    openai_server_factory, make_config, tmp_path: Path, test_key: str
) -> None:
    server = openai_server_factory(replies={("model-candidate", "spell it"): HOSTILE})
    cases = [{"id": "spell", "input": "spell it", "checks": [{"regex": r"(a|aa)+$"}]}]
    suites = load_suites([write_suite(tmp_path / "suites", "spell", cases)])
    config = make_config(server.base_url, mode="live")
    with hang_guard(doing="matching"):
        outcome = execute_run(config, suites, log_path=tmp_path / "run.jsonl", progress=False)
    scores = {r.target: r.scores[0] for r in outcome.log.records()}
    assert scores["candidate"].reason == TIMED_OUT and not scores["candidate"].passed
    assert scores["base"].reason == "the answer does not match /(a|aa)+$/"  # the echo: "spell it"


# --- re semantics -------------------------------------------------------------------------------

NORMAL = [
    (r"#\d{4}", 0),
    (r"\braid\b", re.IGNORECASE),
    (r"^[A-Z]\w*$", re.MULTILINE),
    (r"(start|time)s?", 0),
    (r"a.c", re.DOTALL),
    (r"colou?r", 0),
    (r"[^\W\d_]+", 0),
    (r"\w+", re.ASCII),
    (r"(\w+)@(\w+)\.com", 0),
    (r"x{2,3}?", 0),
    (r"(?i)é", 0),
    (r"\s+$", 0),
    (r"(?<=@)\w+", 0),
]
TEXT = st.text(alphabet="aAbcx#0123456789 \n\tértime@.comÉ_:[]", max_size=40)


@settings(max_examples=60, deadline=None)
@given(text=TEXT, index=st.integers(0, len(NORMAL) - 1))
def test_normal_patterns_match_what_re_matches(text: str, index: int) -> None:
    pattern, flags = NORMAL[index]
    ours = compile_pattern(pattern, flags).search(text, timeout=PATTERN_TIMEOUT_S)
    theirs = re.compile(pattern, flags).search(text)
    assert (ours and ours.span()) == (theirs and theirs.span()), (pattern, text)


def test_flags_keep_their_re_meaning() -> None:
    # re.ASCII is 256, which the regex package reads as VERSION1: flags are passed by name.
    assert regex("é", pattern=r"^\w$").passed
    assert not regex("é", pattern=r"^\w$", flags="a").passed
    assert not regex("é", pattern=r"^\w$", flags=int(re.ASCII)).passed
    assert regex("TICKET", pattern="ticket", flags="i").passed


# --- at suite load ------------------------------------------------------------------------------


def _suite(tmp_path: Path, pattern: str) -> Path:
    cases = [{"id": "c1", "input": "hi", "checks": [{"regex": pattern}]}]
    return write_suite(tmp_path, "patterns", cases)


def test_a_pattern_that_does_not_compile_is_a_suite_error(tmp_path: Path) -> None:
    path = _suite(tmp_path, "([unclosed")
    with pytest.raises(SuiteError) as info:
        load_suites([path])
    message = str(info.value)
    assert message.startswith(f"{path}:8, case 'c1', field 'checks[0]': bad arguments for 'regex'")
    assert "invalid regular expression '([unclosed'" in message and "\n" not in message


def test_a_pattern_too_long_to_compile_quickly_is_a_suite_error(tmp_path: Path) -> None:
    path = _suite(tmp_path, "a|" * PATTERN_CHARS)
    with pytest.raises(SuiteError, match=r"checks\[0\]\.regex'.*at most 10,000 characters"):
        load_suites([path])  # the suite schema's cap, before anything compiles
    with pytest.raises(
        ScorerArgumentError, match=r"20,000 characters long \('a\|a\|.*at most 10,000"
    ):
        compile_pattern("a|" * PATTERN_CHARS)  # the scorers' own cap, for a direct call
    assert load_suites([_suite(tmp_path, "(a|aa)+$")])[0].cases[0].checks[0].name == "regex"
