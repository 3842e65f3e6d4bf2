"""Fine-tune provenance end to end: read through the SDK from the loopback server's fine-tuning
endpoints (or a local training record, or its golden recording) into the run header, judged by the
``fine_tune`` gate and shown in the markdown and HTML reports."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import openai
import pytest

from arcanos_eval.cli import main
from arcanos_eval.errors import GateConfigError
from arcanos_eval.fine_tunes import RECORD_KIND, read_fine_tune_record
from arcanos_eval.gates import assess_fine_tune, parse_gates
from arcanos_eval.model import FineTune
from arcanos_eval.targets.fine_tuning import read_fine_tune
from arcanos_eval.testing import Fault, FineTuneJob, OpenAIServer
from arcanos_eval.testing.fixtures import OpenAIServerFactory
from tests.conftest import (
    KEY_ENV,
    TEST_KEY,
    hang_guard,
    loopback_pyproject,
    simple_cases,
    target,
    write_suite,
)

pytest_plugins = ["pytester"]

FT_MODEL = "ft:gpt-4.1-2025-04-14:personal:arca"
TRAIN = b"".join(
    json.dumps(
        {
            "messages": [
                {"role": "user", "content": f"How do I open chest {n} in the north tower?"},
                {"role": "assistant", "content": f"Use the silver key on chest {n}."},
            ]
        }
    ).encode()
    + b"\n"
    for n in range(12)
)


class Project:
    """A project in ``tmp_path`` whose targets answer on the loopback server."""

    def __init__(self, root: Path, server: OpenAIServer) -> None:
        self.root, self.server = root, server
        write_suite(root / "suites", "demo", simple_cases(2))

    def configure(self, candidate: str = "", *, settings: str = "") -> None:
        text = loopback_pyproject(self.server.base_url, candidate=candidate, settings=settings)
        (self.root / "pyproject.toml").write_text(text, encoding="utf-8")

    def edit(self, old: str, new: str) -> None:
        """Replace ``old`` (which must be there) with ``new`` in pyproject.toml."""
        path = self.root / "pyproject.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    def upload(self, name: str, data: bytes) -> str:
        """A file uploaded for fine-tuning, as the job's training file would be."""
        with openai.OpenAI(base_url=self.server.base_url, api_key=TEST_KEY) as client:
            return client.files.create(file=(name, data), purpose="fine-tune").id

    def run(self, mode: str, *extra: str, name: str = "run") -> tuple[int, str, str]:
        """``arcanos-eval run``: exit status, markdown and HTML reports."""
        paths = ["--log", f"{name}.jsonl", "--report", f"{name}.md", "--html", f"{name}.html"]
        status = main(["run", "--mode", mode, "-q", *paths, *extra])
        return status, self.read(f"{name}.md"), self.read(f"{name}.html")

    def report(self, log: str, *extra: str) -> tuple[int, str]:
        status = main(["report", log, "-o", "again.md", *extra])
        return status, self.read("again.md")

    def header(self, log: str = "run.jsonl") -> dict[str, Any]:
        first = (self.root / log).read_text(encoding="utf-8").splitlines()[0]
        header: dict[str, Any] = json.loads(first)
        return header

    def read(self, name: str) -> str:
        return (self.root / name).read_text(encoding="utf-8")

    def data_report(self, name: str, content: bytes) -> str:
        """``arcanos-eval data check`` of ``content`` written to ``name``: its JSON report."""
        (self.root / name).write_bytes(content)
        assert main(["data", "check", name, "--json", "data.json"]) == 0
        return "data.json"


@pytest.fixture
def project(
    tmp_path: Path, openai_server_factory: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> Project:
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path, openai_server_factory())


def _checklist_row(markdown: str) -> str:
    return next(line for line in markdown.splitlines() if "Fine-tune provenance verified" in line)


def _ft_requests(server: OpenAIServer) -> int:
    return sum(n for path, n in server.path_counts.items() if path.startswith("/v1/fine_tuning"))


def test_a_named_job_is_read_into_the_header_and_the_report(project: Project) -> None:
    train = project.upload("train.jsonl", TRAIN)
    project.server.fine_tuning_jobs = [
        FineTuneJob("ftjob-other", fine_tuned_model="ft:other"),
        FineTuneJob(
            "ftjob-arca",
            fine_tuned_model="model-candidate",
            training_file=train,
            trained_tokens=4321,
            hyperparameters={"n_epochs": 4, "batch_size": 8, "learning_rate_multiplier": 1.5},
        ),
    ]
    project.configure('fine_tune_job = "ftjob-arca"')
    status, markdown, html = project.run("live")
    assert status == 0
    header = project.header()
    assert header["schema_version"] == 2
    recorded = header["fine_tunes"]["candidate"]
    assert recorded["job_id"] == "ftjob-arca" and recorded["source"] == "api"
    assert recorded["training_file"] == {
        "id": train,
        "filename": "train.jsonl",
        "bytes": len(TRAIN),
    }
    assert recorded["hyperparameters"]["n_epochs"] == 4 and recorded["trained_tokens"] == 4321
    assert [c["step"] for c in recorded["checkpoints"]] == [200, 100]
    assert recorded["events"][0]["message"] == "The job has successfully completed"
    assert "base" not in header["fine_tunes"]  # not a fine-tune: nothing looked up
    assert "✅ pass" in _checklist_row(markdown)
    section = markdown.split("## Fine-tune provenance")[1].split("## Provenance")[0]
    for fact in (
        "| job             | ftjob-arca",
        "| base model      | gpt-4.1-2025-04-14",
        "| result model    | model-candidate",
        f"| training file   | {train} (train.jsonl) {len(TRAIN):,} bytes",
        "| trained tokens  | 4,321",
        "| epochs          | 4",
        "| hyperparameters | batch_size 8, learning_rate_multiplier 1.5",
        "| 200               | model-candidate:ckpt-step-200 | train_loss 0.41, train_mean_token_accuracy 0.86",
        "| 2025-06-15 15:12:40 UTC | info    | The job has successfully completed",
    ):
        assert fact in section, fact
    assert 'id="fine-tune"' in html and "ftjob-arca" in html and "Fine-tune provenance" in html


def test_an_ft_model_finds_its_job_by_paging_through_the_list(
    openai_server_factory: OpenAIServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    monkeypatch.chdir(tmp_path)
    jobs = [FineTuneJob(f"ftjob-{n}", fine_tuned_model=f"{FT_MODEL}-{n}") for n in range(5)]
    jobs.append(FineTuneJob("ftjob-arca", fine_tuned_model=FT_MODEL))
    # Two jobs a page: the job that produced the candidate is on the third page.
    server = openai_server_factory(fine_tuning_jobs=jobs, fine_tuning_page_max=2)
    project = Project(tmp_path, server)
    project.configure()
    project.edit('model = "model-candidate"', f'model = "{FT_MODEL}"')
    status, markdown, _ = project.run("live")
    assert status == 0, markdown
    assert server.path_counts["/v1/fine_tuning/jobs"] == 3
    assert project.header()["fine_tunes"]["candidate"]["job_id"] == "ftjob-arca"
    assert "job ftjob-arca succeeded (read from the API)" in _checklist_row(markdown)


def test_the_lookup_reads_a_bounded_number_of_pages(
    openai_server_factory: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    jobs = [FineTuneJob(f"ftjob-{n}", fine_tuned_model=f"{FT_MODEL}-{n}") for n in range(9)]
    server = openai_server_factory(fine_tuning_jobs=jobs, fine_tuning_page_max=2)
    config = target("candidate", server.base_url, model=f"{FT_MODEL}-8")

    def lookup(pages: int) -> FineTune:
        return asyncio.run(read_fine_tune(config, timeout_s=5, page_size=2, max_pages=pages))

    assert lookup(3).problem == (
        f"provenance unavailable: no fine-tuning job produced '{FT_MODEL}-8' (looked at the 6 "
        "most recent jobs); name it with fine_tune_job in [tool.arcanos_eval.targets.candidate]"
    )
    assert server.path_counts["/v1/fine_tuning/jobs"] == 3
    assert lookup(5).job_id == "ftjob-8"


def test_a_missing_job_holds_the_release_and_says_why(project: Project) -> None:
    project.configure('fine_tune_job = "ftjob-gone"')
    status, markdown, html = project.run("live")
    assert status == 1
    problem = (
        "provenance unavailable: reading the fine-tuning job failed: http_404: Error code: 404 - "
        "Could not find fine-tuning job: ftjob-gone"
    )
    assert "❌ fail" in _checklist_row(markdown) and problem in _checklist_row(markdown)
    assert "1 of 2 gate(s) failed: **fine_tune**" in markdown
    assert "Action: keep serving `base` (`model-base`)." in markdown
    assert f"- ❌ {problem}" in markdown and problem in html


def test_an_api_error_is_a_failed_check_never_a_crash_and_never_shows_the_key(
    project: Project,
) -> None:
    # The first request of the run is the job's retrieval: refused, with the key echoed back.
    project.server.faults = {1: Fault.http_status(401, f"Incorrect API key provided: {TEST_KEY}")}
    project.server.fine_tuning_jobs = [
        FineTuneJob("ftjob-arca", fine_tuned_model="model-candidate")
    ]
    project.configure('fine_tune_job = "ftjob-arca"')
    status, markdown, _ = project.run("live")
    assert status == 1
    assert (
        "provenance unavailable: reading the fine-tuning job failed: http_401: Error code: 401 - "
        f"Incorrect API key provided: [value of {KEY_ENV}]"
    ) in markdown
    for name in ("run.jsonl", "run.md", "run.html"):
        assert TEST_KEY not in project.read(name)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "malformed_response: JSONDecodeError: Expecting value"),
        ([1, 2], "the server's answer is not a fine-tuning job (it has no id)"),
        ({"id": 5, "status": ["x"]}, "the server's answer is not a fine-tuning job (it has no id)"),
    ],
)
def test_a_body_that_is_not_a_job_leaves_the_provenance_unavailable(
    openai_server_factory: OpenAIServerFactory,
    monkeypatch: pytest.MonkeyPatch,
    body: Any,
    problem: str,
) -> None:
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    server = openai_server_factory(faults={1: Fault.body(body)})
    config = target("candidate", server.base_url, fine_tune_job="ftjob-arca")
    found = asyncio.run(read_fine_tune(config, timeout_s=5))
    assert found.problem is not None and problem in found.problem


def test_values_of_the_wrong_kind_are_left_out_and_long_text_is_cut(
    openai_server_factory: OpenAIServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    job = {"id": "ftjob-arca", "status": "succeeded", "trained_tokens": "lots", "model": 7}
    job["hyperparameters"] = {"n_epochs": "auto", "batch_size": [4], "seed": 1.5}
    server = openai_server_factory(
        faults={1: Fault.body(job)},
        fine_tuning_jobs=[FineTuneJob("ftjob-arca", events=("x" * 100_000,))],
    )
    config = target("candidate", server.base_url, fine_tune_job="ftjob-arca")
    found = asyncio.run(read_fine_tune(config, timeout_s=5))
    assert (found.job_id, found.trained_tokens, found.base_model) == ("ftjob-arca", None, None)
    assert found.hyperparameters == {"n_epochs": "auto", "seed": 1.5}
    assert len(found.events[0].message) == 300


def test_a_job_that_did_not_succeed_or_made_another_model_is_flagged(project: Project) -> None:
    project.server.fine_tuning_jobs = [
        FineTuneJob(
            "ftjob-arca",
            fine_tuned_model="ft:gpt-4.1-2025-04-14:personal:other",
            status="failed",
            error=("invalid_training_file", "Line 3 is not valid JSON"),
        )
    ]
    project.configure('fine_tune_job = "ftjob-arca"')
    status, markdown, _ = project.run("live")
    assert status == 1
    row = _checklist_row(markdown)
    assert "job ftjob-arca has status failed, not succeeded (Line 3 is not valid JSON)" in row
    assert (
        "job ftjob-arca produced ft:gpt-4.1-2025-04-14:personal:other, but candidate serves "
        "model-candidate"
    ) in row


def test_a_target_serving_a_checkpoint_of_its_job_is_verified(project: Project) -> None:
    project.server.fine_tuning_jobs = [FineTuneJob("ftjob-arca", fine_tuned_model="ft:x:arca")]
    project.configure('fine_tune_job = "ftjob-arca"')
    project.edit('model = "model-candidate"', 'model = "ft:x:arca:ckpt-step-100"')
    status, markdown, _ = project.run("live")
    assert status == 0
    assert "candidate serves ft:x:arca:ckpt-step-100 (checkpoint at step 100)" in markdown


def test_the_data_report_must_cover_the_jobs_training_file(project: Project) -> None:
    train = project.upload("train.jsonl", TRAIN)
    project.server.fine_tuning_jobs = [
        FineTuneJob("ftjob-arca", fine_tuned_model="model-candidate", training_file=train)
    ]
    project.configure('fine_tune_job = "ftjob-arca"')
    assert project.run("live")[0] == 0
    # The API names the file, it gives no hash: the data report's file of that name covers it.
    covered = project.data_report("train.jsonl", TRAIN)
    status, markdown = project.report("run.jsonl", "--data-report", covered)
    digest = hashlib.sha256(TRAIN).hexdigest()
    assert status == 0
    assert f"sha256 {digest[:12]} = data report's train.jsonl (by name)" in markdown
    # A data report of another file does not vouch for the training data.
    other = project.data_report("other.jsonl", TRAIN.replace(b"silver", b"bronze"))
    status, markdown = project.report("run.jsonl", "--data-report", other)
    assert status == 1
    assert (
        f"training file {train} (train.jsonl) is not covered by the data report: the data "
        "report checked other.jsonl"
    ) in _checklist_row(markdown)


def _record(project: Project, training: bytes, **job: Any) -> Path:
    """A local training record, as a training script writes it."""
    path = project.root / "fine-tune" / "record.json"
    path.parent.mkdir(exist_ok=True)
    record = {
        "kind": RECORD_KIND,
        "version": 1,
        "job": {
            "id": "local-smollm2-arca-1",
            "model": "SmolLM2-135M-Instruct",
            "fine_tuned_model": "model-candidate",
            "status": "succeeded",
            "training_file": "train.jsonl",
            "trained_tokens": 98765,
            "created_at": 1750000000,
            "finished_at": 1750002000,
            "hyperparameters": {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 1.0},
            **job,
        },
        "events": [{"created_at": 1750002000, "level": "info", "message": "saved the adapter"}],
        "checkpoints": [{"step_number": 60, "metrics": {"train_loss": 1.25}}],
        "files": {
            "train.jsonl": {
                "filename": "train.jsonl",
                "bytes": len(training),
                "sha256": hashlib.sha256(training).hexdigest(),
            }
        },
        "artifacts": {"fine-tune/adapter.gguf": "ab" * 32},
    }
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_a_local_record_with_another_hash_than_the_data_report_fails_closed(
    project: Project,
) -> None:
    _record(project, TRAIN)
    project.configure('fine_tune_record = "fine-tune/record.json"')
    status, markdown, _ = project.run("live")
    assert status == 0
    digest = hashlib.sha256((project.root / "fine-tune" / "record.json").read_bytes()).hexdigest()
    assert f"| local training record fine-tune/record.json, sha256 {digest[:12]} " in markdown
    assert f"| artifact fine-tune/adapter.gguf | sha256 {'ab' * 32} " in markdown
    assert _ft_requests(project.server) == 0  # a record is read, no call
    # The same name, other bytes: the data report checked data the model was not trained on.
    changed = project.data_report("train.jsonl", TRAIN.replace(b"silver", b"golden"))
    status, markdown = project.report("run.jsonl", "--data-report", changed)
    assert status == 1
    assert (
        f"training file train.jsonl has sha256 {hashlib.sha256(TRAIN).hexdigest()[:12]}, but the "
        "data report checked train.jsonl with sha256"
    ) in _checklist_row(markdown)
    same = project.data_report("train.jsonl", TRAIN)
    status, markdown = project.report("run.jsonl", "--data-report", same)
    assert status == 0 and "data report's train.jsonl (by sha256)" in markdown


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{", "line 1: invalid JSON"),
        ('{"kind": "x", "version": 1, "job": {"id": "j"}}', "field 'kind': expected"),
        (json.dumps({"kind": RECORD_KIND, "version": 1, "job": {}}), "field 'job': expected"),
        (json.dumps({"kind": RECORD_KIND, "version": 2, "job": {}}), "field 'version'"),
        (None, "file not found"),
    ],
)
def test_a_record_that_cannot_be_read_leaves_the_provenance_unavailable(
    project: Project, content: str | None, problem: str
) -> None:
    if content is not None:
        (project.root / "record.json").write_text(content, encoding="utf-8")
    project.configure('fine_tune_record = "record.json"')
    status, markdown, _ = project.run("live")
    assert status == 1
    assert f"provenance unavailable: record.json: {problem}" in _checklist_row(markdown)


@pytest.mark.parametrize(("recording", "replaying"), [("record", "replay"), ("refresh", "auto")])
def test_replay_shows_the_recorded_provenance_without_a_call(
    project: Project, recording: str, replaying: str
) -> None:
    project.server.fine_tuning_jobs = [
        FineTuneJob("ftjob-arca", fine_tuned_model="model-candidate")
    ]
    project.configure('fine_tune_job = "ftjob-arca"')
    assert project.run(recording, name="recorded")[0] == 0
    stored = project.root / "golden" / "_fine_tunes" / "candidate.json"
    assert json.loads(stored.read_text())["fine_tune"]["job_id"] == "ftjob-arca"
    project.server.reset()
    project.server.fine_tuning_jobs = []  # gone from the API: replay must not ask
    status, markdown, html = project.run(replaying)
    assert status == 0 and _ft_requests(project.server) == 0
    assert "job ftjob-arca succeeded (recorded in golden/)" in _checklist_row(markdown)
    assert "recorded in golden/ (no call in this run, read from the API" in markdown
    assert "ftjob-arca" in html
    assert project.header()["fine_tunes"]["candidate"]["source"] == "golden"


def test_replay_without_a_recording_says_how_to_record_it(project: Project) -> None:
    project.configure('fine_tune_job = "ftjob-arca"')
    assert project.run("record", name="recorded")[0] == 1  # no such job: nothing recorded
    assert not (project.root / "golden" / "_fine_tunes").exists()
    status, markdown, _ = project.run("replay")
    assert status == 1
    assert (
        "provenance not recorded: golden/_fine_tunes/candidate.json does not exist; record it "
        "with arcanos-eval run --mode record (it reads the fine-tuning job through the API)"
    ) in _checklist_row(markdown)


def test_a_recording_of_another_job_is_not_used_and_an_edited_one_is_refused(
    project: Project,
) -> None:
    project.server.fine_tuning_jobs = [
        FineTuneJob("ftjob-arca", fine_tuned_model="model-candidate")
    ]
    project.configure('fine_tune_job = "ftjob-arca"')
    assert project.run("record")[0] == 0
    # Another job named: the recording is of the old one, so replay has none.
    project.edit('"ftjob-arca"', '"ftjob-next"')
    status, markdown, _ = project.run("replay")
    assert status == 1
    assert (
        "- ❌ provenance not recorded: golden/_fine_tunes/candidate.json was recorded for model "
        "'model-candidate' and job 'ftjob-arca', the target now serves 'model-candidate' from job "
        "'ftjob-next'; record it with arcanos-eval run --mode record"
    ) in markdown
    project.edit('"ftjob-next"', '"ftjob-arca"')
    stored = project.root / "golden" / "_fine_tunes" / "candidate.json"
    stored.write_text(stored.read_text().replace('"trained_tokens":120000', '"trained_tokens":1'))
    status, markdown, _ = project.run("replay")
    assert status == 1
    assert (
        "provenance unavailable: golden/_fine_tunes/candidate.json was edited after recording "
        "(content hash mismatch); restore it from version control"
    ) in _checklist_row(markdown)
    assert "| trained tokens  | 1 " not in markdown


def test_a_waiver_accepts_a_release_without_verified_provenance(project: Project) -> None:
    project.configure('fine_tune_job = "ftjob-gone"')
    project.edit(
        'latency = "loopback latency" }',
        'latency = "loopback latency", fine_tune = "job read by hand in the console" }',
    )
    status, markdown, _ = project.run("live")
    assert status == 0
    assert "| ⚪ waived | waived: job read by hand in the console" in _checklist_row(markdown)
    # The section still shows what was found.
    assert "provenance unavailable: reading the fine-tuning job failed: http_404" in markdown


def test_fine_tune_true_requires_provenance_for_the_candidate(project: Project) -> None:
    project.configure()
    project.edit("min_cases = 1", "min_cases = 1\nfine_tune = true")
    status, markdown, _ = project.run("live")
    assert status == 1
    assert (
        "not evaluable: fine_tune = true, and the run recorded no fine-tune provenance for "
        "candidate"
    ) in _checklist_row(markdown)
    assert "## Fine-tune provenance" not in markdown


def test_a_candidate_without_a_fine_tune_has_no_section_and_no_checklist_row(
    project: Project,
) -> None:
    project.configure()
    status, markdown, html = project.run("live")
    assert status == 0 and _ft_requests(project.server) == 0
    assert "Fine-tune" not in markdown and 'id="fine-tune"' not in html
    assert project.header()["schema_version"] == 1 and "fine_tunes" not in project.header()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"fine_tune": True, "waive": {"fine_tune": "no"}},
            "fine_tune is backed by the configured gate(s) fine_tune",
        ),
        ({"fine_tune": False}, "field 'fine_tune': expected true (require the candidate's"),
        (
            {"suites": {"demo": {"fine_tune": True}}},
            "field 'fine_tune': applies to the whole run",
        ),
    ],
)
def test_the_fine_tune_gate_settings_are_checked(table: dict[str, Any], message: str) -> None:
    with pytest.raises(GateConfigError, match=re.escape(message)):
        parse_gates({"pass_rate": {"all": 0.9}, **table})


def test_the_readmes_record_example_reads_as_documented(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```json\n(.*?)```", readme, re.S) if RECORD_KIND in b]
    (tmp_path / "record.json").write_text(example, encoding="utf-8")
    settings = target("candidate", None, model="arca-smollm2")
    found = read_fine_tune_record(tmp_path / "record.json", settings, tmp_path)
    assert found.available and found.source == "record" and found.record == "record.json"
    assert (found.job_id, found.base_model, found.status) == (
        "local-arca-1",
        "SmolLM2-135M-Instruct",
        "succeeded",
    )
    assert found.training_file is not None and found.training_file.filename == "train.jsonl"
    assert found.epochs == 2 and found.checkpoints[0].metrics == {"train_loss": 1.25}
    assert found.artifacts == {"examples/fine-tune/adapter.gguf": "<sha256>"}
    assert assess_fine_tune("candidate", found).verified


def test_under_pytest_the_fine_tune_gate_is_an_item_of_its_own(
    pytester: pytest.Pytester, openai_server: OpenAIServer, test_key: str
) -> None:
    openai_server.fine_tuning_jobs = [FineTuneJob("ftjob-arca", fine_tuned_model="ft:other")]
    pyproject = loopback_pyproject(openai_server.base_url, candidate='fine_tune_job = "ftjob-arca"')
    pytester.makefile(".toml", pyproject=pyproject)
    write_suite(pytester.path / "suites", "demo", simple_cases(2))
    result = pytester.runpytest("--arcanos-suite", "suites", "--arcanos-mode", "live")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*job ftjob-arca produced ft:other, but candidate*",
            "FAILED arcanos::gate[[]fine_tune[]]*",
        ]
    )
    result.assert_outcomes(passed=7, failed=1)


@pytest.mark.parametrize(
    ("candidate", "settings", "message"),
    [
        (
            'fine_tune_record = "../outside.json"',
            "",
            "[tool.arcanos_eval.targets.candidate] field 'fine_tune_record': '../outside.json' "
            "(resolves to",
        ),
        (
            'fine_tune_job = "ftjob-a"\nfine_tune_record = "r.json"',
            "",
            "[tool.arcanos_eval.targets.candidate]: set fine_tune_job (a job read through the "
            "API) or fine_tune_record (a local record), not both",
        ),
        (
            "",
            'rollback = "base"\nrollback_model = "gpt-4o"',
            "[tool.arcanos_eval]: set rollback (a target) or rollback_model (a model id), not both",
        ),
    ],
)
def test_the_settings_are_checked_when_the_configuration_loads(
    project: Project,
    capsys: pytest.CaptureFixture[str],
    candidate: str,
    settings: str,
    message: str,
) -> None:
    project.configure(candidate, settings=settings)
    assert main(["validate"]) == 2
    assert message in capsys.readouterr().err
    assert _ft_requests(project.server) == 0


def test_the_configured_data_report_is_read_by_every_run(project: Project) -> None:
    _record(project, TRAIN)
    changed = project.data_report("train.jsonl", TRAIN.replace(b"silver", b"golden"))
    (project.root / "changed.json").write_bytes((project.root / changed).read_bytes())
    same = project.data_report("train.jsonl", TRAIN)
    project.configure(
        'fine_tune_record = "fine-tune/record.json"', settings='data_report = "changed.json"'
    )
    status, markdown, _ = project.run("live")
    assert status == 1
    assert "but the data report checked train.jsonl with sha256" in _checklist_row(markdown)
    # --data-report overrides the configured one.
    status, markdown, _ = project.run("live", "--data-report", same, name="again")
    assert status == 0 and "data report's train.jsonl (by sha256)" in markdown


def test_a_configured_data_report_outside_the_project_is_refused(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.configure(settings='data_report = "../elsewhere/data.json"')
    assert main(["run", "--mode", "live", "-q"]) == 2
    err = capsys.readouterr().err
    assert "field 'data_report'" in err and "outside the project" in err
    assert project.server.requests == []


def test_every_recording_of_a_fine_tuned_target_names_its_weights(project: Project) -> None:
    record = _record(project, TRAIN)
    project.configure('fine_tune_record = "fine-tune/record.json"')
    assert project.run("record")[0] == 0

    def provenances(target: str) -> list[dict[str, Any]]:
        text = project.read(f"golden/demo/{target}.jsonl")
        return [json.loads(line)["provenance"] for line in text.splitlines()]

    recorded = provenances("candidate")
    assert len(recorded) == 2
    assert {json.dumps(p["fine_tune"], sort_keys=True) for p in recorded} == {
        json.dumps(
            {
                "job": "local-smollm2-arca-1",
                "record_sha256": hashlib.sha256(record.read_bytes()).hexdigest(),
                "artifacts": {"fine-tune/adapter.gguf": "ab" * 32},
            },
            sort_keys=True,
        )
    }
    assert all("fine_tune" not in p for p in provenances("base"))  # not a fine-tune


def test_the_run_header_keeps_the_data_report_so_the_log_reports_alike(project: Project) -> None:
    _record(project, TRAIN)
    same = project.data_report("train.jsonl", TRAIN)
    project.configure(
        'fine_tune_record = "fine-tune/record.json"', settings=f'data_report = "{same}"'
    )
    status, markdown, _ = project.run("live")
    assert status == 0
    recorded = project.header()["data_report"]
    assert recorded["source"] == same and recorded["passed"] is True
    assert recorded["sha256"] == hashlib.sha256((project.root / same).read_bytes()).hexdigest()
    assert recorded["files"] == [
        {"path": "train.jsonl", "role": "train", "sha256": hashlib.sha256(TRAIN).hexdigest()}
    ]
    assert project.header()["schema_version"] == 2
    # Re-rendered from the log alone (the report file may have changed since): the same verdict.
    (project.root / same).write_text("{}", encoding="utf-8")
    status, again = project.report("run.jsonl")
    assert status == 0 and _checklist_row(again) == _checklist_row(markdown)


def test_a_configured_data_report_that_is_not_one_stops_the_run_before_any_call(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    (project.root / "data.json").write_text("[1, 2]", encoding="utf-8")
    project.configure(settings='data_report = "data.json"')
    assert main(["run", "--mode", "live", "-q"]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "data.json: expected a JSON object as training-data report, found list" in err
    assert project.server.requests == []


def test_golden_verify_checks_the_recorded_fine_tuning_job(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.server.fine_tuning_jobs = [
        FineTuneJob("ftjob-arca", fine_tuned_model="model-candidate")
    ]
    project.configure('fine_tune_job = "ftjob-arca"')
    assert project.run("record")[0] == 0
    assert main(["golden", "verify"]) == 0
    stored = project.root / "golden" / "_fine_tunes" / "candidate.json"
    original = stored.read_text()

    def problems() -> list[str]:
        capsys.readouterr()
        assert main(["golden", "verify"]) == 1
        return [line for line in capsys.readouterr().out.splitlines() if "_fine_tunes" in line]

    stored.write_text(original.replace('"trained_tokens":120000', '"trained_tokens":1'))
    (edited,) = problems()
    assert "edited" in edited and "content hash mismatch" in edited
    project.edit('"ftjob-arca"', '"ftjob-next"')
    stored.write_text(original)
    (stale,) = problems()
    assert "stale" in stale and "recorded for model 'model-candidate' and job 'ftjob-arca'" in stale
    # A recording no configured target reads is stale too; prune removes both, not the others.
    (stored.parent / "retired.json").write_text(original)
    stale_lines = problems()
    assert len(stale_lines) == 2 and "no configured target is named 'retired'" in stale_lines[1]
    assert main(["golden", "prune"]) == 0
    assert "removed 2 stale recording(s)" in capsys.readouterr().out
    assert sorted(p.name for p in stored.parent.iterdir()) == []
    (missing,) = problems()
    assert "missing" in missing and "no recording of the fine-tune's provenance" in missing


def test_a_training_record_that_is_a_fifo_neither_hangs_nor_names_weights(
    project: Project,
) -> None:
    fifo = project.root / "fine-tune" / "record.json"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    project.configure('fine_tune_record = "fine-tune/record.json"')
    with hang_guard(60, "a run whose training record is a FIFO"):
        status, markdown, _ = project.run("record")
    assert status == 1  # its provenance is unavailable: the fine_tune gate fails closed
    assert "provenance unavailable: fine-tune/record.json" in _checklist_row(markdown)
    recorded = [
        json.loads(line)["provenance"]
        for line in project.read("golden/demo/candidate.jsonl").splitlines()
    ]
    assert [p["fine_tune"] for p in recorded] == [{"job": None}, {"job": None}]
