"""The markdown report: snapshots of fixed run logs, determinism, and numbers traced to the log."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from arcanos_eval.model import CheckResult, Response, ResultRecord, RunHeader, Score
from arcanos_eval.report import (
    ChartSet,
    diff_runs,
    evaluate,
    render_diff_markdown,
    render_markdown,
    render_summary_sections,
)
from arcanos_eval.report.charts import Chart
from arcanos_eval.runlog import RunLogWriter, read_run_log
from tests.report.conftest import FIXTURES

SECTIONS = [
    "# Release report",
    "## Verdict",
    "## Release checklist",
    "## Gates",
    "## Pass rates by category",
    "## Latency, tokens and cost",
    "## Regressions",
    "## Improvements",
    "## Schema drift",
    "## Flaky cases",
    "## Errored calls",
    "## Unpaired cases",
    "## Charts",
    "## Provenance",
    "## How the numbers are counted",
]


def _render(name: str, **kwargs: object) -> str:
    return render_markdown(evaluate(read_run_log(FIXTURES / name)), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("log", "snap"),
    [
        ("release.jsonl", "release.md"),
        ("release_next.jsonl", "release_next.md"),
        ("degraded.jsonl", "degraded.md"),
    ],
)
def test_report_snapshots(log, snap, snapshot):
    snapshot(snap, _render(log))


def test_diff_snapshot(snapshot):
    diff = diff_runs(
        read_run_log(FIXTURES / "release.jsonl"), read_run_log(FIXTURES / "release_next.jsonl")
    )
    snapshot("diff.md", render_diff_markdown(diff))


def test_sections_come_in_the_documented_order():
    text = _render("release.jsonl")
    positions = [text.index(title) for title in SECTIONS]
    assert positions == sorted(positions)


def test_the_same_log_renders_byte_identical_markdown_wherever_it_lives(tmp_path):
    first = _render("release.jsonl")
    copy = tmp_path / "elsewhere" / "release.jsonl"
    copy.parent.mkdir()
    shutil.copy(FIXTURES / "release.jsonl", copy)
    assert render_markdown(evaluate(read_run_log(copy))) == first
    assert _render("release.jsonl") == first


def test_hold_report_names_failing_gates_and_the_rollback_target():
    text = _render("release.jsonl")
    verdict = text.split("## Release checklist")[0]
    assert "HOLD `candidate`" in verdict
    assert "**pass_rate[adversarial]**" in verdict and "**schema_violations**" in verdict
    assert "roll back to `previous` (`ft:gpt-4.1-2025-04-14:personal:arca-v1`)" in verdict


def test_promote_report():
    text = _render("release_next.jsonl")
    assert "## Verdict: ✅ PROMOTE `candidate`" in text
    assert "All 14 gate(s) passed." in text
    waiver = "fine-tuned on synthetic puzzle dialogues only, no user data"
    assert f"**data sanitized**: {waiver}." in text.split("## Release checklist")[0]
    assert f"| Data is sanitized        | ⚪ waived | waived: {waiver} " in text


def test_a_run_with_errored_calls_and_missing_base_answers_renders_and_says_so():
    text = _render("degraded.jsonl")
    assert "**2 answer(s) errored**" in text
    assert "The run log ends with 1 unreadable line(s): the run was interrupted." in text
    assert "## Unpaired cases (4)" in text
    assert "| multi-intent::trade-and-guild   | multi_intent | **missing** | answered    |" in text
    assert "no 'multi_intent' case answered by both base and candidate" in text
    assert "Action: keep serving `base` (`gpt-4.1-2025-04-14`)." in text
    assert "no rollback target is configured" not in text
    assert "| finished        | n/a (interrupted?)        |" in text


def test_pass_rates_in_the_report_are_counted_from_the_log():
    log = read_run_log(FIXTURES / "release.jsonl")
    text = render_markdown(evaluate(log))
    # Recount independently: a case passes for a target when all its non-errored repeats passed
    # and none errored.
    outcomes: dict[tuple[str, str, str], list[bool | None]] = {}
    for record in log.records():
        key = (record.category, record.target, f"{record.suite_id}::{record.case_id}")
        outcomes.setdefault(key, []).append(None if record.errored else record.passed)
    tally: Counter[tuple[str, str, str]] = Counter()
    for (category, target, _), results in outcomes.items():
        if None in results:
            continue
        tally[(category, target, "total")] += 1
        tally[(category, target, "passed")] += all(results)
    table = text.split("## Pass rates by category")[1].split("##")[0]
    for category in ("adversarial", "happy_path", "multi_intent"):
        row = next(line for line in table.splitlines() if line.startswith(f"| {category} "))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert (
            cells[1] == f"{tally[(category, 'base', 'passed')]}/"
            f"{tally[(category, 'base', 'total')]}"
        )
        assert (
            cells[4] == f"{tally[(category, 'candidate', 'passed')]}/"
            f"{tally[(category, 'candidate', 'total')]}"
        )
    assert f"{len(log.records())} answers over 18 cases" in text


def test_latency_percentiles_in_the_report_come_from_non_errored_answers():
    log = read_run_log(FIXTURES / "release.jsonl")
    text = render_markdown(evaluate(log))
    latencies = sorted(
        r.response.latency_ms for r in log.records() if r.target == "candidate" and not r.errored
    )
    position = (len(latencies) - 1) * 0.95
    low = int(position)
    p95 = latencies[low] + (latencies[low + 1] - latencies[low]) * (position - low)
    row = next(
        line
        for line in text.splitlines()
        if line.startswith("| candidate (candidate)") or line.startswith("| candidate ")
    )
    assert f"{p95:.0f} ms" in row
    assert f"| {len(latencies)} " in row


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_pipes_newlines_and_long_reasons_cannot_break_a_table(tmp_path):
    reason = "bad | answer\nwith a newline " + "x" * 1000
    header = {
        "run_id": "r",
        "roles": {"baseline": "base", "candidate": "candidate"},
        "gates": {"pass_rate": {"all": 1.0}},
    }
    with RunLogWriter.create(tmp_path / "run.jsonl", RunHeader.from_dict(header)) as writer:
        for target, passed in (("base", True), ("candidate", False)):
            writer.append(
                ResultRecord(
                    "s",
                    "c|1",
                    target,
                    0,
                    "happy_path",
                    "fp",
                    Response.from_text("a|b"),
                    (
                        CheckResult(
                            "contains", {}, Score(passed, float(passed), "ok" if passed else reason)
                        ),
                    ),
                )
            )
    text = render_markdown(evaluate(read_run_log(tmp_path / "run.jsonl")))
    table = text.split("## Regressions (1)")[1].split("<details>")[0].strip().splitlines()
    assert len({_unescaped_pipes(line) for line in table}) == 1
    row = table[2]
    assert "s::c\\|1" in row and "bad \\| answer with a newline" in row
    assert row.rstrip(" |").endswith("...") and len(row) < 400


def test_charts_section_links_written_charts_or_says_why_not():
    evaluation = evaluate(read_run_log(FIXTURES / "release.jsonl"))
    skipped = render_markdown(evaluation, charts=ChartSet(skipped="matplotlib is not installed."))
    assert "## Charts\n\nSkipped: matplotlib is not installed." in skipped
    linked = render_markdown(
        evaluation,
        charts=ChartSet(
            (Chart("Latency CDF per target", Path("c/latency_cdf.png"), "c/latency_cdf.png"),)
        ),
    )
    assert "![Latency CDF per target](c/latency_cdf.png)" in linked


def test_summary_sections_hold_the_decision_only():
    evaluation = evaluate(read_run_log(FIXTURES / "release.jsonl"))
    text = render_summary_sections(evaluation)
    assert text.startswith("# Release report") and "## Pass rates by category" in text
    assert "## Regressions" not in text and "## Provenance" not in text


def test_the_same_log_renders_the_same_bytes_with_or_without_wcwidth():
    # tabulate pads emoji and CJK by display width only when the optional wcwidth is importable.
    pytest.importorskip("wcwidth")  # installed with the dev extra: the comparison needs both
    script = (
        "import sys\n"
        "if sys.argv[1] == 'without': sys.modules['wcwidth'] = None\n"
        "from arcanos_eval.report import evaluate, render_markdown\n"
        "from arcanos_eval.runlog import read_run_log\n"
        "sys.stdout.buffer.write(render_markdown(evaluate(read_run_log(sys.argv[2]))).encode())\n"
    )
    renders = {
        mode: subprocess.run(
            [sys.executable, "-c", script, mode, str(FIXTURES / "release.jsonl")],
            capture_output=True,
            check=True,
        ).stdout
        for mode in ("with", "without")
    }
    assert "✅".encode() in renders["with"]
    assert renders["with"] == renders["without"]
