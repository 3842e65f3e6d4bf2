"""Batch mode end to end: the real SDK against the loopback server's files and batches endpoints."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from arcanos_eval.cli import build_parser, main
from arcanos_eval.config import BatchConfig, RunConfig, load_config
from arcanos_eval.errors import ConfigError
from arcanos_eval.options import overrides_from
from arcanos_eval.report.evaluation import evaluate
from arcanos_eval.report.markdown import render_markdown
from arcanos_eval.run import RunOutcome, execute_run, plan_calls
from arcanos_eval.runlog import read_run_log
from arcanos_eval.suite.loader import load_suites
from arcanos_eval.targets.openai import OpenAITarget
from arcanos_eval.testing import Fault, OpenAIServer, Reply
from tests.conftest import KEY_ENV, TEST_KEY, simple_cases, write_suite

pytest_plugins = ["pytester"]

FAST = BatchConfig(poll_interval_s=0.01)


def _suites(tmp_path: Path, cases: list[dict[str, Any]] | None = None) -> list[Any]:
    suite = write_suite(tmp_path / "suites", "demo", cases or simple_cases(4))
    return load_suites([suite])


def _run(config: RunConfig, suites: list[Any], tmp_path: Path, name: str = "run") -> RunOutcome:
    return execute_run(config, suites, log_path=tmp_path / f"{name}.jsonl", progress=False)


def _batch_lines(log: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [line for line in lines if line["type"] == "batch"]


def _posted_batches(server: OpenAIServer) -> int:
    return sum(r.method == "POST" and r.path == "/v1/batches" for r in server.requests)


def test_a_completed_batch_scores_like_live_mode(openai_server, make_config, tmp_path, test_key):
    suites = _suites(tmp_path)
    live = _run(make_config(openai_server.base_url, mode="live"), suites, tmp_path, "live")
    assert openai_server.path_counts["/v1/chat/completions"] == 8
    batch = _run(
        make_config(openai_server.base_url, mode="batch", batch=FAST), suites, tmp_path, "batch"
    )
    assert openai_server.path_counts["/v1/chat/completions"] == 8, "no live call in batch mode"
    assert openai_server.batches_created == 2, "one batch per target"

    def answers(outcome: RunOutcome) -> dict[Any, Any]:
        return {
            key: (r.response.text, r.response.usage, [s.passed for s in r.scores])
            for key, r in outcome.log.results.items()
        }

    assert answers(batch) == answers(live)
    assert all(r.response.latency_ms is None for r in batch.log.records())
    assert batch.stats.batched == 8 and batch.stats.live == 0 and batch.stats.errored == 0
    assert batch.log.header.mode == "batch"
    events = [(b["event"], b["target"]) for b in batch.log.batches]
    assert sorted(events) == sorted(
        [("created", t) for t in ("base", "candidate")]
        + [("finished", t) for t in ("base", "candidate")]
    )
    created = next(b for b in batch.log.batches if b["event"] == "created")
    fingerprint = batch.log.records()[0].fingerprint
    assert f"base/{fingerprint}/0" in created["requests"]


def test_responses_targets_batch_on_the_responses_endpoint(
    openai_server, make_config, tmp_path, test_key
):
    targets = {"base": {"api": "responses"}, "candidate": {"api": "responses"}}
    config = make_config(openai_server.base_url, mode="batch", batch=FAST, targets=targets)
    outcome = _run(config, _suites(tmp_path), tmp_path)
    assert all(r.passed for r in outcome.log.records()) and len(outcome.log.records()) == 8
    assert {b.endpoint for b in openai_server.batch_desk.batches.values()} == {"/v1/responses"}


def test_the_cache_then_golden_answer_before_any_batch(
    openai_server, make_config, tmp_path, test_key
):
    suites = _suites(tmp_path)
    config = make_config(openai_server.base_url, mode="batch", batch=FAST)
    _run(config, suites, tmp_path, "first")
    again = _run(config, suites, tmp_path, "again")
    assert openai_server.batches_created == 2, "the second run is answered by the cache"
    assert again.stats.cached == 8
    assert not (tmp_path / "golden").exists(), "batch mode records nothing into golden"

    uncached = replace(make_config(openai_server.base_url, mode="record"), cache=None)
    _run(uncached, suites, tmp_path, "rec")
    replayed = _run(replace(config, cache=None), suites, tmp_path, "replayed")
    assert openai_server.batches_created == 2
    assert replayed.stats.replayed == 8


def test_identical_requests_are_one_batch_line(openai_server, make_config, tmp_path, test_key):
    cases = [{"id": f"same-{i}", "input": "raid time?", "checks": ["complies"]} for i in range(3)]
    config = make_config(openai_server.base_url, mode="batch", batch=FAST)
    outcome = _run(config, _suites(tmp_path, cases), tmp_path)
    assert [len(b.lines) for b in openai_server.batch_desk.batches.values()] == [1, 1]
    assert len(outcome.log.records()) == 6 and outcome.stats.deduplicated == 4
    assert len({r.response.text for r in outcome.log.records()}) == 1


def test_a_failed_batch_errors_its_cases_and_a_resume_retries_them(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(batch_outcomes={1: "failed"})  # the first batch: base's
    suites = _suites(tmp_path)
    log = tmp_path / "run.jsonl"
    config = make_config(server.base_url, mode="batch", batch=FAST)
    first = execute_run(config, suites, log_path=log, progress=False)
    records = first.log.records()
    assert len(records) == 8, "nothing lost"
    failed = [r for r in records if r.errored]
    assert {r.target for r in failed} == {"base"} and len(failed) == 4
    assert failed[0].response.error_type == "batch_failed"
    assert "batch batch_000001 failed" in str(failed[0].response.error)
    assert "batch_failed: the batch failed (scripted)" in str(failed[0].response.error)
    assert first.stats.errored == 4
    finished = [b for b in first.log.batches if b["event"] == "finished"]
    assert {b["status"] for b in finished} == {"failed", "completed"}

    resumed = execute_run(
        make_config(server.base_url, mode="batch", batch=FAST, resume=log), suites, progress=False
    )
    assert server.batches_created == 3, "only the failed requests go in a new batch"
    assert not any(r.errored for r in resumed.log.records())
    assert len(resumed.log.records()) == 8


def test_an_expired_batch_keeps_what_finished_and_errors_the_rest(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(batch_outcomes={1: "expired", 2: "expired"})
    outcome = _run(
        make_config(server.base_url, mode="batch", batch=FAST), _suites(tmp_path), tmp_path
    )
    records = outcome.log.records()
    assert len(records) == 8
    errored = [r for r in records if r.errored]
    assert len(errored) == 4 and all(r.response.error_type == "batch_expired" for r in errored)
    assert "completion window expired" in str(errored[0].response.error)
    assert all(r.passed for r in records if not r.errored)


def test_a_cancelled_batch_errors_what_it_did_not_run(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(batch_outcomes={2: "cancelled"})
    outcome = _run(
        make_config(server.base_url, mode="batch", batch=FAST), _suites(tmp_path), tmp_path
    )
    errored = [r for r in outcome.log.records() if r.errored]
    assert {r.target for r in errored} == {"candidate"} and len(errored) == 2
    assert all(r.response.error_type == "batch_cancelled" for r in errored)


_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    import arcanos_eval.scorers
    from arcanos_eval.config import BatchConfig, RunConfig
    from arcanos_eval.run import execute_run
    from arcanos_eval.suite.loader import load_suites
    from tests.conftest import target

    base_url, suite, log, root = sys.argv[1:5]
    config = RunConfig(root=Path(root), golden=Path(root) / "golden", cache=None, mode="batch",
                       batch=BatchConfig(poll_interval_s=0.01),
                       targets={n: target(n, base_url) for n in ("base", "candidate")})
    execute_run(config, load_suites([suite]), log_path=Path(log), progress=False)
""")


def test_a_killed_run_resumes_its_batches_without_paying_twice(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(batch_polls=10**9)  # the batches stay in progress
    suite = write_suite(tmp_path / "suites", "kill", simple_cases(3))
    log = tmp_path / "run.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, server.base_url, str(suite), str(log), str(tmp_path)],
        cwd=Path(__file__).parent.parent,
        env={**os.environ, KEY_ENV: TEST_KEY},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if log.exists() and log.read_text().count('"event":"created"') == 2:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    stored = {b["batch_id"] for b in read_run_log(log).batches}
    assert len(stored) == 2 and _posted_batches(server) == 2
    assert not read_run_log(log).results, "killed while the batches were running"

    server.batch_polls = 0  # the batches finish at their next read
    config = make_config(server.base_url, mode="batch", batch=FAST, resume=log)
    outcome = execute_run(config, load_suites([suite]), progress=False)
    assert _posted_batches(server) == 2, "the stored batches were followed, not created again"
    assert len(outcome.log.records()) == 6 and not any(r.errored for r in outcome.log.records())
    finished = {b["batch_id"] for b in outcome.log.batches if b["event"] == "finished"}
    assert finished == stored


def test_a_batch_lost_to_the_network_is_collected_on_resume(
    openai_server_factory, make_config, tmp_path, test_key
):
    # Requests 1-2 upload and create base's batch, 3-4 candidate's; 5 is the first read.
    server = openai_server_factory(faults={5: Fault.http_status(400, "unreadable")})
    suites = _suites(tmp_path, simple_cases(2))
    log = tmp_path / "run.jsonl"
    first = execute_run(
        make_config(server.base_url, mode="batch", batch=FAST), suites, log_path=log, progress=False
    )
    lost = [r for r in first.log.records() if r.errored]
    assert len(lost) == 2 and "resume the run with --resume" in str(lost[0].response.error)
    resumed = execute_run(
        make_config(server.base_url, mode="batch", batch=FAST, resume=log), suites, progress=False
    )
    assert server.batches_created == 2
    assert len(resumed.log.records()) == 4 and not any(r.errored for r in resumed.log.records())


def test_a_job_over_the_request_limit_is_split(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(batch_max_requests=2)
    config = make_config(server.base_url, mode="batch", batch=BatchConfig(2, poll_interval_s=0.01))
    outcome = _run(config, _suites(tmp_path, simple_cases(5)), tmp_path)
    assert [len(b.lines) for b in server.batch_desk.batches.values()] == [2, 2, 1, 2, 2, 1]
    assert len(outcome.log.records()) == 10 and all(r.passed for r in outcome.log.records())


def test_a_job_over_the_size_limit_is_split_and_an_oversized_request_errored(
    openai_server_factory, make_config, tmp_path, test_key
):
    suites = _suites(tmp_path, simple_cases(3))
    probe = make_config(None, targets={"base": {}})
    call = plan_calls(probe, suites)[0]
    endpoint, body = OpenAITarget(probe.targets["base"]).batch_line(call.request)
    line = {"custom_id": "base/" + "0" * 32 + "/0", "method": "POST", "url": endpoint, "body": body}
    size = len(json.dumps(line, separators=(",", ":"))) + 1
    server = openai_server_factory(batch_max_bytes=size * 3 // 2)
    limits = BatchConfig(max_bytes=size * 3 // 2, poll_interval_s=0.01)
    config = make_config(server.base_url, mode="batch", batch=limits, targets={"base": {}})
    outcome = _run(config, suites, tmp_path)
    assert [len(b.lines) for b in server.batch_desk.batches.values()] == [1, 1, 1]
    assert all(r.passed for r in outcome.log.records())

    tiny = BatchConfig(max_bytes=size // 2, poll_interval_s=0.01)
    config = replace(config, batch=tiny, cache=None)
    refused = _run(config, suites, tmp_path, "tiny")
    assert server.batches_created == 3, "no batch for requests larger than a batch file"
    assert all(r.response.error_type == "batch_too_large" for r in refused.log.records())
    assert "exceeds the batch file limit" in str(refused.log.records()[0].response.error)


def test_latency_gates_are_not_measurable_in_batch_mode(
    openai_server, make_config, tmp_path, test_key
):
    gates = {
        "pass_rate": {"all": 0.5},
        "min_cases": 1,
        "latency_p95_ms": 2500,
        "latency_p95_ratio": 1.1,
    }
    config = make_config(openai_server.base_url, mode="batch", batch=FAST, gates=gates)
    outcome = _run(config, _suites(tmp_path), tmp_path)
    evaluation = evaluate(outcome.log)
    by_key = {g.key: g for g in evaluation.gates}
    assert by_key["pass_rate"].passed
    for key in ("latency_p95_ms", "latency_p95_ratio"):
        assert not by_key[key].passed and by_key[key].measured is None
        assert by_key[key].evidence.startswith("not measurable in batch mode")
    latency = next(i for i in evaluation.checklist if i.invariant == "latency")
    assert latency.status == "fail" and "not measurable in batch mode" in latency.evidence
    assert evaluation.verdict.decision == "HOLD"
    assert "not measurable in batch mode" in render_markdown(evaluation)


def test_no_written_file_holds_the_api_key(openai_server_factory, make_config, tmp_path, test_key):
    server = openai_server_factory(api_key=TEST_KEY)
    outcome = _run(
        make_config(server.base_url, mode="batch", batch=FAST), _suites(tmp_path), tmp_path
    )
    assert not any(r.errored for r in outcome.log.records())
    assert server.requests and all(r.authorization for r in server.requests)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "run.jsonl" for p in written)
    for path in written:
        assert TEST_KEY not in path.read_text(encoding="utf-8", errors="replace"), path


def test_batch_is_a_mode_a_flag_and_a_config_table(tmp_path):
    assert load_config(start=tmp_path, batch=True).mode == "batch"
    assert load_config(start=tmp_path, mode="batch").mode == "batch"
    assert load_config(start=tmp_path, batch=False).mode == "auto"
    with pytest.raises(ConfigError, match="choose one"):
        load_config(start=tmp_path, batch=True, mode="live")
    args = build_parser().parse_args(["run", "--batch"])
    assert overrides_from(vars(args))["batch"] is True
    assert "batch" not in overrides_from(vars(build_parser().parse_args(["run"])))

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.arcanos_eval]\nmode = "batch"\n'
        "[tool.arcanos_eval.batch]\nmax_requests = 10\nmax_bytes = 4096\npoll_interval_s = 5\n"
    )
    config = load_config(pyproject)
    assert config.mode == "batch"
    assert config.batch == BatchConfig(max_requests=10, max_bytes=4096, poll_interval_s=5.0)
    pyproject.write_text("[tool.arcanos_eval.batch]\nmax_request = 10\n")
    with pytest.raises(ConfigError, match=r"\[tool.arcanos_eval.batch\] field 'max_request'"):
        load_config(pyproject)


PYPROJECT = """
[tool.arcanos_eval]
cache = false

[tool.arcanos_eval.batch]
poll_interval_s = 0.01

[tool.arcanos_eval.targets.base]
model = "model-base"
base_url = "{url}"
check_model = false  # the loopback server answers to any model name
api_key_env = "{env}"

[tool.arcanos_eval.targets.candidate]
model = "model-candidate"
base_url = "{url}"
check_model = false  # the loopback server answers to any model name
api_key_env = "{env}"
"""


def test_the_pytest_plugin_runs_a_suite_through_batches(pytester, openai_server, test_key):
    gates = (
        "\n[tool.arcanos_eval.gates]\npass_rate = { all = 1.0 }\nmin_cases = 1\n"
        'waive = { schema = "no response schema", data = "loopback targets", '
        'latency = "batch answers carry no latency" }\n'
    )
    pyproject = PYPROJECT.format(url=openai_server.base_url, env=KEY_ENV) + gates
    pytester.makefile(".toml", pyproject=pyproject)
    suite = {"id": "demo", "version": 1, "category": "happy_path", "cases": simple_cases(2)}
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "demo.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))
    help_text = pytester.runpytest("--help")
    help_text.stdout.fnmatch_lines(["*--arcanos-batch*Batch API*"])
    result = pytester.runpytest(
        "--arcanos-suite", "suites", "--arcanos-batch", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=7)  # 2 cases x 2 targets, 2 comparisons, 1 gate
    assert openai_server.batches_created == 2
    assert "/v1/chat/completions" not in openai_server.path_counts
    counts = Counter(r.path for r in openai_server.requests if r.method == "POST")
    assert counts == {"/v1/files": 2, "/v1/batches": 2}


def test_the_cli_runs_through_batches_and_reports_latency_as_not_measurable(
    tmp_path, openai_server, monkeypatch, test_key, capsys
):
    gates = (
        "\n[tool.arcanos_eval.gates]\npass_rate = { all = 0.5 }\nmin_cases = 1\n"
        "latency_p95_ms = 2500\n"
        'waive = { schema = "no response schema", data = "loopback targets" }\n'
    )
    config = PYPROJECT.format(url=openai_server.base_url, env=KEY_ENV) + gates
    (tmp_path / "pyproject.toml").write_text(config.replace("cache = false", 'suites = ["suites"]'))
    write_suite(tmp_path / "suites", "demo", simple_cases(3))
    monkeypatch.chdir(tmp_path)
    status = main(["run", "--batch", "--log", "run.jsonl", "--report", "report.md"])
    assert status == 1, "HOLD: latency was not measured"
    assert openai_server.batches_created == 2
    err = capsys.readouterr().err
    assert "arcanos: created batch batch_000001 (base, 3 requests)" in err
    assert "arcanos: batch batch_000002 (candidate): completed, 3/3 done, 0 failed" in err
    report = (tmp_path / "report.md").read_text()
    assert "not measurable in batch mode" in report
    assert "1 of 2 gate(s) failed: **latency_p95_ms**. Action:" in report


def test_the_readme_batch_settings_are_the_defaults(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if ".batch]" in b]
    (tmp_path / "pyproject.toml").write_text(block)
    assert load_config(tmp_path / "pyproject.toml").batch == BatchConfig()


def test_file_and_batch_calls_are_retried_like_model_calls(
    openai_server_factory, make_config, tmp_path, test_key
):
    # 1: the upload gets a 503, 2: its retry works, 3: the batch creation gets a 429.
    faults = {1: Fault.unavailable(retry_after_s=0.01), 3: Fault.rate_limit(retry_after_s=0.01)}
    server = openai_server_factory(faults=faults)
    config = make_config(server.base_url, mode="batch", batch=FAST, targets={"base": {}})
    outcome = _run(config, _suites(tmp_path), tmp_path)
    assert outcome.stats.retries == 2 and server.batches_created == 1
    assert all(r.passed for r in outcome.log.records())


def test_a_refused_submission_errors_its_cases(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(faults={2: Fault.http_status(400, "quota exceeded")})
    config = make_config(server.base_url, mode="batch", batch=FAST, targets={"base": {}})
    outcome = _run(config, _suites(tmp_path), tmp_path)
    records = outcome.log.records()
    assert len(records) == 4 and all(
        r.response.error_type == "batch_not_submitted" for r in records
    )
    assert "quota exceeded" in str(records[0].response.error)
    assert not outcome.log.batches, "no batch was created, none is stored"


def test_a_failed_line_is_an_errored_answer_and_the_others_stand(
    openai_server, make_config, tmp_path, test_key
):
    openai_server.replies["question number 1"] = Reply.failing(Fault.http_status(400, "bad line"))
    config = make_config(openai_server.base_url, mode="batch", batch=FAST, targets={"base": {}})
    outcome = _run(config, _suites(tmp_path), tmp_path)
    errored = [r for r in outcome.log.records() if r.errored]
    assert [r.case_id for r in errored] == ["case-1"]
    assert errored[0].response.error_type == "http_400"
    assert errored[0].response.error == "http_400: bad line"
    assert sum(r.passed for r in outcome.log.records()) == 3
