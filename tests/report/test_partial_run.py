"""A run log short of its planned answers says so first, everywhere, and never promotes: the
markdown and HTML reports open on it, the JSON summary and the terminal carry it, and the command
it prints completes the run."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from arcanos_eval.cli import main
from arcanos_eval.report import evaluate, render_markdown
from arcanos_eval.report.evaluation import partial_run
from arcanos_eval.runlog import read_run_log
from tests.conftest import loopback_pyproject, simple_cases, write_suite

CASES = 5
KEPT = 3  # results left in the log: 3 of the 10 planned answers
BANNER = "3 of 10 planned answers; resume with: arcanos-eval run --resume logs/run.jsonl"


@pytest.fixture
def project(tmp_path: Path, openai_server, monkeypatch: pytest.MonkeyPatch, test_key) -> Path:
    (tmp_path / "pyproject.toml").write_text(loopback_pyproject(openai_server.base_url))
    write_suite(tmp_path / "suites", "demo", simple_cases(CASES))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cut(log: Path, keep: int) -> None:
    """The log as a kill after ``keep`` answers leaves it: the header and the first results."""
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    assert json.loads(lines[-1])["type"] == "footer"
    log.write_text("".join(lines[: 1 + keep]), encoding="utf-8")


class _Sections(HTMLParser):
    """The ids of the page's sections in order, and the text of the one with id ``partial``."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.partial = ""
        self._in_partial = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs).get("id")
        if tag == "section" and found:
            self.ids.append(found)
            if found == "partial":
                self._in_partial = 1
        elif self._in_partial:
            self._in_partial += 1

    def handle_endtag(self, tag: str) -> None:
        if self._in_partial:
            self._in_partial -= 1

    def handle_data(self, data: str) -> None:
        if self._in_partial:
            self.partial += data


def test_a_cut_log_says_first_what_it_lacks_and_resumes_with_the_command_it_gives(project, capsys):
    assert main(["run", "--mode", "live", "-q", "--log", "logs/run.jsonl"]) == 0
    log = project / "logs" / "run.jsonl"
    _cut(log, KEPT)
    capsys.readouterr()

    outputs = ("-o", "r.md", "--html", "r.html", "--json", "s.json")
    assert main(["report", str(log), *outputs]) == 1  # HOLD, whatever the gates said
    terminal = capsys.readouterr().out.strip()
    assert terminal.startswith(f"HOLD: partial run: {BANNER}; 1 gate(s) passed")

    markdown = (project / "r.md").read_text(encoding="utf-8").splitlines()
    assert markdown[0].startswith("# Release report")
    assert markdown[2] == (
        "> **Partial run: 3 of 10 planned answers; resume with: `arcanos-eval run --resume "
        "logs/run.jsonl`.** No release verdict: the gates judged only what ran, and the verdict "
        "is HOLD."
    )
    assert markdown[4].startswith("## Verdict: ❌ HOLD")

    page = _Sections()
    page.feed((project / "r.html").read_text(encoding="utf-8"))
    assert page.ids[:2] == ["partial", "verdict"]
    assert page.partial.startswith(f"Partial run: {BANNER}. No release verdict")

    summary = json.loads((project / "s.json").read_text(encoding="utf-8"))
    assert summary["verdict"]["decision"] == "HOLD" and summary["verdict"]["exit_status"] == 1
    assert summary["verdict"]["incomplete"] == f"partial run: {BANNER}"
    assert summary["partial"] == {
        "answers": KEPT,
        "planned": 2 * CASES,
        "resume": "arcanos-eval run --resume logs/run.jsonl",
    }
    assert summary["answers"] == KEPT and summary["planned"] == 2 * CASES

    # The markdown on standard output: the terminal gets the line too (on stderr).
    assert main(["report", str(log)]) == 1
    streams = capsys.readouterr()
    assert streams.err == f"arcanos-eval: partial run: {BANNER}\n"
    assert streams.out.splitlines()[2] == markdown[2]

    # The command the report gives completes the run.
    command = shlex.split(summary["partial"]["resume"])
    assert command[:2] == ["arcanos-eval", "run"]
    assert main([*command[1:], "--mode", "live", "-q"]) == 0
    complete = evaluate(read_run_log(log))
    assert complete.partial is None and complete.incomplete is None
    assert complete.verdict.decision == "PROMOTE" and complete.answers == 2 * CASES
    assert "Partial run" not in render_markdown(complete)


def test_a_log_that_did_not_record_its_plan_says_the_count_is_unknown(project):
    assert main(["run", "--mode", "live", "-q", "--log", "run.jsonl"]) == 0
    log = project / "run.jsonl"
    _cut(log, KEPT)
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    del header["planned"], header["log"]  # as a log from before either was recorded
    log.write_text(json.dumps(header) + "\n" + "".join(lines[1:]), encoding="utf-8")
    evaluation = evaluate(read_run_log(log))
    assert evaluation.verdict.decision == "HOLD"
    assert evaluation.incomplete == (
        "partial run: 3 answers, planned count unknown; resume with: arcanos-eval run --resume "
        "run.jsonl"
    )


def test_the_resume_command_quotes_a_path_the_shell_would_split(project):
    assert main(["run", "--mode", "live", "-q", "--log", "my runs/run 1.jsonl"]) == 0
    log = project / "my runs" / "run 1.jsonl"
    _cut(log, KEPT)
    partial = partial_run(read_run_log(log))
    assert partial is not None
    assert partial.resume_command == "arcanos-eval run --resume 'my runs/run 1.jsonl'"
    assert shlex.split(partial.resume_command)[-1] == "my runs/run 1.jsonl"


def test_a_complete_log_has_no_banner_anywhere(project, capsys):
    assert main(["run", "--mode", "live", "-q", "--log", "run.jsonl"]) == 0
    capsys.readouterr()
    assert main(["report", "run.jsonl", "-o", "r.md", "--html", "r.html", "--json", "s.json"]) == 0
    assert capsys.readouterr().out.startswith("PROMOTE: ")
    assert not re.search("partial", (project / "r.md").read_text(encoding="utf-8"), re.I)
    assert 'id="partial"' not in (project / "r.html").read_text(encoding="utf-8")
    assert json.loads((project / "s.json").read_text(encoding="utf-8"))["partial"] is None


def test_the_banner_is_the_same_wherever_the_log_is_read_from_and_follows_a_rename(
    project, tmp_path_factory
):
    assert main(["run", "--mode", "live", "-q", "--log", "logs/run.jsonl"]) == 0
    log = project / "logs" / "run.jsonl"
    _cut(log, KEPT)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    copy, renamed = elsewhere / "run.jsonl", elsewhere / "kept.jsonl"
    shutil.copy(log, copy)
    shutil.copy(log, renamed)
    original = render_markdown(evaluate(read_run_log(log)))
    assert render_markdown(evaluate(read_run_log(copy))) == original
    assert BANNER in original.replace("`", "")
    moved = evaluate(read_run_log(renamed))
    assert moved.partial is not None
    assert moved.partial.resume_command == "arcanos-eval run --resume kept.jsonl"
