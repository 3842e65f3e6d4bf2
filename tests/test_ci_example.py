"""The GitHub Actions workflow in ``examples/ci/``: its structure, and its commands run here.

The steps' shell scripts are taken from the workflow file and run with bash in a project whose
targets are the loopback server, as GitHub's runner would run them (``bash -eo pipefail``; a step
after a failed one runs only with ``if: always()``). Only the install step is skipped: the package
is already installed in the test environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from arcanos_eval.cli import main
from arcanos_eval.testing import Reply
from tests.conftest import TEST_KEY, loopback_pyproject, simple_cases, write_suite

WORKFLOW = Path(__file__).parent.parent / "examples" / "ci" / "arcanos-eval.yml"


def _workflow() -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return document


def _triggers() -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True.
    triggers: dict[str, Any] = _workflow()[True]
    return triggers


@pytest.fixture
def project(tmp_path, openai_server, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        loopback_pyproject(openai_server.base_url, key_env=None)
    )
    write_suite(tmp_path / "suites", "demo", simple_cases(3))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    return tmp_path


def _run_job(name: str, project: Path, env: dict[str, str]) -> list[tuple[str, int | None]]:
    """Run the job's script steps in order; returns (step name, exit status or None if skipped)."""
    summary = project / "summary.md"
    bin_dir = str(Path(sys.executable).parent)
    job_env = {
        **os.environ,
        **{k: v for k, v in _workflow()["jobs"][name].get("env", {}).items() if "${{" not in v},
        **env,
        "GITHUB_STEP_SUMMARY": str(summary),
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
    }
    results: list[tuple[str, int | None]] = []
    failed = False
    for step in _workflow()["jobs"][name]["steps"]:
        if "run" not in step or step.get("id") == "install":
            continue
        if failed and step.get("if") != "always()":
            results.append((step["name"], None))
            continue
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=project,
            env=job_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        results.append((step["name"], done.returncode))
        failed = failed or done.returncode != 0
    return results


def test_pull_requests_replay_without_a_key_and_the_schedule_calls_live_with_the_secret():
    triggers, jobs = _triggers(), _workflow()["jobs"]
    assert set(triggers) == {"pull_request", "schedule", "workflow_dispatch"}
    assert jobs["replay"]["if"] == "github.event_name == 'pull_request'"
    assert "secrets." not in yaml.safe_dump(jobs["replay"])
    assert "--mode replay" in _gate_step("replay")["run"]
    assert jobs["live"]["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    assert "pull_request" not in jobs["live"]["if"]
    assert "--mode live" in _gate_step("live")["run"]


def _gate_step(job: str) -> dict[str, Any]:
    (step,) = [
        s for s in _workflow()["jobs"][job]["steps"] if "arcanos-eval run" in s.get("run", "")
    ]
    return step


@pytest.mark.parametrize("job", ["replay", "live"])
def test_reports_are_published_and_kept_even_when_the_gate_fails(job):
    steps = _workflow()["jobs"][job]["steps"]
    after_gate = steps[steps.index(_gate_step(job)) + 1 :]
    assert after_gate and all(s.get("if") == "always()" for s in after_gate)
    (upload,) = [s for s in after_gate if s.get("uses", "").startswith("actions/upload-artifact")]
    kept = set(upload["with"]["path"].split())
    assert {"release-report.md", "release-report.html", "release-summary.json", "run.jsonl"} <= kept
    assert all(name in _gate_step(job)["run"] for name in kept)


def test_a_pull_request_replays_golden_offline_and_publishes_the_promotion(project, openai_server):
    assert main(["run", "--mode", "record", "-q", "--log", "record.jsonl"]) == 0
    openai_server.stop()
    steps = _run_job("replay", project, {"OPENAI_API_KEY": ""})
    assert steps == [("Gate (replay golden/)", 0), ("Publish the report", 0)]
    summary = (project / "summary.md").read_text(encoding="utf-8")
    assert "## Verdict: ✅ PROMOTE `candidate`" in summary
    assert {"release-report.md", "release-report.html", "release-summary.json", "run.jsonl"} <= {
        p.name for p in project.iterdir()
    }


def test_a_scheduled_live_run_that_holds_fails_the_job_and_still_publishes(project, openai_server):
    openai_server.replies[("model-candidate", "*")] = Reply(text="I cannot say.")
    steps = _run_job("live", project, {})
    assert steps == [("Gate (live calls)", 1), ("Publish the report", 0)]
    assert openai_server.total_requests == 6
    assert "## Verdict: ❌ HOLD" in (project / "summary.md").read_text(encoding="utf-8")
    assert TEST_KEY not in "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in project.rglob("*") if p.is_file()
    )


def test_a_gate_that_stops_before_a_verdict_says_so_in_the_summary(project, openai_server):
    (project / "suites" / "demo.yaml").write_text("id: demo\ncases: [\n", encoding="utf-8")
    steps = _run_job("replay", project, {})
    assert steps == [("Gate (replay golden/)", 2), ("Publish the report", 0)]
    assert "No release report" in (project / "summary.md").read_text(encoding="utf-8")
