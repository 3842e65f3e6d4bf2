"""The verdict's action line and the "Fine-tune provenance" section, rendered from fixed run logs
whose header is changed the way a run with those settings would have written it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from arcanos_eval.model import FineTune, FineTuneCheckpoint, FineTuneFile, RunHeader
from arcanos_eval.report import evaluate, render_html, render_markdown
from arcanos_eval.report.evaluation import Evaluation
from arcanos_eval.runlog import RunLog, read_run_log
from tests.report.conftest import FIXTURES

BASE = "gpt-4.1-2025-04-14"
CANDIDATE = "ft:gpt-4.1-2025-04-14:personal:arca"


def _held(**roles: str | None) -> RunLog:
    """The degraded fixture (a held release) with these roles."""
    log = read_run_log(FIXTURES / "degraded.jsonl")
    log.header = replace(log.header, roles=replace(log.header.roles, **roles))
    return log


def _action(evaluation: Evaluation) -> tuple[str, str]:
    markdown = render_markdown(evaluation)
    line = next(line for line in markdown.splitlines() if "Action:" in line)
    html = render_html(evaluation)
    start = html.index("<li>Action:")
    return line.split("Action: ")[1], html[start + 4 : html.index("</li>", start)]


@pytest.mark.parametrize(
    ("roles", "markdown", "html"),
    [
        ({}, f"keep serving `base` (`{BASE}`).", f"Action: keep serving base ({BASE})."),
        (
            {"rollback": "previous"},
            "roll back to `previous` (`ft:gpt-4.1-2025-04-14:personal:arca-v1`).",
            "Action: roll back to previous (ft:gpt-4.1-2025-04-14:personal:arca-v1).",
        ),
        (
            {"rollback_model": "ft:gpt-4.1-2025-04-14:personal:arca-2-2"},
            "roll back to `ft:gpt-4.1-2025-04-14:personal:arca-2-2`.",
            "Action: roll back to ft:gpt-4.1-2025-04-14:personal:arca-2-2.",
        ),
    ],
)
def test_the_action_line_names_the_model_to_serve(roles, markdown, html):  # type: ignore[no-untyped-def]
    evaluation = evaluate(_held(**roles))
    assert evaluation.verdict.decision == "HOLD"
    assert _action(evaluation) == (markdown, html)


def test_only_a_log_without_the_base_model_says_no_rollback_target_is_configured():
    log = _held()
    targets = {n: t for n, t in log.header.targets.items() if n != "base"}
    log.header = replace(log.header, targets=targets)
    markdown, _ = _action(evaluate(log))
    assert markdown == (
        "keep serving `base` (its model id is not in the run log); no rollback target is "
        "configured."
    )


def _with_fine_tune(header: RunHeader, fine_tune: FineTune) -> RunHeader:
    return replace(header, fine_tunes={"candidate": fine_tune})


JOB = FineTune.from_job(
    {
        "id": "ftjob-arca",
        "model": BASE,
        "fine_tuned_model": CANDIDATE,
        "status": "succeeded",
        "training_file": "file-train",
        "validation_file": "file-valid",
        "trained_tokens": 250_000,
        "hyperparameters": {"n_epochs": 3, "batch_size": 8, "learning_rate_multiplier": 2},
        "created_at": 1_750_000_000,
        "finished_at": 1_750_003_600,
    },
    source="api",
    target_model=CANDIDATE,
    events=[{"created_at": 1_750_003_600, "level": "info", "message": "The job has succeeded"}],
    checkpoints=[
        {
            "step_number": 300,
            "fine_tuned_model_checkpoint": f"{CANDIDATE}:ckpt-step-300",
            "metrics": {"step": 300.0, "train_loss": 0.25},
        }
    ],
    files={"file-train": {"filename": "train.jsonl", "bytes": 1234}},
    recorded_at="2025-06-02T09:00:00+00:00",
)


def test_the_section_follows_the_candidates_job_and_its_problems_hold_the_release():
    log = read_run_log(FIXTURES / "release_next.jsonl")  # promotes as recorded
    log.header = _with_fine_tune(log.header, JOB)
    evaluation = evaluate(log)
    assert evaluation.verdict.decision == "PROMOTE"
    text = render_markdown(evaluation)
    assert "| Fine-tune provenance verified | ✅ pass" in text
    assert "### `candidate` (candidate), `ft:gpt-4.1-2025-04-14:personal:arca`: ✅ verified" in text
    assert "| validation file | file-valid" in text and "| epochs          | 3 " in text
    # A job of another status holds the release, and both reports say why.
    log.header = _with_fine_tune(log.header, replace(JOB, status="cancelled"))
    evaluation = evaluate(log)
    assert evaluation.verdict.decision == "HOLD"
    assert "**fine_tune**" in render_markdown(evaluation)
    assert "job ftjob-arca has status cancelled, not succeeded" in render_html(evaluation)


def test_the_data_reports_files_are_compared_by_name_and_hash():
    log = read_run_log(FIXTURES / "release_next.jsonl")
    log.header = _with_fine_tune(
        log.header,
        replace(JOB, validation_file=FineTuneFile("valid.jsonl", sha256="c" * 64)),
    )
    report = {
        "passed": True,
        "verdict": "PASS data is sanitized",
        "files": [
            {"path": "data/train.jsonl", "role": "train", "sha256": "a" * 64},
            {"path": "data/valid.jsonl", "role": "validation", "sha256": "b" * 64},
        ],
    }
    evaluation = evaluate(log, data_report=report)
    row = next(i for i in evaluation.checklist if i.invariant == "fine_tune")
    # The training file matched by name (the API has no hash); the validation file has a hash of
    # its own, and the report checked another version of it.
    assert row.status == "fail"
    assert row.evidence == (
        f"validation file valid.jsonl has sha256 {'c' * 12}, but the data report checked "
        f"data/valid.jsonl with sha256 {'b' * 12}: the model was not trained on the data the "
        "report checked"
    )
    text = render_markdown(evaluation)
    assert f"file-train (train.jsonl) 1,234 bytes sha256 {'a' * 12} = data report's" in text


def test_other_targets_provenance_is_shown_but_only_the_candidate_is_gated():
    log = read_run_log(FIXTURES / "release_next.jsonl")
    broken = FineTune.missing(
        "api", "ft:gpt-4.1-2025-04-14:personal:arca-v1", "provenance unavailable: x"
    )
    log.header = replace(log.header, fine_tunes={"previous": broken, "candidate": JOB})
    evaluation = evaluate(log)
    assert evaluation.verdict.decision == "PROMOTE"
    text = render_markdown(evaluation)
    assert text.index("### `candidate`") < text.index("### `previous` (rollback)")
    assert "- ❌ provenance unavailable: x" in text


def test_a_checkpoint_row_shows_its_step_model_and_metrics():
    log = read_run_log(FIXTURES / "release_next.jsonl")
    log.header = _with_fine_tune(
        log.header, replace(JOB, checkpoints=(FineTuneCheckpoint(7, "m", {"valid_loss": 1.5}),))
    )
    assert "| 7                 | m       | valid_loss 1.5 " in render_markdown(evaluate(log))
