"""What a scorer reads from an answer: its text or its JSON, or why there is none.

Every scorer starts here so that an errored call, a ``None`` content, a tool call where text was
expected, or a truncated JSON document all become the same kind of finding: a reason string that the
scorer returns as a failed :class:`~arcanos_eval.scorers._registry.Score`, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from arcanos_eval.model import Response
from arcanos_eval.model._response import strict_json

__all__ = ["answer_json", "answer_text", "clip", "fenced_json", "lookup", "preview"]

# Fenced blocks as chat models write them: ```json ... ``` (the language tag is optional).
_FENCE = re.compile(r"```[ \t]*(?:json|JSON|jsonc)?[ \t]*\r?\n(.*?)\r?\n?[ \t]*```", re.DOTALL)


def preview(value: Any, limit: int = 80) -> str:
    """A short one-line rendering of ``value`` for a reason (answers can be megabytes long)."""
    text = value if isinstance(value, str) else _dumps(value)
    text = " ".join(text.split())
    rendered = repr(text) if isinstance(value, str) else text
    return rendered if len(rendered) <= limit else rendered[: limit - 3] + "..."


def clip(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters (for model-written reasons)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def _no_text_reason(response: Response) -> str | None:
    if response.errored:
        return f"the call failed ({response.error_type or 'error'}): {preview(response.error)}"
    if response.text is None:
        if response.tool_calls:
            names = ", ".join(call.name for call in response.tool_calls)
            return f"the model called tool(s) {names} instead of answering with text"
        return "the answer has no text content"
    return None


def answer_text(response: Response, *, allow_empty: bool = False) -> tuple[str, str | None]:
    """The text of ``response``, or ``("", reason)`` when there is none to score.

    Args:
        response: The answer.
        allow_empty: Accept an empty or blank text instead of reporting it.

    Example:
        >>> answer_text(Response.from_text(" "))
        ('', 'the answer is empty')
    """
    reason = _no_text_reason(response)
    if reason is not None:
        return "", reason
    text = response.text or ""
    if not allow_empty and not text.strip():
        return "", "the answer is empty"
    return text, None


def fenced_json(text: str) -> tuple[Any, str | None]:
    """The first fenced code block of ``text`` that parses as JSON, or ``(None, reason)``."""
    blocks = _FENCE.findall(text)
    if not blocks:
        return None, "no fenced ```json block in the answer"
    last_error = ""
    for block in blocks:
        try:
            return strict_json(block), None
        except (ValueError, RecursionError) as exc:
            last_error = str(exc)
    return None, f"fenced block is not valid JSON: {last_error}"


def answer_json(response: Response, *, allow_fenced: bool = False) -> tuple[Any, str | None]:
    """The answer parsed as JSON, or ``(None, reason)``; JSON ``null`` gives ``(None, None)``.

    Args:
        response: The answer.
        allow_fenced: When the whole text is not JSON, accept the first fenced ```json block.

    Example:
        >>> answer_json(Response.from_text('{"a": [1, 2'))[1].startswith("not valid JSON")
        True
    """
    text, reason = answer_text(response)
    if reason is not None:
        return None, reason
    if response.parse_error is None:
        return response.parsed, None
    if allow_fenced:
        value, fence_reason = fenced_json(text)
        if fence_reason is None:
            return value, None
    detail = response.parse_error.removeprefix("invalid JSON: ")
    return None, f"not valid JSON ({detail}); starts with {preview(text, 40)}"


def lookup(value: Any, path: str | Sequence[str | int]) -> tuple[bool, Any]:
    """Follow a dotted ``path`` (``items.0.name``) into parsed JSON.

    Returns ``(True, found)`` or ``(False, None)`` when a step is missing or the value has the wrong
    shape; list steps are integer indexes (negative ones count from the end).

    Example:
        >>> lookup({"items": [{"name": "key"}]}, "items.0.name")
        (True, 'key')
    """
    if isinstance(path, str):
        steps: Sequence[str | int] = path.split(".") if path else ()
    else:
        steps = path
    current = value
    for step in steps:
        if isinstance(current, Mapping):
            key = str(step)
            if key not in current:
                return False, None
            current = current[key]
        elif isinstance(current, list):
            try:
                index = int(step)
                current = current[index]
            except (ValueError, IndexError):
                return False, None
        else:
            return False, None
    return True, current
