"""The ``schema`` check: the answer is JSON that validates against the suite's response schema.

Validation uses JSON Schema Draft 2020-12; ``$ref`` is resolved through a ``referencing`` registry
holding the schema itself (by its ``$id`` when it has one) and any extra ``resources`` the check is
given, so schemas split over several documents work without network access.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from arcanos_eval._fastcheck import IsValid, compile_is_valid
from arcanos_eval.errors import ScorerArgumentError
from arcanos_eval.model import Score
from arcanos_eval.scorers._answer import answer_json, preview
from arcanos_eval.scorers._pattern import PATTERN_TIMEOUT_S, compile_pattern, timed_out_reason
from arcanos_eval.scorers._registry import as_response, scorer

if TYPE_CHECKING:
    from arcanos_eval.model import Case

__all__ = ["schema", "schema_violations"]

_MAX_LISTED = 20


class PatternTimedOut(Exception):
    """A schema ``pattern`` ran out of time on an answer (a catastrophic pattern)."""


def _timed_search(pattern: str) -> Callable[[str], object]:
    """``pattern`` as a search that gives up after :data:`PATTERN_TIMEOUT_S` of CPU time, as a
    ``regex`` check does: a model's answer must not be able to hang a run."""
    compiled = compile_pattern(pattern)

    def search(text: str) -> object:
        try:
            return compiled.search(text, timeout=PATTERN_TIMEOUT_S)
        except TimeoutError:
            raise PatternTimedOut(pattern) from None

    return search


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _timed_search(pattern)(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        search = _timed_search(pattern)
        for key, value in instance.items():
            if search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


# Draft 2020-12 with its two pattern keywords matched under a time limit.
_Validator = validators.extend(
    Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties}
)


@lru_cache(maxsize=64)
def _quick_check(schema_json: str, resources_json: str) -> IsValid | None:
    """The compiled yes/no check of a schema, when it has one: ``None`` for a schema with other
    documents (resources) or a keyword the compiler leaves to jsonschema."""
    if resources_json != "{}":
        return None
    try:
        return compile_is_valid(json.loads(schema_json), search=_timed_search)
    except (NotImplementedError, ScorerArgumentError):  # jsonschema then says what is wrong
        return None


@lru_cache(maxsize=64)
def _validator(schema_json: str, resources_json: str) -> Any:
    # Keyed on canonical JSON text: suites share one schema across hundreds of cases, and building
    # a validator (with its registry) per answer would dominate the scoring time.
    document = json.loads(schema_json)
    resources = json.loads(resources_json)
    registry: Registry[Any] = Registry()
    pairs = [
        (uri, Resource.from_contents(doc, default_specification=DRAFT202012))
        for uri, doc in resources.items()
    ]
    if isinstance(document, dict) and isinstance(document.get("$id"), str):
        pairs.append(
            (document["$id"], Resource.from_contents(document, default_specification=DRAFT202012))
        )
    if pairs:
        registry = registry.with_resources(pairs)
    Draft202012Validator.check_schema(document)
    return _Validator(document, registry=registry)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _validate_args(kwargs: Mapping[str, Any]) -> None:
    given = kwargs.get("schema")
    if given is not None:
        if not isinstance(given, (Mapping, bool)):
            raise ScorerArgumentError(
                f"schema must be a JSON Schema object, found {preview(given)}"
            )
        try:
            _validator(_canonical(given), _canonical(dict(kwargs.get("resources") or {})))
        except SchemaError as exc:
            raise ScorerArgumentError(f"invalid JSON Schema: {exc.message}") from None


def schema_violations(
    instance: Any, schema: Mapping[str, Any] | bool, *, resources: Mapping[str, Any] | None = None
) -> list[str]:
    """Every violation of ``schema`` by ``instance``, as ``"<json path>: <message>"``, sorted.

    Raises:
        jsonschema.exceptions.SchemaError: the schema itself is invalid.
        PatternTimedOut: a ``pattern`` or ``patternProperties`` key ran out of time (patterns are
            matched as a ``regex`` check matches them, within ``PATTERN_TIMEOUT_S``).

    Example:
        >>> schema_violations({"n": "x"}, {"properties": {"n": {"type": "integer"}}})
        ["$.n: 'x' is not of type 'integer'"]
    """
    schema_json, resources_json = _canonical(schema), _canonical(dict(resources or {}))
    validator = _validator(schema_json, resources_json)  # checks the schema itself first
    quick = _quick_check(schema_json, resources_json)
    if quick is not None and quick(instance):
        return []
    errors = sorted(
        validator.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )
    return [f"{error.json_path}: {_short(error.message)}" for error in errors]


def _short(message: str, limit: int = 160) -> str:
    # jsonschema quotes the whole offending instance; a huge answer would flood the report.
    return message if len(message) <= limit else message[: limit - 3] + "..."


@scorer("schema", validate=_validate_args)
def schema(
    output: Any,
    case: Case | None = None,
    *,
    schema: Mapping[str, Any] | None = None,
    allow_fenced: bool = False,
    resources: Mapping[str, Any] | None = None,
) -> Score:
    """The answer is JSON valid against the response schema (Draft 2020-12).

    The whole text must be one JSON document unless ``allow_fenced`` accepts a ```json block.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case; its ``response_schema`` is used when ``schema`` is not given.
        schema: A schema that overrides the case's.
        allow_fenced: Accept the first fenced ```json block when the text is not JSON.
        resources: Extra schema documents by URI, for ``$ref`` across files.

    Example:
        >>> contract = {"type": "object", "required": ["category"],
        ...             "properties": {"category": {"enum": ["riddle", "logic"]}}}
        >>> schema('{"category": "cipher"}', schema=contract).reason
        "1 violation: $.category: 'cipher' is not one of ['riddle', 'logic']"
    """
    contract = schema if schema is not None else (case.response_schema if case else None)
    if contract is None:
        return Score.fail(
            "no schema to validate against: the case has no response_schema and "
            "the check gives no schema"
        )
    value, reason = answer_json(as_response(output), allow_fenced=allow_fenced)
    if reason is not None:
        return Score.fail(reason)
    try:
        problems = schema_violations(value, contract, resources=resources)
    except SchemaError as exc:
        return Score.fail(f"the response schema is invalid: {exc.message}")
    except Unresolvable as exc:
        # Nothing is fetched: a $ref that neither the schema nor `resources` holds fails here.
        return Score.fail(f"the response schema has a $ref that cannot be resolved: {exc}")
    except PatternTimedOut as exc:
        return Score.fail(f"{timed_out_reason()}: the schema's pattern {str(exc)[:80]!r}")
    except ScorerArgumentError as exc:
        return Score.fail(f"the response schema has an unusable pattern: {exc}")
    except RecursionError:
        return Score.fail("the answer is nested too deeply to validate")
    if not problems:
        return Score.ok("the answer matches the schema")
    shown = "; ".join(problems[:_MAX_LISTED])
    more = f"; and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
    noun = "violation" if len(problems) == 1 else "violations"
    return Score.fail(f"{len(problems)} {noun}: {shown}{more}", violations=problems)
