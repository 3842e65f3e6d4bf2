"""Run logs: reading, torn lines, resume after SIGKILL with no duplicate and no lost result."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcanos_eval._jsonl import HASH_KEY, dump_line
from arcanos_eval.errors import RunLogError
from arcanos_eval.model import (
    SCHEMA_VERSION,
    CalibrationAnswer,
    CalibrationRecord,
    CheckResult,
    Response,
    ResultRecord,
    RunHeader,
    Score,
    SuiteInfo,
    ToolCall,
    Usage,
)
from arcanos_eval.run import execute_run
from arcanos_eval.runlog import RunLogWriter, merge_run_logs, read_run_log
from arcanos_eval.suite.loader import load_suites
from tests.conftest import KEY_ENV, TEST_KEY, simple_cases, write_suite


def _record(case: str, target: str = "base", text: str = "ok") -> ResultRecord:
    return ResultRecord(
        suite_id="s",
        case_id=case,
        target=target,
        repeat=0,
        category="happy_path",
        fingerprint="f",
        response=Response.from_text(text),
        scores=(CheckResult("contains", {}, Score(True, 1.0)),),
    )


def test_a_torn_last_line_is_skipped_and_cut_before_appending(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunLogWriter.create(path, RunHeader(run_id="r1")) as writer:
        writer.append(_record("a"))
    with path.open("a") as handle:
        handle.write('{"type": "result", "suite": "s", "ca')
    log = read_run_log(path)
    assert list(log.results) == [("s::a", "base", 0)] and log.torn_lines == 1
    writer, _ = RunLogWriter.open_for_resume(path)
    with writer:
        writer.append(_record("b"))
    assert [json.loads(line)["type"] for line in path.read_text().splitlines()] == [
        "header",
        "result",
        "result",
    ]


def test_a_later_record_replaces_an_earlier_one(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunLogWriter.create(path, RunHeader(run_id="r1")) as writer:
        writer.append(replace(_record("a"), response=Response.failed("boom", "http_500")))
        writer.append(_record("a", text="second"))
    (record,) = read_run_log(path).records()
    assert record.response.text == "second" and not record.errored


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty run log"),
        ('{"type": "result"}\n', "expected a run log header"),
        ('{"type": "header", "schema_version": 99}\n', "schema_version 99 is not supported"),
        (
            f'{{"type": "header", "schema_version": {SCHEMA_VERSION}}}\nnot json\n{{}}\n',
            "corrupt line in run log",
        ),
        (
            f'{{"type": "header", "schema_version": {SCHEMA_VERSION}}}\n{{"type": "result"}}\n',
            "malformed result record",
        ),
    ],
)
def test_unreadable_logs_raise_run_log_errors(tmp_path, content, message):
    path = tmp_path / "run.jsonl"
    path.write_text(content)
    with pytest.raises(RunLogError, match=message):
        read_run_log(path)


def test_missing_log_is_named(tmp_path):
    with pytest.raises(RunLogError, match="run log not found"):
        read_run_log(tmp_path / "nope.jsonl")


_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    import arcanos_eval.scorers
    from arcanos_eval.config import RunConfig
    from arcanos_eval.run import execute_run
    from arcanos_eval.suite.loader import load_suites
    from tests.conftest import target

    base_url, suite, log, root = sys.argv[1:5]
    config = RunConfig(root=Path(root), golden=Path(root) / "golden", cache=None, mode="live",
                       concurrency=2, targets={n: target(n, base_url) for n in ("base", "candidate")})
    execute_run(config, load_suites([suite]), log_path=Path(log), progress=False)
""")


def test_resume_after_sigkill_finishes_with_no_duplicate(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(latency_s=0.1)
    suite = write_suite(tmp_path / "suites", "kill", simple_cases(20))
    log = tmp_path / "run.jsonl"
    env = {**os.environ, KEY_ENV: TEST_KEY}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, server.base_url, str(suite), str(log), str(tmp_path)],
        cwd=Path(__file__).parent.parent,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if log.exists() and log.read_text().count('"type":"result"') >= 6:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    before = read_run_log(log)
    assert 6 <= len(before.results) < 40, "the child must be killed mid-run"
    assert before.header.footer is None
    requests_before = server.total_requests

    config = make_config(server.base_url, mode="live", concurrency=2, resume=log)
    outcome = execute_run(config, load_suites([suite]), progress=False)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    keys = Counter((r["case"], r["target"], r["repeat"]) for r in lines if r["type"] == "result")
    assert len(keys) == 40 and max(keys.values()) == 1
    assert len(outcome.log.results) == 40
    # Only what the log lacked was called (in-flight calls at the kill are called again).
    assert server.total_requests - requests_before == 40 - len(before.results)


def test_resume_refuses_a_log_of_other_targets(openai_server, make_config, tmp_path, test_key):
    suites = load_suites([write_suite(tmp_path, "s", simple_cases(1))])
    log = tmp_path / "run.jsonl"
    execute_run(
        make_config(openai_server.base_url, mode="live"), suites, log_path=log, progress=False
    )
    other = make_config(
        openai_server.base_url,
        mode="live",
        resume=log,
        targets={"base": {"model": "other"}, "candidate": {}},
    )
    with pytest.raises(RunLogError, match="its targets differ"):
        execute_run(other, suites, progress=False)


def test_resume_retries_errored_calls(openai_server_factory, make_config, tmp_path, test_key):
    from arcanos_eval.testing import Fault

    server = openai_server_factory(faults={1: Fault.http_status(400, "no")})
    suites = load_suites([write_suite(tmp_path, "s", simple_cases(2))])
    log = tmp_path / "run.jsonl"
    first = execute_run(
        make_config(server.base_url, mode="live", targets={"base": {}}),
        suites,
        log_path=log,
        progress=False,
    )
    assert sum(r.errored for r in first.log.records()) == 1
    second = execute_run(
        make_config(server.base_url, mode="live", targets={"base": {}}, resume=log),
        suites,
        progress=False,
    )
    assert not any(r.errored for r in second.log.records())
    assert len(second.log.records()) == 2


def _log(path: Path, header: dict, records: list[ResultRecord]):  # type: ignore[no-untyped-def]
    with RunLogWriter.create(path, RunHeader.from_dict(header)) as writer:
        for record in records:
            writer.append(record)
    return read_run_log(path)


def test_merging_keeps_every_result_once_and_answers_over_errored_attempts(tmp_path):
    header = {"run_id": "r1", "targets": {"base": {}}, "suites": {"s": {}}, "planned": 2}
    failed = replace(_record("b"), response=Response.failed("boom", "http_500"))
    # Two workers resumed the same log: each holds its copy of b; one of them answered it again.
    first = _log(tmp_path / "w0.jsonl", header, [_record("a"), _record("b", text="again")])
    second = _log(tmp_path / "w1.jsonl", header, [failed, _record("c")])
    merged = merge_run_logs([first, second], tmp_path / "run.jsonl", footer={"workers": 2})
    assert [r.case_id for r in merged.records()] == ["a", "b", "c"]
    assert merged.results[("s::b", "base", 0)].response.text == "again"
    assert merged.header.planned == 3 and merged.run_id == "r1"
    assert merged.header.footer is not None and merged.header.footer.workers == 2
    # Merging into one of the sources replaces it whole.
    again = merge_run_logs([merged, second], tmp_path / "run.jsonl")
    assert len(again.records()) == 3


def test_merging_refuses_logs_of_different_runs(tmp_path):
    one = _log(tmp_path / "a.jsonl", {"targets": {"base": {}}, "suites": {"s": {}}}, [])
    two = _log(tmp_path / "b.jsonl", {"targets": {"other": {}}, "suites": {"s": {}}}, [])
    with pytest.raises(RunLogError, match="cannot merge: its targets differ"):
        merge_run_logs([one, two], tmp_path / "run.jsonl")
    with pytest.raises(RunLogError, match="nothing to merge"):
        merge_run_logs([], tmp_path / "run.jsonl")


# --------------------------------------------------------------------------- the writer's own copy

_TEXT = st.text(max_size=20)
_JSON = st.recursive(
    # Non-finite numbers do not read back as themselves: the log is strict JSON (test below).
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_RESPONSES = st.builds(
    Response,
    text=st.none() | _TEXT,
    tool_calls=st.lists(
        st.builds(ToolCall, name=_TEXT, arguments=_TEXT, id=st.none() | _TEXT), max_size=2
    ).map(tuple),
    finish_reason=st.none() | st.sampled_from(["stop", "length", "tool_calls"]),
    usage=st.builds(
        Usage,
        prompt_tokens=st.integers(0, 10**6),
        completion_tokens=st.integers(0, 10**6),
        total_tokens=st.integers(0, 10**6),
    ),
    latency_ms=st.none() | st.floats(0, 1e6),
    ttft_ms=st.none() | st.floats(0, 1e6),
    origin=st.sampled_from(["live", "replayed", "cached", "batched"]),
    model=st.none() | _TEXT,
    error=st.none() | _TEXT,
    error_type=st.none() | _TEXT,
    attempts=st.integers(1, 9),
)
_RECORDS = st.builds(
    ResultRecord,
    suite_id=st.sampled_from(["s", "t"]),
    case_id=st.sampled_from(["a", "b", "c"]),
    target=st.sampled_from(["base", "candidate"]),
    repeat=st.integers(0, 2),
    category=_TEXT,
    fingerprint=_TEXT,
    response=_RESPONSES,
    scores=st.lists(
        st.builds(
            CheckResult,
            check=_TEXT,
            args=st.dictionaries(_TEXT, _JSON, max_size=2),
            score=st.builds(
                Score,
                passed=st.booleans(),
                value=st.floats(0, 1),
                reason=_TEXT,
                details=st.dictionaries(_TEXT, _JSON, max_size=3),
            ),
        ),
        max_size=3,
    ).map(tuple),
    tags=st.lists(_TEXT, max_size=2).map(tuple),
    xfail=st.none() | _TEXT.filter(bool),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(_RECORDS, max_size=8), batch=st.dictionaries(_TEXT, _JSON, max_size=2))
def test_the_writer_keeps_what_reading_the_file_gives(tmp_path, records, batch):
    path = tmp_path / "run.jsonl"
    header = RunHeader(run_id="r", suites={"s": SuiteInfo(cases=3)})
    with RunLogWriter.create(path, header) as writer:
        for record in records:
            writer.append(record)
        writer.batch(batch)
        writer.footer({"stats": {"live": len(records)}})
        kept = writer.log
    read = read_run_log(path)
    assert kept is not None
    assert (kept.header, kept.results, kept.batches) == (read.header, read.results, read.batches)
    assert list(kept.results) == list(read.results)  # the same order too


@pytest.mark.parametrize("odd", [math.nan, math.inf, -math.inf])
def test_the_log_is_strict_json_and_a_non_finite_number_reads_back_as_null(tmp_path, odd):
    path = tmp_path / "run.jsonl"
    record = replace(
        _record("a"), scores=(CheckResult("x", {}, Score(False, odd, details={"d": [odd]})),)
    )
    with RunLogWriter.create(path, RunHeader(run_id="r")) as writer:
        writer.append(record)
        writer.batch({"event": "created", "cost": odd})
        assert writer.log is None  # what was written does not read back as itself
    strict = json.JSONDecoder(parse_constant=lambda token: pytest.fail(f"bare {token} in the log"))
    for line in path.read_text(encoding="utf-8").splitlines():
        strict.decode(line)
    log = read_run_log(path)  # still sealed: the hash covers the line as written
    score = log.results[record.key].scores[0].score
    assert (score.value, score.details) == (0.0, {"d": [None]})
    assert log.batches[0]["cost"] is None


def test_a_record_that_would_not_read_back_as_itself_sends_the_report_to_the_file(tmp_path):
    path = tmp_path / "run.jsonl"
    odd = replace(
        _record("a"), scores=(CheckResult("x", {}, Score(False, details={"found": ("a", "b")})),)
    )
    with RunLogWriter.create(path, RunHeader(run_id="r")) as writer:
        writer.append(_record("b"))
        assert writer.log is not None
        writer.append(odd)  # a tuple reads back as a list
        assert writer.log is None
    assert read_run_log(path).results[odd.key].scores[0].score.details == {"found": ["a", "b"]}


def test_resuming_keeps_the_earlier_results_and_the_new_ones(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunLogWriter.create(path, RunHeader(run_id="r")) as writer:
        writer.append(_record("a", text="first"))
        writer.append(_record("b"))
    with path.open("a") as handle:
        handle.write('{"type": "result", "suite"')  # a torn last line
    writer, previous = RunLogWriter.open_for_resume(path)
    with writer:
        writer.append(_record("a", text="again"))
        kept = writer.log
    assert len(previous.results) == 2 and previous.torn_lines == 1
    read = read_run_log(path)
    assert kept is not None and kept.results == read.results and kept.torn_lines == 0
    assert kept.results[("s::a", "base", 0)].response.text == "again"


def test_a_run_log_shows_itself_in_one_short_line(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunLogWriter.create(path, RunHeader(run_id="r-1")) as writer:
        for i in range(500):
            writer.append(_record(f"case-{i}"))
    log = read_run_log(path)
    assert repr(log) == f"RunLog(path={str(path)!r}, run_id='r-1', results=500, batches=0)"


# --------------------------------------------------------------------------- tamper evidence

FIXTURE = Path(__file__).parent / "report" / "fixtures" / "release.jsonl"


def _edit_result(path: Path, index: int, change: Callable[[dict[str, Any]], object]) -> int:
    """Edit the ``index``-th result line in place, its hash kept; returns its line number."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    numbers = [n for n, line in enumerate(lines) if '"type":"result"' in line]
    record = json.loads(lines[numbers[index]])
    change(record)
    lines[numbers[index]] = dump_line(record)
    path.write_text("".join(lines), encoding="utf-8")
    return numbers[index] + 1


def test_every_result_is_written_sealed(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunLogWriter.create(path, RunHeader(run_id="r1")) as writer:
        writer.append(_record("a"))
        writer.footer({"finished_at": "now"})
    header, result, footer = path.read_text().splitlines()
    assert HASH_KEY not in header and HASH_KEY not in footer
    assert result.endswith(f',"{HASH_KEY}":"{json.loads(result)[HASH_KEY]}"}}')
    assert read_run_log(path).records() == [_record("a")]


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["response"].__setitem__("text", "a better answer"),
        lambda r: r["response"].__setitem__("latency_ms", 1.0),
        lambda r: r["response"]["usage"].__setitem__("completion_tokens", 1),
        lambda r: r.__setitem__("fingerprint", "another request"),
        lambda r: r["scores"][0].__setitem__("passed", not r["scores"][0]["passed"]),
    ],
    ids=["answer", "latency", "usage", "fingerprint", "score"],
)
def test_an_edited_result_is_named_with_its_line(tmp_path, change):
    path = tmp_path / "run.jsonl"
    path.write_bytes(FIXTURE.read_bytes())
    number = _edit_result(path, 3, change)
    with pytest.raises(RunLogError) as info:
        read_run_log(path)
    assert str(info.value).startswith(
        f"{path}:{number}: result was edited after the run (content hash mismatch), case "
    )


def test_a_result_rewritten_in_another_key_order_is_intact(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_bytes(FIXTURE.read_bytes())
    _edit_result(path, 3, lambda r: None)  # sorted keys: the hash is no longer last
    assert read_run_log(path).records() == read_run_log(FIXTURE).records()


def test_a_log_written_before_results_were_sealed_still_reads(tmp_path):
    from arcanos_eval.report import evaluate, render_markdown

    path = tmp_path / FIXTURE.name  # the report names its log
    text = re.sub(r',"sha256":"[0-9a-f]{64}"\}$', "}", FIXTURE.read_text(), flags=re.M)
    assert f'"{HASH_KEY}":"' not in text
    path.write_text(text, encoding="utf-8")
    old, sealed = read_run_log(path), read_run_log(FIXTURE)
    assert old.records() == sealed.records()
    assert render_markdown(evaluate(old)) == render_markdown(evaluate(sealed))


def test_report_on_an_edited_log_fails_with_one_line(tmp_path, capsys):
    from arcanos_eval.cli import main

    path = tmp_path / "run.jsonl"
    path.write_bytes(FIXTURE.read_bytes())
    number = _edit_result(path, 0, lambda r: r["response"].__setitem__("latency_ms", 1.0))
    assert main(["report", str(path), "-o", str(tmp_path / "report.md")]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"arcanos-eval: error: {path}:{number}: result was edited")
    assert len(captured.err.strip().splitlines()) == 1
    assert not (tmp_path / "report.md").exists()


# ------------------------------------------------------------------------------ calibration lines


def _calibration(status: str = "failed") -> CalibrationRecord:
    answers = tuple(CalibrationAnswer(f"i{i}", i < 5, True) for i in range(10))
    return CalibrationRecord("judge", "moderation", status, answers, 0.8, 0.0)  # type: ignore[arg-type]


def test_a_calibration_is_sealed_read_back_and_kept_by_the_writer(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunLogWriter.create(path, RunHeader(run_id="r1")) as writer:
        writer.append_calibration(_calibration())
        writer.append(_record("a"))
        kept = writer.log
    line = json.loads(path.read_text().splitlines()[1])
    assert line["type"] == "calibration" and HASH_KEY in line
    log = read_run_log(path)
    assert log.calibration == {("judge", "moderation"): _calibration()}
    assert kept is not None and kept.calibration == log.calibration


def test_an_edited_or_unsealed_calibration_is_refused_with_its_line(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunLogWriter.create(path, RunHeader(run_id="r1")) as writer:
        writer.append_calibration(_calibration())
        writer.append(_record("a"))
    lines = path.read_text().splitlines(keepends=True)
    # A grader that failed calibration, edited into one that passed it.
    path.write_text(
        lines[0] + lines[1].replace('"status":"failed"', '"status":"calibrated"') + lines[2]
    )
    with pytest.raises(RunLogError, match=r"run.jsonl:2: calibration was edited after the run"):
        read_run_log(path)
    unsealed = json.loads(lines[1])
    del unsealed[HASH_KEY]
    path.write_text(lines[0] + dump_line(unsealed) + lines[2])
    with pytest.raises(RunLogError, match=r"run.jsonl:2: calibration has no content hash"):
        read_run_log(path)


def test_merging_keeps_a_graders_calibration_over_an_attempt_that_could_not_ask_it(tmp_path):
    logs = []
    for name, status in (("w1", "failed"), ("w2", "uncalibrated"), ("w3", "uncalibrated")):
        path = tmp_path / f"{name}.jsonl"
        with RunLogWriter.create(path, RunHeader(run_id="r1")) as writer:
            writer.append_calibration(_calibration(status))
            writer.append(_record(name))
        logs.append(read_run_log(path))
    merged = merge_run_logs(logs, tmp_path / "merged.jsonl")
    assert [r.status for r in merged.calibration.values()] == ["failed"]
    only_uncalibrated = merge_run_logs(logs[1:], tmp_path / "other.jsonl")
    assert [r.status for r in only_uncalibrated.calibration.values()] == ["uncalibrated"]
