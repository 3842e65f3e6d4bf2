"""Malformed answers every scorer must turn into a failed score, never an exception."""

from __future__ import annotations

from typing import Any

from arcanos_eval.model import Response, ToolCall

HUGE = "The raid starts Friday. " * 100_000  # ~2.4 MB of text

# (label, answer) pairs that carry no usable content for a content check.
MALFORMED: list[tuple[str, Any]] = [
    ("empty", ""),
    ("blank", "  \n\t "),
    ("none", None),
    ("null-content", Response(text=None, finish_reason="stop")),
    ("errored", Response.failed("Connection reset by peer", "APIConnectionError", attempts=3)),
    ("tool-call", Response(tool_calls=(ToolCall("lookup_raid", '{"day": "friday"}'),))),
]

# Answers that are well-formed text but of odd shape or size; scorers must still return a Score.
ODD: list[tuple[str, Any]] = [
    ("truncated-json", '{"category": "riddle", "items": [1, 2'),
    ("huge", HUGE),
    ("int", 12345),
    ("list", ["riddle", {"nested": [1, 2, 3]}]),
    ("deep", {"a": {"b": {"c": {"d": [[[[None]]]]}}}}),
    ("binary-ish", "\x00\x01\ufffd{]}"),
    ("unserializable", object()),
]
