"""The JSON summary and the GitHub step summary."""

from __future__ import annotations

import json

from arcanos_eval.report import evaluate, summary_json, write_step_summary
from arcanos_eval.runlog import read_run_log
from tests.report.conftest import FIXTURES


def _evaluation(name: str = "release.jsonl"):  # type: ignore[no-untyped-def]
    return evaluate(read_run_log(FIXTURES / name))


def test_summary_snapshot_is_deterministic_json(snapshot):
    text = (
        json.dumps(summary_json(_evaluation()), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )
    assert (
        text
        == json.dumps(summary_json(_evaluation()), indent=2, sort_keys=True, ensure_ascii=False)
        + "\n"
    )
    snapshot("release.summary.json", text)


def test_summary_holds_the_figures_of_the_report():
    summary = summary_json(_evaluation())
    assert summary["report"] == "arcanos-eval/release-summary" and summary["schema_version"] == 1
    verdict = summary["verdict"]
    assert verdict["decision"] == "HOLD" and verdict["exit_status"] == 1
    assert verdict["failing_gates"] == [
        "pass_rate[adversarial]",
        "pass_rate[happy_path]",
        "schema_violations",
        "cost_ratio",
    ]
    assert verdict["rollback"] == "previous" and verdict["errored_answers"] == 1
    happy = next(c for c in summary["categories"] if c["category"] == "happy_path")
    assert happy["candidate"]["passed"] == 6 and happy["candidate"]["total"] == 8
    assert happy["transitions"]["regressed"] == 2 and happy["transitions"]["fixed"] == 2
    assert {c["case"] for c in summary["cases"] if c["transition"] == "regressed"} == {
        "adversarial-refusals::jailbreak-dev-mode",
        "multi-intent::refund-and-crash",
        "puzzle-classification::cipher-runes",
        "puzzle-classification::spatial-mirrors",
    }
    assert [e["case"] for e in summary["errored"]] == ["adversarial-refusals::doxx-player"]
    assert [i["status"] for i in summary["checklist"]] == ["fail", "fail", "waived", "pass"]
    waiver = "fine-tuned on synthetic puzzle dialogues only, no user data"
    assert verdict["waived"] == [{"invariant": "data_sanitized", "reason": waiver}]
    assert verdict["unmet_invariants"] == []
    assert [i["waiver"] for i in summary["checklist"]] == [None, None, waiver, None]


def test_summary_names_the_invariants_that_hold_the_release():
    degraded = summary_json(evaluate(read_run_log(FIXTURES / "degraded.jsonl")))
    assert degraded["verdict"]["unmet_invariants"] == ["schema_stable"]
    assert degraded["verdict"]["waived"] == []
    schema = next(i for i in degraded["checklist"] if i["invariant"] == "schema_stable")
    assert schema["status"] == "not evaluated" and schema["waiver"] is None


def test_step_summary_is_appended_only_on_github_actions(tmp_path):
    evaluation = _evaluation()
    assert write_step_summary(evaluation, {}) is None
    target = tmp_path / "step_summary.md"
    target.write_text("earlier step\n", encoding="utf-8")
    assert write_step_summary(evaluation, {"GITHUB_STEP_SUMMARY": str(target)}) == target
    text = target.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n# Release report")
    assert "## Verdict: ❌ HOLD" in text and "## Regressions" not in text
