"""The tool_call check: expected function, arguments valid for its schema, optional subset."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arcanos_eval.model import Case, Response, ToolCall
from arcanos_eval.scorers._registry import bind_check
from arcanos_eval.scorers._tools import tool_call, tool_parameters
from tests.scorers._answers import ODD

LOOKUP_RAID = {
    "type": "function",
    "function": {
        "name": "lookup_raid",
        "description": "Find the next raid for a region.",
        "parameters": {
            "type": "object",
            "required": ["region"],
            "additionalProperties": False,
            "properties": {
                "region": {"enum": ["eu", "na", "asia"]},
                "difficulty": {"type": "integer", "minimum": 1},
            },
        },
    },
}
RESET_PASSWORD = {
    "type": "function",
    "name": "reset_password",  # Responses API shape
    "parameters": {
        "type": "object",
        "required": ["email"],
        "properties": {"email": {"type": "string"}},
    },
}
CASE = Case(
    id="raid-tool",
    suite_id="tools",
    category="happy_path",
    messages=({"role": "user", "content": "When is the next EU raid?"},),
    tools=(LOOKUP_RAID, RESET_PASSWORD),
)


def calls(*pairs: tuple[str, Any]) -> Response:
    return Response(
        tool_calls=tuple(
            ToolCall(name, args if isinstance(args, str) else json.dumps(args), id=f"call_{i}")
            for i, (name, args) in enumerate(pairs)
        ),
        finish_reason="tool_calls",
    )


def test_valid_call_passes() -> None:
    score = tool_call(calls(("lookup_raid", {"region": "eu"})), CASE, name="lookup_raid")
    assert score.passed
    assert score.details["arguments"] == {"region": "eu"}


def test_arguments_are_validated_against_the_tool_schema() -> None:
    score = tool_call(
        calls(("lookup_raid", {"region": "mars", "difficulty": 0, "x": 1})),
        CASE,
        name="lookup_raid",
    )
    assert not score.passed
    assert score.reason == (
        "call to 'lookup_raid': schema $: Additional properties are not allowed ('x' was "
        "unexpected); schema $.difficulty: 0 is less than the minimum of 1; schema $.region: "
        "'mars' is not one of ['eu', 'na', 'asia']"
    )


def test_responses_api_tool_shape() -> None:
    assert tool_parameters(CASE.tools, "reset_password")[0]
    assert not tool_call(calls(("reset_password", {})), CASE, name="reset_password").passed
    assert tool_call(
        calls(("reset_password", {"email": "a@b.c"})), CASE, name="reset_password"
    ).passed


def test_argument_subset_match() -> None:
    answer = calls(("lookup_raid", {"region": "eu", "difficulty": 3}))
    assert tool_call(answer, CASE, name="lookup_raid", arguments={"region": "eu"}).passed
    wrong = tool_call(answer, CASE, name="lookup_raid", arguments={"region": "na"})
    assert wrong.reason == "call to 'lookup_raid': region: expected 'na', found 'eu'"


def test_one_matching_call_among_several_suffices() -> None:
    answer = calls(
        ("reset_password", {"email": "a@b.c"}),
        ("lookup_raid", {"region": "na"}),
        ("lookup_raid", {"region": "eu"}),
    )
    assert tool_call(answer, CASE, name="lookup_raid", arguments={"region": "eu"}).passed


def test_wrong_function_text_answer_and_bad_json() -> None:
    other = tool_call(calls(("reset_password", {"email": "x"})), CASE, name="lookup_raid")
    assert other.reason == "expected a call to 'lookup_raid', the model called 'reset_password'"
    text = tool_call("The next EU raid is on Friday.", CASE, name="lookup_raid")
    assert text.reason.startswith("the model answered with text instead of calling 'lookup_raid'")
    broken = tool_call(calls(("lookup_raid", '{"region": "eu"')), CASE, name="lookup_raid")
    assert "arguments are not valid JSON" in broken.reason


def test_undeclared_tool_and_no_case() -> None:
    undeclared = tool_call(calls(("ban_player", {})), CASE, name="ban_player")
    assert undeclared.reason == (
        "the case declares no tool 'ban_player'; it offers 'lookup_raid', 'reset_password'"
    )
    assert tool_call(calls(("ban_player", {"id": 1})), name="ban_player").passed  # no schema


def test_binds_name_as_primary() -> None:
    _, kwargs = bind_check("tool_call", "lookup_raid")
    assert kwargs == {"name": "lookup_raid"}
    _, kwargs = bind_check("tool_call", {"name": "lookup_raid", "arguments": {"region": "eu"}})
    assert kwargs["arguments"] == {"region": "eu"}


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("empty", ""),
        ("none", None),
        ("null-content", Response(text=None)),
        ("errored", Response.failed("boom", "APIConnectionError")),
        *ODD,
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_malformed_answers_fail_with_a_reason(kind: str, answer: Any) -> None:
    score = tool_call(answer, CASE, name="lookup_raid")
    assert not score.passed
    assert score.reason and len(score.reason) < 500
