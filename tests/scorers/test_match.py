"""equals, contains, not_contains, regex, field, json and classify."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcanos_eval.model import Response, Score
from arcanos_eval.scorers._match import (
    classify,
    classify_pairs,
    confusion_matrix,
    contains,
    equals,
    field,
    json_diff,
    json_match,
    not_contains,
    regex,
    same_json,
)
from arcanos_eval.scorers._registry import bind_check
from tests.scorers._answers import MALFORMED, ODD

# --- equals ---------------------------------------------------------------------------------------


def test_equals_compares_stripped_text() -> None:
    assert equals("  riddle\n", expected="riddle").passed
    failed = equals("Riddle", expected="riddle")
    assert not failed.passed
    assert "expected 'riddle', found 'Riddle'" in failed.reason


def test_equals_ignore_case_and_json_string() -> None:
    assert equals("RIDDLE", expected="riddle", ignore_case=True).passed
    assert equals('"riddle"', expected="riddle").passed


def test_equals_compares_parsed_json_strictly() -> None:
    assert equals('{"n": 1.0, "tags": ["a"]}', expected={"n": 1, "tags": ["a"]}).passed
    assert not equals("1", expected=True).passed  # true is not 1
    assert not equals('{"n": 2}', expected={"n": 1}).passed
    truncated = equals('{"n": 1', expected={"n": 1})
    assert not truncated.passed
    assert "not valid JSON" in truncated.reason


# --- contains / not_contains ----------------------------------------------------------------------


def test_contains_all_is_case_insensitive_by_default() -> None:
    score = contains("The RAID starts at 20:00  UTC.", text=["raid", "20:00 utc"])
    assert score.passed
    assert score.value == 1.0


def test_contains_reports_missing_strings_with_partial_value() -> None:
    score = contains("The raid starts at 20:00.", text=["raid", "UTC", "Friday"])
    assert not score.passed
    assert score.reason == "missing 'UTC', 'Friday'"
    assert score.value == pytest.approx(1 / 3)


def test_contains_any_mode_and_case_sensitivity() -> None:
    assert contains("Reset link sent", text=["password", "reset"], mode="any").passed
    assert not contains("reset link", text="Reset", case_sensitive=True).passed
    failed = contains("hello", text=["raid", "quest"], mode="any")
    assert "none of 'raid', 'quest'" in failed.reason


def test_contains_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode must be"):
        contains("x", text="x", mode="sometimes")
    with pytest.raises(TypeError):
        contains("x", text=[])


def test_not_contains_names_what_leaked() -> None:
    assert not_contains("Your ticket is open.", text=["password", "api key"]).passed
    leaked = not_contains("Your API  key is sk-123", text=["password", "api key"])
    assert not leaked.passed
    assert leaked.details["found"] == ["api key"]


# --- regex ----------------------------------------------------------------------------------------


def test_regex_search_flags_and_fullmatch() -> None:
    assert regex("Ticket #4821 opened", pattern=r"#\d{4}").passed
    assert regex("TICKET", pattern="ticket", flags="i").passed
    assert regex("TICKET", pattern="ticket", flags=["IGNORECASE"]).passed
    assert not regex("Ticket #4821 opened", pattern=r"#\d{4}", fullmatch=True).passed
    assert regex(" #4821 ", pattern=r"#\d{4}", fullmatch=True).passed
    assert "does not match" in regex("none here", pattern=r"\d").reason


def test_regex_bad_pattern_is_a_load_time_error() -> None:
    with pytest.raises(TypeError, match="invalid regular expression"):
        bind_check("regex", "([unclosed")
    with pytest.raises(TypeError, match="unknown regex flag"):
        bind_check("regex", {"pattern": "x", "flags": ["SHOUTING"]})


# --- field ----------------------------------------------------------------------------------------

ORDER = {
    "items": [{"name": "key", "qty": 2}, {"name": "map", "qty": 1}],
    "status": "open",
    "note": None,
}


def test_field_paths_with_list_indexes() -> None:
    assert field(ORDER, path="items.1.name", equals="map").passed
    assert field(ORDER, path="items.-1.qty", equals=1).passed
    assert field(ORDER, path="status", one_of=["open", "closed"]).passed
    assert field(ORDER, path="items.0.name", matches=r"^k").passed
    assert field(ORDER, path="note", equals=None).passed  # null is a real expectation


def test_field_existence() -> None:
    assert field(ORDER, path="status").passed
    missing = field(ORDER, path="items.5.name")
    assert not missing.passed
    assert missing.reason == "items.5.name is missing"
    assert field(ORDER, path="refund", exists=False).passed
    assert not field(ORDER, path="status", exists=False).passed


def test_field_reports_every_failed_condition() -> None:
    score = field(ORDER, path="items.0.qty", equals=3, one_of=[4, 5], matches="x")
    assert not score.passed
    assert "expected 3" in score.reason
    assert "expected one of [4, 5]" in score.reason
    assert "expected a string matching" in score.reason


def test_field_on_non_json_and_wrong_shapes() -> None:
    assert "not valid JSON" in field("status: open", path="status").reason
    assert not field('["a", "b"]', path="status").passed
    assert not field('{"items": "not a list"}', path="items.0").passed
    fenced = 'Here you go:\n```json\n{"status": "open"}\n```'
    assert not field(fenced, path="status").passed
    assert field(fenced, path="status", allow_fenced=True, equals="open").passed


# --- json -----------------------------------------------------------------------------------------


def test_json_subset_match_allows_extra_keys() -> None:
    answer = '{"category": "riddle", "confidence": 0.93, "extra": true}'
    assert json_match(answer, expected={"category": "riddle"}).passed


def test_json_reason_lists_every_differing_path() -> None:
    answer = {"category": "logic", "items": [{"name": "key"}, {"name": "map"}], "n": True}
    score = json_match(
        answer,
        expected={
            "category": "riddle",
            "items": [{"name": "key"}, {"name": "lamp"}],
            "missing": 1,
            "n": 1,
        },
    )
    assert not score.passed
    assert score.details["differences"] == [
        "category: expected 'riddle', found 'logic'",
        "items.1.name: expected 'lamp', found 'map'",
        "missing: missing (expected 1)",
        "n: expected 1, found true",
    ]
    assert score.reason.startswith("4 differences: ")


def test_json_tolerance_and_ignore_order() -> None:
    answer = {"confidence": 0.93, "tags": ["b", "a"], "items": [{"id": 2}, {"id": 1, "x": 0}]}
    assert json_match(answer, expected={"confidence": 0.9}, tolerance=0.05).passed
    assert not json_match(answer, expected={"confidence": 0.9}).passed
    assert not json_match(answer, expected={"tags": ["a", "b"]}).passed
    assert json_match(answer, expected={"tags": ["a", "b"]}, ignore_order=True).passed
    assert json_match(answer, expected={"items": [{"id": 1}, {"id": 2}]}, ignore_order=True).passed
    assert not json_match(
        answer, expected={"items": [{"id": 1}, {"id": 3}]}, ignore_order=True
    ).passed


def test_json_lists_must_match_in_length() -> None:
    assert "unexpected extra item" in json_match([1, 2, 3], expected=[1, 2]).reason
    assert "missing" in json_match([1], expected=[1, 2]).reason


def test_json_check_binds_from_yaml_shape() -> None:
    spec, kwargs = bind_check("json", {"category": "riddle"})
    assert spec.name == "json"
    assert kwargs == {"expected": {"category": "riddle"}}
    spec, kwargs = bind_check("json", {"expected": {"a": 1}, "tolerance": 0.1})
    assert kwargs == {"expected": {"a": 1}, "tolerance": 0.1}


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def value_and_subset(draw: st.DrawFn) -> tuple[Any, Any]:
    """A JSON value and a subset of it: dict keys dropped at any depth, lists kept whole."""
    value = draw(JSON_VALUES)

    def prune(node: Any) -> Any:
        if isinstance(node, dict):
            keep = draw(st.lists(st.sampled_from(sorted(node)), unique=True)) if node else []
            return {k: prune(node[k]) for k in keep}
        if isinstance(node, list):
            return [prune(item) for item in node]
        return node

    return value, prune(value)


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES)
def test_property_an_object_matches_itself(value: Any) -> None:
    assert json_match(json.dumps(value), expected=value).passed
    assert json_match(json.dumps(value), expected=value, ignore_order=True).passed


@settings(max_examples=150, deadline=None)
@given(value_and_subset())
def test_property_an_object_matches_any_subset_of_itself(pair: tuple[Any, Any]) -> None:
    value, subset = pair
    assert json_diff(value, subset) == []
    assert json_match(json.dumps(value), expected=subset).passed


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=5), JSON_LEAVES, min_size=1, max_size=5), st.data()
)
def test_property_changing_a_key_is_reported_at_its_path(
    obj: dict[str, Any], data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(obj)))
    changed = {**obj, key: {"changed": [obj[key]]}}
    score = json_match(changed, expected=obj)
    assert not score.passed
    assert any(
        line.startswith(f"{key}:") or line.startswith(f"{key}.")
        for line in score.details["differences"]
    ), score.details


def test_same_json_tells_booleans_from_numbers() -> None:
    assert same_json({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not same_json(True, 1)
    assert not same_json([True], [1])
    assert not same_json({"a": 1}, {"a": 1, "b": 2})


# --- classify -------------------------------------------------------------------------------------


def test_classify_from_field_and_text() -> None:
    score = classify('{"category": "Riddle"}', label="riddle")
    assert score.passed
    assert score.details == {"expected": "riddle", "predicted": "Riddle", "source": "field"}
    assert classify("multi-intent", label="multi_intent").passed
    assert classify('{"result": {"label": "logic"}}', label="logic", field="result.label").passed
    assert classify('"cipher"', label="cipher").passed


def test_classify_text_with_known_labels() -> None:
    labels = ["riddle", "logic_grid", "cipher"]
    assert classify(
        "This looks like a logic grid puzzle.", label="logic_grid", labels=labels
    ).passed
    ambiguous = classify("Riddle or cipher?", label="riddle", labels=labels)
    assert not ambiguous.passed


def test_classify_failures_keep_expected_and_predicted() -> None:
    wrong = classify('{"category": "logic"}', label="riddle")
    assert not wrong.passed
    assert (wrong.details["expected"], wrong.details["predicted"]) == ("riddle", "logic")
    missing = classify('{"kind": "logic"}', label="riddle")
    assert missing.details["predicted"] is None
    assert "no label at 'category'" in missing.reason


def test_confusion_matrix_from_classify_scores() -> None:
    answers = [
        ('{"category": "riddle"}', "riddle"),
        ('{"category": "logic"}', "riddle"),
        ('{"category": "logic"}', "logic"),
        ("", "logic"),
    ]
    scores = [classify(answer, label=label) for answer, label in answers]
    pairs = classify_pairs([*scores, Score.ok("unrelated")])
    assert pairs == [("riddle", "riddle"), ("riddle", "logic"), ("logic", "logic"), ("logic", None)]
    assert classify_pairs([s.to_dict() for s in scores]) == pairs
    assert confusion_matrix(pairs) == {
        "logic": {"<none>": 1, "logic": 1, "riddle": 0},
        "riddle": {"<none>": 0, "logic": 1, "riddle": 1},
    }


def test_confusion_matrix_normalizes_labels() -> None:
    matrix = confusion_matrix([("Multi-Intent", "multi_intent"), ("multi intent", "happy path")])
    assert matrix == {"multi_intent": {"happy_path": 1, "multi_intent": 1}}


# --- malformed answers ----------------------------------------------------------------------------

CHECKS = [
    (equals, {"expected": "riddle"}),
    (equals, {"expected": {"category": "riddle"}}),
    (contains, {"text": ["raid"]}),
    (not_contains, {"text": ["password"]}),
    (regex, {"pattern": r"\d"}),
    (field, {"path": "category", "equals": "riddle"}),
    (json_match, {"expected": {"category": "riddle"}}),
    (classify, {"label": "riddle"}),
]


@pytest.mark.parametrize(("check", "args"), CHECKS, ids=lambda c: getattr(c, "__name__", ""))
@pytest.mark.parametrize(("kind", "answer"), MALFORMED, ids=[k for k, _ in MALFORMED])
def test_malformed_answers_fail_with_a_reason(
    check: Any, args: dict[str, Any], kind: str, answer: Any
) -> None:
    score = check(answer, **args)
    assert isinstance(score, Score)
    assert not score.passed
    assert score.reason


@pytest.mark.parametrize(("check", "args"), CHECKS, ids=lambda c: getattr(c, "__name__", ""))
@pytest.mark.parametrize(("kind", "answer"), ODD, ids=[k for k, _ in ODD])
def test_odd_answers_never_raise(check: Any, args: dict[str, Any], kind: str, answer: Any) -> None:
    score = check(answer, **args)
    assert isinstance(score, Score)
    assert len(score.reason) < 2_000  # a huge answer must not flood the report
    if kind in ("truncated-json", "binary-ish", "unserializable") and check in (field, json_match):
        assert not score.passed


def test_errored_response_reason_names_the_error() -> None:
    score = contains(Response.failed("timed out", "APITimeoutError"), text="raid")
    assert score.reason == "the call failed (APITimeoutError): 'timed out'"
