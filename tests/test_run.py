"""The run pipeline's plan of repeats: a seed per repeat, sent, recorded, replayed."""

from __future__ import annotations

import json
from dataclasses import replace

from arcanos_eval.run import execute_run, plan_calls
from arcanos_eval.runlog import read_run_log
from arcanos_eval.suite.loader import load_suites
from tests.conftest import write_suite

CASES = [{"id": "q", "input": "question number 1", "checks": [{"contains": "number 1"}]}]
TARGETS = {"base": {"params": {"seed": 41, "temperature": 1.0}}, "candidate": {}}


def test_repeat_zero_plans_the_request_of_a_single_answer(make_config, tmp_path):
    suites = load_suites([write_suite(tmp_path / "suites", "s", CASES)])
    config = make_config(None, targets=TARGETS)
    once = {(c.target, c.repeat): c.request for c in plan_calls(config, suites)}
    thrice = {
        (c.target, c.repeat): c.request for c in plan_calls(replace(config, repeats=3), suites)
    }
    assert once[("base", 0)] == thrice[("base", 0)]
    assert [thrice[("base", r)].params["seed"] for r in range(3)] == [41, 42, 43]
    assert len({thrice[("base", r)].fingerprint for r in range(3)}) == 3
    # A target without a seed asks the same thing each time; the repeat index tells them apart.
    assert len({thrice[("candidate", r)].fingerprint for r in range(3)}) == 1


def test_seeds_are_sent_logged_recorded_and_replayed(
    openai_server, make_config, tmp_path, test_key
):
    suites = load_suites([write_suite(tmp_path / "suites", "s", CASES, defaults={"repeats": 3})])
    config = make_config(openai_server.base_url, targets=TARGETS, mode="record")
    execute_run(config, suites, log_path=tmp_path / "record.jsonl", progress=False)

    sent = sorted(
        (r.model, (r.body or {}).get("seed"))
        for r in openai_server.requests
        if r.path.endswith("/chat/completions")
    )
    assert sent == [
        ("model-base", 41),
        ("model-base", 42),
        ("model-base", 43),
        ("model-candidate", None),
        ("model-candidate", None),
        ("model-candidate", None),
    ]
    logged = read_run_log(tmp_path / "record.jsonl").records()
    assert sorted((r.target, r.repeat, r.seed) for r in logged) == [
        ("base", 0, 41),
        ("base", 1, 42),
        ("base", 2, 43),
        ("candidate", 0, None),
        ("candidate", 1, None),
        ("candidate", 2, None),
    ]
    golden = [json.loads(line) for line in (tmp_path / "golden/s/base.jsonl").open()]
    assert [
        (g["repeat"], g["provenance"]["seed"], g["request"]["params"]["seed"]) for g in golden
    ] == [
        (0, 41, 41),
        (1, 42, 42),
        (2, 43, 43),
    ]

    # Each repeat replays its own recording: nothing is missing, nothing is called.
    calls = openai_server.total_requests
    replayed = execute_run(
        replace(config, mode="replay"), suites, log_path=tmp_path / "replay.jsonl", progress=False
    )
    assert openai_server.total_requests == calls
    assert replayed.stats.replayed == 6
    assert sorted((r.target, r.repeat, r.seed) for r in replayed.log.records()) == sorted(
        (r.target, r.repeat, r.seed) for r in logged
    )
