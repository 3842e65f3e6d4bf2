"""Schema compatibility for consumers of model outputs: a table of change kinds with their expected
classification, then properties (a schema is compatible with itself, an optional property is a
safe addition, every counterexample is real) and the result's rendering."""

from __future__ import annotations

import copy
import doctest
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from arcanos_eval.contracts import Compatibility, ContractError, Finding, compat, load_schema
from arcanos_eval.errors import UsageError

# Enough generated outputs to settle every undecided row below, few enough to keep the table quick.
EXAMPLES = 60
S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741


def obj(properties: dict[str, Any], required: tuple[str, ...] = (), **more: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), **more}


def node(**keywords: Any) -> dict[str, Any]:
    """A one-property object whose property ``v`` (required) has ``keywords``."""
    return obj({"v": keywords}, ("v",))


TREE = {
    "$defs": {
        "node": obj({"v": S, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, ("v",))
    },
    "$ref": "#/$defs/node",
}
TREE_NULLABLE = copy.deepcopy(TREE)
TREE_NULLABLE["$defs"]["node"]["properties"]["v"] = {"type": ["string", "null"]}

B, C = True, False  # breaking, compatible
V = "$.properties.v"

# id: (old, new, [(path, kind, breaking), ...]) -- every finding, in order.
# fmt: off
CHANGES: dict[str, tuple[Any, Any, list[tuple[str, str, bool]]]] = {
    # properties
    "property removed, was required": (
        obj({"a": S, "b": S}, ("a", "b")), obj({"a": S}, ("a",)),
        [("$.properties.b", "property_removed", B)]),
    "property removed, optional, now forbidden": (
        obj({"a": S, "b": S}, ("a",)), obj({"a": S}, ("a",), additionalProperties=False),
        [("$.properties.b", "property_removed", C),
         ("$.additionalProperties", "additional_properties_forbidden", C)]),
    "property removed, optional, now unconstrained": (
        obj({"a": S, "b": S}, ("a",)), obj({"a": S}, ("a",)),
        [("$.properties.b", "property_removed", B)]),
    "property renamed": (
        obj({"a": S, "b": S}, ("a", "b")), obj({"a": S, "c": S}, ("a", "c")),
        [("$.properties.c", "property_renamed", B)]),
    "optional property added, undeclared ones allowed": (
        obj({"a": S}), obj({"a": S, "b": S}),
        [("$.properties.b", "property_added", C)]),
    "property added, undeclared ones forbidden": (
        obj({"a": S}, additionalProperties=False),
        obj({"a": S, "b": S}, additionalProperties=False),
        [("$.properties.b", "property_added", B)]),
    "property newly required": (
        obj({"a": S, "b": S}, ("a",)), obj({"a": S, "b": S}, ("a", "b")),
        [("$.properties.b", "required_added", C)]),
    "required removed": (
        obj({"a": S, "b": S}, ("a", "b")), obj({"a": S, "b": S}, ("a",)),
        [("$.properties.b", "required_removed", B)]),
    "property forbidden by false becomes allowed": (
        obj({"v": False}), obj({"v": S}),
        [(V, "now_allowed", B)]),
    # types
    "type widened to nullable": (
        node(type="string"), node(type=["string", "null"]), [(V, "type_widened", B)]),
    "type narrowed from nullable": (
        node(type=["string", "null"]), node(type="string"), [(V, "type_narrowed", C)]),
    "type changed": (node(type="string"), node(type="integer"), [(V, "type_changed", B)]),
    "integer widened to number": (
        node(type="integer"), node(type="number"), [(V, "type_widened", B)]),
    "number narrowed to integer": (
        node(type="number"), node(type="integer"), [(V, "type_narrowed", C)]),
    # enum and const
    "enum value added": (
        node(enum=["x", "y"]), node(enum=["x", "y", "z"]), [(V, "enum_value_added", B)]),
    "enum value removed": (
        node(enum=["x", "y"]), node(enum=["x"]), [(V, "enum_value_removed", C)]),
    "enum introduced": (node(type="string"), node(type="string", enum=["x"]),
                        [(V, "enum_added", C)]),
    "enum dropped": (node(type="string", enum=["x"]), node(type="string"),
                     [(V, "enum_removed", B)]),
    "const changed": (node(const=1), node(const=2), [(V, "const_changed", B)]),
    "const introduced": (node(type="integer"), node(const=2), [(V, "const_added", C)]),
    "const dropped": (node(type="integer", const=2), node(type="integer"),
                      [(V, "const_removed", B)]),
    # additionalProperties
    "additionalProperties true to false": (
        obj({"a": S}), obj({"a": S}, additionalProperties=False),
        [("$.additionalProperties", "additional_properties_forbidden", C)]),
    "additionalProperties false to true": (
        obj({"a": S}, additionalProperties=False), obj({"a": S}),
        [("$.additionalProperties", "additional_properties_allowed", B)]),
    "additionalProperties schema widened": (
        obj({}, additionalProperties=S),
        obj({}, additionalProperties={"type": ["string", "integer"]}),
        [("$.additionalProperties", "type_widened", B)]),
    # numeric bounds
    "maximum loosened": (node(type="number", maximum=1), node(type="number", maximum=100),
                         [(V, "maximum_loosened", B)]),
    "maximum tightened": (node(type="number", maximum=100), node(type="number", maximum=1),
                          [(V, "maximum_tightened", C)]),
    "maximum made exclusive": (node(type="number", maximum=1),
                               node(type="number", exclusiveMaximum=1),
                               [(V, "maximum_tightened", C)]),
    "minimum removed": (node(type="integer", minimum=0), node(type="integer"),
                        [(V, "minimum_removed", B)]),
    "minimum added": (node(type="integer"), node(type="integer", minimum=0),
                      [(V, "minimum_added", C)]),
    "integer bounds written differently": (
        node(type="integer", minimum=1), node(type="integer", exclusiveMinimum=0), []),
    "multipleOf to a multiple": (node(type="integer", multipleOf=2),
                                 node(type="integer", multipleOf=4),
                                 [(V, "multiple_of_changed", C)]),
    "multipleOf to a divisor": (node(type="integer", multipleOf=4),
                                node(type="integer", multipleOf=2),
                                [(V, "multiple_of_changed", B)]),
    # string bounds, pattern, format
    "maxLength loosened": (node(type="string", maxLength=3), node(type="string", maxLength=10),
                           [(V, "max_length_loosened", B)]),
    "minLength tightened": (node(type="string", minLength=1), node(type="string", minLength=3),
                            [(V, "min_length_tightened", C)]),
    "pattern added": (node(type="string"), node(type="string", pattern="^[a-z]+$"),
                      [(V, "pattern_added", C)]),
    "pattern removed": (node(type="string", pattern="^[a-z]+$"), node(type="string"),
                        [(V, "pattern_removed", B)]),
    "pattern widened (settled by example)": (
        node(type="string", pattern="^[a-z]+$"), node(type="string", pattern="^[a-z0-9]+$"),
        [(V, "pattern_changed", B)]),
    "pattern narrowed (settled by example)": (
        node(type="string", pattern="^[a-z0-9]+$"), node(type="string", pattern="^[a-z]+$"),
        [(V, "pattern_changed", C)]),
    "format added": (node(type="string"), node(type="string", format="email"),
                     [(V, "format_added", C)]),
    "format removed": (node(type="string", format="email"), node(type="string"),
                       [(V, "format_removed", B)]),
    "format changed": (node(type="string", format="ipv4"), node(type="string", format="ipv6"),
                       [(V, "format_changed", B)]),
    "format narrowed": (node(type="string", format="idn-email"),
                        node(type="string", format="email"), [(V, "format_changed", C)]),
    # objects: nesting, counts, names
    "nested required property removed": (
        obj({"m": obj({"x": S, "y": S}, ("x", "y"))}, ("m",)),
        obj({"m": obj({"x": S}, ("x",))}, ("m",)),
        [("$.properties.m.properties.y", "property_removed", B)]),
    "minProperties loosened": (obj({}, minProperties=2), obj({}, minProperties=1),
                               [("$", "min_properties_loosened", B)]),
    "propertyNames added": (obj({}), obj({}, propertyNames={"maxLength": 5}),
                            [("$.propertyNames", "property_names_added", C)]),
    "dependentRequired removed (settled by example)": (
        obj({"a": S, "b": S}, dependentRequired={"a": ["b"]}), obj({"a": S, "b": S}),
        [("$", "keyword_changed", B)]),
    "dependentRequired added (settled by example)": (
        obj({"a": S, "b": S}), obj({"a": S, "b": S}, dependentRequired={"a": ["b"]}),
        [("$", "keyword_changed", C)]),
    # arrays
    "items enum value added": (node(type="array", items={"enum": ["a"]}),
                               node(type="array", items={"enum": ["a", "b"]}),
                               [(V + ".items", "enum_value_added", B)]),
    "items type narrowed": (node(type="array", items={"type": ["string", "integer"]}),
                            node(type="array", items=S),
                            [(V + ".items", "type_narrowed", C)]),
    "items constraint removed": (node(type="array", items=S), node(type="array"),
                                 [(V + ".items", "items_removed", B)]),
    "items constraint added": (node(type="array"), node(type="array", items=S),
                               [(V + ".items", "items_added", C)]),
    "minItems loosened": (node(type="array", minItems=2), node(type="array", minItems=1),
                          [(V, "min_items_loosened", B)]),
    "maxItems tightened": (node(type="array", maxItems=5), node(type="array", maxItems=2),
                           [(V, "max_items_tightened", C)]),
    "uniqueItems removed": (node(type="array", items=S, uniqueItems=True),
                            node(type="array", items=S), [(V, "unique_items_removed", B)]),
    "prefixItems entry changed": (node(type="array", prefixItems=[S, S]),
                                  node(type="array", prefixItems=[S, I]),
                                  [(V + ".prefixItems[1]", "type_changed", B)]),
    # $ref
    "$ref target changed": (
        {"$defs": {"A": S, "B": I}, **obj({"x": {"$ref": "#/$defs/A"}}, ("x",))},
        {"$defs": {"A": S, "B": I}, **obj({"x": {"$ref": "#/$defs/B"}}, ("x",))},
        [("$.properties.x", "ref_target_changed", B)]),
    "$ref target renamed, same content": (
        {"$defs": {"A": S}, **obj({"x": {"$ref": "#/$defs/A"}}, ("x",))},
        {"$defs": {"Text": S}, **obj({"x": {"$ref": "#/$defs/Text"}}, ("x",))},
        [("$.properties.x", "ref_target_changed", C)]),
    "inline schema moved to $defs": (
        obj({"x": S}, ("x",)), {"$defs": {"A": S}, **obj({"x": {"$ref": "#/$defs/A"}}, ("x",))},
        []),
    "$defs entry widened": (
        {"$defs": {"A": {"enum": ["p"]}}, **obj({"x": {"$ref": "#/$defs/A"}}, ("x",))},
        {"$defs": {"A": {"enum": ["p", "q"]}}, **obj({"x": {"$ref": "#/$defs/A"}}, ("x",))},
        [("$.$defs.A", "enum_value_added", B)]),
    "recursive schema widened": (TREE, TREE_NULLABLE,
                                 [("$.$defs.node.properties.v", "type_widened", B)]),
    # combinators
    "anyOf branch added": (
        node(anyOf=[S, I]), node(anyOf=[S, I, {"type": "null"}]),
        [(V, "type_widened", B), (V + ".anyOf[2]", "anyof_branch_added", B)]),
    "anyOf branch removed": (
        node(anyOf=[S, I]), node(anyOf=[S]),
        [(V, "type_narrowed", C), (V + ".anyOf", "anyof_branch_removed", C)]),
    "oneOf branch added": (
        node(oneOf=[S, I]), node(oneOf=[S, I, {"type": "boolean"}]),
        [(V, "type_widened", B), (V + ".oneOf[2]", "oneof_branch_added", B)]),
    "oneOf branch removed": (
        node(oneOf=[S, I]), node(oneOf=[S]),
        [(V, "type_narrowed", C), (V + ".oneOf", "oneof_branch_removed", C)]),
    "anyOf introduced to allow null": (
        node(type="string"), node(anyOf=[S, {"type": "null"}]),
        [(V + ".anyOf", "anyof_added", B)]),
    "anyOf introduced, each alternative allowed": (
        node(type="string", maxLength=9),
        node(anyOf=[{"type": "string", "maxLength": 3}, {"type": "string", "pattern": "^a"}],
             maxLength=5),
        [(V + ".anyOf", "anyof_added", C)]),
    "allOf entry adds a requirement": (
        obj({"a": S, "b": S}), {"allOf": [obj({"a": S, "b": S}), {"required": ["a"]}]},
        [("$.properties.a", "required_added", C)]),
    "allOf entry with the requirement dropped": (
        {"allOf": [obj({"a": S, "b": S}), {"required": ["a"]}]}, {"allOf": [obj({"a": S, "b": S})]},
        [("$.properties.a", "required_removed", B)]),
    "allOf branch added that cannot merge": (
        node(type="string", pattern="a"),
        node(type="string", pattern="a", allOf=[{"pattern": "b"}]),
        [(V + ".allOf[0]", "allof_branch_added", C)]),
    "allOf branch removed that cannot merge (settled by example)": (
        node(type="string", pattern="a", allOf=[{"pattern": "b"}]),
        node(type="string", pattern="a"),
        [(V + ".allOf", "allof_branch_removed", B)]),
    "not removed": (node(type="string", **{"not": {"const": "x"}}), node(type="string"),
                    [(V + ".not", "not_removed", B)]),
    "not added": (node(type="string"), node(type="string", **{"not": {"const": "x"}}),
                  [(V + ".not", "not_added", C)]),
    "if/then changed (settled by example)": (
        {**obj({"a": S, "b": S}), "if": {"required": ["a"]}, "then": {"required": ["b"]}},
        {**obj({"a": S, "b": S}), "if": {"required": ["b"]}, "then": {"required": ["a"]}},
        [("$", "conditional_changed", B)]),
    # no effect on outputs
    "description changed": (
        obj({"v": {**S, "description": "old"}}), obj({"v": {**S, "description": "new"}}),
        [(V, "annotation_changed", C)]),
    "unknown extension keyword changed": (
        {**obj({"a": S}), "x-owner": "team-a"}, {**obj({"a": S}), "x-owner": "team-b"},
        [("$", "keyword_changed", C)]),
    "draft-07 definitions and tuple items": (
        {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"p": S},
         "type": "array", "items": [{"$ref": "#/definitions/p"}], "additionalItems": False},
        {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"p": S},
         "type": "array", "items": [{"$ref": "#/definitions/p"}], "additionalItems": I},
        [("$.additionalItems", "additional_items_allowed", B)]),
}
# fmt: on


def _validator(schema: Any) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_counterexamples_are_real(result: Compatibility, old: Any, new: Any) -> None:
    for finding in result.findings:
        if finding.has_counterexample:
            assert finding.breaking, finding
            assert _validator(new).is_valid(finding.counterexample), finding
            assert not _validator(old).is_valid(finding.counterexample), finding


def test_the_table_covers_at_least_25_kinds_of_change():
    kinds = {kind for *_, findings in CHANGES.values() for _, kind, _ in findings}
    assert len(CHANGES) >= 25 and len(kinds) >= 25


@pytest.mark.parametrize(("old", "new", "expected"), list(CHANGES.values()), ids=list(CHANGES))
def test_change_is_classified(old, new, expected):
    result = compat(old, new, examples=EXAMPLES)
    assert [(f.path, f.kind, f.breaking) for f in result.findings] == expected
    assert result.breaking == any(breaking for *_, breaking in expected)
    for finding in result.findings:
        # Every breaking row of the table is demonstrated, not only asserted.
        assert finding.has_counterexample == finding.breaking, finding
    assert_counterexamples_are_real(result, old, new)


def test_each_finding_explains_itself():
    result = compat(obj({"a": S, "b": S}, ("a", "b")), obj({"a": S}, ("a",)), examples=EXAMPLES)
    (finding,) = result.findings
    assert finding.reason == (
        "'b' was removed, and it was required: outputs may lack it, and "
        "clients written against the old schema expect it"
    )
    assert finding.counterexample == {"a": ""}


SUPPORT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["action", "reply", "escalate"],
    "additionalProperties": False,
    "properties": {
        "action": {"enum": ["answer", "escalate", "refuse", "clarify"]},
        "reply": {"type": "string", "minLength": 1},
        "escalate": {"type": "boolean"},
        "ticket_category": {"enum": ["account", "billing", "event", "bug", "safety", "other"]},
    },
}


def test_bundled_schema_release_with_several_changes():
    new = copy.deepcopy(SUPPORT)
    new["properties"]["action"]["enum"].append("defer")
    new["required"].remove("escalate")
    new["properties"]["reply"]["maxLength"] = 500
    result = compat(SUPPORT, new)
    assert [(f.path, f.kind, f.breaking) for f in result.findings] == [
        ("$.properties.action", "enum_value_added", True),
        ("$.properties.reply", "max_length_added", False),
        ("$.properties.escalate", "required_removed", True),
    ]
    assert [f.kind for f in result.breaking_findings] == ["enum_value_added", "required_removed"]
    assert_counterexamples_are_real(result, SUPPORT, new)


def test_same_seed_same_result_and_examples_zero_generates_nothing():
    old, new = node(type="string", pattern="^[a-z]+$"), node(type="string", pattern="^[a-z0-9]+$")
    assert compat(old, new, seed=3).to_dict() == compat(old, new, seed=3).to_dict()
    unchecked = compat(old, new, examples=0)
    (finding,) = unchecked.findings
    assert finding.breaking and not finding.has_counterexample
    assert finding.reason.endswith("not checked by example (examples=0), so treated as breaking")


def test_to_dict_and_table():
    result = compat(node(type="string"), node(type=["string", "null"]), examples=EXAMPLES)
    assert json.loads(json.dumps(result.to_dict())) == {
        "breaking": True,
        "examples": EXAMPLES,
        "seed": 0,
        "findings": [
            {
                "path": V,
                "kind": "type_widened",
                "breaking": True,
                "reason": "string became null | string: outputs may now be null, which "
                "clients reject",
                "counterexample": {"v": None},
            }
        ],
    }
    assert result.table() == [
        {
            "path": V,
            "change": "type_widened",
            "verdict": "breaking",
            "reason": result.findings[0].reason,
            "counterexample": '{"v":null}',
        }
    ]
    rendered = tabulate(result.table(), headers="keys", tablefmt="github")
    header = rendered.splitlines()[0]
    assert [cell.strip() for cell in header.split("|")[1:-1]] == [
        "path",
        "change",
        "verdict",
        "reason",
        "counterexample",
    ]
    quiet = compat(node(type=["string", "null"]), node(type="string"), examples=EXAMPLES)
    assert quiet.table(breaking_only=True) == [] and len(quiet.table()) == 1
    assert Finding("$", "type_added", False, "r").to_dict() == {
        "path": "$",
        "kind": "type_added",
        "breaking": False,
        "reason": "r",
    }


def test_invalid_input_is_a_usage_error():
    with pytest.raises(ContractError, match=r"^new schema: not a valid JSON Schema at type: "):
        compat(S, {"type": "strnig"})
    with pytest.raises(ContractError, match=r"cannot resolve \$ref '#/\$defs/missing'"):
        compat(S, {"$ref": "#/$defs/missing"})
    with pytest.raises(ContractError, match="examples must be a non-negative integer"):
        compat(S, S, examples=-1)
    with pytest.raises(ContractError, match="expected a JSON Schema object, found list"):
        compat([], S)  # type: ignore[arg-type]
    assert issubclass(ContractError, UsageError) and issubclass(ContractError, ValueError)


def test_load_schema_reads_json_and_yaml(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(SUPPORT))
    (tmp_path / "a.yaml").write_text("type: object\nrequired: [x]\n")
    (tmp_path / "bad.json").write_text("{\n  nope")
    (tmp_path / "list.yaml").write_text("- 1\n")
    (tmp_path / "invalid.yml").write_text("type: 3\n")
    assert load_schema(tmp_path / "a.json") == SUPPORT
    assert load_schema(tmp_path / "a.yaml") == {"type": "object", "required": ["x"]}
    with pytest.raises(ContractError, match=r"bad.json:2: invalid JSON: "):
        load_schema(tmp_path / "bad.json")
    with pytest.raises(
        ContractError, match=r"list.yaml: expected a JSON Schema object, found list"
    ):
        load_schema(tmp_path / "list.yaml")
    with pytest.raises(ContractError, match=r"invalid.yml: not a valid JSON Schema at type"):
        load_schema(tmp_path / "invalid.yml")
    with pytest.raises(ContractError, match=r"missing.json: schema file not found"):
        load_schema(tmp_path / "missing.json")


def test_docstring_and_documentation_examples_run():
    from arcanos_eval.contracts import _compat, _model

    for module in (_compat, _model):
        failed, attempted = doctest.testmod(module)
        assert attempted and not failed
    docs = Path(__file__).parent.parent / "docs" / "contracts.md"
    failed, attempted = doctest.testfile(str(docs), module_relative=False)
    assert attempted and not failed


# ----------------------------------------------------------------------------- properties

NAMES = st.sampled_from(["action", "reply", "score", "tags", "meta"])
LEAVES = st.one_of(
    st.sampled_from(
        [
            S,
            I,
            {"type": "number"},
            {"type": "boolean"},
            {"type": ["string", "null"]},
            {},
            {"enum": ["a", "b"]},
            {"const": 3},
            {"type": "string", "format": "email"},
        ]
    ),
    st.builds(
        lambda lo, hi: {"type": "integer", "minimum": lo, "maximum": lo + hi},
        st.integers(-5, 5),
        st.integers(0, 10),
    ),
    st.builds(lambda n: {"type": "string", "maxLength": n}, st.integers(1, 8)),
    st.builds(lambda p: {"type": "string", "pattern": p}, st.sampled_from(["^[a-z]+$", "x", "^a"])),
)


def _objects(
    inner: st.SearchStrategy[Any], *, closed: bool | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    def build(properties: dict[str, Any], required: list[str], closed_: bool) -> dict[str, Any]:
        schema = {
            "type": "object",
            "properties": properties,
            "required": [r for r in required if r in properties],
        }
        if closed_:
            schema["additionalProperties"] = False
        return schema

    return st.builds(
        build,
        st.dictionaries(NAMES, inner, max_size=3),
        st.lists(NAMES, max_size=3, unique=True),
        st.just(closed) if closed is not None else st.booleans(),
    )


SCHEMAS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        _objects(inner),
        st.builds(
            lambda items, n: {"type": "array", "items": items, "maxItems": n},
            inner,
            st.integers(1, 4),
        ),
        st.builds(lambda a, b: {"anyOf": [a, b]}, inner, inner),
    ),
    max_leaves=5,
)
NESTED = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.nested_given, HealthCheck.too_slow],
)


@NESTED
@given(SCHEMAS)
def test_a_schema_is_compatible_with_itself(schema):
    result = compat(schema, copy.deepcopy(schema), examples=10)
    assert result.findings == () and not result.breaking


@NESTED
@given(_objects(SCHEMAS, closed=False), st.sampled_from(["extra", "note", "debug_info"]), SCHEMAS)
def test_adding_an_optional_property_is_compatible(schema, name, property_schema):
    new = copy.deepcopy(schema)
    new["properties"][name] = property_schema
    result = compat(schema, new, examples=10)
    assert not result.breaking, result.findings
    assert ("$.properties." + name, "property_added", False) in [
        (f.path, f.kind, f.breaking) for f in result.findings
    ]


@NESTED
@given(SCHEMAS, SCHEMAS, st.integers(0, 3))
def test_every_counterexample_is_valid_under_new_and_invalid_under_old(old, new, seed):
    result = compat(old, new, examples=15, seed=seed)
    assert_counterexamples_are_real(result, old, new)
    assert result.breaking == any(f.breaking for f in result.findings)
