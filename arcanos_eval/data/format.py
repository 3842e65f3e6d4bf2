"""The OpenAI fine-tuning file formats: reading JSONL lines and validating each example.

Two formats are recognised, one per file:

* **chat** (supervised): ``{"messages": [...], "tools": [...], "parallel_tool_calls": bool}``;
  roles ``system``, ``user``, ``assistant``, ``tool``; assistant ``weight`` 0 or 1; tool calls
  must name a declared tool and carry JSON-object arguments; every tool call is answered by a
  ``tool`` message before the conversation moves on; the last message is the assistant's.
* **preference** (DPO): ``{"input": {"messages": [...], "tools": [...]}, "preferred_output":
  [assistant message], "non_preferred_output": [assistant message]}``.

Validation never raises on bad data: every problem becomes a :class:`FormatProblem` with the
field path (``messages[2].content``) so a file is always reported whole. Messages never echo a
content value: only field names, types and enumerated values such as roles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from arcanos_eval.data.fields import join_field

__all__ = [
    "MIN_TRAINING_EXAMPLES",
    "ExampleFormat",
    "FormatProblem",
    "Line",
    "Severity",
    "detect_format",
    "parse_line",
    "read_lines",
    "validate_example",
]

ExampleFormat = Literal["chat", "preference"]
Severity = Literal["error", "warning"]

MIN_TRAINING_EXAMPLES = 10
"""The fine-tuning API refuses a training file with fewer examples."""

ROLES = ("system", "user", "assistant", "tool")
_MESSAGE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "name", "weight", "tool_calls", "refusal"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
}
_CHAT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls"})
_PREFERENCE_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SAFE_VALUE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,23}$")


@dataclass(frozen=True)
class FormatProblem:
    """One format problem of one example.

    Attributes:
        kind: stable identifier, e.g. ``invalid_json``, ``unknown_role``, ``undeclared_tool``.
        field: JSON field path, or ``None`` for the line as a whole.
        message: one sentence saying what was expected and what was found.
        severity: ``error`` (the fine-tuning API would reject or mis-train) or ``warning``.
    """

    kind: str
    field: str | None
    message: str
    severity: Severity = "error"


@dataclass(frozen=True)
class Line:
    """One physical line of a JSONL file: 1-based number, decoded text, and whether it was UTF-8."""

    number: int
    text: str
    utf8: bool = True


def read_lines(handle: Iterable[bytes]) -> Iterator[Line]:
    """Stream the lines of a binary file (or any iterable of byte lines), decoding each alone.

    A line that is not UTF-8 is decoded with replacement characters (so it can still be scanned
    for PII) and flagged. Only one line is held in memory at a time.
    """
    for number, raw in enumerate(handle, start=1):
        raw = raw.rstrip(b"\r\n")
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield Line(number, raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield Line(number, raw.decode("utf-8", errors="replace"), utf8=False)


class _NotJson(ValueError):
    """Raised by the JSON parser hook for the non-standard constants NaN and Infinity."""


def _reject_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not valid JSON")


def parse_line(text: str) -> tuple[Any, FormatProblem | None]:
    """Parse one line as JSON; on failure return ``(None, problem)`` with the column."""
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as error:
        # Some decoder messages end with "at", expecting the position after them.
        where = (
            f" column {error.colno}" if error.msg.endswith(" at") else f" (column {error.colno})"
        )
        return None, FormatProblem("invalid_json", None, f"invalid JSON: {error.msg}{where}")
    except _NotJson as error:
        return None, FormatProblem("invalid_json", None, f"invalid JSON: {error}")
    except RecursionError:
        return None, FormatProblem("invalid_json", None, "invalid JSON: nested too deeply")


def detect_format(example: Any) -> ExampleFormat | None:
    """Which format an example is written in, judged by its top-level keys."""
    if not isinstance(example, dict):
        return None
    if "messages" in example:
        return "chat"
    if _PREFERENCE_KEYS & example.keys():
        return "preference"
    return None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__  # pragma: no cover - json.loads yields only the types above


def _shown(value: Any) -> str:
    """An enumerated value safe to echo (a short identifier), else only its type."""
    if isinstance(value, str) and _SAFE_VALUE.match(value):
        return repr(value)
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    return f"a {_type_name(value)}" if not isinstance(value, (bool, int, float)) else repr(value)


class _Validator:
    def __init__(self) -> None:
        self.problems: list[FormatProblem] = []

    def error(self, kind: str, field: str | None, message: str) -> None:
        self.problems.append(FormatProblem(kind, field, message))

    def warn(self, kind: str, field: str | None, message: str) -> None:
        self.problems.append(FormatProblem(kind, field, message, "warning"))

    # -- tools -------------------------------------------------------------------------------

    def tools(self, tools: Any, path: str) -> set[str]:
        if not isinstance(tools, list):
            self.error("invalid_type", path, f"expected an array of tools, found {_shown(tools)}")
            return set()
        names: set[str] = set()
        for index, tool in enumerate(tools):
            where = f"{path}[{index}]"
            if not isinstance(tool, dict):
                self.error("invalid_type", where, f"expected a tool object, found {_shown(tool)}")
                continue
            if tool.get("type") != "function":
                self.error(
                    "invalid_tool",
                    join_field(where, "type"),
                    f"expected 'function', found {_shown(tool.get('type'))}",
                )
            function = tool.get("function")
            fpath = join_field(where, "function")
            if not isinstance(function, dict):
                self.error("invalid_tool", fpath, f"expected an object, found {_shown(function)}")
                continue
            name = function.get("name")
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                self.error(
                    "invalid_tool",
                    join_field(fpath, "name"),
                    f"expected a name of 1-64 letters, digits, '_' or '-', found {_shown(name)}",
                )
                continue
            if name in names:
                self.error(
                    "duplicate_tool", join_field(fpath, "name"), f"tool {name!r} is declared twice"
                )
            names.add(name)
            parameters = function.get("parameters")
            if parameters is not None and not isinstance(parameters, dict):
                self.error(
                    "invalid_tool",
                    join_field(fpath, "parameters"),
                    f"expected a JSON Schema object, found {_shown(parameters)}",
                )
        return names

    # -- messages ----------------------------------------------------------------------------

    def content(self, message: Mapping[str, Any], role: str, path: str) -> bool:
        """Check ``content``; return whether the message carries any text."""
        cpath = join_field(path, "content")
        if "content" not in message:
            if role != "assistant":
                self.error("missing_field", cpath, f"a {role} message needs 'content'")
            return False
        content = message["content"]
        if content is None:
            if role != "assistant":
                self.error("invalid_type", cpath, f"a {role} message needs text, found null")
            return False
        if isinstance(content, str):
            if not content.strip():
                self.warn("empty_content", cpath, f"the {role} message is empty")
                return False
            return True
        if isinstance(content, list) and role != "tool":
            allowed = ("text", "image_url") if role == "user" else ("text",)
            has_text = False
            for index, part in enumerate(content):
                ppath = f"{cpath}[{index}]"
                if not isinstance(part, dict):
                    self.error(
                        "invalid_type",
                        ppath,
                        f"expected a content part object, found {_shown(part)}",
                    )
                    continue
                kind = part.get("type")
                if kind not in allowed:
                    self.error(
                        "invalid_content_part",
                        join_field(ppath, "type"),
                        f"expected one of {', '.join(allowed)} in a {role} message, "
                        f"found {_shown(kind)}",
                    )
                elif kind == "text":
                    if not isinstance(part.get("text"), str):
                        self.error(
                            "invalid_type",
                            join_field(ppath, "text"),
                            f"expected a string, found {_shown(part.get('text'))}",
                        )
                    else:
                        has_text = has_text or bool(part["text"].strip())
                else:
                    image = part.get("image_url")
                    if not (isinstance(image, dict) and isinstance(image.get("url"), str)):
                        self.error(
                            "invalid_content_part",
                            join_field(ppath, "image_url"),
                            "expected an object with a 'url' string",
                        )
            return has_text
        expected = "a string" if role == "tool" else "a string or an array of content parts"
        self.error("invalid_type", cpath, f"expected {expected}, found {_shown(content)}")
        return False

    def tool_calls(
        self, calls: Any, path: str, declared: set[str] | None, pending: dict[str, str]
    ) -> bool:
        """Check an assistant's ``tool_calls``; record their ids as awaiting a tool answer."""
        if not isinstance(calls, list) or not calls:
            self.error(
                "invalid_type",
                path,
                f"expected a non-empty array of tool calls, found {_shown(calls)}",
            )
            return False
        for index, call in enumerate(calls):
            where = f"{path}[{index}]"
            if not isinstance(call, dict):
                self.error(
                    "invalid_type", where, f"expected a tool call object, found {_shown(call)}"
                )
                continue
            call_id = call.get("id")
            if not isinstance(call_id, str) or not call_id:
                self.error(
                    "missing_field",
                    join_field(where, "id"),
                    "a tool call needs a non-empty string 'id'",
                )
            elif call_id in pending:
                self.error(
                    "duplicate_tool_call_id",
                    join_field(where, "id"),
                    "this tool call id is already in use",
                )
            else:
                pending[call_id] = where
            if call.get("type", "function") != "function":
                self.error(
                    "invalid_tool_call",
                    join_field(where, "type"),
                    f"expected 'function', found {_shown(call.get('type'))}",
                )
            function = call.get("function")
            fpath = join_field(where, "function")
            if not isinstance(function, dict):
                self.error(
                    "invalid_tool_call", fpath, f"expected an object, found {_shown(function)}"
                )
                continue
            name = function.get("name")
            if not isinstance(name, str) or not name:
                self.error(
                    "missing_field",
                    join_field(fpath, "name"),
                    "a tool call needs a function 'name'",
                )
            elif declared is None:
                self.error(
                    "undeclared_tool",
                    join_field(fpath, "name"),
                    f"calls tool {_shown(name)}, but the example declares no 'tools'",
                )
            elif name not in declared:
                self.error(
                    "undeclared_tool",
                    join_field(fpath, "name"),
                    f"calls tool {_shown(name)}, which is not among the declared tools",
                )
            arguments = function.get("arguments")
            apath = join_field(fpath, "arguments")
            if not isinstance(arguments, str):
                self.error(
                    "invalid_tool_arguments",
                    apath,
                    f"expected a JSON-encoded string, found {_shown(arguments)}",
                )
                continue
            parsed, problem = parse_line(arguments)
            if problem is not None:
                self.error(
                    "invalid_tool_arguments",
                    apath,
                    f"arguments are {problem.message}",
                )
            elif not isinstance(parsed, dict):
                self.error(
                    "invalid_tool_arguments",
                    apath,
                    f"expected a JSON object, found {_shown(parsed)}",
                )
        return True

    def messages(
        self, messages: Any, path: str, declared: set[str] | None, *, final_role: str
    ) -> None:
        """Check a conversation. ``final_role`` is ``assistant`` for chat examples and ``user``
        for a preference input (the outputs follow it)."""
        if not isinstance(messages, list):
            self.error(
                "invalid_type", path, f"expected an array of messages, found {_shown(messages)}"
            )
            return
        if not messages:
            self.error("empty_messages", path, "the conversation has no messages")
            return
        pending: dict[str, str] = {}
        roles: list[str | None] = []
        trainable = 0
        for index, message in enumerate(messages):
            where = f"{path}[{index}]"
            if pending and not (isinstance(message, dict) and message.get("role") == "tool"):
                # Calls must be answered before anything else happens in the conversation.
                for call_path in pending.values():
                    self.error(
                        "unanswered_tool_call",
                        join_field(call_path, "id"),
                        "no tool message answers this call before the conversation continues",
                    )
                pending.clear()
            role = self.message(message, where, declared, pending)
            roles.append(role)
            if role == "assistant" and isinstance(message, dict) and message.get("weight", 1) != 0:
                trainable += 1
        last = roles[-1]
        last_path = join_field(f"{path}[{len(messages) - 1}]", "role")
        if final_role == "assistant":
            if last is not None and last != "assistant":
                self.error(
                    "last_message_not_assistant",
                    last_path,
                    f"the last message must be the assistant's, found {last!r}",
                )
            elif last == "assistant" and trainable == 0:
                self.error(
                    "no_trainable_message",
                    path,
                    "every assistant message has weight 0, so the example teaches nothing",
                )
        elif last == "assistant":
            self.error(
                "input_ends_with_assistant",
                last_path,
                "a preference input must end before the assistant's answer (found 'assistant')",
            )

    def message(
        self, message: Any, path: str, declared: set[str] | None, pending: dict[str, str]
    ) -> str | None:
        if not isinstance(message, dict):
            self.error("invalid_type", path, f"expected a message object, found {_shown(message)}")
            return None
        role = message.get("role")
        if "role" not in message:
            self.error("missing_field", join_field(path, "role"), "a message needs a 'role'")
            return None
        if not isinstance(role, str) or role not in ROLES:
            hint = " (the legacy 'function' role: use 'tool')" if role == "function" else ""
            self.error(
                "unknown_role",
                join_field(path, "role"),
                f"expected one of {', '.join(ROLES)}, found {_shown(role)}{hint}",
            )
            return None
        for key in message:
            if key not in _MESSAGE_KEYS[role]:
                hint = (
                    " (legacy function calling: use 'tool_calls')" if key == "function_call" else ""
                )
                self.error(
                    "unknown_field",
                    join_field(path, str(key)),
                    f"a {role} message does not accept this field{hint}",
                )
        has_text = self.content(message, role, path)
        name = message.get("name")
        if "name" in message and not isinstance(name, str):
            self.error(
                "invalid_type", join_field(path, "name"), f"expected a string, found {_shown(name)}"
            )
        if role == "assistant":
            weight = message.get("weight", 1)
            if "weight" in message and (isinstance(weight, bool) or weight not in (0, 1)):
                self.error(
                    "invalid_weight",
                    join_field(path, "weight"),
                    f"expected 0 or 1, found {_shown(weight)}",
                )
            has_calls = "tool_calls" in message and self.tool_calls(
                message["tool_calls"], join_field(path, "tool_calls"), declared, pending
            )
            if not has_text and not has_calls and weight != 0:
                self.error(
                    "empty_assistant",
                    join_field(path, "content"),
                    "the assistant message has neither text nor tool calls",
                )
        elif role == "tool":
            call_id = message.get("tool_call_id")
            where = join_field(path, "tool_call_id")
            if not isinstance(call_id, str):
                self.error(
                    "missing_field", where, "a tool message needs the 'tool_call_id' it answers"
                )
            elif call_id not in pending:
                self.error(
                    "unknown_tool_call_id", where, "no earlier assistant tool call has this id"
                )
            else:
                del pending[call_id]
        return role


def validate_example(
    example: Any, expected: ExampleFormat | None = None
) -> tuple[ExampleFormat | None, list[FormatProblem]]:
    """Validate one parsed example.

    Args:
        example: the parsed JSON value of one line.
        expected: the file's format, set by its first recognisable example; an example in the
            other format is a ``mixed_formats`` error.

    Returns:
        The example's format (``None`` when unrecognisable) and its problems, in field order.

    Example:
        >>> validate_example({"messages": [{"role": "user", "content": "hi"}]})[1][0].kind
        'last_message_not_assistant'
    """
    check = _Validator()
    if not isinstance(example, dict):
        check.error(
            "not_an_object", None, f"expected a JSON object per line, found {_shown(example)}"
        )
        return None, check.problems
    kind = detect_format(example)
    if kind is None:
        check.error(
            "unknown_example_format",
            None,
            "expected 'messages' (supervised chat format) or 'input', 'preferred_output' and "
            "'non_preferred_output' (preference format)",
        )
        return None, check.problems
    if expected is not None and kind != expected:
        check.error(
            "mixed_formats",
            None,
            f"this example is in {kind} format, the file's first example in {expected} format",
        )
    if kind == "chat":
        _chat(check, example)
    else:
        _preference(check, example)
    return kind, check.problems


def _declared_tools(check: _Validator, holder: Mapping[str, Any], path: str) -> set[str] | None:
    if "tools" not in holder:
        return None
    names = check.tools(holder["tools"], join_field(path, "tools"))
    if "parallel_tool_calls" in holder and not isinstance(holder["parallel_tool_calls"], bool):
        check.error(
            "invalid_type",
            join_field(path, "parallel_tool_calls"),
            f"expected true or false, found {_shown(holder['parallel_tool_calls'])}",
        )
    return names


def _chat(check: _Validator, example: Mapping[str, Any]) -> None:
    for key in example:
        if key not in _CHAT_KEYS:
            hint = " (legacy function calling: use 'tools')" if key == "functions" else ""
            check.warn(
                "unknown_field",
                join_field("", str(key)),
                f"the fine-tuning API ignores this field{hint}",
            )
    declared = _declared_tools(check, example, "")
    check.messages(example["messages"], "messages", declared, final_role="assistant")


def _preference(check: _Validator, example: Mapping[str, Any]) -> None:
    for key in example:
        if key not in _PREFERENCE_KEYS:
            check.warn(
                "unknown_field", join_field("", str(key)), "the fine-tuning API ignores this field"
            )
    declared: set[str] | None = None
    source = example.get("input")
    if not isinstance(source, dict):
        check.error(
            "missing_field", "input", f"expected an object with 'messages', found {_shown(source)}"
        )
    elif "messages" not in source:
        check.error("missing_field", "input.messages", "the preference input needs 'messages'")
    else:
        declared = _declared_tools(check, source, "input")
        check.messages(source["messages"], "input.messages", declared, final_role="user")
    outputs: list[Any] = []
    for key in ("preferred_output", "non_preferred_output"):
        output = example.get(key)
        if not isinstance(output, list) or len(output) != 1:
            check.error(
                "invalid_output" if key in example else "missing_field",
                key,
                "expected an array of exactly one assistant message",
            )
            continue
        pending: dict[str, str] = {}
        role = check.message(output[0], f"{key}[0]", declared, pending)
        if role is not None and role != "assistant":
            check.error(
                "invalid_output_role", f"{key}[0].role", f"expected 'assistant', found {role!r}"
            )
        if isinstance(output[0], dict) and "weight" in output[0]:
            check.error(
                "unknown_field", f"{key}[0].weight", "preference outputs do not take a weight"
            )
        outputs.append(output[0])
    if len(outputs) == 2 and outputs[0] == outputs[1]:
        check.error(
            "identical_outputs",
            "non_preferred_output",
            "the preferred and non-preferred outputs are identical",
        )
