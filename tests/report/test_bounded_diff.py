"""Text diffs in reports and explanations are bounded: a window of a few thousand characters
around the first difference, then "… N more characters". A run log with a 5 MB single-line answer
(made against the loopback server) reports quickly, in bounded memory, byte for byte the same every
time."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import pytest

from arcanos_eval.cli import main
from arcanos_eval.compare import compare_records
from arcanos_eval.config import RunConfig
from arcanos_eval.model import CheckResult, ResultRecord, Score
from arcanos_eval.model import Response as Answer
from arcanos_eval.report.explain import explain_case, explain_regression
from arcanos_eval.run import execute_run
from arcanos_eval.runlog import RunLog, read_run_log
from arcanos_eval.suite.loader import load_suites
from arcanos_eval.testing import OpenAIServer
from tests.conftest import KEY_ENV, TEST_KEY, hang_guard, target, write_suite

BIG = 5_000_000
# 300 KB the same in both answers, then the one word that differs, then 300 KB more.
PROSE = "The raid on the sunken keep starts after the reset. " * 6_000
CASES = [
    {"id": "long", "input": "describe the map", "checks": [{"contains": "map"}]},
    {"id": "deep", "input": "when is the raid", "checks": [{"contains": "20:00"}]},
    {"id": "json", "input": "answer in json", "checks": [{"contains": "short"}]},
]
REPLIES = {
    ("model-base", "describe the map"): "A small map.",
    ("model-candidate", "describe the map"): "x" * BIG,  # one line, no space to wrap at
    ("model-base", "when is the raid"): f"{PROSE}Doors open at 20:00 UTC. {PROSE}",
    ("model-candidate", "when is the raid"): f"{PROSE}Doors open at 21:00 UTC. {PROSE}",
    ("model-base", "answer in json"): json.dumps({"reply": "short"}),
    ("model-candidate", "answer in json"): json.dumps({"reply": "y" * BIG}),
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run log: both targets answered by the loopback server, the candidate with 5 MB."""
    root = tmp_path_factory.mktemp("long-answers")
    suites = load_suites([write_suite(root / "suites", "long", CASES)])
    with pytest.MonkeyPatch.context() as env, OpenAIServer(replies=REPLIES) as server:
        env.setenv(KEY_ENV, TEST_KEY)
        config = RunConfig(
            root=root,
            golden=root / "golden",
            cache=None,
            mode="live",
            targets={n: target(n, server.base_url) for n in ("base", "candidate")},
            gates={
                "pass_rate": {"happy_path": 1.0},
                "min_cases": 1,
                "waive": {"schema": "no schema", "data": "no data", "latency": "loopback"},
            },
        )
        execute_run(config, suites, log_path=root / "run.jsonl", progress=False)
    return root / "run.jsonl"


def _report(log: Path, out: Path) -> str:
    with hang_guard(60.0, "rendering"):
        assert main(["report", "-o", str(out), str(log)]) == 1  # HOLD: the candidate regressed
    return out.read_text(encoding="utf-8")


def _details(report: str, case: str) -> str:
    start = report.index(f"<code>long::{case}</code>")
    return report[start : report.index("</details>", start)]


def test_a_5mb_answer_renders_a_bounded_deterministic_report(stored: Path, tmp_path: Path) -> None:
    report = _report(stored, tmp_path / "a.md")
    long = _details(report, "long")
    assert f"(… {BIG - 4_000:,} more characters of the candidate answer not compared)" in long
    diff = long[long.index("```diff") : long.index("```", long.index("```diff") + 7)]
    assert max(map(len, diff.splitlines())) <= 89  # wrapped at 88, plus the diff sign
    assert len(report) < 40_000
    assert _report(stored, tmp_path / "b.md") == report  # the same bytes every time


def test_the_window_opens_just_before_the_first_difference(stored: Path, tmp_path: Path) -> None:
    deep = _details(_report(stored, tmp_path / "r.md"), "deep").splitlines()
    block = deep[deep.index("```diff") + 1 : deep.index("```")]
    changed = [line for line in block if line.startswith(("-", "+"))]
    assert [line[:15] for line in changed] == ["-at 20:00 UTC. ", "+at 21:00 UTC. "]
    skipped = len(PROSE) + len("Doors open at 2") - 2 * 88  # two wrapped lines of context
    left = len(REPLIES["model-base", "when is the raid"].strip()) - skipped - 4_000
    assert next(line for line in deep if line.startswith("(the first")) == (
        f"(the first {skipped:,} characters of both answers are the same; … {left:,} more "
        f"characters of the base answer not compared; … {left:,} more characters of the "
        "candidate answer not compared)"
    )


def test_diffing_a_5mb_answer_takes_little_memory(stored: Path) -> None:
    records = list(_records(read_run_log(stored), "long").values())
    tracemalloc.start()
    try:
        (case,) = compare_records(records, "base", "candidate").cases
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert case.diff.uncompared == (0, BIG - 4_000)
    assert peak < 1_000_000, f"{peak:,} bytes to diff a 5 MB answer"  # wrapped whole: 17 MB


def _records(log: RunLog, case: str) -> dict[str, ResultRecord]:
    return {r.target: r for r in log.records() if r.case_id == case}


def test_explanations_cut_answers_reasons_and_json_diff_lines(stored: Path) -> None:
    log = read_run_log(stored)
    lines: list[str] = []
    for case in ("long", "json"):
        records = _records(log, case)
        with hang_guard(60.0, "rendering"):
            explained = explain_regression(
                key=f"long::{case}", location="long.yaml:1", prompt="?", baseline="base",
                candidate="candidate", base_records=[records["base"]],
                candidate_records=[records["candidate"]],
            )  # fmt: skip
        assert explained is not None
        lines += explained.splitlines()
    assert max(map(len, lines)) < 400
    assert f"candidate: {'x' * 300}… {BIG - 300:,} more characters" in lines
    new = next(line.strip() for line in lines if "new_value" in line)
    assert new.startswith(f'"new_value": "{"y" * 200}... {BIG - 200:,} more characters (sha256 ')


def test_a_long_reason_is_cut_in_the_explanation() -> None:
    reason = "r" * 100_000
    record = ResultRecord(
        "s", "c", "candidate", 0, "happy_path", "fp", Answer(text="ok"),
        (CheckResult("python", {}, Score(False, 0.0, reason)),),
    )  # fmt: skip
    explained = explain_case(
        key="s::c", location="s.yaml:1", prompt="?", target="candidate", records=[record]
    )
    assert explained is not None
    assert f"  - python: {'r' * 288}… {100_000 - 288:,} more characters" in explained.splitlines()


def test_long_strings_that_differ_only_past_the_cut_still_differ() -> None:
    def rec(target: str, text: str) -> ResultRecord:
        score = Score(target == "base", 1.0 if target == "base" else 0.0, "")
        return ResultRecord(
            "s", "c", target, 0, "happy_path", "fp", Answer(text=text),
            (CheckResult("contains", {}, score),),
        )  # fmt: skip

    head = "z" * 10_000
    base, candidate = rec("base", head + "A"), rec("candidate", head + "B")
    (case,) = compare_records([base, candidate], "base", "candidate").cases
    assert case.diff.kind == "text" and case.diff.skipped == 10_000 - 176
    assert case.diff.lines[-2:] == ("-A", "+B")
    explained = explain_regression(
        key="s::c", location="s.yaml:1", prompt="?", baseline="base", candidate="candidate",
        base_records=[rec("base", json.dumps({"r": head + "A"}))],
        candidate_records=[rec("candidate", json.dumps({"r": head + "B"}))],
    )  # fmt: skip
    assert explained is not None and "diff (base -> candidate):" in explained


if os.name != "posix":  # pragma: no cover - SIGALRM is the hang guard
    pytestmark = pytest.mark.skip("needs SIGALRM")
