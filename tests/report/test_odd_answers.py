"""Reports render whatever answers a stored run log holds: logs written before answers were checked
where they come in hold texts that are numbers, objects, lists or booleans, non-finite numbers,
odd finish reasons and models. ``arcanos-eval report`` and ``diff`` render them all."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from arcanos_eval.cli import main
from arcanos_eval.report import evaluate, render_markdown, summary_json
from arcanos_eval.runlog import read_run_log
from tests.report.conftest import FIXTURES

# What an odd answer replaces in a stored result (the raw JSON of the value: bare NaN allowed).
ODD_RESPONSES: list[dict[str, str]] = [
    {"text": "42"},
    {"text": '{"category": "riddle"}'},
    {"text": '["riddle"]'},
    {"text": "true"},
    {"finish_reason": "7", "model": '["x"]', "latency_ms": '"fast"', "ttft_ms": "NaN"},
    {"usage": '{"prompt_tokens": 1e30, "completion_tokens": -3}', "latency_ms": "Infinity"},
    {"error": "404", "error_type": '["x"]'},
    {"tool_calls": '[{"id": null, "name": "f", "arguments": {"x": NaN}}]', "text": "null"},
    {"text": json.dumps("| pipes | `ticks` \x00\x1b[31m\n# heading\n\ud800 " + "long " * 40_000)},
]
ODD_SCORE = '{"check": "json", "args": {}, "passed": false, "value": NaN, "reason": 42, "details": {"d": NaN, "e": [Infinity, -Infinity]}}'


def _with_odd_score(line: str) -> str:
    """A stored result line with :data:`ODD_SCORE` first among its scores."""
    return re.sub(
        r'"scores": \[(\]?)',
        lambda m: f'"scores": [{ODD_SCORE}' + ("]" if m.group(1) else ", "),
        line,
        count=1,
    )


def _odd_log(tmp_path: Path) -> Path:
    """The release fixture, its first results (both targets) given odd answers, unsealed as a log
    written before results were sealed."""
    lines = (FIXTURES / "release.jsonl").read_text(encoding="utf-8").splitlines()
    changed = 0
    for index, line in enumerate(lines):
        record: dict[str, Any] = json.loads(line)
        if record.get("type") != "result" or changed >= 2 * len(ODD_RESPONSES):
            continue
        odd = ODD_RESPONSES[changed // 2]
        record.pop("sha256")
        text = json.dumps(record)
        for field, raw in odd.items():
            marker = f'"@{field}@"'
            record["response"][field] = marker[1:-1]
            text = json.dumps(record).replace(marker, raw)
            record = json.loads(text)
        lines[index] = _with_odd_score(text) if changed % 3 == 0 else text
        changed += 1
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_odd_stored_answer_reads_as_a_malformed_answer(tmp_path):
    log = read_run_log(_odd_log(tmp_path))
    errored = [r for r in log.records() if r.errored]
    assert len(errored) >= 2 * 5  # text that is not text, and the stored error
    kinds = {str(r.response.error) for r in errored}
    assert "malformed_response: the stored answer text is a number, not text" in kinds
    assert all(r.response.text is None or isinstance(r.response.text, str) for r in log.records())


def test_report_and_diff_render_a_log_of_odd_answers(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    odd = _odd_log(tmp_path)
    report, summary = tmp_path / "r.md", tmp_path / "r.json"
    assert main(["report", str(odd), "-o", str(report), "--json", str(summary)]) in (1, 3)
    markdown = report.read_text(encoding="utf-8")
    assert "the stored answer text is an object, not text" in markdown
    json.loads(summary.read_text(encoding="utf-8"), parse_constant=pytest.fail)
    assert main(["diff", str(FIXTURES / "release.jsonl"), str(odd)]) in (0, 1, 3)
    assert main(["diff", str(odd), str(odd)]) in (0, 1, 3)
    capsys.readouterr()


@pytest.mark.parametrize("odd", ODD_RESPONSES, ids=lambda odd: ",".join(odd))
def test_each_odd_answer_renders_alone(tmp_path, odd):
    path = tmp_path / "one.jsonl"
    lines = (FIXTURES / "release.jsonl").read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        record = json.loads(line)
        if record.get("type") == "result":
            record.pop("sha256")
            text = json.dumps(record)
            for field, raw in odd.items():
                record["response"][field] = f"@{field}@"
                text = json.dumps(record).replace(f'"@{field}@"', raw)
                record = json.loads(text)
            lines[index] = _with_odd_score(text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    evaluation = evaluate(read_run_log(path))
    assert render_markdown(evaluation)
    json.dumps(summary_json(evaluation))
