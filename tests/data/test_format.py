"""Format validation of OpenAI fine-tuning files: every malformed kind, with line and field path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcanos_eval.data import check_training_data
from arcanos_eval.data.format import parse_line, read_lines, validate_example

SYSTEM = {"role": "system", "content": "You are the Arcanos support assistant."}
USER = {"role": "user", "content": "When does the raid reset?"}
ANSWER = {"role": "assistant", "content": "Wednesdays at 09:00 UTC."}
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    },
}


def call(
    name: str = "lookup_order", arguments: str = '{"order_id": "ARC-1"}', id_: str = "c1"
) -> dict[str, Any]:
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


def kinds(example: Any) -> list[tuple[str, str | None]]:
    return [(p.kind, p.field) for p in validate_example(example)[1] if p.severity == "error"]


def test_a_plain_chat_example_is_valid() -> None:
    assert validate_example({"messages": [SYSTEM, USER, ANSWER]}) == ("chat", [])


def test_a_tool_conversation_is_valid() -> None:
    example = {
        "messages": [
            USER,
            {"role": "assistant", "content": None, "tool_calls": [call()]},
            {"role": "tool", "tool_call_id": "c1", "content": '{"status": "shipped"}'},
            ANSWER,
        ],
        "tools": [TOOL],
        "parallel_tool_calls": False,
    }
    assert validate_example(example) == ("chat", [])


def test_an_example_may_end_with_a_tool_call_and_weight_earlier_turns_zero() -> None:
    example = {
        "messages": [
            USER,
            {**ANSWER, "weight": 0},
            USER,
            {"role": "assistant", "tool_calls": [call()]},
        ],
        "tools": [TOOL],
    }
    assert validate_example(example) == ("chat", [])


def test_content_parts_with_text_and_image_are_valid() -> None:
    user = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this rune?"},
            {"type": "image_url", "image_url": {"url": "https://example.org/rune.png"}},
        ],
    }
    assert validate_example({"messages": [user, ANSWER]}) == ("chat", [])


def test_a_preference_example_is_valid() -> None:
    example = {
        "input": {"messages": [SYSTEM, USER]},
        "preferred_output": [ANSWER],
        "non_preferred_output": [{"role": "assistant", "content": "No idea."}],
    }
    assert validate_example(example) == ("preference", [])


# One line per malformed kind: (line text, expected kind, expected field path).
MALFORMED: list[tuple[str, str, str | None]] = [
    ('{"messages": [', "invalid_json", None),
    ('{"messages": NaN}', "invalid_json", None),
    ("[1, 2, 3]", "not_an_object", None),
    ('{"prompt": "hi", "completion": "hello"}', "unknown_example_format", None),
    ('{"messages": "hello"}', "invalid_type", "messages"),
    ('{"messages": []}', "empty_messages", "messages"),
    (json.dumps({"messages": [{"content": "hi"}, ANSWER]}), "missing_field", "messages[0].role"),
    (
        json.dumps({"messages": [USER, {"role": "bot", "content": "hi"}]}),
        "unknown_role",
        "messages[1].role",
    ),
    (json.dumps({"messages": [{"role": "user"}, ANSWER]}), "missing_field", "messages[0].content"),
    (
        json.dumps({"messages": [{"role": "user", "content": 42}, ANSWER]}),
        "invalid_type",
        "messages[0].content",
    ),
    (json.dumps({"messages": [SYSTEM, USER]}), "last_message_not_assistant", "messages[1].role"),
    (
        json.dumps({"messages": [USER, {**ANSWER, "weight": 0.5}]}),
        "invalid_weight",
        "messages[1].weight",
    ),
    (
        json.dumps({"messages": [{**USER, "weight": 1}, ANSWER]}),
        "unknown_field",
        "messages[0].weight",
    ),
    (json.dumps({"messages": [USER, {**ANSWER, "weight": 0}]}), "no_trainable_message", "messages"),
    (
        json.dumps({"messages": [USER, {"role": "assistant", "tool_calls": [call()]}]}),
        "undeclared_tool",
        "messages[1].tool_calls[0].function.name",
    ),
    (
        json.dumps(
            {
                "messages": [USER, {"role": "assistant", "tool_calls": [call("refund")]}],
                "tools": [TOOL],
            }
        ),
        "undeclared_tool",
        "messages[1].tool_calls[0].function.name",
    ),
    (
        json.dumps(
            {
                "messages": [USER, {"role": "assistant", "tool_calls": [call(arguments="{order")]}],
                "tools": [TOOL],
            }
        ),
        "invalid_tool_arguments",
        "messages[1].tool_calls[0].function.arguments",
    ),
    (
        json.dumps(
            {
                "messages": [USER, {"role": "assistant", "tool_calls": [call(arguments="[1]")]}],
                "tools": [TOOL],
            }
        ),
        "invalid_tool_arguments",
        "messages[1].tool_calls[0].function.arguments",
    ),
    (
        json.dumps(
            {"messages": [USER, {"role": "tool", "tool_call_id": "nope", "content": "x"}, ANSWER]}
        ),
        "unknown_tool_call_id",
        "messages[1].tool_call_id",
    ),
    (
        json.dumps(
            {
                "messages": [USER, {"role": "assistant", "tool_calls": [call()]}, USER, ANSWER],
                "tools": [TOOL],
            }
        ),
        "unanswered_tool_call",
        "messages[1].tool_calls[0].id",
    ),
    (
        json.dumps({"messages": [USER, {"role": "assistant", "content": ""}]}),
        "empty_assistant",
        "messages[1].content",
    ),
    (
        json.dumps(
            {
                "messages": [USER, ANSWER],
                "tools": [{"type": "function", "function": {"name": "bad name!"}}],
            }
        ),
        "invalid_tool",
        "tools[0].function.name",
    ),
    (
        json.dumps({"messages": [USER, ANSWER], "tools": [TOOL, TOOL]}),
        "duplicate_tool",
        "tools[1].function.name",
    ),
    (
        json.dumps({"messages": [USER, {**ANSWER, "function_call": {"name": "x"}}]}),
        "unknown_field",
        "messages[1].function_call",
    ),
    (
        json.dumps({"messages": [{"role": "user", "content": [{"type": "audio"}]}, ANSWER]}),
        "invalid_content_part",
        "messages[0].content[0].type",
    ),
    (
        json.dumps(
            {
                "input": {"messages": [USER]},
                "preferred_output": [ANSWER],
                "non_preferred_output": [ANSWER],
            }
        ),
        "mixed_formats",
        None,
    ),
]


def test_every_malformed_kind_is_reported_with_line_and_field(tmp_path: Path) -> None:
    lines = [json.dumps({"messages": [SYSTEM, USER, ANSWER]})]  # line 1 fixes the file as chat
    lines += [text for text, _, _ in MALFORMED]
    path = tmp_path / "train.jsonl"
    path.write_bytes("\n".join(lines).encode() + b"\n" + b'{"messages": "\xff\xfe"}\n')

    report = check_training_data(path)

    found = {(f.line, f.kind, f.field) for f in report.findings if f.check == "format"}
    for number, (_, kind, field) in enumerate(MALFORMED, start=2):
        assert (number, kind, field) in found, (number, kind, field, sorted(found))
    utf8_line = len(MALFORMED) + 2
    assert (utf8_line, "invalid_utf8", None) in found
    summary = report.files[0]
    # The file is reported whole: every line was read and every bad line counted.
    assert summary.lines == utf8_line
    assert summary.invalid_lines == len(MALFORMED) + 1
    assert summary.examples == 1
    assert not report.passed


def test_preference_problems_have_field_paths() -> None:
    example = {
        "input": {"messages": [USER, ANSWER]},
        "preferred_output": [ANSWER, ANSWER],
        "non_preferred_output": [{"role": "user", "content": "x"}],
    }
    assert kinds(example) == [
        ("input_ends_with_assistant", "input.messages[1].role"),
        ("invalid_output", "preferred_output"),
        ("invalid_output_role", "non_preferred_output[0].role"),
    ]
    same = {
        "input": {"messages": [USER]},
        "preferred_output": [ANSWER],
        "non_preferred_output": [ANSWER],
    }
    assert kinds(same) == [("identical_outputs", "non_preferred_output")]


def test_unknown_top_level_fields_are_warnings_not_errors() -> None:
    fmt, problems = validate_example({"messages": [USER, ANSWER], "metadata": {"source": "x"}})
    assert fmt == "chat"
    assert [(p.kind, p.field, p.severity) for p in problems] == [
        ("unknown_field", "metadata", "warning")
    ]


def test_blank_lines_are_warnings_and_keep_line_numbers(tmp_path: Path) -> None:
    good = json.dumps({"messages": [USER, ANSWER]})
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join([good] * 5 + [""] + [good] * 5 + ['{"messages": 1}']) + "\n")
    report = check_training_data(path)
    assert [(f.line, f.kind, f.severity) for f in report.findings if f.check == "format"] == [
        (6, "blank_line", "warning"),
        (12, "invalid_type", "error"),
    ]


def test_problem_messages_never_echo_content_values() -> None:
    secret_role = "jane.doe@example.com"
    problems = validate_example({"messages": [{"role": secret_role, "content": "x"}, ANSWER]})[1]
    assert problems and all(secret_role not in p.message for p in problems)
    assert "a string of 20 characters" in problems[0].message


def test_read_lines_strips_crlf_and_bom() -> None:
    lines = list(read_lines([b"\xef\xbb\xbf{}\r\n", b"[]\n", b"\xff\n"]))
    assert [(line.number, line.text, line.utf8) for line in lines] == [
        (1, "{}", True),
        (2, "[]", True),
        (3, "\ufffd", False),
    ]


def test_a_training_file_needs_ten_examples(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"messages": [USER, ANSWER]}) + "\n")
    report = check_training_data(path)
    assert [(f.kind, f.line) for f in report.findings] == [("too_few_examples", None)]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "messages",
                    "role",
                    "content",
                    "tool_calls",
                    "tools",
                    "weight",
                    "function",
                    "name",
                    "arguments",
                    "id",
                    "tool_call_id",
                    "input",
                    "preferred_output",
                    "type",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


# One value of every JSON type, empty and not.
EVERY_TYPE = [None, True, 0, 1.5, "text", [], [1], {}, {"x": 1}]


@pytest.mark.parametrize(
    ("field", "fmt"),
    [
        ("messages", "chat"),
        ("input", "preference"),
        ("preferred_output", "preference"),
        ("non_preferred_output", "preference"),
    ],
)
def test_a_format_field_of_any_type_is_an_error_not_a_crash(field: str, fmt: str) -> None:
    # Arbitrary JSON rarely reaches these fields' own checks: each type is tried here instead.
    for value in EVERY_TYPE:
        found, problems = validate_example({field: value})
        assert found == fmt, value
        assert any(p.severity == "error" for p in problems), (value, problems)


# Property tests run without Hypothesis deadlines: CI machines are shared, and timing is not
# the property under test.
@settings(deadline=None)
@given(json_values)
def test_arbitrary_json_never_crashes_the_validator(value: Any) -> None:
    fmt, problems = validate_example(value)
    assert fmt in (None, "chat", "preference")
    assert all(p.severity in ("error", "warning") and p.message for p in problems)


@settings(deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_lines_never_crash_the_parser(text: str) -> None:
    value, problem = parse_line(text)
    assert (problem is None) or (value is None and problem.kind == "invalid_json")


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.one_of(st.text(max_size=60), json_values.map(json.dumps)), min_size=1, max_size=8)
)
def test_arbitrary_files_are_reported_whole(tmp_path_factory: Any, lines: list[str]) -> None:
    path = tmp_path_factory.mktemp("arbitrary") / "train.jsonl"
    path.write_text("\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines) + "\n")
    report = check_training_data(path)
    assert report.files[0].lines == len(lines)
