"""The ``tool_call`` check: the model called the expected function with valid arguments.

Arguments are validated against the JSON Schema the case declared for that tool (chat-completions
``{"type": "function", "function": {...}}`` or Responses ``{"type": "function", "name": ...}``
shape), and optionally compared with an expected subset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jsonschema.exceptions import SchemaError

from arcanos_eval.errors import ScorerArgumentError
from arcanos_eval.model import Score
from arcanos_eval.scorers._answer import preview
from arcanos_eval.scorers._match import json_diff
from arcanos_eval.scorers._registry import as_response, scorer
from arcanos_eval.scorers._schema import schema_violations

if TYPE_CHECKING:
    from arcanos_eval.model import Case

__all__ = ["tool_call", "tool_parameters"]


def tool_parameters(
    tools: Sequence[Mapping[str, Any]], name: str
) -> tuple[bool, Mapping[str, Any] | None]:
    """``(declared, parameters schema)`` of the tool called ``name`` in a case's ``tools``.

    Example:
        >>> tool_parameters([{"type": "function", "function": {"name": "lookup_raid",
        ...                   "parameters": {"type": "object"}}}], "lookup_raid")
        (True, {'type': 'object'})
    """
    for tool in tools:
        spec = _spec(tool)
        if spec is not None and spec.get("name") == name:
            parameters = spec.get("parameters")
            return True, parameters if isinstance(parameters, Mapping) else None
    return False, None


def _validate(kwargs: Mapping[str, Any]) -> None:
    if not isinstance(kwargs.get("name"), str) or not kwargs["name"]:
        raise ScorerArgumentError(
            f"name must be a function name, found {preview(kwargs.get('name'))}"
        )


@scorer("tool_call", primary="name", validate=_validate)
def tool_call(
    output: Any,
    case: Case | None = None,
    *,
    name: str,
    arguments: Mapping[str, Any] | None = None,
    tolerance: float = 0.0,
    ignore_order: bool = False,
) -> Score:
    """The model called ``name`` with arguments valid for the tool's schema (and ``arguments``).

    When several calls are made, one matching call suffices. Text instead of a call fails.

    Args:
        output: The answer, normally a Response with tool calls.
        case: The case; its ``tools`` give the parameter schema of ``name``.
        name: The function the model must call.
        arguments: A subset the call's arguments must contain (deep match, as in ``json``).
        tolerance: Absolute tolerance for numbers in ``arguments``.
        ignore_order: Compare lists in ``arguments`` as multisets.

    Example:
        >>> from arcanos_eval.model import Response, ToolCall
        >>> answer = Response(tool_calls=(ToolCall("lookup_raid", '{"day": "friday"}'),))
        >>> tool_call(answer, name="lookup_raid", arguments={"day": "friday"}).passed
        True
    """
    response = as_response(output)
    if response.errored:
        return Score.fail(f"the call failed ({response.error_type}): {preview(response.error)}")
    calls = response.tool_calls
    if not calls:
        if response.text and response.text.strip():
            return Score.fail(
                f"the model answered with text instead of calling {name!r}: "
                f"{preview(response.text)}"
            )
        return Score.fail(f"the model made no tool call (expected {name!r})")
    matching = [call for call in calls if call.name == name]
    called = [call.name for call in calls]
    if not matching:
        return Score.fail(
            f"expected a call to {name!r}, the model called {', '.join(map(repr, called))}",
            called=called,
        )
    declared, parameters = tool_parameters(case.tools if case is not None else (), name)
    if case is not None and case.tools and not declared:
        return Score.fail(
            f"the case declares no tool {name!r}; it offers "
            f"{', '.join(_tool_names(case.tools)) or 'none'}",
            called=called,
        )
    problems: list[str] = []
    for call in matching:
        try:
            parsed = call.parsed_arguments()
        except (ValueError, RecursionError) as exc:
            problems.append(f"arguments are not valid JSON ({exc}): {preview(call.arguments)}")
            continue
        issues: list[str] = []
        if parameters is not None:
            try:
                issues += [f"schema {v}" for v in schema_violations(parsed, parameters)]
            except SchemaError as exc:
                return Score.fail(f"the parameters schema of {name!r} is invalid: {exc.message}")
        if arguments is not None:
            issues += json_diff(parsed, arguments, tolerance=tolerance, ignore_order=ignore_order)
        if not issues:
            return Score.ok(
                f"called {name!r} with valid arguments", arguments=parsed, called=called
            )
        problems.append("; ".join(issues))
    return Score.fail(f"call to {name!r}: {problems[0]}", called=called, problems=problems)


def _spec(tool: Any) -> Mapping[str, Any] | None:
    """The function spec of a tool entry in either API's shape, or ``None``."""
    if not isinstance(tool, Mapping):
        return None
    inner = tool.get("function")
    return inner if isinstance(inner, Mapping) else tool


def _tool_names(tools: Sequence[Mapping[str, Any]]) -> list[str]:
    specs = (_spec(tool) for tool in tools)
    return [
        repr(spec["name"])
        for spec in specs
        if spec is not None and isinstance(spec.get("name"), str)
    ]
