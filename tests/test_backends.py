"""Model-backed checks (judge, moderation) go through the engine: recorded, replayed, cached."""

from __future__ import annotations

import json

import pytest

from arcanos_eval.backends import check_model_targets, model_targets
from arcanos_eval.errors import ReplayMissingError, SuiteError
from arcanos_eval.golden import prune_golden, verify_golden
from arcanos_eval.run import execute_run
from arcanos_eval.runlog import read_run_log
from arcanos_eval.suite.loader import load_suites
from arcanos_eval.testing import ChatRequest, Reply, calibrated, calibration_reply
from tests.conftest import write_suite

CASES = [
    {
        "id": "raid-day",
        "input": "When does the raid start?",
        "checks": [{"judge": {"rubric": "Names a day", "target": "judge"}}],
    },
    {
        "id": "boss-tips",
        "input": "How do I kill the raid boss?",
        "checks": [{"moderation": {"target": "judge"}}],
    },
]


def _judge(request):  # type: ignore[no-untyped-def]
    if request.model != "model-judge":
        return Reply(text=f"Answer to: {request.prompt}")
    if "moderation classifier" in request.messages[0]["content"]:
        return Reply.json({"flagged": "kill" in request.prompt, "categories": ["violence"]})
    return Reply.json({"score": 1.0, "pass": True, "reason": "names a day"})


def _config(make_config, url, mode):  # type: ignore[no-untyped-def]
    return make_config(
        url,
        mode=mode,
        targets={
            "base": {},
            "candidate": {},
            "judge": {"scorer_only": True, "structured_outputs": "json_schema"},
        },
    )


def test_judge_and_moderation_answers_are_recorded_and_replayed(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(responder=calibrated(_judge))
    suites = load_suites([write_suite(tmp_path / "suites", "graded", CASES)])
    recorded = execute_run(
        _config(make_config, server.base_url, "record"),
        suites,
        log_path=tmp_path / "rec.jsonl",
        progress=False,
    )
    by_key = {k: r for k, r in recorded.log.results.items()}
    judge = by_key[("graded::raid-day", "candidate", 0)].scores[0]
    assert judge.check == "judge" and judge.passed, judge
    moderation = by_key[("graded::boss-tips", "base", 0)].scores[0]
    assert moderation.check == "moderation" and not moderation.passed
    assert {r.target for r in recorded.log.records()} == {"base", "candidate"}, (
        "a scorer_only target is consulted, not evaluated"
    )
    # 4 answers, 10 calibration items for each of the judge's two roles, and a question per
    # model-backed check (4), each a real request to the judge model; base and candidate answered
    # alike, so one of their twin questions may find the other's answer in the cache (3).
    judge_calls = [r for r in server.requests if r.model == "model-judge"]
    calibration_calls = [
        r
        for r in judge_calls
        if calibration_reply(ChatRequest("chat", r.model, r.body["messages"][-1]["content"]))
    ]
    assert len(calibration_calls) == 20
    assert len(judge_calls) - 20 in (3, 4) and server.total_requests == 4 + len(judge_calls)
    assert judge_calls[0].body["response_format"]["type"] == "json_schema"
    lines = (tmp_path / "golden" / "graded" / "judge.jsonl").read_text().splitlines()
    # Base and candidate gave the same answer, so the judge was asked the same two questions.
    assert len(lines) == 2
    assert all("~judge-" in json.loads(line)["case"] for line in lines)
    calibration = (tmp_path / "golden" / "_calibration" / "judge.jsonl").read_text().splitlines()
    assert len(calibration) == 20
    assert {r.status for r in recorded.log.calibration.values()} == {"calibrated"}
    # The run counts every record it wrote, the judge's too: 4 answers, 2 distinct questions and
    # the 20 calibration items.
    assert (recorded.stats.golden_from_live, recorded.stats.golden_from_cache) == (26, 0)

    server.stop()
    replayed = execute_run(
        _config(make_config, server.base_url, "replay"),
        suites,
        log_path=tmp_path / "rep.jsonl",
        progress=False,
    )
    assert {k: r.scores for k, r in replayed.log.results.items()} == {
        k: r.scores for k, r in recorded.log.results.items()
    }
    assert replayed.log.calibration == recorded.log.calibration


def test_missing_judge_recordings_are_one_replay_error_after_scoring(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(responder=_judge)
    suites = load_suites([write_suite(tmp_path / "suites", "graded", CASES[:1])])
    config = _config(make_config, server.base_url, "record")
    execute_run(config, suites, log_path=tmp_path / "rec.jsonl", progress=False)
    for path in (tmp_path / "golden" / "graded").glob("judge.jsonl"):
        path.unlink()
    with pytest.raises(ReplayMissingError) as info:
        execute_run(
            _config(make_config, server.base_url, "replay"),
            suites,
            log_path=tmp_path / "rep.jsonl",
            progress=False,
        )
    # One error after scoring names every unrecorded check call...
    assert str(info.value).startswith("1 check call(s) have no recording")
    assert "graded::raid-day~judge-" in str(info.value) and "--mode record" in str(info.value)
    # ...and the run log keeps the answers, the check failed with the same reason.
    records = read_run_log(tmp_path / "rep.jsonl").records()
    assert len(records) == 2
    for record in records:
        (score,) = record.scores
        assert not score.passed and "no recording" in score.reason


def test_judge_recordings_go_stale_when_no_check_consults_the_judge(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(responder=calibrated(_judge))
    config = _config(make_config, server.base_url, "record")
    suites = load_suites([write_suite(tmp_path / "suites", "graded", CASES)])
    execute_run(config, suites, log_path=tmp_path / "rec.jsonl", progress=False)
    judge_file = tmp_path / "golden" / "graded" / "judge.jsonl"
    assert verify_golden(config, suites) == []

    # The moderation check is dropped: its recording is stale, the judge's is still used.
    without_moderation = [CASES[0], {**CASES[1], "checks": [{"contains": "boss"}]}]
    suites = load_suites([write_suite(tmp_path / "suites", "graded", without_moderation)])
    # ...and so are the judge's moderation calibration questions; its judge ones are still used.
    problems = verify_golden(config, suites)
    assert [p.kind for p in problems] == ["stale"] * 11
    assert "boss-tips~judge-" in problems[-1].where
    assert all(
        "_calibration" in p.where and ("benign-" in p.where or "harmful-" in p.where)
        for p in problems[:10]
    )
    assert prune_golden(config, suites) == 11
    assert "raid-day~judge-" in judge_file.read_text()

    # boss-tips is gone (its two answers are stale) and no check consults the judge any more
    # (its last recording is stale): pruning leaves no empty file behind.
    suites = load_suites(
        [write_suite(tmp_path / "suites", "graded", [{**CASES[0], "checks": ["complies"]}])]
    )
    # The judge no longer grades: its judge calibration recordings went stale with its last check.
    calibration = tmp_path / "golden" / "_calibration" / "judge.jsonl"
    assert len(calibration.read_text().splitlines()) == 10
    assert prune_golden(config, suites) == 3 + 10
    assert not judge_file.exists() and not calibration.exists()
    assert verify_golden(config, suites) == []


@pytest.mark.parametrize(
    ("check", "field", "found"),
    [
        ({"judge": {"rubric": "Names a day", "target": "judeg"}}, "judge.target", "'judeg'"),
        ({"judge": "Names a day"}, "judge.target", "'judge'"),  # the default needs a target too
        ({"intents": {"intents": ["a"], "judge": "grader"}}, "intents.judge", "'grader'"),
        ({"similar": {"reference": "x", "embedder": "embedder"}}, "similar.embedder", "'embedder'"),
    ],
)
def test_a_check_consulting_an_unconfigured_target_fails_before_any_call(
    openai_server, make_config, tmp_path, test_key, check, field, found
):
    path = write_suite(
        tmp_path / "suites", "graded", [{"id": "c", "input": "q", "checks": [check]}]
    )
    suites = load_suites([path])
    config = make_config(openai_server.base_url, mode="live")
    with pytest.raises(SuiteError) as info:
        execute_run(config, suites, log_path=tmp_path / "run.jsonl", progress=False)
    message = str(info.value)
    assert message.startswith(f"{path}:") and f"case 'c', field '{field}'" in message
    assert f"unknown target {found}" in message and "configured targets: base, candidate" in message
    assert openai_server.total_requests == 0 and not (tmp_path / "run.jsonl").exists()


def test_the_lexical_embedder_and_a_configured_judge_need_no_other_target(make_config, tmp_path):
    cases = [
        {"id": "a", "input": "q", "checks": [{"similar": {"reference": "x"}}]},
        {"id": "c", "input": "q", "checks": [{"judge": "Names a day"}]},
    ]
    suites = load_suites([write_suite(tmp_path / "suites", "graded", cases)])
    check_model_targets(suites, ["base", "candidate", "judge"])
    assert model_targets(suites[0].cases[1], ["base", "judge"]) == {"judge"}
