"""The ``arcanos-eval`` command line: exit statuses, tables, one-line errors, golden maintenance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arcanos_eval.cli import main
from arcanos_eval.testing import Fault, Reply
from tests.conftest import KEY_ENV, simple_cases, write_suite

PYPROJECT = """
[tool.arcanos_eval]
suites = ["suites"]
golden = "golden"
cache = false

[tool.arcanos_eval.targets.base]
model = "model-base"
system_prompt = "You are the base."
base_url = "{url}"
check_model = false  # the loopback server answers to any model name
api_key_env = "{env}"

[tool.arcanos_eval.targets.candidate]
model = "model-candidate"
system_prompt = "You are the candidate."
base_url = "{url}"
check_model = false  # the loopback server answers to any model name
api_key_env = "{env}"

[tool.arcanos_eval.gates]
pass_rate = {{ happy_path = 1.0 }}
min_cases = 1  # three cases: judged on the observed rates
waive = {{ schema = "the suite has no response schema", data = "no training data: loopback targets", latency = "the loopback server's latency is not a model's" }}
"""


@pytest.fixture
def project(tmp_path, openai_server, monkeypatch, test_key):
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.format(url=openai_server.base_url, env=KEY_ENV)
    )
    write_suite(tmp_path / "suites", "demo", simple_cases(3))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validate_lists_suites_and_totals(project, capsys):
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| demo"))
    assert [cell.strip() for cell in row.strip("|").split("|")][:4] == [
        "demo",
        "happy_path",
        "3",
        "contains",
    ]
    assert "1 suites, 3 cases: valid. Targets: base=model-base, candidate=model-candidate." in out


def test_user_errors_are_one_line_and_exit_2(project):
    (project / "suites" / "broken.yaml").write_text("id: broken\ncases:\n  - id: x\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    out = subprocess.run(
        [sys.executable, "-m", "arcanos_eval.cli", "validate"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("arcanos-eval: error: ")
    assert "broken.yaml:3, case 'x': expected exactly one of 'input' or 'messages'" in out.stderr


def test_record_then_replay_offline(project, openai_server, capsys):
    assert main(["run", "--mode", "record", "-q", "--log", "rec.jsonl"]) == 0
    assert openai_server.total_requests == 6
    assert (
        "golden: wrote 6 new recordings (0 from the cache, 6 from live calls) into golden/\n"
        in (capsys.readouterr().out)
    )
    openai_server.stop()
    assert main(["run", "--mode", "replay", "-q", "--log", "rep.jsonl"]) == 0
    out = capsys.readouterr().out
    assert "| demo    | candidate |         3 |        3 |        0 |         0 |" in out
    assert "0 live, 6 replayed" in out


def test_record_after_a_cached_run_records_the_cache_and_says_how_many(
    project, openai_server, capsys
):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("cache = false\n", ""))
    assert main(["run", "-q"]) == 0  # auto: calls, and keeps the answers in the cache
    assert openai_server.total_requests == 6 and not (project / "golden").exists()
    capsys.readouterr()

    assert main(["run", "--mode", "record", "-q"]) == 0
    out = capsys.readouterr().out
    assert "(0 live, 0 replayed, 6 cached, " in out
    assert (
        "\ngolden: wrote 6 new recordings (6 from the cache, 0 from live calls) into golden/\n"
        in out
    )
    assert openai_server.total_requests == 6, "no call made again"
    openai_server.stop()
    assert main(["run", "--mode", "replay", "-q"]) == 0
    assert "golden:" not in capsys.readouterr().out, "replay records nothing"
    assert main(["run", "--mode", "record", "-q"]) == 0
    assert (
        "\ngolden: wrote no new recording: golden/ held every answer of this run\n"
        in capsys.readouterr().out
    )


def test_a_path_that_cannot_be_written_is_a_one_line_usage_error(project, openai_server, capsys):
    assert main(["run", "--mode", "live", "-q", "--log", "run.jsonl"]) == 0
    capsys.readouterr()
    under_a_file = project / "pyproject.toml" / "report.md"
    assert main(["report", "run.jsonl", "-o", str(under_a_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"arcanos-eval: error: {under_a_file.parent}") and err.count("\n") == 1


def test_replay_without_recordings_exits_2(project, capsys):
    assert main(["run", "--mode", "replay", "-q"]) == 2
    assert "6 answer(s) have no recording" in capsys.readouterr().err


def _without_gates(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text[: text.index("[tool.arcanos_eval.gates]")])


def test_a_run_without_gates_is_a_usage_error_before_any_call(project, openai_server, capsys):
    _without_gates(project)
    assert main(["run", "--mode", "live", "-q"]) == 2
    assert capsys.readouterr().err == (
        f"arcanos-eval: error: {project / 'pyproject.toml'}: "
        "no release gates configured: add [tool.arcanos_eval.gates] to "
        "pyproject.toml (pass_rate, max_regression, ...; the bundled pyproject.toml has an "
        "example)\n"
    )
    assert openai_server.total_requests == 0


def test_an_invariant_neither_evaluated_nor_waived_holds_the_run(project, capsys):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('data = "no training data: loopback targets", ', "")
    )
    assert main(["run", "--mode", "record", "-q", "--json", "s.json"]) == 1
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("HOLD: 1 gate(s) passed; data sanitized: not evaluated and not waived; ")
    assert "waived: schema stable (the suite has no response schema)" in line
    verdict = json.loads((project / "s.json").read_text())["verdict"]
    assert verdict["decision"] == "HOLD" and verdict["unmet_invariants"] == ["data_sanitized"]


def test_errored_calls_exit_3(project, openai_server, capsys):
    # Every base call fails; the candidate's answers pass its gate, so the verdict is PROMOTE
    # and the errored calls alone make the exit status 3.
    openai_server.responder = lambda request: (
        Reply.failing(Fault.http_status(400, "nope"))
        if request.model == "model-base"
        else Reply(text=request.prompt)
    )
    assert main(["run", "--mode", "live", "-q"]) == 3
    assert "3 errored" in capsys.readouterr().out


def test_a_run_of_some_targets_decides_no_release(project, openai_server, capsys):
    # The verdict needs every case from both base and candidate: the selection holds.
    assert main(["run", "--mode", "live", "-q", "--targets", "base"]) == 1
    out = capsys.readouterr().out
    assert "HOLD: partial run: 0 of 3 cases answered by both base and candidate" in out


def test_resume_flag_continues_a_log(project, openai_server, capsys):
    openai_server.faults[1] = Fault.http_status(400, "first call fails")
    assert main(["run", "--mode", "live", "-q", "--log", "r.jsonl"]) == 3
    assert main(["run", "--mode", "live", "-q", "--resume", "r.jsonl"]) == 0
    results = [
        json.loads(line)
        for line in (project / "r.jsonl").read_text().splitlines()
        if '"type":"result"' in line
    ]
    assert len(results) == 7 and not results[-1]["response"].get("error")


def test_golden_verify_and_prune(project, openai_server, capsys):
    assert main(["run", "--mode", "record", "-q"]) == 0
    assert main(["golden", "verify"]) == 0
    assert "every planned answer is recorded" in capsys.readouterr().out

    golden = project / "golden" / "demo" / "base.jsonl"
    records = [json.loads(line) for line in golden.read_text().splitlines()]
    records[0]["request"]["model"] = "tampered"
    del records[1]["provenance"]["sdk"]
    golden.write_text("".join(json.dumps(r) + "\n" for r in records))
    write_suite(
        project / "suites",
        "demo",
        [
            *simple_cases(2),
            {"id": "case-2", "input": "a changed question", "checks": [{"contains": "changed"}]},
        ],
    )
    assert main(["golden", "verify"]) == 1
    out = capsys.readouterr().out
    for kind in ("corrupt", "provenance", "missing", "stale"):
        assert f"| {kind}" in out, kind

    assert main(["golden", "prune", "--dry-run"]) == 0
    assert "would remove 2 stale recording(s)" in capsys.readouterr().out
    assert main(["golden", "prune"]) == 0
    assert len(golden.read_text().splitlines()) == 2


def test_golden_verify_flags_key_shaped_values(project, capsys):
    assert main(["run", "--mode", "record", "-q"]) == 0
    golden = project / "golden" / "demo" / "base.jsonl"
    golden.write_text(
        golden.read_text().replace("question number 0", "sk-abcdefghijklmnopqrstuvwxyz0123")
    )
    assert main(["golden", "verify"]) == 1
    assert "| secret" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and "arcanos-eval 0.1.0" in capsys.readouterr().out


def test_the_bundled_run_reports_as_its_log_reads_back(tmp_path, monkeypatch):
    # The run renders its report from the records it kept in memory; `report` renders from the
    # file. Every scorer of the bundled suites must give the same report both ways.
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    log, first, second = tmp_path / "run.jsonl", tmp_path / "run.md", tmp_path / "again.md"
    assert main(["run", "-q", "--mode", "replay", "--log", str(log), "--report", str(first)]) == 1
    assert main(["report", str(log), "--out", str(second)]) == 1
    assert first.read_text() == second.read_text()


def test_exit_statuses_are_defined_once():
    # One enum for every exit status: the CLI's commands, report and diff, data and schema checks,
    # and the verdict return its members; a module of its own EXIT_* numbers is a second definition.
    import ast
    from pathlib import Path

    import arcanos_eval
    from arcanos_eval.errors import ExitCode

    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 70, 130, 141]
    root = Path(arcanos_eval.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    elements = target.elts if isinstance(target, ast.Tuple) else [target]
                    names += [t.id for t in elements if isinstance(t, ast.Name)]
            if isinstance(node, ast.FunctionDef) and node.name.startswith("_cmd"):
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Constant):
                        found.append(f"{path.relative_to(root)}:{ret.lineno} returns a number")
            found += [
                f"{path.relative_to(root)}:{node.lineno} defines {name}"
                for name in names
                if name.lstrip("_").startswith("EXIT")
            ]
    assert not found, "use arcanos_eval.errors.ExitCode:\n" + "\n".join(found)
