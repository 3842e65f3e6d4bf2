"""Pairwise checks end to end: the candidate's answer against the base's, judged by a scripted judge
on the loopback server once both are in; recorded, replayed, resumed, gated and reported."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from arcanos_eval.backends import check_model_targets, model_targets
from arcanos_eval.cli import main
from arcanos_eval.errors import (
    ArgumentError,
    GateConfigError,
    ReplayMissingError,
    RunLogError,
    SuiteError,
)
from arcanos_eval.gates import parse_gates
from arcanos_eval.model import JudgedOrder, PairwiseRecord, PairwiseTally
from arcanos_eval.report import evaluate
from arcanos_eval.report.markdown import render_markdown
from arcanos_eval.run import IncrementalRun, execute_run
from arcanos_eval.runlog import merge_run_logs, read_run_log
from arcanos_eval.suite.loader import load_suites
from arcanos_eval.testing import ChatRequest, Fault, Reply, calibrated, calibration_reply
from tests.conftest import KEY_ENV, write_suite

RUBRIC = "Names the day"
PLAIN = {"id": "raid-day", "input": "When does the raid start?", "checks": ["complies"]}
CASES = [
    {
        "id": "raid-day",
        "input": "When does the raid start?",
        "checks": ["complies", {"pairwise": {"rubric": RUBRIC, "target": "judge"}}],
    },
    {
        "id": "reset-day",
        "input": "When do dailies reset?",
        "checks": [{"pairwise": RUBRIC}],  # the judge target by default
    },
    {"id": "boss", "input": "Who is the raid boss?", "checks": [{"pairwise": RUBRIC}]},
]
# What each target answers, by question: the candidate names the raid's day, the base the reset's.
ANSWERS = {
    ("model-base", "When does the raid start?"): "Soon.",
    ("model-candidate", "When does the raid start?"): "Friday at 20:00.",
    ("model-base", "When do dailies reset?"): "Friday at 04:00.",
    ("model-candidate", "When do dailies reset?"): "Later.",
}


def shown(request: ChatRequest) -> tuple[str, str]:
    return split_answers(request.prompt)


def split_answers(prompt: str) -> tuple[str, str]:
    first, second = prompt.split("Answer 1:\n", 1)[1].split("\n\nAnswer 2:\n", 1)
    return first, second


def prompt_of(recorded: Any) -> str:
    return str(recorded.body["messages"][-1]["content"])


def prefers_friday(request: ChatRequest) -> Reply:
    """A fair judge: prefers the answer naming Friday, whichever position it is shown in."""
    first, second = shown(request)
    if ("Friday" in first) != ("Friday" in second):
        winner = "1" if "Friday" in first else "2"
        return Reply.json({"winner": winner, "reason": f"only answer {winner} names the day"})
    return Reply.json({"winner": "tie", "reason": "equivalent"})


def first_wins(request: ChatRequest) -> Reply:
    """A judge with pure position bias."""
    return Reply.json({"winner": "1", "reason": "the first one reads better"})


def responder_with(judge: Any) -> Any:
    """The targets' scripted answers, and ``judge`` as the judge (which passes calibration)."""

    def respond(request: ChatRequest) -> Reply:
        if request.model == "model-judge":
            return judge(request)  # type: ignore[no-any-return]
        return Reply(text=ANSWERS.get((request.model, request.prompt), "Vorkath."))

    return calibrated(respond)


def config_for(make_config: Any, url: str, mode: str, **fields: Any) -> Any:
    return make_config(
        url,
        mode=mode,
        targets={
            "base": {},
            "candidate": {},
            "judge": {"scorer_only": True, "structured_outputs": "json_schema"},
        },
        **fields,
    )


def outcomes(compared: Any) -> dict[tuple[str, int], str]:
    return {(p.case_key, p.repeat): p.outcome for p in compared}


def judge_requests(server: Any) -> list[Any]:
    """The judge's pairwise questions (its calibration questions left out)."""
    return [
        r
        for r in server.requests
        if r.model == "model-judge"
        and calibration_reply(ChatRequest("chat", r.model, prompt_of(r))) is None
    ]


@pytest.fixture
def suites(tmp_path: Path) -> Any:
    return load_suites([write_suite(tmp_path / "suites", "events", CASES)])


def test_pairs_are_judged_in_both_orders_recorded_and_replayed_offline(
    openai_server_factory, make_config, tmp_path, test_key, suites
):
    server = openai_server_factory(responder=responder_with(prefers_friday))
    recorded = execute_run(
        config_for(make_config, server.base_url, "record"),
        suites,
        log_path=tmp_path / "rec.jsonl",
        progress=False,
    )
    assert outcomes(recorded.log.pairwise.values()) == {
        ("events::raid-day", 0): "win",
        ("events::reset-day", 0): "loss",
        ("events::boss", 0): "tie",
    }
    raid = recorded.log.pairwise[("events::raid-day", 0, 0)]
    assert raid.orders == (
        JudgedOrder("base", "candidate", "only answer 2 names the day"),
        JudgedOrder("candidate", "candidate", "only answer 1 names the day"),
    )
    assert (raid.judge, raid.rubric, raid.category) == ("judge", RUBRIC, "happy_path")
    # The comparison is no check of either answer: it neither passes nor fails a case.
    by_key = recorded.log.results
    assert [s.check for s in by_key[("events::raid-day", "candidate", 0)].scores] == ["complies"]
    assert by_key[("events::boss", "base", 0)].scores == ()
    # Three pairs, two questions each, the question and both answers shown to the judge; both
    # targets answered the boss alike, so its two orders are one question, asked once.
    asked = judge_requests(server)
    # The judge's 10 calibration questions came first.
    assert len(asked) == 5 and server.total_requests == 11 + 10
    prompts = [prompt_of(r) for r in asked]
    assert all("User request:\n" in p and f"Rubric:\n{RUBRIC}" in p for p in prompts)
    pairs = {split_answers(p) for p in prompts}
    assert pairs >= {("Soon.", "Friday at 20:00."), ("Friday at 20:00.", "Soon.")}
    # The log: the judge's calibration, answers, then the comparisons, then the footer.
    kinds = [json.loads(line)["type"] for line in (tmp_path / "rec.jsonl").read_text().splitlines()]
    assert kinds == ["header", "calibration", *["result"] * 6, *["pairwise"] * 3, "footer"]
    lines = (tmp_path / "golden" / "events" / "judge.jsonl").read_text().splitlines()
    assert len(lines) == 5 and all("~judge-" in json.loads(line)["case"] for line in lines)

    server.stop()
    replayed = execute_run(
        config_for(make_config, server.base_url, "replay"),
        suites,
        log_path=tmp_path / "rep.jsonl",
        progress=False,
    )
    assert replayed.log.pairwise == recorded.log.pairwise
    assert read_run_log(tmp_path / "rep.jsonl").pairwise == recorded.log.pairwise


def test_a_judge_that_follows_the_order_gives_ties_for_every_repeat(
    openai_server_factory, make_config, tmp_path, test_key, suites
):
    server = openai_server_factory(responder=responder_with(first_wins))
    config = config_for(make_config, server.base_url, "live", repeats=2)
    log = execute_run(config, suites, log_path=tmp_path / "run.jsonl", progress=False).log
    assert set(outcomes(log.pairwise.values()).values()) == {"tie"}
    assert {(p.case_key, p.repeat) for p in log.pairwise.values()} == {
        (f"events::{case}", repeat)
        for case in ("raid-day", "reset-day", "boss")
        for repeat in (0, 1)
    }
    assert not any(p.consistent for p in log.pairwise.values())
    tally = PairwiseTally.of(log.pairwise.values())
    assert (tally.ties, tally.flipped, tally.win_rate, tally.loss_rate) == (6, 6, 0.5, 0.0)


def test_missing_judge_recordings_are_one_replay_error_and_leave_pairs_undecided(
    openai_server_factory, make_config, tmp_path, test_key, suites
):
    server = openai_server_factory(responder=responder_with(prefers_friday))
    execute_run(
        config_for(make_config, server.base_url, "record"),
        suites,
        log_path=tmp_path / "rec.jsonl",
        progress=False,
    )
    (tmp_path / "golden" / "events" / "judge.jsonl").unlink()
    server.stop()
    with pytest.raises(ReplayMissingError) as info:
        execute_run(
            config_for(make_config, server.base_url, "replay"),
            suites,
            log_path=tmp_path / "rep.jsonl",
            progress=False,
        )
    message = str(info.value)
    # The first question of each pair finds no recording: the pair is undecided without a second.
    assert message.startswith("3 check call(s) have no recording") and "--mode record" in message
    assert "events::raid-day~judge-" in message
    log = read_run_log(tmp_path / "rep.jsonl")
    assert len(log.records()) == 6 and log.header.footer is not None
    assert set(outcomes(log.pairwise.values()).values()) == {"undecided"}
    assert all("no recording" in p.reason for p in log.pairwise.values())


def test_an_errored_answer_leaves_its_pair_undecided_without_asking_the_judge(
    openai_server_factory, make_config, tmp_path, test_key, suites
):
    judge = responder_with(prefers_friday)

    def respond(request: ChatRequest) -> Reply:
        if request.model == "model-candidate" and request.prompt == "Who is the raid boss?":
            return Reply.failing(Fault.http_status(400, "Bad request."))
        return judge(request)  # type: ignore[no-any-return]

    server = openai_server_factory(responder=respond)
    config = config_for(make_config, server.base_url, "live")
    log = execute_run(config, suites, log_path=tmp_path / "run.jsonl", progress=False).log
    boss = log.pairwise[("events::boss", 0, 0)]
    assert boss.outcome == "undecided" and boss.orders == ()
    assert boss.reason.startswith("the candidate answer errored (")
    assert len(judge_requests(server)) == 4  # the two other pairs only
    # No evidence for the candidate: the loss rate counts it as lost, the win rate not as a win.
    ev = evaluate(log, {"max_loss_rate": 0.5, "min_win_rate": 0.3})
    loss, win = _gate(ev, "max_loss_rate"), _gate(ev, "min_win_rate")
    assert loss.measured == pytest.approx(2 / 3) and not loss.passed
    assert "1 won, 0 tied, 1 lost, 1 undecided" in loss.evidence
    assert loss.evidence.endswith("undecided counted as lost")
    assert win.measured == pytest.approx(1 / 3) and win.passed
    report = render_markdown(ev)
    assert "### Undecided comparisons (1)" in report
    assert _row(report, "events::boss")[:3] == ["events::boss", "0", "judge"]


def test_a_resumed_log_judges_the_pairs_it_lacks_and_only_those(
    openai_server_factory, make_config, tmp_path, test_key, suites
):
    server = openai_server_factory(responder=responder_with(prefers_friday))
    config = replace(config_for(make_config, server.base_url, "live"), cache=None)
    path = tmp_path / "run.jsonl"
    full = execute_run(config, suites, log_path=path, progress=False).log
    # Killed after the calibration, the answers and one comparison, before the others and the
    # footer.
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:9]))
    before = server.total_requests
    resumed = execute_run(replace(config, resume=path), suites, progress=False).log
    assert server.total_requests - before == 4, (
        "two comparisons left, no answer and no calibration question asked again"
    )
    assert resumed.calibration == full.calibration
    assert resumed.pairwise == full.pairwise
    assert len(path.read_text().splitlines()) == len(lines)


def test_a_worker_judges_the_pairs_of_its_call_groups_once(
    openai_server_factory, make_config, tmp_path, test_key, suites
):
    server = openai_server_factory(responder=responder_with(prefers_friday))
    config = replace(config_for(make_config, server.base_url, "live"), cache=None)
    share = IncrementalRun(config, suites, tmp_path / "worker.jsonl", resume=None)
    for case in suites[0].cases:
        share.execute({(case.key, "base"), (case.key, "candidate")})
    share.execute({("events::raid-day", "base"), ("events::raid-day", "candidate")})
    log = read_run_log(share.close())
    assert outcomes(log.pairwise.values()) == {
        ("events::raid-day", 0): "win",
        ("events::reset-day", 0): "loss",
        ("events::boss", 0): "tie",
    }
    assert len(judge_requests(server)) == 6  # no cache: each order asked once, none again
    merged = merge_run_logs([log, log], tmp_path / "merged.jsonl")
    assert merged.pairwise == log.pairwise
    # Two workers holding the same pair (both resumed one log): a verdict wins over none.
    undecided = {
        k: replace(p, outcome="undecided", orders=(), error="x") for k, p in log.pairwise.items()
    }
    other = replace(log, pairwise=undecided)
    for order in ([log, other], [other, log]):
        assert merge_run_logs(order, tmp_path / "merged.jsonl").pairwise == log.pairwise


def test_a_pairwise_check_consults_its_judge_target(tmp_path):
    check = {"pairwise": {"rubric": RUBRIC, "target": "judeg"}}
    cases = [{"id": "c", "input": "q", "checks": [check]}]
    suites = load_suites([write_suite(tmp_path / "suites", "graded", cases)])
    assert model_targets(suites[0].cases[0], ["base", "judeg"]) == {"judeg"}
    with pytest.raises(SuiteError, match=r"field 'pairwise\.target': unknown target 'judeg'"):
        check_model_targets(suites, ["base", "candidate", "judge"])


def test_pairwise_records_read_back_as_themselves(tmp_path):
    compared = PairwiseRecord(
        "events",
        "raid-day",
        1,
        "happy_path",
        0,
        "judge",
        "base",
        "candidate",
        "loss",
        (JudgedOrder("base", "base", "a"), JudgedOrder("candidate", "base", "b")),
        {"rubric": RUBRIC, "target": "judge"},
    )
    undecided = replace(compared, outcome="undecided", orders=(), error="no verdict")
    for record in (compared, undecided):
        assert PairwiseRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    assert compared.key == ("events::raid-day", 1, 0) and compared.consistent
    with pytest.raises(ArgumentError, match="unknown pairwise outcome 'draw'"):
        PairwiseRecord.from_dict({**compared.to_dict(), "outcome": "draw"})


def test_a_malformed_pairwise_line_names_its_line(tmp_path, openai_server, make_config, test_key):
    path = tmp_path / "run.jsonl"
    suites = load_suites([write_suite(tmp_path / "suites", "plain", [PLAIN])])
    config = make_config(openai_server.base_url, mode="live")
    execute_run(config, suites, log_path=path, progress=False)  # no judge target: nothing paired
    assert read_run_log(path).pairwise == {}
    with path.open("a") as handle:
        handle.write(json.dumps({"type": "pairwise", "suite": "plain"}) + "\n")
    with pytest.raises(RunLogError, match=r"run\.jsonl:\d+: malformed pairwise record"):
        read_run_log(path)


# --- gates and report ---------------------------------------------------------------------------


@pytest.fixture
def judged_log(openai_server_factory, make_config, tmp_path, test_key, suites):
    server = openai_server_factory(responder=responder_with(prefers_friday))
    config = config_for(make_config, server.base_url, "live")
    return execute_run(config, suites, log_path=tmp_path / "run.jsonl", progress=False).log


def _gate(evaluation: Any, name: str) -> Any:
    (result,) = [g for g in evaluation.gates if g.name == name]
    return result


def test_win_and_loss_rate_gates_measure_the_comparisons(judged_log):
    # One win, one tie (half), one loss of three comparisons.
    ev = evaluate(judged_log, {"min_win_rate": 0.5, "max_loss_rate": 0.3})
    win, loss = _gate(ev, "min_win_rate"), _gate(ev, "max_loss_rate")
    assert win.passed and win.measured == pytest.approx(0.5)
    assert (win.measured_text, win.threshold_text) == ("50.0%", ">= 50.0%")
    assert "3 comparison(s) of candidate against base: 1 won, 1 tied, 1 lost" in win.evidence
    assert not loss.passed and loss.measured == pytest.approx(1 / 3)
    assert loss.threshold_text == "<= 30.0%"
    assert ev.verdict.failing == ("max_loss_rate",)
    assert not _gate(evaluate(judged_log, {"min_win_rate": 0.51}), "min_win_rate").passed
    assert _gate(evaluate(judged_log, {"max_loss_rate": 0.34}), "max_loss_rate").passed


def test_per_suite_pairwise_gates_cover_their_suite(judged_log):
    ev = evaluate(judged_log, {"suites": {"events": {"min_win_rate": 0.5}}})
    assert _gate(ev, "min_win_rate").scope == "suite events"
    assert _gate(ev, "min_win_rate").passed


def test_pairwise_gates_without_a_comparison_fail_as_not_evaluable(
    tmp_path, openai_server, make_config, test_key
):
    suites = load_suites([write_suite(tmp_path / "suites", "plain", [PLAIN])])
    config = make_config(openai_server.base_url, mode="live")
    log = execute_run(config, suites, log_path=tmp_path / "run.jsonl", progress=False).log
    ev = evaluate(log, {"min_win_rate": 0.0, "max_loss_rate": 1.0})
    for name in ("min_win_rate", "max_loss_rate"):
        result = _gate(ev, name)
        assert not result.passed and result.measured is None
        assert result.evidence.startswith("not evaluable: no pairwise check ran")
    assert not ev.verdict.promote
    assert "Pairwise preference" not in render_markdown(ev)


@pytest.mark.parametrize("bad", [1.5, -0.1, "half"])
def test_pairwise_thresholds_are_rates(bad):
    for key in ("min_win_rate", "max_loss_rate"):
        with pytest.raises(GateConfigError, match=key):
            parse_gates({key: bad})


def _row(markdown: str, first: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {first} "))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_report_shows_win_tie_loss_and_the_cases_the_candidate_lost(judged_log):
    report = render_markdown(evaluate(judged_log, {"min_win_rate": 0.5}))
    section = report.split("## Pairwise preference (`candidate` vs `base`)", 1)[1]
    section = section.split("\n## ", 1)[0]
    expected = ["3", "1", "1", "1", "0", "0", "50.0%", "33.3%"]
    assert _row(section, "events") == ["events", *expected]
    assert _row(section, "all") == ["all", *expected]
    assert "### Cases `candidate` lost (1)" in section
    lost = _row(section, "events::reset-day")
    assert lost[:4] == ["events::reset-day", "0", "judge", RUBRIC]
    assert lost[4] == (
        "base first: only answer 1 names the day / candidate first: only answer 2 names the day"
    )
    assert "Undecided" not in section
    assert report.index("## Improvements") < report.index("## Pairwise") < report.index("## Schema")


# --- through the command line -------------------------------------------------------------------

PYPROJECT = """
[tool.arcanos_eval]
suites = ["suites"]
golden = "golden"
cache = false

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

[tool.arcanos_eval.targets.judge]
model = "model-judge"
base_url = "{url}"
check_model = false  # the loopback server answers to any model name
api_key_env = "{env}"
scorer_only = true

[tool.arcanos_eval.gates]
min_win_rate = {win}
waive = {{ qa = "pairwise only", schema = "no schema", data = "no training data", latency = "loopback" }}
"""


@pytest.mark.parametrize(("win", "status"), [(0.5, 0), (0.6, 1)])
def test_the_cli_records_replays_and_gates_on_pairwise_checks(
    openai_server_factory, tmp_path, monkeypatch, test_key, capsys, win, status
):
    server = openai_server_factory(responder=responder_with(prefers_friday))
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.format(url=server.base_url, env=KEY_ENV, win=win)
    )
    write_suite(tmp_path / "suites", "events", CASES)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--mode", "record", "-q", "--log", "rec.jsonl"]) == status
    assert len(judge_requests(server)) == 5
    server.stop()
    assert main(["run", "--mode", "replay", "-q", "--log", "rep.jsonl", "--report", "r.md"]) == (
        status
    )
    report = (tmp_path / "r.md").read_text()
    assert _row(report, "min_win_rate")[2:5] == [
        "50.0%",
        f">= {win:.1%}",
        "✅ pass" if status == 0 else "❌ fail",
    ]
    assert "### Cases `candidate` lost (1)" in report
    assert (
        read_run_log(tmp_path / "rep.jsonl").pairwise
        == read_run_log(tmp_path / "rec.jsonl").pairwise
    )
