"""The core records: each reads back from its stored form as itself, and so does a whole run log."""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcanos_eval.model import (
    CheckResult,
    FineTune,
    FineTuneCheckpoint,
    FineTuneEvent,
    FineTuneFile,
    Provenance,
    Request,
    Response,
    ResultRecord,
    Roles,
    RunFooter,
    RunHeader,
    Score,
    SuiteInfo,
    TargetInfo,
    ToolCall,
    Usage,
)
from arcanos_eval.runlog import RunLogWriter, read_run_log

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "report" / "fixtures"

_TEXT = st.text(max_size=12)
_NAMES = st.text("abcdefgh-_", min_size=1, max_size=8)
_JSON = st.recursive(
    # The run log is strict JSON: non-finite numbers are written as null (tests/test_runlog.py).
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_OBJECTS = st.dictionaries(_TEXT, _JSON, max_size=3)
# Keys no version of the header uses: what a newer writer might add.
_EXTRA = st.dictionaries(_NAMES.map(lambda k: f"x-{k}"), _JSON, max_size=2)
_MAYBE_TEXT = st.none() | _TEXT
_COUNTS = st.integers(0, 10**6)

USAGES = st.builds(Usage, prompt_tokens=_COUNTS, completion_tokens=_COUNTS, total_tokens=_COUNTS)
TOOL_CALLS = st.builds(ToolCall, name=_TEXT, arguments=_TEXT, id=_MAYBE_TEXT)
RESPONSES = st.builds(
    Response,
    text=_MAYBE_TEXT,
    tool_calls=st.lists(TOOL_CALLS, max_size=2).map(tuple),
    finish_reason=st.none() | st.sampled_from(["stop", "length", "tool_calls"]),
    usage=USAGES,
    latency_ms=st.none() | st.floats(0, 1e6),
    ttft_ms=st.none() | st.floats(0, 1e6),
    origin=st.sampled_from(["live", "replayed", "cached"]),
    model=_MAYBE_TEXT,
    error=_MAYBE_TEXT,
    error_type=_MAYBE_TEXT,
    attempts=st.integers(1, 9),
)
_MESSAGES = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["system", "user"]), "content": _TEXT}),
    max_size=3,
).map(tuple)
# As build_request makes them: a schema exactly when structured outputs are on.
REQUESTS = st.one_of(
    st.builds(
        Request,
        api=st.sampled_from(["chat", "responses"]),
        model=_TEXT,
        messages=_MESSAGES,
        params=_OBJECTS,
        tools=st.lists(_OBJECTS, max_size=2).map(tuple),
        schema_name=_NAMES,
    ),
    st.builds(
        Request,
        api=st.sampled_from(["chat", "responses"]),
        model=_TEXT,
        messages=_MESSAGES,
        params=_OBJECTS,
        response_schema=_OBJECTS,
        structured_outputs=st.sampled_from(["json_schema", "tool"]),
        schema_name=_NAMES,
    ),
)
SCORES = st.builds(
    Score, passed=st.booleans(), value=st.floats(0, 1), reason=_TEXT, details=_OBJECTS
)
CHECK_RESULTS = st.builds(CheckResult, check=_NAMES, args=_OBJECTS, score=SCORES)
RECORDS = st.builds(
    ResultRecord,
    suite_id=st.sampled_from(["s", "t"]),
    case_id=st.sampled_from(["a", "b", "c"]),
    target=st.sampled_from(["base", "candidate"]),
    repeat=st.integers(0, 2),
    category=_TEXT,
    fingerprint=_TEXT,
    response=RESPONSES,
    scores=st.lists(CHECK_RESULTS, max_size=3).map(tuple),
    tags=st.lists(_TEXT, max_size=2).map(tuple),
    xfail=st.none() | _TEXT.filter(bool),
)
TARGETS = st.builds(
    TargetInfo,
    model=_MAYBE_TEXT,
    api=_MAYBE_TEXT,
    endpoint=_MAYBE_TEXT,
    stream=st.booleans(),
    structured_outputs=_MAYBE_TEXT,
    params=_OBJECTS,
    prices=st.dictionaries(_NAMES, st.floats(0, 100)),
    description=_TEXT,
    system_prompt_source=_MAYBE_TEXT,
    system_prompt_sha256=_MAYBE_TEXT,
    extra=_EXTRA,
)
SUITES = st.builds(
    SuiteInfo,
    version=_MAYBE_TEXT,
    path=_MAYBE_TEXT,
    description=_TEXT,
    categories=st.lists(_NAMES, max_size=3).map(tuple),
    cases=st.none() | _COUNTS,
    response_schema=st.none() | _OBJECTS,
    schema_of_record=st.none() | _OBJECTS,
    case_inputs=st.dictionaries(_NAMES, _TEXT, max_size=3),
    extra=_EXTRA,
)
FOOTERS = st.builds(
    RunFooter,
    finished_at=_MAYBE_TEXT,
    stats=st.dictionaries(_NAMES, _COUNTS, max_size=3),
    workers=st.none() | st.integers(1, 64),
    extra=_EXTRA,
)
_FILES = st.builds(
    FineTuneFile,
    id=_TEXT,
    filename=_MAYBE_TEXT,
    bytes=st.none() | _COUNTS,
    sha256=st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
)
FINE_TUNES = st.builds(
    FineTune,
    source=st.sampled_from(["api", "golden", "record"]),
    target_model=_TEXT,
    problem=_MAYBE_TEXT,
    job_id=_MAYBE_TEXT,
    base_model=_MAYBE_TEXT,
    fine_tuned_model=_MAYBE_TEXT,
    status=st.none() | st.sampled_from(["succeeded", "failed", "running"]),
    error=_MAYBE_TEXT,
    training_file=st.none() | _FILES,
    validation_file=st.none() | _FILES,
    trained_tokens=st.none() | _COUNTS,
    hyperparameters=st.dictionaries(
        st.sampled_from(["n_epochs", "batch_size", "learning_rate_multiplier"]),
        st.integers(1, 9) | st.floats(0.01, 10) | st.just("auto"),
    ),
    method=st.none() | st.sampled_from(["supervised", "dpo"]),
    created_at=st.none() | _COUNTS,
    finished_at=st.none() | _COUNTS,
    checkpoints=st.lists(
        st.builds(
            FineTuneCheckpoint,
            step=st.none() | _COUNTS,
            model=_MAYBE_TEXT,
            metrics=st.dictionaries(_NAMES, st.floats(0, 10), max_size=3),
        ),
        max_size=2,
    ).map(tuple),
    events=st.lists(
        st.builds(
            FineTuneEvent,
            created_at=st.none() | _COUNTS,
            level=st.sampled_from(["info", "warn", "error"]),
            message=_TEXT,
        ),
        max_size=2,
    ).map(tuple),
    recorded_at=_MAYBE_TEXT,
    record=_MAYBE_TEXT,
    record_sha256=_MAYBE_TEXT,
    artifacts=st.dictionaries(_NAMES, _TEXT, max_size=2),
    extra=_EXTRA,
)
HEADERS = st.builds(
    RunHeader,
    run_id=_MAYBE_TEXT,
    started_at=_MAYBE_TEXT,
    mode=st.none() | st.sampled_from(["replay", "record", "live", "batch"]),
    concurrency=st.none() | st.integers(1, 64),
    roles=st.builds(
        Roles,
        baseline=_MAYBE_TEXT,
        candidate=_MAYBE_TEXT,
        rollback=_MAYBE_TEXT,
        rollback_model=_MAYBE_TEXT,
    ),
    targets=st.dictionaries(_NAMES, TARGETS, max_size=3),
    suites=st.dictionaries(_NAMES, SUITES, max_size=2),
    gates=_OBJECTS,
    planned=st.none() | _COUNTS,
    provenance=st.builds(
        Provenance,
        arcanos_eval=_MAYBE_TEXT,
        sdk=_MAYBE_TEXT,
        python=_MAYBE_TEXT,
        platform=_MAYBE_TEXT,
        git_commit=_MAYBE_TEXT,
        extra=_EXTRA,
    ),
    exclude_paths=st.none() | st.lists(_TEXT, max_size=2).map(tuple),
    footer=st.none() | FOOTERS,
    fine_tunes=st.dictionaries(_NAMES, FINE_TUNES, max_size=2),
    extra=_EXTRA,
)


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        (Usage, USAGES),
        (ToolCall, TOOL_CALLS),
        (Response, RESPONSES),
        (Score, SCORES),
        (CheckResult, CHECK_RESULTS),
        (ResultRecord, RECORDS),
        (RunFooter, FOOTERS),
        (FineTune, FINE_TUNES),
        (RunHeader, HEADERS),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_each_record_reads_back_from_its_stored_form_as_itself(kind, values):  # type: ignore[no-untyped-def]
    @settings(max_examples=80, deadline=None)
    @given(values)
    def round_trip(value: Any) -> None:
        # Through JSON text too: the stored form is what a file holds.
        stored = json.loads(json.dumps(value.to_dict()))
        assert kind.from_dict(stored) == value

    round_trip()


@settings(max_examples=80, deadline=None)
@given(REQUESTS)
def test_a_request_reads_back_from_its_stored_form_with_the_same_fingerprint(request_):  # type: ignore[no-untyped-def]
    stored = json.loads(json.dumps(request_.to_dict()))
    again = Request.from_dict(stored, schema_name=request_.schema_name)
    assert again == request_ and again.fingerprint == request_.fingerprint


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=HEADERS.map(lambda h: replace(h, footer=None)),
    records=st.lists(RECORDS, max_size=6, unique_by=lambda r: r.key),
    footer=FOOTERS,
)
def test_a_run_log_reads_back_as_the_typed_records_written(tmp_path, header, records, footer):  # type: ignore[no-untyped-def]
    path = tmp_path / "run.jsonl"
    with RunLogWriter.create(path, header) as writer:
        for record in records:
            writer.append(record)
        writer.footer({k: v for k, v in footer.to_dict().items() if k != "type"})
    log = read_run_log(path)
    # Written at the lowest version that holds it: 2 only with what version 1 did not record.
    version = 2 if header.fine_tunes or header.roles.rollback_model is not None else 1
    assert log.header == replace(header, schema_version=version, footer=footer)
    assert log.records() == records


def test_a_log_of_schema_version_1_still_reads(tmp_path):
    log = read_run_log(FIXTURES / "release.jsonl")
    assert log.header.schema_version == 1 and log.header.fine_tunes == {}
    assert log.header.roles.rollback_model is None and log.records()
    # Rewritten (as a merge or a resumed run does), it stays at version 1.
    with RunLogWriter.create(tmp_path / "again.jsonl", log.header):
        pass
    again = json.loads((tmp_path / "again.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert again["schema_version"] == 1 and "fine_tunes" not in again


@pytest.mark.parametrize("name", ["release.jsonl", "degraded.jsonl", "release_next.jsonl"])
def test_a_stored_header_is_written_back_with_the_same_keys_and_values(name):  # type: ignore[no-untyped-def]
    line = json.loads((FIXTURES / name).read_text(encoding="utf-8").splitlines()[0])
    assert RunHeader.from_dict(line).to_dict() == line


def test_keys_a_header_does_not_know_are_kept_and_missing_ones_have_defaults():
    header = RunHeader.from_dict(
        {
            "type": "header",
            "schema_version": 1,
            "run_id": "r",
            "config_digest": "abc",
            "targets": {"base": {"model": "m", "region": "eu"}},
        }
    )
    assert header.extra == {"config_digest": "abc"}
    assert header.target("base").model == "m" and header.target("base").extra == {"region": "eu"}
    assert (header.baseline, header.candidate, header.rollback) == ("base", "candidate", None)
    assert header.target("ghost") == TargetInfo() and header.suite("ghost") == SuiteInfo()
    written = header.to_dict()
    assert written["config_digest"] == "abc" and written["targets"]["base"]["region"] == "eu"


def _record(*results: tuple[str, bool, dict[str, Any]]) -> ResultRecord:
    scores = tuple(CheckResult(name, {}, Score(ok, details=d)) for name, ok, d in results)
    return ResultRecord("s", "c", "candidate", 0, "happy_path", "fp", Response("x"), scores)


def test_a_record_says_whether_a_check_failed_and_none_when_it_did_not_run():
    record = _record(("schema", True, {}), ("schema", False, {}), ("contains", True, {}))
    assert record.failed("schema") is True
    assert record.failed("contains") is False
    assert record.failed("refusal") is None
    assert not record.passed and _record(("contains", True, {})).passed


def test_a_moderation_verdict_is_read_from_the_score_not_from_its_pass():
    assert Score(True, details={"flagged": False}).flagged is False
    assert Score(False, details={"flagged": None}).flagged is None
    assert Score(False, details={"flagged": "yes"}).flagged is None
    # Flagged although the check passed (a category filter left nothing), and the reverse.
    assert _record(("moderation", True, {"flagged": True})).flagged() is True
    assert _record(("moderation", False, {"flagged": False})).flagged() is False
    # A check that gave no verdict counts by its pass.
    assert _record(("moderation", False, {"flagged": None})).flagged() is True
    assert _record(("moderation", True, {})).flagged() is False
    assert _record(("contains", True, {})).flagged() is None


def _package_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "arcanos_eval"}


def test_the_model_imports_nothing_but_itself_and_leaf_modules():
    allowed = {"arcanos_eval.errors", "arcanos_eval._jsonl"}
    for path in sorted((ROOT / "arcanos_eval" / "model").glob("*.py")):
        outside = {
            m for m in _package_imports(path) if not m.startswith("arcanos_eval.model")
        } - allowed
        assert not outside, f"{path.name} imports {sorted(outside)}"


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("runlog.py", "arcanos_eval.targets"),
        ("stats.py", "arcanos_eval.runlog"),
        ("suite/loader.py", "arcanos_eval.suite.model"),
        ("scorers/_registry.py", "arcanos_eval.suite"),
    ],
)
def test_records_are_read_from_the_model_not_from_the_steps_that_write_them(module, forbidden):
    imports = _package_imports(ROOT / "arcanos_eval" / module)
    assert not {m for m in imports if m.startswith(forbidden)}
