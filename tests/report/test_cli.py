"""``arcanos-eval report`` and ``arcanos-eval diff``: outputs and exit statuses."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pytest

from arcanos_eval.errors import ArcanosError, RunLogError, UsageError
from arcanos_eval.report import charts as charts_module
from arcanos_eval.report import evaluate, render_markdown, summary_json
from arcanos_eval.report.cli import add_parsers
from arcanos_eval.report.evaluation import diff_runs
from arcanos_eval.runlog import RunLog, RunLogWriter, read_run_log
from tests.report.conftest import FIXTURES

RELEASE = str(FIXTURES / "release.jsonl")
NEXT = str(FIXTURES / "release_next.jsonl")
DEGRADED = str(FIXTURES / "degraded.jsonl")


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="arcanos-eval")
    sub = parser.add_subparsers(dest="command")
    sub.required = True
    add_parsers(sub)
    args = parser.parse_args(list(argv))
    status: int = args.handler(args)
    return status


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def test_report_writes_markdown_and_json_and_exits_1_on_hold(tmp_path, capsys):
    out, summary = tmp_path / "out" / "report.md", tmp_path / "summary.json"
    assert run("report", RELEASE, "-o", str(out), "--json", str(summary)) == 1
    evaluation = evaluate(read_run_log(RELEASE))
    assert out.read_text(encoding="utf-8") == render_markdown(evaluation)
    assert json.loads(summary.read_text(encoding="utf-8")) == json.loads(
        json.dumps(summary_json(evaluation))
    )
    line = capsys.readouterr().out.strip()
    assert line == (
        f"HOLD: 4 of 14 gate(s) failed: pass_rate[adversarial], pass_rate[happy_path], "
        f"schema_violations, cost_ratio, 1 answer(s) errored; waived: data sanitized "
        f"(fine-tuned on synthetic puzzle dialogues only, no user data); report: {out}"
    )


def test_the_verdict_line_names_each_invariant_neither_evaluated_nor_waived(tmp_path, capsys):
    assert run("report", DEGRADED, "-o", str(tmp_path / "r.md")) == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith(
        "HOLD: partial run: 40 of 53 planned answers; resume with: arcanos-eval run --resume "
        "degraded.jsonl; 5 of 6 gate(s) failed: "
    )
    assert line.endswith(
        f"; schema stable: not evaluated and not waived; report: {tmp_path / 'r.md'}"
    )


def test_a_log_that_recorded_no_gates_is_a_usage_error(tmp_path):
    log = tmp_path / "bare.jsonl"
    lines = Path(NEXT).read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    header["gates"] = {}
    log.write_text(json.dumps(header) + "\n" + "".join(lines[1:]), encoding="utf-8")
    with pytest.raises(UsageError) as info:
        run("report", str(log))
    assert str(info.value).startswith(f"run log {log} recorded no release gates: add ")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.arcanos_eval]\nsuites = []\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"^no release gates configured: add "):
        run("report", NEXT, "--gates-from", str(pyproject))


def test_report_to_stdout_and_exit_0_on_promote(capsys):
    assert run("report", NEXT) == 0
    assert capsys.readouterr().out == render_markdown(evaluate(read_run_log(NEXT)))


def test_promote_with_errored_calls_exits_3(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[tool.arcanos_eval.gates]\nlatency_p95_ms = 5000\n"
        'waive = { qa = "latency-only rerun", schema = "latency-only rerun", '
        'data = "latency-only rerun" }\n',
        encoding="utf-8",
    )
    assert run("report", RELEASE, "--gates-from", str(pyproject), "-o", str(tmp_path / "r.md")) == 3


def test_data_report_feeds_the_data_gate(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"passed": True, "verdict": "PASS: clean"}), encoding="utf-8")
    bad.write_text(json.dumps({"passed": False, "verdict": "FAIL: 2 secrets"}), encoding="utf-8")
    out = tmp_path / "r.md"
    assert run("report", NEXT, "--data-report", str(good), "-o", str(out)) == 0
    assert "| Data is sanitized        | ✅ pass   | PASS: clean " in out.read_text()
    assert run("report", NEXT, "--data-report", str(bad), "-o", str(out)) == 1
    assert "FAIL: 2 secrets" in out.read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "data.json: training-data report: file not found"),
        ("{not json", "data.json: training-data report: line 1: invalid JSON"),
        ("[1, 2]", "expected a JSON object as training-data report, found list"),
        ('{"verdict": "PASS"}', "expected a 'passed' field of true or false"),
    ],
)
def test_a_bad_data_report_is_a_usage_error(tmp_path, content, message):
    path = tmp_path / "data.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        run("report", NEXT, "--data-report", str(path))


def test_unreadable_run_log_is_an_arcanos_error(tmp_path):
    with pytest.raises(RunLogError, match="run log not found"):
        run("report", str(tmp_path / "missing.jsonl"))


def test_bad_recorded_gates_are_a_usage_error(tmp_path):
    log = tmp_path / "run.jsonl"
    lines = Path(NEXT).read_text(encoding="utf-8").splitlines(True)
    header = json.loads(lines[0])
    header["gates"] = {"latency_p95": 100}
    log.write_text(json.dumps(header) + "\n" + "".join(lines[1:]), encoding="utf-8")
    with pytest.raises(ArcanosError, match="unknown gate 'latency_p95'"):
        run("report", str(log))


def test_step_summary_is_appended_when_set(tmp_path, monkeypatch):
    target = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    run("report", NEXT, "-o", str(tmp_path / "r.md"))
    assert "## Verdict: ✅ PROMOTE" in target.read_text(encoding="utf-8")


def test_charts_option_reports_a_missing_plotting_library(tmp_path, monkeypatch):
    def missing() -> None:
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(charts_module, "_figure_class", missing)
    out = tmp_path / "r.md"
    run("report", NEXT, "-o", str(out), "--charts", str(tmp_path / "charts"))
    assert "Skipped: matplotlib is not installed" in out.read_text(encoding="utf-8")


def test_exclude_path_reaches_the_diffs(tmp_path):
    out = tmp_path / "r.md"
    run("report", RELEASE, "-o", str(out), "--exclude-path", "confidence")
    text = out.read_text(encoding="utf-8")
    assert "root['confidence']" not in text and "root['route_to']" in text


def test_diff_exit_statuses(tmp_path, capsys):
    out = tmp_path / "diff.md"
    assert run("diff", NEXT, NEXT, "-o", str(out)) == 0
    # No regression, but the older run has an errored call: the comparison is incomplete.
    assert run("diff", RELEASE, NEXT, "-o", str(out)) == 3
    assert "**No case regressed from A to B.**" in out.read_text(encoding="utf-8")
    assert capsys.readouterr().out.strip().endswith(f"0 case(s) regressed, 3 fixed; diff: {out}")
    assert run("diff", NEXT, RELEASE, "-o", str(out)) == 1
    assert "**3 case(s) regressed from A to B.**" in out.read_text(encoding="utf-8")


def test_diff_to_stdout_and_target_choice(capsys):
    assert run("diff", RELEASE, NEXT, "--target-a", "base", "--target-b", "base") == 0
    assert "- A (the last release): `base`" in capsys.readouterr().out
    with pytest.raises(UsageError, match=r"unknown target 'candidat' \(did you mean 'candidate'"):
        run("diff", RELEASE, NEXT, "--target-b", "candidat")


def test_diff_explains_each_regressed_case_as_pytest_does(tmp_path, capsys):
    out = tmp_path / "diff.md"
    assert run("diff", NEXT, RELEASE, "-o", str(out)) == 1
    printed = capsys.readouterr().out
    explained = [block for block in printed.split("\n\n") if block.startswith("regressed: ")]
    assert len(explained) == 3, printed
    first = explained[0].splitlines()
    assert first[0].endswith("but not on candidate (RUN_B) (0%)")
    assert "passes on candidate (RUN_A) (100%)" in first[0]
    assert first[1].startswith("input:  '")
    assert any(line.startswith("  - ") for line in first), "the failing checks are named"


def _good_data(tmp_path: Path) -> str:
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"passed": True, "verdict": "PASS: clean"}), encoding="utf-8")
    return str(path)


def _edited_log(tmp_path: Path, keep) -> str:
    lines = Path(NEXT).read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "edited.jsonl"
    path.write_text("".join(line for line in lines if keep(json.loads(line))), encoding="utf-8")
    return str(path)


def test_a_partial_run_holds_without_a_release_verdict(tmp_path, capsys):
    # The whole log promotes; without the candidate's answer to one case it decides nothing,
    # whatever its gates say about the rest.
    results = [json.loads(line) for line in Path(NEXT).read_text().splitlines()]
    passing = {
        r["case"]
        for r in results
        if r["type"] == "result" and all(s["passed"] for s in r["scores"])
    }
    dropped = sorted(passing)[0]  # a passing case: the gates judge the rest alike
    partial = _edited_log(tmp_path, lambda r: r.get("case") != dropped)
    # As a selection (-k, --targets) plans it: every planned answer is there.
    log = read_run_log(partial)
    Path(partial).unlink()
    with RunLogWriter.create(partial, replace(log.header, planned=len(log.results))) as writer:
        for record in log.records():
            writer.append(record)
        writer.footer({"finished_at": "2025-06-03T08:00:00+00:00"})
    out = tmp_path / "r.md"
    data = _good_data(tmp_path)
    assert run("report", NEXT, "--data-report", data, "-o", str(out)) == 0
    capsys.readouterr()
    args = ("--data-report", data, "-o", str(out), "--json", str(tmp_path / "s.json"))
    assert run("report", partial, *args) == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith("HOLD: partial run: 17 of 18 cases answered by both base and candidate")
    assert out.read_text(encoding="utf-8").splitlines()[2] == (
        "> **Partial run: 17 of 18 cases answered by both base and candidate.** No release "
        "verdict: the gates judged only what ran, and the verdict is HOLD."
    )
    summary = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["verdict"]
    assert summary["decision"] == "HOLD" and summary["incomplete"].startswith("partial run")


def test_an_interrupted_log_holds_and_says_how_to_resume(tmp_path, capsys):
    unfinished = _edited_log(tmp_path, lambda r: r["type"] != "footer")
    args = ("--data-report", _good_data(tmp_path), "-o", str(tmp_path / "r.md"))
    assert run("report", unfinished, *args) == 1
    line = capsys.readouterr().out.strip()
    # Every answer is there, but the run never wrote its footer; the log was renamed since, so
    # the command names it by its file name.
    assert line.startswith(
        "HOLD: partial run: 52 of 52 planned answers; resume with: arcanos-eval run --resume "
        "edited.jsonl; "
    )


def test_a_finished_log_short_of_its_planned_answers_holds(tmp_path, capsys):
    header = json.loads(Path(NEXT).read_text(encoding="utf-8").splitlines()[0])
    short = _edited_log(tmp_path, lambda r: r["type"] != "result" or r["case"] != "broken-lever")
    assert run("report", short, "--data-report", _good_data(tmp_path)) == 1
    captured = capsys.readouterr()
    banner = "partial run: 50 of 52 planned answers; resume with: arcanos-eval run --resume "
    assert header["planned"] == 52 and captured.err == f"arcanos-eval: {banner}edited.jsonl\n"
    assert captured.out.splitlines()[2].startswith(
        "> **Partial run: 50 of 52 planned answers; resume with: "
        "`arcanos-eval run --resume edited.jsonl`.**"
    )


# --------------------------------------------------------------------------- changed cases


def _rewritten(
    source: str, path: Path, *, case: str, fingerprint: str | None = None, prompt: str | None = None
) -> Path:
    """A copy of a fixture run whose case ``suite::case`` was asked differently: another request
    fingerprint for every answer of the candidate, or another input in the header."""
    log = read_run_log(source)
    suite_id, case_id = case.split("::")
    header = log.header
    if prompt is not None:
        suite = header.suite(suite_id)
        inputs = {**suite.case_inputs, case_id: prompt}
        header = replace(
            header, suites={**header.suites, suite_id: replace(suite, case_inputs=inputs)}
        )
    with RunLogWriter.create(path, header) as writer:
        for record in log.records():
            if fingerprint and record.key[0] == case and record.target == "candidate":
                record = replace(record, fingerprint=fingerprint)
            writer.append(record)
    return path


def test_a_case_whose_request_changed_is_changed_not_regressed(tmp_path, capsys):
    case = "puzzle-classification::cipher-runes"  # regressed from NEXT to RELEASE
    changed = _rewritten(RELEASE, tmp_path / "b.jsonl", case=case, fingerprint="another-request")
    out = tmp_path / "diff.md"
    assert run("diff", NEXT, str(changed), "-o", str(out)) == 1  # two others still regress
    printed = capsys.readouterr().out
    assert f"2 case(s) regressed, 0 fixed, 1 changed (not compared); diff: {out}" in printed
    assert f"changed case: {case}: its request differs between RUN_A and RUN_B" in printed
    assert not any(b.startswith(f"regressed: {case}") for b in printed.split("\n\n"))

    text = out.read_text(encoding="utf-8")
    assert "**2 case(s) regressed from A to B.**" in text
    assert "1 changed." in text.split("\n\n")[2]  # the "Cases:" line counts it apart
    section = text.split("## Changed cases (1)")[1].split("\n## ")[0]
    assert f"| {case} " in section
    regressions = text.split("## Regressions")[1].split("\n## ")[0]
    assert case not in regressions


def test_only_the_changed_regressions_leave_the_exit_status_clean(tmp_path, capsys):
    source = RELEASE
    for i, case in enumerate(
        (
            "adversarial-refusals::jailbreak-dev-mode",
            "puzzle-classification::cipher-runes",
            "puzzle-classification::spatial-mirrors",
        )
    ):
        source = str(_rewritten(source, tmp_path / f"b{i}.jsonl", case=case, fingerprint="x"))
    # Nothing regressed: RUN_A's errored call makes the evidence incomplete (3), not a HOLD (1).
    assert run("diff", NEXT, source, "-o", str(tmp_path / "d.md")) == 3
    assert "0 case(s) regressed, 0 fixed, 3 changed (not compared)" in capsys.readouterr().out


def _other_model(log: RunLog) -> RunLog:
    targets = {**log.header.targets}
    targets["candidate"] = replace(targets["candidate"], model="ft:another-release")
    log.header = replace(log.header, targets=targets)
    return log


def test_a_changed_input_is_changed_even_across_models(tmp_path):
    case = "puzzle-classification::cipher-runes"
    old = read_run_log(NEXT)
    asked = _rewritten(RELEASE, tmp_path / "b.jsonl", case=case, prompt="Another question?")
    diff = diff_runs(old, _other_model(read_run_log(asked)))
    assert [c.key for c in diff.comparison.with_transition("changed")] == [case]

    # Across models every fingerprint differs: a different one alone tells nothing of the case.
    moved = _rewritten(RELEASE, tmp_path / "c.jsonl", case=case, fingerprint="another-request")
    diff = diff_runs(old, _other_model(read_run_log(moved)))
    assert diff.comparison.with_transition("changed") == ()
    assert [c.key for c in diff.comparison.with_transition("regressed")][1] == case
