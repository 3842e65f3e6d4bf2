"""RunLog.to_pandas: one row per answer of the log, with documented columns and dtypes; pandas
stays optional (never imported by the package or by reading a log, and a clear error without it)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from arcanos_eval.config import load_config
from arcanos_eval.model import (
    CheckResult,
    Response,
    ResultRecord,
    RunHeader,
    Score,
    TargetInfo,
    ToolCall,
    Usage,
)
from arcanos_eval.run import execute_run
from arcanos_eval.runlog import RunLogWriter, read_run_log
from arcanos_eval.stats import target_stats
from arcanos_eval.suite.loader import load_suites

ROOT = Path(__file__).resolve().parent.parent

# The documented columns, in order, and their dtypes (README "Run logs in pandas").
DTYPES = {
    "suite": "string",
    "case": "string",
    "category": "string",
    "target": "string",
    "repeat": "int64",
    "passed": "bool",
    "errored": "bool",
    "origin": "string",
    "latency_ms": "float64",
    "prompt_tokens": "int64",
    "completion_tokens": "int64",
    "tokens": "int64",
    "cost_usd": "float64",
    "answer": "string",
    "error": "string",
    "checks": "object",
}


def _dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.dtypes.items()}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run log: a bundled suite replayed from the recordings in golden/."""
    log = tmp_path_factory.mktemp("replay") / "run.jsonl"
    config = load_config(ROOT / "pyproject.toml", mode="replay")
    execute_run(config, load_suites([ROOT / "suites" / "invalid-input.yaml"]), log_path=log,
                progress=False)  # fmt: skip
    return log


def _results(log: Path) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """The log's result lines read as plain JSON, the latest per case, target and repeat."""
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return {
        (r["suite"], r["case"], r["target"], r["repeat"]): r
        for r in lines
        if r.get("type") == "result"
    }


def test_a_replayed_log_gives_one_row_per_answer_with_the_documented_dtypes(replayed: Path) -> None:
    frame = read_run_log(replayed).to_pandas()
    raw = _results(replayed)
    assert _dtypes(frame) == DTYPES
    assert len(frame) == len(raw) == 75  # 25 cases x 3 targets
    for row in frame.to_dict("records"):
        line = raw[(row["suite"], row["case"], row["target"], row["repeat"])]
        response, usage = line["response"], line["response"]["usage"]
        assert row["category"] == line["category"]
        assert row["errored"] is ("error" in response)
        assert row["passed"] is (
            "error" not in response and all(s["passed"] for s in line["scores"])
        )
        assert row["origin"] == response["origin"] == "replayed"
        assert row["latency_ms"] == response["latency_ms"]
        assert (row["prompt_tokens"], row["completion_tokens"], row["tokens"]) == (
            usage["prompt_tokens"],
            usage["completion_tokens"],
            usage["total_tokens"],
        )
        assert math.isnan(row["cost_usd"])  # the demo targets have no prices
        assert row["answer"] == response["text"]
        assert pd.isna(row["error"])
        checks: dict[str, bool] = {}
        for score in line["scores"]:
            checks[score["check"]] = checks.get(score["check"], True) and score["passed"]
        assert row["checks"] == checks
    assert [tuple(k) for k in frame[["suite", "case", "target", "repeat"]].itertuples(
        index=False, name=None
    )] == list(raw)  # fmt: skip
    assert 0 < frame["passed"].sum() < len(frame)  # both outcomes occur: the check can tell them


def _record(case: str, target: str, response: Response, *scores: tuple[str, bool]) -> ResultRecord:
    return ResultRecord(
        suite_id="s",
        case_id=case,
        target=target,
        repeat=0,
        category="happy_path" if case != "c" else "adversarial",
        fingerprint=f"f-{case}",
        response=response,
        scores=tuple(
            CheckResult(name, {}, Score(passed, float(passed))) for name, passed in scores
        ),
    )


def test_errors_tool_calls_repeated_checks_and_prices_read_as_documented(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    header = RunHeader(
        run_id="r1",
        targets={
            "base": TargetInfo(prices={"input_per_mtok": 2.0, "output_per_mtok": 8.0}),
            "candidate": TargetInfo(),
        },
    )
    answered = Response.from_text("fine", usage=Usage(1000, 500), latency_ms=120.5)
    with RunLogWriter.create(path, header) as writer:
        writer.append(_record("a", "base", answered, ("contains", False), ("contains", True)))
        writer.append(_record("a", "candidate", answered, ("contains", True), ("schema", True)))
        writer.append(_record("b", "base", Response.failed("HTTP 500 from the server", "http_500")))
        writer.append(
            _record(
                "c",
                "base",
                Response(tool_calls=(ToolCall("lookup", "{}"),), usage=Usage(10, 0)),
                ("tool_call", True),
            )
        )
    frame = read_run_log(path).to_pandas()
    assert _dtypes(frame) == DTYPES
    rows = frame.to_dict("records")
    assert [(r["case"], r["target"]) for r in rows] == [
        ("a", "base"),
        ("a", "candidate"),
        ("b", "base"),
        ("c", "base"),
    ]
    a_base, a_cand, b_base, c_base = rows
    # Two checks named `contains`, one failed: the name reads failed, and so does the answer.
    assert a_base["checks"] == {"contains": False} and a_base["passed"] is False
    assert a_cand["checks"] == {"contains": True, "schema": True} and a_cand["passed"] is True
    assert a_base["cost_usd"] == pytest.approx((1000 * 2.0 + 500 * 8.0) / 1_000_000)
    assert math.isnan(a_cand["cost_usd"])  # candidate has no prices
    assert (a_base["tokens"], a_base["latency_ms"]) == (1500, 120.5)
    # An errored call: no answer, not passed (though no check failed), no latency.
    assert b_base["errored"] is True and b_base["passed"] is False
    assert b_base["error"] == "HTTP 500 from the server" and pd.isna(b_base["answer"])
    assert math.isnan(b_base["latency_ms"]) and b_base["checks"] == {}
    assert pd.isna(c_base["answer"]) and c_base["passed"] is True
    assert c_base["category"] == "adversarial"
    # The report's cost is the sum over the answers that did not error.
    base = frame[(frame["target"] == "base") & ~frame["errored"]]
    stats = target_stats("base", read_run_log(path).records(), header.targets["base"].prices)
    assert base["cost_usd"].sum() == pytest.approx(stats.cost_usd)


def test_a_log_without_results_gives_no_rows_and_the_same_columns(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    with RunLogWriter.create(path, RunHeader(run_id="r1")):
        pass
    frame = read_run_log(path).to_pandas()
    assert len(frame) == 0 and _dtypes(frame) == DTYPES


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_reading_a_log_never_imports_pandas(replayed: Path) -> None:
    done = _python(f"""
        import sys
        import arcanos_eval
        log = arcanos_eval.read_run_log({str(replayed)!r})
        print(len(log.results), "pandas" in sys.modules)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["75", "False"]


def test_without_pandas_to_pandas_names_the_extra_to_install(replayed: Path) -> None:
    done = _python(f"""
        import sys
        sys.modules["pandas"] = None  # what an environment without pandas gives: ImportError
        from arcanos_eval import ArcanosError, read_run_log
        try:
            read_run_log({str(replayed)!r}).to_pandas()
        except ArcanosError as error:
            print(type(error).__name__, isinstance(error, ImportError), error)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "MissingExtraError True RunLog.to_pandas needs pandas, which is not installed: "
        "pip install 'arcanos-eval[notebook]'"
    )
