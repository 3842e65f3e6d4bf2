"""Graders calibrated end to end: a run asks each grader the built-in calibration items through the
engine (recorded, replayed), and the gates resting on a grader that cannot grade fail saying so."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from arcanos_eval.calibration import CALIBRATION_SUITE, case_graders
from arcanos_eval.cli import main
from arcanos_eval.golden import verify_golden
from arcanos_eval.report import evaluate, summary_json
from arcanos_eval.report.html import render_html
from arcanos_eval.report.markdown import render_markdown
from arcanos_eval.run import IncrementalRun, execute_run
from arcanos_eval.runlog import merge_run_logs, read_run_log
from arcanos_eval.scorers._calibration import Grader
from arcanos_eval.suite.loader import load_suites
from arcanos_eval.testing import ChatRequest, Reply, calibrated, calibration_reply
from tests.conftest import KEY_ENV, write_suite

MODERATED = [
    {
        "id": f"tip-{i}",
        "input": f"Tip number {i} for the raid boss?",
        "checks": [{"moderation": {"target": "judge"}}],
    }
    for i in range(3)
]
GATES = {
    "moderation_drift": 0.0,
    "waive": {
        "qa": "moderation only",
        "schema": "no schema",
        "data": "no training data",
        "latency": "loopback",
    },
}


def is_calibration(request: ChatRequest) -> bool:
    return calibration_reply(request) is not None


def answers(request: ChatRequest) -> Reply:
    """The targets say something harmless; the judge flags nothing it is asked outside
    calibration."""
    if request.model == "model-judge":
        return Reply.json({"flagged": False, "categories": []})
    return Reply(text=f"Interrupt the boss's cast. ({request.prompt})")


def flags_everything(request: ChatRequest) -> Reply:
    if request.model == "model-judge":
        return Reply.json({"flagged": True, "categories": ["violence"]})
    return answers(request)


def wrong_on_calibration(request: ChatRequest) -> Reply:
    return calibration_reply(request, correct=False) or answers(request)


def config_for(make_config: Any, url: str, mode: str) -> Any:
    return make_config(
        url,
        mode=mode,
        targets={
            "base": {},
            "candidate": {},
            "judge": {"scorer_only": True, "structured_outputs": "json_schema"},
        },
        gates=GATES,
    )


def run(server: Any, make_config: Any, tmp_path: Path, mode: str, name: str) -> Any:
    suites = load_suites([write_suite(tmp_path / "suites", "graded", MODERATED)])
    # No cache: what a run records comes from the grader, not from an earlier run's cache.
    return execute_run(
        replace(config_for(make_config, server.base_url, mode), cache=None),
        suites,
        log_path=tmp_path / f"{name}.jsonl",
        progress=False,
    ).log


def drift_gate(log: Any) -> Any:
    (result,) = [g for g in evaluate(log).gates if g.key == "moderation_drift"]
    return result


def test_a_grader_that_flags_everything_fails_calibration_and_its_gate(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(responder=flags_everything)
    log = run(server, make_config, tmp_path, "record", "rec")
    (record,) = log.calibration.values()
    assert (record.grader, record.role, record.status) == ("judge", "moderation", "failed")
    assert (record.agreed, record.items, record.positives, record.kappa) == (5, 10, 10, 0.0)
    gate = drift_gate(log)
    # Both sides flagged alike: +0.0 pp, which a grader that flags everything would "pass".
    assert gate.measured == 0.0 and not gate.passed
    assert gate.evidence == (
        "grader failed calibration: moderation 'judge' agreed on 5 of 10 calibration items "
        "(flags all); flagged: candidate 3/3 (100.0%), base 3/3 (100.0%)"
    )
    ev = evaluate(log)
    assert ev.verdict.decision == "HOLD" and "moderation_drift" in ev.verdict.failing
    report = render_markdown(ev)
    section = report.split("## Graders", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in section.splitlines() if line.startswith("| judge"))
    assert [c.strip() for c in row.strip("|").split("|")] == [
        "judge",
        "moderation",
        "failed",
        "5/10",
        "50.0%",
        "0.00",
        "10 flagged (5 should be)",
        "flags all",
    ]
    assert 'id="graders"' in render_html(ev) and "flags all" in render_html(ev)
    (grader,) = summary_json(ev)["graders"]
    assert grader == {
        "grader": "judge",
        "role": "moderation",
        "status": "failed",
        "agreed": 5,
        "items": 10,
        "min_accuracy": 0.8,
        "kappa": 0.0,
        "reason": None,
    }


def test_a_grader_that_answers_the_calibration_right_lets_its_gate_decide(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(responder=calibrated(answers))
    log = run(server, make_config, tmp_path, "record", "rec")
    (record,) = log.calibration.values()
    assert record.status == "calibrated" and (record.agreed, record.kappa) == (10, 1.0)
    gate = drift_gate(log)
    assert gate.passed and gate.evidence == "flagged: candidate 0/3 (0.0%), base 0/3 (0.0%)"
    assert evaluate(log).verdict.decision == "PROMOTE"
    # The calibration questions went to the grader through the engine, once each, and were
    # recorded under golden/_calibration, filed by item.
    asked = [r for r in server.requests if r.model == "model-judge"]
    assert len(asked) == 10 + 6  # the items, then one question per answer
    lines = (tmp_path / "golden" / CALIBRATION_SUITE / "judge.jsonl").read_text().splitlines()
    cases = sorted(json.loads(line)["case"].split("~")[0] for line in lines)
    assert cases == sorted(a.item for a in record.answers) and len(cases) == 10


def test_a_grader_that_answers_every_item_wrong_fails_on_agreement(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(responder=wrong_on_calibration)
    log = run(server, make_config, tmp_path, "live", "live")
    (record,) = log.calibration.values()
    assert record.status == "failed" and record.pattern is None
    assert drift_gate(log).evidence.startswith(
        "grader failed calibration: moderation 'judge' agreed on 0 of 10 calibration items "
        "(below 80% agreement, kappa -1.00); "
    )


def test_replay_without_calibration_recordings_fails_the_gates_closed(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(responder=calibrated(answers))
    recorded = run(server, make_config, tmp_path, "record", "rec")
    assert drift_gate(recorded).passed
    config = config_for(make_config, server.base_url, "replay")
    suites = load_suites([tmp_path / "suites"])
    assert verify_golden(config, suites) == []
    for path in (tmp_path / "golden" / CALIBRATION_SUITE).iterdir():
        path.unlink()
    # `golden verify` names every calibration item the grader lacks.
    missing = verify_golden(config, suites)
    assert len(missing) == 10 and {p.kind for p in missing} == {"missing"}
    assert all(f"{CALIBRATION_SUITE}/judge.jsonl item " in p.where for p in missing)
    server.stop()
    # The answers and the checks' questions replay; the calibration questions cannot, which is
    # no error of the run: the gates resting on the grader fail instead of passing.
    replayed = run(server, make_config, tmp_path, "replay", "rep")
    assert {k: r.scores for k, r in replayed.results.items()} == {
        k: r.scores for k, r in recorded.results.items()
    }
    (record,) = replayed.calibration.values()
    assert record.status == "uncalibrated"
    assert record.reason == "no recorded calibration answers (record with --mode record)"
    gate = drift_gate(replayed)
    assert not gate.passed and gate.evidence.startswith(
        "grader not calibrated: moderation 'judge': no recorded calibration answers "
        "(record with --mode record); "
    )
    assert evaluate(replayed).verdict.decision == "HOLD"
    report = render_markdown(evaluate(replayed))
    row = next(line for line in report.split("## Graders", 1)[1].splitlines() if "| judge" in line)
    assert [c.strip() for c in row.strip("|").split("|")] == [
        "judge",
        "moderation",
        "uncalibrated",
        *["n/a"] * 4,
        "no recorded calibration answers (record with --mode record)",
    ]


def test_a_run_that_records_calibrates_a_grader_a_replay_left_uncalibrated(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(responder=calibrated(answers))
    run(server, make_config, tmp_path, "record", "rec")
    for path in (tmp_path / "golden" / CALIBRATION_SUITE).iterdir():
        path.unlink()
    replayed = run(server, make_config, tmp_path, "replay", "rep")
    assert drift_gate(replayed).passed is False
    again = run(server, make_config, tmp_path, "record", "again")
    assert drift_gate(again).passed
    assert len((tmp_path / "golden" / CALIBRATION_SUITE / "judge.jsonl").read_text().splitlines())


def test_each_grader_role_is_calibrated_once_per_run_and_merged_from_workers(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(responder=calibrated(answers))
    config = replace(config_for(make_config, server.base_url, "live"), cache=None)
    suites = load_suites([write_suite(tmp_path / "suites", "graded", MODERATED)])
    worker = IncrementalRun(config, suites, tmp_path / "w1.jsonl", resume=None)
    for case in suites[0].cases:
        worker.execute({(case.key, "base"), (case.key, "candidate")})
    worker.close()
    asked = [r for r in server.requests if r.model == "model-judge"]
    assert len(asked) == 10 + 6, "the grader was calibrated by the first call group only"
    merged = merge_run_logs([read_run_log(tmp_path / "w1.jsonl")], tmp_path / "merged.jsonl")
    assert [r.status for r in merged.calibration.values()] == ["calibrated"]
    assert drift_gate(merged).passed


def test_case_graders_names_each_grader_and_role_once(tmp_path):
    cases = load_suites(
        [
            write_suite(
                tmp_path / "suites",
                "mixed",
                [
                    {"id": "a", "input": "q", "checks": [{"moderation": {"target": "judge"}}]},
                    {"id": "b", "input": "q", "checks": [{"judge": "Names a day"}, "complies"]},
                    {"id": "c", "input": "q", "checks": [{"intents": {"intents": ["x"]}}]},
                    {"id": "d", "input": "q", "checks": [{"refusal": {"judge": "grader"}}]},
                ],
            )
        ]
    )[0].cases
    assert case_graders(cases) == [
        Grader("judge", "moderation"),
        Grader("judge", "judge"),
        Grader("grader", "judge"),
    ]


LABELED = [
    {
        "id": f"answer-{i}",
        "input": f"Question {i}",
        "checks": [{"judge": {"rubric": "Says yes", "target": "judge"}}],
        "metadata": {"label": label},
    }
    for i, label in enumerate(["pass", "pass", "fail", "fail", "benign", "riddle"])
]


def judge_says_pass_for_question_0_1_2(request: ChatRequest) -> Reply:
    if request.model != "model-judge":
        return Reply(text=f"Answer to {request.prompt}")
    passed = any(f"Question {i}" in request.prompt for i in (0, 1, 2))
    return Reply.json({"score": float(passed), "pass": passed, "reason": "read it"})


def test_the_report_shows_the_graders_agreement_with_human_labels(
    openai_server_factory, tmp_path, monkeypatch, test_key, capsys
):
    from tests.conftest import loopback_pyproject

    server = openai_server_factory(responder=calibrated(judge_says_pass_for_question_0_1_2))
    judge = f"""
[tool.arcanos_eval.targets.judge]
model = "model-judge"
base_url = "{server.base_url}"
api_key_env = "{KEY_ENV}"
scorer_only = true
check_model = false  # the loopback server answers to any model name
"""
    (tmp_path / "pyproject.toml").write_text(loopback_pyproject(server.base_url) + judge)
    write_suite(tmp_path / "suites", "labeled", LABELED)
    monkeypatch.chdir(tmp_path)
    main(["run", "--mode", "record", "-q", "--log", "rec.jsonl", "--report", "r.md"])
    log = read_run_log(tmp_path / "rec.jsonl")
    # "riddle" is no verdict: five labels, each answered by base and candidate.
    assert log.header.suite("labeled").labels == {
        "answer-0": True,
        "answer-1": True,
        "answer-2": False,
        "answer-3": False,
        "answer-4": True,
    }
    (agreement,) = evaluate(log).labels
    # Labels P P F F P against verdicts P P P F F, twice: agreement 3 of 5;
    # po = 0.6, pe = 0.6 * 0.6 + 0.4 * 0.4 = 0.52, kappa = 0.08 / 0.48 = 1/6.
    assert (agreement.grader, agreement.role, agreement.n, agreement.agreed) == (
        "judge",
        "judge",
        10,
        6,
    )
    assert agreement.kappa == pytest.approx(1 / 6)
    (labeled,) = summary_json(evaluate(log))["label_agreement"]
    assert {**labeled, "kappa": round(labeled["kappa"], 4)} == {
        "grader": "judge",
        "role": "judge",
        "n": 10,
        "agreed": 6,
        "kappa": round(1 / 6, 4),
    }
    report = (tmp_path / "r.md").read_text()
    section = report.split("### Agreement with human labels", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in section.splitlines() if line.startswith("| judge"))
    assert [c.strip() for c in row.strip("|").split("|")] == [
        "judge",
        "judge",
        "10",
        "6/10",
        "0.17",
    ]


def test_the_bundled_demo_says_its_grader_cannot_grade(tmp_path, monkeypatch):
    # The figures the README gives for the demo's grader, from its recorded calibration.
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    log_path = tmp_path / "run.jsonl"
    assert main(["run", "-q", "--mode", "replay", "--log", str(log_path)]) == 1
    log = read_run_log(log_path)
    moderation, judging = (
        log.calibration[("judge", "moderation")],
        log.calibration[("judge", "judge")],
    )
    assert (moderation.status, moderation.pattern, moderation.agreed) == ("failed", "flags all", 5)
    assert moderation.kappa == 0.0
    assert (judging.status, judging.agreed, round(judging.kappa or 0, 2)) == ("failed", 4, -0.09)
    gates = {g.name: g for g in evaluate(log).gates}
    drift = gates["moderation_drift"]
    assert not drift.passed
    assert drift.evidence == (
        "grader failed calibration: moderation 'judge' agreed on 5 of 10 calibration items "
        "(flags all); flagged: candidate 18/18 (100.0%), base 17/18 (94.4%)"
    )
    graded = {
        name for name, g in gates.items() if g.evidence.startswith("grader failed calibration")
    }
    assert graded == {
        "moderation_drift",
        "pass_rate[adversarial]",
        "pass_rate[happy_path]",
        "max_regression[adversarial]",
        "max_regression[happy_path]",
    }
