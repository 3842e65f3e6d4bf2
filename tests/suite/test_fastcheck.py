"""The compiled suite-schema check: the same verdict as jsonschema on documents mutated from the
bundled suites, on every fixture and on each keyword's edge cases; a keyword it does not implement
stops compilation wherever it appears."""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcanos_eval._fastcheck import compile_is_valid
from arcanos_eval.errors import SuiteError
from arcanos_eval.suite import loader
from arcanos_eval.suite.loader import SUITE_SCHEMA_PATH

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
SCHEMA: dict[str, Any] = json.loads(SUITE_SCHEMA_PATH.read_text(encoding="utf-8"))
JSONSCHEMA = jsonschema.Draft202012Validator(SCHEMA)
IS_VALID = compile_is_valid(SCHEMA)

BUNDLED = sorted((ROOT / "suites").glob("*.yaml"))
BASES = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in BUNDLED]


def _property_names(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        yield from schema.get("properties", {})
        for value in schema.values():
            yield from _property_names(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _property_names(value)


FIELD_NAMES = sorted(set(_property_names(SCHEMA)))

# Values close to what the schema tests: its enum members, bounds and their neighbours, text on
# either side of its patterns and lengths, numbers that only look like integers, and the non-JSON
# values a YAML file can hold (dates, bytes).
NEAR_VALUES = [
    *[0, 1, -1, 1.0, 0.0, -0.0, 1.5, 20, 20.0, 21, 1000, 1000.0, 1001, 200, True, False, None],
    *[float("nan"), float("inf"), -float("inf")],
    *["", " ", "a", "ok", "a b", "-a", "_a", "a.b-c", "Happy Path", "happy_path", "9lives", "é"],
    *["function", "user", "player", "tool", "roleplay", "rot13", "contains", "schema", "1"],
    *["x" * 200, "x" * 201],
]
keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=4) | st.sampled_from([1, True, None])
scalars = (
    st.sampled_from(NEAR_VALUES)
    | st.none()
    | st.booleans()
    | st.integers(-3, 1002)
    | st.floats()
    | st.text(max_size=6)
    | st.dates()
    | st.binary(max_size=2)
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=6,
)


def _places(node: Any, depth: int = 0) -> Iterator[tuple[Any, Any, int]]:
    """Every (container, key or index, depth) in ``node``, depth first."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in list(items):
        yield node, key, depth
        if isinstance(child, (dict, list)):
            yield from _places(child, depth + 1)


@st.composite
def near_documents(draw: st.DrawFn) -> Any:
    """A bundled suite, cut to a few cases, then changed in one to three places."""
    document = copy.deepcopy(draw(st.sampled_from(BASES)))
    document["cases"] = document["cases"][: draw(st.integers(0, 4))]
    for _ in range(draw(st.integers(1, 3))):
        max_depth = draw(st.sampled_from([1, 3, 99]))
        places = [p for p in _places(document) if p[2] < max_depth]
        if not places:
            break
        container, key, _ = places[draw(st.integers(0, len(places) - 1))]
        # Copies of other parts of the document: well-formed values in the wrong place.
        elsewhere = st.sampled_from(places).map(lambda p: copy.deepcopy(p[0][p[1]]))
        change = draw(
            st.sampled_from(
                ["delete", "replace", "near", "transplant", "add", "duplicate", "edit-text"]
            )
        )
        if change == "delete":
            del container[key]
        elif change == "replace":
            container[key] = draw(values)
        elif change == "near":
            container[key] = draw(st.sampled_from(NEAR_VALUES))
        elif change == "transplant":
            container[key] = draw(elsewhere)
        elif change == "add" and isinstance(container, dict):
            container[draw(keys)] = draw(values | elsewhere)
        elif change == "add":
            container.insert(draw(st.integers(0, len(container))), draw(values | elsewhere))
        elif change == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
        elif change == "edit-text" and isinstance(container[key], str):
            text = container[key]
            container[key] = draw(
                st.sampled_from(["", text.upper(), f" {text}", f"{text}!", text[:1], text * 2])
            )
    return document


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=near_documents())
def test_verdict_matches_jsonschema_near_the_schema(document):
    assert IS_VALID(document) == JSONSCHEMA.is_valid(document), document


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_suites_are_valid(path):
    assert IS_VALID(yaml.safe_load(path.read_text(encoding="utf-8")))


FIXTURES = sorted((HERE / "broken").iterdir()) + sorted(
    p for p in (HERE / "good").iterdir() if p.is_file()
)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixtures_are_judged_as_jsonschema_judges_them(path):
    try:
        document = loader._read(path).data
    except SuiteError:
        pytest.skip("not parsable: the loader fails before validation")
    assert IS_VALID(document) == JSONSCHEMA.is_valid(document)


def test_valid_documents_never_reach_jsonschema(monkeypatch):
    def no_jsonschema() -> None:
        raise AssertionError("jsonschema was asked about a valid document")

    monkeypatch.setattr(loader, "_suite_validator", no_jsonschema)
    for path in BUNDLED:
        loader.load_suite(path)


# --------------------------------------------------------------------------- keyword semantics

DUPLICATE_PRONE = st.lists(
    st.sampled_from([1, 1.0, True, 0, False, 0.0, "1", None, [1], [True], [1.0], {"a": 1}]),
    max_size=4,
)
KEYWORD_SCHEMAS: list[Any] = [
    True,
    False,
    {"type": "integer"},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "null"},
    {"type": ["integer", "string"]},
    {"type": ["string", "array", "null"]},
    {"enum": [1, "a", None, [1], {"a": 1}, True]},
    {"enum": ["ok", "1"]},
    {"const": 1},
    {"const": False},
    {"const": [1, {"a": False}]},
    {"minimum": 1, "maximum": 20},
    {"type": "integer", "minimum": 1},
    {"exclusiveMinimum": 0},
    {"minLength": 1, "maxLength": 3},
    {"pattern": "^[a-z][a-z0-9_]*$"},
    {"pattern": "b"},
    {"minItems": 1, "uniqueItems": True},
    {"maxItems": 2},
    {"type": "string", "contentMediaType": "application/json", "contentEncoding": "base64"},
    {"exclusiveMaximum": 1.5, "minimum": -1},
    {"anyOf": [{"type": "integer"}, {"minLength": 2}]},
    {"allOf": [{"minimum": 0}, {"type": ["integer", "string"]}]},
    {"uniqueItems": False},
    {"items": {"type": "string", "minLength": 1}},
    {"required": ["a"], "properties": {"a": {"type": "integer"}}, "additionalProperties": False},
    {"properties": {"a": True, "1": False}, "additionalProperties": {"type": "string"}},
    {"minProperties": 1, "maxProperties": 1},
    {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
    {"oneOf": [{"required": ["a"], "not": {"required": ["b"]}}, {"required": ["b"]}]},
    {"not": {"type": "array"}},
    {"$defs": {"n": {"type": "integer"}}, "items": {"$ref": "#/$defs/n"}},
    {
        "$defs": {"tree": {"type": "array", "items": {"$ref": "#/$defs/tree"}}},
        "$ref": "#/$defs/tree",
    },
    {"$defs": {"a/b": {"const": 1}}, "$ref": "#/$defs/a~1b"},
    {"$ref": "#/$defs/x", "minimum": 2, "$defs": {"x": {"type": "integer"}}},
]


@settings(max_examples=600, deadline=None)
@given(
    schema=st.sampled_from(KEYWORD_SCHEMAS),
    value=values | DUPLICATE_PRONE | st.dictionaries(keys, values, max_size=3),
)
def test_each_keyword_matches_jsonschema(schema, value):
    expected = jsonschema.Draft202012Validator(schema).is_valid(value)
    assert compile_is_valid(schema)(value) == expected


@pytest.mark.parametrize(
    ("schema", "value", "valid"),
    [
        ({"type": "integer"}, 1.0, True),  # a float with an integral value is an integer
        ({"type": "integer"}, True, False),  # booleans are not numbers
        ({"type": "number"}, False, False),
        ({"enum": [1]}, 1.0, True),
        ({"enum": [1]}, True, False),
        ({"const": [0]}, [False], False),
        ({"pattern": "b"}, "abc", True),  # search, not match
        ({"minLength": 2}, "😀", False),  # one code point
        ({"maxLength": 1}, "é", True),
        ({"uniqueItems": True}, [1, 1.0], False),
        ({"uniqueItems": True}, [1, True], True),
        ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, 3, False),  # both match
        ({"exclusiveMinimum": 0}, float("nan"), True),  # no comparison with NaN fails
        ({"exclusiveMaximum": 1}, 1.0, False),
        ({"anyOf": [{"type": "integer"}, {"minimum": 0}]}, 3, True),  # both match: fine
        ({"allOf": [{"minimum": 0}, {"maximum": 1}]}, 2, False),
        ({"additionalProperties": False, "properties": {"a": True}}, {"a": 1, "b": 2}, False),
        ({"minimum": 1}, "0", True),  # bounds ignore what is not a number
    ],
)
def test_jsonschema_semantics(schema, value, valid):
    assert jsonschema.Draft202012Validator(schema).is_valid(value) is valid
    assert compile_is_valid(schema)(value) is valid


# --------------------------------------------------------------------------- refusal


def _subschema_pointers(schema: Any, pointer: str = "") -> Iterator[str]:
    """The JSON pointer of every subschema of the suite schema."""
    if not isinstance(schema, dict):
        return
    yield pointer
    for keyword in ("$defs", "properties"):
        for name, child in schema.get(keyword, {}).items():
            yield from _subschema_pointers(child, f"{pointer}/{keyword}/{name}")
    for keyword in ("items", "not", "additionalProperties"):
        yield from _subschema_pointers(schema.get(keyword), f"{pointer}/{keyword}")
    for index, child in enumerate(schema.get("oneOf", [])):
        yield from _subschema_pointers(child, f"{pointer}/oneOf/{index}")


POINTERS = list(_subschema_pointers(SCHEMA))


def test_the_suite_schema_has_subschemas_everywhere_expected():
    assert "/$defs/case/oneOf/1/not" in POINTERS and "/$defs/tool/properties/function" in POINTERS


@pytest.mark.parametrize("pointer", POINTERS)
@pytest.mark.parametrize("keyword", ["unevaluatedProperties", "format", "x-future"])
def test_an_unknown_keyword_anywhere_refuses_to_compile(pointer, keyword):
    schema = copy.deepcopy(SCHEMA)
    node = schema
    for token in pointer.split("/")[1:]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    node[keyword] = False
    with pytest.raises(NotImplementedError, match=keyword):
        compile_is_valid(schema)


@pytest.mark.parametrize(
    ("schema", "match"),
    [
        ({"patternProperties": {"^x": True}}, "patternProperties"),
        ({"$defs": {"unused": {"if": True}}}, "if"),
        ({"anyOf": []}, "anyOf that is not a non-empty list"),
        ({"$ref": "other.json#/$defs/x"}, "only JSON pointers"),
        ({"$ref": "#anchor"}, "only JSON pointers"),
        ({"$ref": "#/$defs/missing"}, "not in the schema"),
        ({"properties": {"a": {"$id": "inner.json"}}}, r"\$id"),
        ({"$schema": "http://json-schema.org/draft-07/schema#"}, "draft 2020-12"),
        ({"type": "any"}, "type 'any'"),
        ({"minLength": -1}, "minLength"),
    ],
)
def test_unsupported_forms_refuse_to_compile(schema, match):
    with pytest.raises(NotImplementedError, match=match):
        compile_is_valid(schema)


def test_a_refused_schema_leaves_validation_to_jsonschema(monkeypatch):
    monkeypatch.setattr(loader, "_suite_is_valid", lambda: None)
    with pytest.raises(SuiteError, match="expected a number > 0, found a number -5"):
        loader.load_suite(HERE / "broken" / "bad-latency.yaml")
    assert loader.load_suite(BUNDLED[0]).cases


def test_yaml_dates_are_not_text():
    document = {"id": datetime.date(2024, 1, 1), "cases": []}
    assert not IS_VALID(document) and not JSONSCHEMA.is_valid(document)
