"""``arcanos-eval validate`` runs every check ``arcanos-eval run`` makes before its first model call
(:mod:`arcanos_eval.startup`), calls no model, and shows every problem of every file at once."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from arcanos_eval.cli import main
from arcanos_eval.startup import MAX_PROBLEMS
from tests.conftest import loopback_pyproject, simple_cases, write_suite

PREFIX = "arcanos-eval: error: "


@pytest.fixture
def project(tmp_path, openai_server, monkeypatch, test_key):  # type: ignore[no-untyped-def]
    (tmp_path / "pyproject.toml").write_text(loopback_pyproject(openai_server.base_url))
    write_suite(tmp_path / "suites", "demo", simple_cases(3))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _errors(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    status = main(list(argv))
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert all(line.startswith(PREFIX) for line in lines), err
    return status, [line.removeprefix(PREFIX) for line in lines]


def _edit(project: Path, old: str, new: str) -> None:
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert old in text, old
    pyproject.write_text(text.replace(old, new, 1))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_valid_project_is_listed_and_no_model_is_called(project, openai_server, capsys):
    assert main(["validate"]) == 0
    assert "1 suites, 3 cases: valid." in capsys.readouterr().out
    assert openai_server.total_requests == 0
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml", "suites"]


def test_every_problem_of_every_file_is_one_line_at_once(project, openai_server, capsys):
    _edit(project, "min_cases = 1", "min_cases = 1\npass_rat = 0.9")
    _write(
        project / "suites" / "alpha.yaml",
        "id: alpha\nversion: 1\ncases:\n"
        "  - id: one\n    inptu: hello\n    checks: [refusal]\n"
        "  - id: two\n    input: 5\n    checks: [refusal]\n",
    )
    _write(
        project / "suites" / "beta.yaml",
        "id: beta\nversion: 1\ncases:\n"
        "  - id: one\n    input: hi\n    checks: [refusl]\n"
        "  - id: two\n    input: hi\n    checks: [{judge: {rubric: r, target: jduge}}]\n"
        "  - id: one\n    input: again\n    checks: [refusal]\n",
    )
    status, lines = _errors(capsys, "validate")
    assert status == 2
    pyproject, suites = project / "pyproject.toml", project / "suites"
    line = pyproject.read_text().splitlines().index("pass_rat = 0.9") + 1
    assert lines == [
        f"{pyproject}:{line}: [tool.arcanos_eval.gates]: unknown gate 'pass_rat' (did you mean "
        "'pass_rate' or 'pass_rate_base' or 'max_loss_rate'?)",
        f"{suites}/alpha.yaml:5, case 'one', field 'inptu': unknown field 'inptu' (did you mean "
        "'input'?)",
        f"{suites}/alpha.yaml:8, case 'two', field 'input': expected text, found a number 5",
        f"{suites}/beta.yaml:6, case 'one', field 'checks[0]': unknown check 'refusl' (did you "
        "mean 'refusal'?)",
        f"{suites}/beta.yaml:10, case 'one', field 'id': duplicate case id (first defined on "
        "line 4)",
    ]
    assert openai_server.total_requests == 0
    # A run stops on the first of them, before any call.
    status, run_lines = _errors(capsys, "run", "--mode", "live", "-q")
    assert (status, run_lines) == (2, lines[:1])
    assert openai_server.total_requests == 0


def test_the_lines_shown_are_capped(project, capsys):
    cases = [{"id": f"c{i}", "input": i, "checks": ["refusal"]} for i in range(70)]
    suite = {"id": "many", "version": 1, "category": "happy_path", "cases": cases}
    _write(project / "suites" / "many.yaml", yaml.safe_dump(suite, sort_keys=False))
    cases = [{"id": f"d{i}", "input": i, "checks": ["refusal"]} for i in range(3)]
    _write(
        project / "suites" / "more.yaml", yaml.safe_dump({**suite, "id": "more", "cases": cases})
    )
    status, lines = _errors(capsys, "validate")
    assert status == 2
    # 49 lines of many.yaml and one saying it has more, then 3 of more.yaml: 53 problems.
    assert len(lines) == MAX_PROBLEMS + 1
    assert all(", field 'input': expected text" in line for line in lines[: MAX_PROBLEMS - 1])
    assert [re.search(r"many\.yaml:(\d+)", line)[1] for line in lines[:3]] == ["6", "10", "14"]
    assert lines[MAX_PROBLEMS - 1] == (
        f"{project / 'suites' / 'many.yaml'}: more problems from line 202 on, not shown: fix "
        "these and validate again"
    )
    assert lines[-1] == "... and 3 more"


# Each configuration `run` refuses before its first call, and the line it refuses it with.
BROKEN: dict[str, Callable[[Path], None]] = {
    "unknown gate": lambda p: _edit(p, "min_cases = 1", "min_cases = 1\npass_rat = 0.9"),
    "gate category no suite has": lambda p: _edit(
        p, "happy_path = 1.0", "happy_path = 1.0, adversrial = 1.0"
    ),
    "gate on a suite the run lacks": lambda p: _edit(
        p, "min_cases = 1", "min_cases = 1\nsuites = { dmo = { pass_rate = { happy_path = 1 } } }"
    ),
    "gate on a category its suite lacks": lambda p: _edit(
        p, "min_cases = 1", "min_cases = 1\nsuites = { demo = { pass_rate = { adversarial = 1 } } }"
    ),
    "modifier without its gate": lambda p: _edit(p, "min_cases = 1", "min_cases = 1\nalpha = 0.1"),
    "waiver of a gated invariant": lambda p: _edit(
        p, "min_cases = 1", "min_cases = 1\nlatency_p95_ms = 900"
    ),
    "no gates": lambda p: _edit(p, "[tool.arcanos_eval.gates]", "[tool.arcanos_eval.nogates]"),
    "config schema": lambda p: _edit(p, 'golden = "golden"', 'golden = "golden"\nmode = "recrod"'),
    "missing prompt file": lambda p: _edit(
        p, 'model = "model-base"', 'model = "model-base"\nsystem_prompt = "prompts/none.md"'
    ),
    "no targets": lambda p: _edit(p, "[tool.arcanos_eval.targets.", "[tool.arcanos_eval.xtargets."),
    "suite path naming nothing": lambda p: _edit(p, 'suites = ["suites"]', 'suites = ["nope"]'),
    "suite schema": lambda p: _write(
        p / "suites" / "demo.yaml",
        "id: demo\nversion: 1\ncases:\n  - id: x\n    checks: [refusal]\n",
    ),
    "unknown check": lambda p: write_suite(
        p / "suites", "demo", [{"id": "x", "input": "q", "checks": ["refusl"]}]
    ),
    "suite id used twice": lambda p: write_suite(p / "suites" / "more", "demo", simple_cases(1)),
    "check consulting no configured target": lambda p: write_suite(
        p / "suites",
        "demo",
        [{"id": "x", "input": "q", "checks": [{"moderation": {"target": "j"}}]}],
    ),
    "response schema missing": lambda p: write_suite(
        p / "suites", "demo", simple_cases(1), response_schema="schemas/none.json"
    ),
    "golden is a file": lambda p: _write(p / "golden", "not a folder"),
    "cache is a file": lambda p: (
        _edit(p, "cache = false", 'cache = "cache.txt"'),
        _write(p / "cache.txt", "x"),
    ),
    "schema of record unreadable": lambda p: _write(p / "golden" / "demo" / "schema.json", "{"),
    "data report missing": lambda p: _edit(
        p, 'golden = "golden"', 'golden = "golden"\ndata_report = "data.json"'
    ),
    "data report not an object": lambda p: (
        _edit(p, 'golden = "golden"', 'golden = "golden"\ndata_report = "data.json"'),
        _write(p / "data.json", "[1, 2]"),
    ),
}


@pytest.mark.parametrize("broken", list(BROKEN), ids=list(BROKEN))
def test_validate_refuses_what_run_refuses_with_the_same_line(
    broken, project, openai_server, capsys
):
    BROKEN[broken](project)
    status, run_lines = _errors(capsys, "run", "--mode", "live", "-q", "--log", "run.jsonl")
    assert status == 2 and len(run_lines) == 1, run_lines
    assert openai_server.total_requests == 0 and not (project / "run.jsonl").exists()
    assert _errors(capsys, "validate") == (2, run_lines)
    assert openai_server.total_requests == 0


def test_gates_on_suites_a_run_leaves_out_are_judged_not_refused(project, openai_server, capsys):
    """A run of some suites, named on the command line, is not refused for a gate on a category
    only the others have: that gate fails when judged (no case in scope)."""
    write_suite(project / "suites", "other", simple_cases(2), category="adversarial")
    _edit(project, "happy_path = 1.0", "happy_path = 1.0, adversarial = 1.0")
    assert main(["validate"]) == 0
    _edit(project, "adversarial = 1.0", "adversrial = 1.0")
    status, lines = _errors(capsys, "validate")
    assert status == 2 and "field 'pass_rate.adversrial'" in lines[0]
    assert "(did you mean 'adversarial'?); categories: adversarial, happy_path" in lines[0]

    _edit(project, "adversrial = 1.0", "adversarial = 1.0")
    assert main(["validate", "suites/demo.yaml"]) == 0
    assert main(["run", "suites/demo.yaml", "--mode", "live", "-q", "--json", "s.json"]) == 1
    gates = json.loads((project / "s.json").read_text())["gates"]
    (adversarial,) = [g for g in gates if g["name"] == "pass_rate[adversarial]"]
    assert not adversarial["passed"]


def test_every_problem_of_the_configuration_table_is_shown(project, openai_server, capsys):
    _edit(project, 'golden = "golden"', 'golden = "golden"\nmode = "recrod"\nconcurrency = 0')
    _edit(project, 'model = "model-candidate"', 'model = "model-candidate"\ntransport = "requests"')
    status, lines = _errors(capsys, "validate")
    assert status == 2
    text = (project / "pyproject.toml").read_text().splitlines()
    at = {key: text.index(next(t for t in text if t.startswith(key))) + 1 for key in
          ("mode", "concurrency", "transport")}  # fmt: skip
    pyproject = project / "pyproject.toml"
    assert [line.split(": [")[0] for line in lines] == [
        f"{pyproject}:{at['mode']}",
        f"{pyproject}:{at['concurrency']}",
        f"{pyproject}:{at['transport']}",
    ]
    assert "field 'mode': expected a mode among replay, record" in lines[0]
    assert "[tool.arcanos_eval.targets.candidate] field 'transport'" in lines[2]
    # A run stops on the first.
    assert _errors(capsys, "run", "--mode", "live", "-q") == (2, lines[:1])


def test_a_suite_named_on_the_command_line_that_loops_is_one_line(project, capsys):
    (project / "suites" / "loop.yaml").symlink_to("loop.yaml")
    for command in (["validate", "suites/loop.yaml"], ["run", "suites/loop.yaml", "-q"]):
        status, lines = _errors(capsys, *command)
        assert status == 2 and len(lines) == 1 and lines[0].startswith("suites/loop.yaml"), lines
