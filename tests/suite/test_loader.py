"""Suite loading: each format's happy path, one broken file per error with its exact message, and a
property that malformed documents only ever raise ArcanosError subclasses."""

from __future__ import annotations

import contextlib
import gc
import json
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcanos_eval.errors import ArcanosError, DuplicateCaseError, SuiteError, UnknownCheckError
from arcanos_eval.scorers._registry import score_check
from arcanos_eval.suite.loader import discover_suite_files, load_suite, load_suites

HERE = Path(__file__).parent
GOOD = HERE / "good"
BROKEN = HERE / "broken"


def test_default_metadata_reaches_every_case_whose_own_keys_win(tmp_path):
    path = tmp_path / "meta.yaml"
    path.write_text(
        "id: meta\n"
        "defaults: {metadata: {intent_keywords: {billing_refund: [refund]}, owner: support}}\n"
        "cases:\n"
        "  - {id: plain, input: hi, checks: [refusal]}\n"
        "  - {id: own, input: hi, checks: [refusal], metadata: {owner: billing, label: pass}}\n",
        encoding="utf-8",
    )
    plain, own = load_suite(path).cases
    assert plain.metadata == {"intent_keywords": {"billing_refund": ["refund"]}, "owner": "support"}
    assert own.metadata == {
        "intent_keywords": {"billing_refund": ["refund"]},
        "owner": "billing",
        "label": "pass",
    }


def test_the_bundled_intents_checks_have_evidence_for_every_intent():
    # The intents check reads the JSON field as a claim: without a keyword set for an intent, it
    # cannot be decided and fails closed. Every intent the bundled suite expects has one.
    suite = load_suite(Path(__file__).resolve().parents[2] / "suites" / "multi-intent.yaml")
    checked = 0
    for case in suite.cases:
        keywords = case.metadata["intent_keywords"]
        for check in case.checks:
            if check.name == "intents":
                assert set(check.args["intents"]) <= set(keywords), case.id
                checked += 1
    assert checked == len(suite.cases) == 26


@pytest.mark.parametrize(
    ("name", "suite_id"),
    [("same.yaml", "same"), ("same.json", "same-json"), ("same.jsonl", "same-jsonl")],
)
def test_each_format_loads_the_same_suite(name, suite_id):
    suite = load_suite(GOOD / name)
    assert suite.id == suite_id and suite.version == "2" and suite.category == "happy_path"
    assert suite.response_schema == json.loads((GOOD / "schemas" / "answer.json").read_text())
    sphinx, multi = suite.cases
    assert [c.name for c in sphinx.checks] == ["contains", "json"]
    assert sphinx.checks[1].args == {"expected": {"category": "riddle"}}
    assert sphinx.messages == (
        {
            "role": "user",
            "content": "What walks on four legs in the morning? Which puzzle type is this?",
        },
    )
    assert sphinx.tags == ("demo", "classic") and sphinx.metadata == {"source": "ticket-1"}
    assert sphinx.latency_ms == 4000 and sphinx.repeats == 1 and sphinx.category == "happy_path"
    assert multi.category == "multi_intent" and multi.repeats == 3 and multi.latency_ms == 2000
    assert multi.input == "Is this a riddle or logic?" and multi.xfail == "known weak spot"
    assert multi.response_schema is suite.response_schema
    assert suite.categories == ("happy_path", "multi_intent")


def test_reduce_defaults_to_all_and_a_case_overrides_the_suite(tmp_path):
    path = tmp_path / "reduce.yaml"
    path.write_text(
        "id: reduce\ncases:\n  - {id: plain, input: hi, checks: [refusal]}\n",
        encoding="utf-8",
    )
    assert [c.reduce for c in load_suite(path).cases] == ["all"]
    path.write_text(
        "id: reduce\n"
        "defaults: {reduce: majority, repeats: 5}\n"
        "cases:\n"
        "  - {id: suite-wide, input: hi, checks: [refusal]}\n"
        "  - {id: pass-at-k, input: hi, reduce: any, checks: [refusal]}\n"
        "  - {id: share, input: hi, reduce: mean, checks: [refusal]}\n",
        encoding="utf-8",
    )
    cases = load_suite(path).cases
    assert [(c.id, c.reduce, c.repeats) for c in cases] == [
        ("suite-wide", "majority", 5),
        ("pass-at-k", "any", 5),
        ("share", "mean", 5),
    ]


@pytest.mark.parametrize(
    ("name", "line"), [("same.yaml", 12), ("same.json", 10), ("same.jsonl", 2)]
)
def test_cases_know_their_line(name, line):
    sphinx, multi = load_suite(GOOD / name).cases
    assert sphinx.line == line and multi.line > line and sphinx.path == GOOD / name


def test_checks_score_through_the_case():
    sphinx = load_suite(GOOD / "same.yaml").cases[0]
    results = [score_check(check, '{"category": "riddle"}', sphinx) for check in sphinx.checks]
    assert [r.passed for r in results] == [True, True]
    assert not score_check(sphinx.checks[1], '{"category": "logic"}', sphinx).passed


BROKEN_MESSAGES = {
    "yaml-syntax.yaml": "yaml-syntax.yaml:5: invalid YAML: did not find expected '-' indicator",
    "missing-id.yaml": "missing-id.yaml:1, field 'id': missing required field 'id'",
    "unknown-field.yaml": "unknown-field.yaml:7, case 'typo', field 'inptu': "
    "unknown field 'inptu' (did you mean 'input'?)",
    "unknown-top-field.yaml": "unknown-top-field.yaml:2, field 'descriptoin': "
    "unknown field 'descriptoin' (did you mean 'description'?)",
    "input-and-messages.yaml": "input-and-messages.yaml:3, case 'both-given': "
    "expected exactly one of 'input' or 'messages', found both",
    "no-input.yaml": "no-input.yaml:3, case 'empty-case': "
    "expected exactly one of 'input' or 'messages', found neither",
    "bad-latency.yaml": "bad-latency.yaml:5, case 'negative', field 'latency_ms': "
    "expected a number > 0, found a number -5",
    "bad-tags.yaml": "bad-tags.yaml:5, case 'tagged', field 'tags': "
    'expected a list, found text "prompt-injection"',
    "unknown-check.yaml": "unknown-check.yaml:6, case 'typo-check', field 'checks[0]': "
    "unknown check 'contians' (did you mean 'contains' or 'not_contains'?)",
    "bad-check-args.yaml": "bad-check-args.yaml:6, case 'wrong-argument', field 'checks[0]': "
    "unexpected argument(s) 'txt'; 'contains' accepts text, mode, "
    "case_sensitive",
    "duplicate-case.yaml": "duplicate-case.yaml:9, case 'same', field 'id': "
    "duplicate case id (first defined on line 5)",
    "bad-response-schema.yaml": "bad-response-schema.yaml:2, field 'response_schema': not a "
    "valid JSON Schema at type: 'objekt' is not valid under any of "
    "the given schemas",
    "missing-schema-file.yaml": "missing-schema-file.yaml:2, field 'response_schema': "
    "referenced file '{BROKEN}/schemas/nope.json' not found",
    "no-checks.yaml": "no-checks.yaml:3, case 'unchecked', field 'checks': expected at least one "
    "check (in the case or in defaults.checks), found none",
    "bad-case-id.yaml": "bad-case-id.yaml:3, case 'has space', field 'id': expected an id of "
    "letters, "
    "digits, '.', '_' and '-' (starting with a letter or digit), found "
    'text "has space"',
    "bad-category.yaml": "bad-category.yaml:2, field 'category': expected a snake_case name, "
    'found text "Happy Path"',
    "two-key-check.yaml": "two-key-check.yaml:6, case 'a', field 'checks[0]': expected a check "
    "name or a one-key mapping {name: arguments}, found a mapping "
    '{"contains": "hello", "regex": "h.*"}',
    "top-level-list.yaml": "top-level-list.yaml:1: expected a mapping with 'id' and 'cases', "
    'found a list [{"id": "a", "input": "hello"}]',
    "bad-repeats.yaml": "bad-repeats.yaml:3, field 'defaults.repeats': expected a number >= 1, "
    "found a number 0",
    "bad-reduce.yaml": "bad-reduce.yaml:7, case 'a', field 'reduce': expected one of \"all\", "
    '"majority", "any", "mean", found text "best-of"',
    "bad-role.yaml": "bad-role.yaml:5, case 'a', field 'messages[0].role': expected one of "
    '"system", "developer", "user", "assistant", "tool", found text "player"',
    "no-header.jsonl": "no-header.jsonl:1: expected the suite header (an object with 'id' and "
    'suite fields) on the first line, found a mapping {"id": '
    '"no-header-case", "input": "hello", "checks": [{"c...',
    "bad-line.jsonl": "bad-line.jsonl:3: invalid JSON: Expecting ',' delimiter",
    "bad.json": "bad.json:4: invalid JSON: Expecting ',' delimiter",
    "json-neither.json": "json-neither.json:5, case 'b': "
    "expected exactly one of 'input' or 'messages', found neither",
}


def test_every_broken_fixture_has_an_expected_message():
    assert sorted(p.name for p in BROKEN.iterdir()) == sorted(BROKEN_MESSAGES)


@pytest.mark.parametrize("name", sorted(BROKEN_MESSAGES))
def test_broken_suites_give_their_one_line_error(name):
    with pytest.raises(SuiteError) as info:
        load_suite(BROKEN / name)
    expected = f"{BROKEN}/" + BROKEN_MESSAGES[name].replace("{BROKEN}", str(BROKEN))
    assert str(info.value) == expected
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_error_classes_are_specific():
    with pytest.raises(UnknownCheckError):
        load_suite(BROKEN / "unknown-check.yaml")
    with pytest.raises(DuplicateCaseError):
        load_suite(BROKEN / "duplicate-case.yaml")


def test_error_attributes_name_where(tmp_path):
    with pytest.raises(SuiteError) as info:
        load_suite(BROKEN / "bad-latency.yaml")
    error = info.value
    assert (error.line, error.case_id, error.field) == (5, "negative", "latency_ms")


def test_duplicate_suite_ids_across_a_run_are_rejected(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder / "schemas").mkdir(parents=True)
        (tmp_path / folder / "s.yaml").write_text((GOOD / "same.yaml").read_text())
        (tmp_path / folder / "schemas" / "answer.json").write_text(
            (GOOD / "schemas" / "answer.json").read_text()
        )
    with pytest.raises(DuplicateCaseError, match="suite id 'same' is already used by"):
        load_suites([tmp_path])


def test_folders_skip_schemas_and_hidden_entries(tmp_path):
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "x.json").write_text("{}")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "y.yaml").write_text("id: y")
    (tmp_path / "answer.schema.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("not a suite")
    (tmp_path / "b.yaml").write_text("")
    (tmp_path / "a.jsonl").write_text("")
    assert discover_suite_files([tmp_path]) == [tmp_path / "a.jsonl", tmp_path / "b.yaml"]


def test_missing_paths_and_wrong_suffixes_are_named(tmp_path):
    with pytest.raises(SuiteError, match="nope: no such file or folder"):
        discover_suite_files([tmp_path / "nope"])
    (tmp_path / "suite.toml").write_text("")
    with pytest.raises(SuiteError, match=r"expected a \.yaml, \.yml, \.json or \.jsonl suite"):
        load_suite(tmp_path / "suite.toml")


def test_non_utf8_files_are_reported(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("id: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SuiteError, match="not UTF-8 text"):
        load_suite(path)


def test_inline_response_schema_is_accepted(tmp_path):
    path = tmp_path / "inline.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "id": "inline",
                "response_schema": {"type": "object"},
                "cases": [{"id": "a", "input": "hi", "checks": ["schema"]}],
            }
        )
    )
    assert load_suite(path).response_schema == {"type": "object"}


# --------------------------------------------------------------------------- property

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "input",
                    "messages",
                    "checks",
                    "cases",
                    "category",
                    "tags",
                    "latency_ms",
                    "repeats",
                    "defaults",
                    "response_schema",
                    "role",
                    "content",
                    "contains",
                    "json",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
case_like = st.fixed_dictionaries(
    {"id": st.text(max_size=6) | st.integers()},
    optional={
        "input": json_values,
        "messages": json_values,
        "checks": json_values,
        "tags": json_values,
        "latency_ms": json_values,
        "repeats": json_values,
        "category": json_values,
        "metadata": json_values,
        "tools": json_values,
        "xfail": json_values,
    },
)
documents = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "id": st.text(max_size=6) | json_values,
            "cases": st.lists(case_like, max_size=3) | json_values,
        },
        optional={
            "defaults": json_values,
            "response_schema": json_values,
            "category": json_values,
            "version": json_values,
        },
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents, suffix=st.sampled_from([".yaml", ".json", ".jsonl"]))
def test_malformed_documents_raise_only_arcanos_errors(document, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"suite{suffix}"
        if suffix == ".yaml":
            path.write_text(yaml.safe_dump(document))
        elif suffix == ".json":
            path.write_text(json.dumps(document))
        else:
            lines = (
                [json.dumps({k: v for k, v in document.items() if k != "cases"})]
                + [json.dumps(c) for c in document.get("cases") or []]
                if isinstance(document, dict) and isinstance(document.get("cases"), list)
                else [json.dumps(document)]
            )
            path.write_text("\n".join(lines))
        try:
            suite = load_suite(path)
        except ArcanosError as exc:
            assert str(exc).startswith(str(path))
        else:
            assert suite.cases is not None


# --------------------------------------------------------------------------- loading cost


@pytest.mark.parametrize(
    "path",
    [
        GOOD / "same.yaml",
        BROKEN / "yaml-syntax.yaml",
        BROKEN / "bad.json",
        BROKEN / "bad-line.jsonl",
    ],
    ids=lambda p: p.name,
)
def test_parsing_leaves_the_garbage_collector_as_it_found_it(path):
    before = gc.get_threshold()
    gc.set_threshold(500, 7, 9)
    try:
        with contextlib.suppress(SuiteError):
            load_suite(path)
        assert gc.get_threshold() == (500, 7, 9)
    finally:
        gc.set_threshold(*before)


def test_a_bare_check_name_repeated_across_cases_binds_alike(tmp_path):
    path = tmp_path / "bare.yaml"
    cases = [
        {"id": f"c{i}", "input": "hi", "checks": ["schema", "python"][: 1 + i]} for i in (0, 1)
    ]
    path.write_text(
        yaml.safe_dump({"id": "bare", "defaults": {"checks": ["schema"]}, "cases": cases})
    )
    with pytest.raises(SuiteError, match=r"bare\.yaml:\d+, case 'c1', field 'checks\[1\]'"):
        load_suite(path)
    cases[1]["checks"] = ["schema"]
    path.write_text(
        yaml.safe_dump({"id": "bare", "defaults": {"checks": ["schema"]}, "cases": cases})
    )
    first, second = load_suite(path).cases
    assert first.checks == second.checks and len(first.checks) == 2
    assert first.checks[1].args is not second.checks[1].args
