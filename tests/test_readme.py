"""The README is the contract with a new user: its commands, code and tables must stay true."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from arcanos_eval.gates import parse_gates
from arcanos_eval.scorers._registry import scorer_names
from arcanos_eval.suite.loader import load_suites

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def _first_column(section: str) -> set[str]:
    """Backquoted names in the first column of the section's table rows."""
    names: set[str] = set()
    for row in re.findall(r"^\| (.+?) \|", section, re.M):
        names.update(re.findall(r"`([a-z_0-9]+)", row))
    return names


def test_ci_runs_exactly_the_readme_test_command() -> None:
    commands = [b.strip() for b in _blocks("bash") if "pytest" in b and "pip install" in b]
    assert len(commands) == 1, commands
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci_lines[-1] == commands[0]


def _pytest_steps() -> list[list[str]]:
    """The arguments of each pytest run in the README's test command, in order."""
    (command,) = [b.strip() for b in _blocks("bash") if "pytest" in b and "pip install" in b]
    steps = [shlex.split(step) for step in command.split(" && ")]
    return [step[3:] for step in steps if step[:3] == [".venv/bin/python", "-m", "pytest"]]


def _collected(marker_expression: str, *paths: str) -> set[str]:
    collect = ["--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker_expression]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *collect, *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: nothing selected
    return {line for line in result.stdout.splitlines() if "::" in line}


def test_the_slow_lanes_run_in_their_own_step_after_the_unit_run() -> None:
    """The minutes-long tests run in the command's last step, so their time shows apart and the
    unit run's does not include it; each step selects tests (pytest exits 5 on none)."""
    unit, lanes = _pytest_steps()
    assert unit[:1] == lanes[:1] == ["-m"], (unit, lanes)
    assert "-n" in unit  # the unit run is spread over two processes
    slow_paths = ("tests/bench", "tests/data/test_check.py", "tests/live")
    in_lanes = _collected(lanes[1], *slow_paths)
    assert {
        "tests/bench/test_bench.py::test_quick_bench_reports_every_measure_and_loses_nothing",
        "tests/data/test_check.py::test_a_100k_example_file_streams_in_bounded_memory",
    } < in_lanes
    assert any(n.startswith("tests/live/") for n in in_lanes)
    in_unit = _collected(unit[1], *slow_paths)
    assert in_unit and not in_unit & in_lanes  # ordinary data tests stay in the unit run


def test_the_main_job_replays_the_bundled_suites_offline() -> None:
    (main_job,) = [b.strip() for b in _blocks("bash") if "arcanos-eval run --mode replay" in b]
    assert main_job.startswith("python3 -m venv .venv && .venv/bin/pip install -q -e . && ")


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_python_examples_run(index: int) -> None:
    exec(compile(_blocks("python")[index], f"README.md python block {index}", "exec"), {})


def test_every_builtin_scorer_is_documented() -> None:
    documented = _first_column(_section("Scorers"))
    assert set(scorer_names()) <= documented, set(scorer_names()) - documented


def test_every_gate_key_is_documented() -> None:
    from arcanos_eval.gates import _EVALUATORS  # the one list of gate keys

    documented = _first_column(_section("Gates and the release report"))
    assert set(_EVALUATORS) <= documented, set(_EVALUATORS) - documented


def test_the_configuration_example_parses() -> None:
    (toml,) = [b for b in _blocks("toml") if "[tool.arcanos_eval.gates]" in b]
    table = tomllib.loads(toml)["tool"]["arcanos_eval"]["gates"]
    parsed = {(spec.key, spec.category, spec.threshold) for spec in parse_gates(table).specs}
    per_category = {("pass_rate", name, bar) for name, bar in table.pop("pass_rate").items()}
    assert parsed == per_category | {(key, None, bar) for key, bar in table.items()}


def test_bundled_suites_use_every_builtin_scorer() -> None:
    used = {
        check.name
        for suite in load_suites([ROOT / "suites"])
        for case in suite.cases
        for check in case.checks
    }
    # `pairwise` joins the bundled suites with a recorded judge run (a real model's verdicts);
    # tests/test_pairing.py runs it end to end meanwhile.
    awaiting_recordings = {"pairwise"}
    assert set(scorer_names()) - awaiting_recordings <= used, set(scorer_names()) - used


# --- what each command writes -------------------------------------------------------------------

_CHART_FILES = ("latency_cdf.png", "pass_rate_by_category.png")


def _writes_table() -> dict[str, dict[str, str]]:
    """The README's "What each command writes" table: command -> {column: cell}."""
    start = README.index("**What each command writes**")
    lines = README[start:].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| command |"))
    table = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip("|").split(" | ")])
    header, rows = table[0], table[2:]
    return {
        re.findall(r"`([^`]+)`", row[0])[0]: dict(zip(header, row, strict=True)) for row in rows
    }


def _flags(cell: str) -> list[str]:
    """The flag and value each backquoted ``--flag value`` (or ``-o value``) of a cell gives."""
    return [word for code in re.findall(r"`(-[^`]+)`", cell) for word in shlex.split(code)]


def _check_outputs(folder: Path, row: dict[str, str], markdown: str | None = None) -> None:
    """Each file the row names was written, and is what its column says (``markdown``: the
    report that went to standard output instead of the file)."""
    text = markdown
    if text is None:
        text = (folder / _flags(row["markdown report"])[-1]).read_text(encoding="utf-8")
    assert text.startswith("# Release report")
    assert all(f"]({_flags(row['charts'])[-1]}/{name})" in text for name in _CHART_FILES)
    html = (folder / _flags(row["HTML report"])[-1]).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    summary = json.loads((folder / _flags(row["JSON summary"])[-1]).read_text(encoding="utf-8"))
    assert summary["report"] == "arcanos-eval/release-summary"
    for name in _CHART_FILES:
        assert name in README  # the files the README names are those written
        assert (folder / _flags(row["charts"])[-1] / name).read_bytes().startswith(b"\x89PNG")
    log = _flags(row["run log"])
    if log:
        header = json.loads((folder / log[-1]).read_text(encoding="utf-8").splitlines()[0])
        assert header["type"] == "header"


@pytest.fixture
def loopback_project(tmp_path, openai_server, monkeypatch, test_key) -> Path:
    from tests.conftest import loopback_pyproject, simple_cases, write_suite

    (tmp_path / "pyproject.toml").write_text(loopback_pyproject(openai_server.base_url))
    write_suite(tmp_path / "suites", "demo", simple_cases(3))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step-summary.md"))
    return tmp_path


def _step_summaries(folder: Path) -> int:
    path = folder / "step-summary.md"
    return path.read_text(encoding="utf-8").count("## Verdict") if path.is_file() else 0


@pytest.mark.slow  # three runs and two reports, each drawing the charts: a few seconds
def test_the_cli_writes_what_the_readme_table_says(loopback_project, capsys):
    pytest.importorskip("matplotlib")
    from arcanos_eval.cli import main

    table = _writes_table()
    assert set(table) == {
        "arcanos-eval run",
        "arcanos-eval report RUN.jsonl",
        "pytest --arcanos-suite suites",
    }
    folder = loopback_project
    # Without flags, run writes its log where the table says, and nothing else.
    assert main(["run"]) == 0
    assert [p.relative_to(folder).parent.as_posix() for p in folder.rglob("*.jsonl")] == [
        ".arcanos/runs"
    ]
    assert table["arcanos-eval run"]["run log"].endswith("`.arcanos/runs/<time>.jsonl`")
    assert sorted(p.name for p in folder.iterdir()) == [
        ".arcanos", "pyproject.toml", "step-summary.md", "suites"
    ]  # fmt: skip

    run = table["arcanos-eval run"]
    flags = [f for column in list(run)[1:] for f in _flags(run[column])]
    assert main(["run", *flags]) == 0
    _check_outputs(folder, run)
    assert _step_summaries(folder) == 2

    report = table["arcanos-eval report RUN.jsonl"]
    assert _flags(report["run log"]) == []
    log = _flags(run["run log"])[-1]
    for name in ("report.md", "report.html", "summary.json", "charts"):
        shutil.move(folder / name, folder / f"{name}.from-run")
    capsys.readouterr()
    assert report["markdown report"].startswith("standard output, or ")
    without_output = [f for column in list(report)[2:] for f in _flags(report[column])]
    assert main(["report", log, *without_output]) == 0
    _check_outputs(folder, report, markdown=capsys.readouterr().out)
    flags = [f for column in list(report)[1:] for f in _flags(report[column])]
    assert main(["report", log, *flags]) == 0
    _check_outputs(folder, report)
    assert _step_summaries(folder) == 4


@pytest.mark.slow  # a pytest session in a subprocess: a few seconds
def test_pytest_writes_what_the_readme_table_says(loopback_project) -> None:
    pytest.importorskip("matplotlib")
    row = _writes_table()["pytest --arcanos-suite suites"]
    command = shlex.split(re.findall(r"`([^`]+)`", row["command"])[0])
    flags = [f for column in list(row)[1:] for f in _flags(row[column])]
    done = subprocess.run(
        [sys.executable, "-m", *command, *flags, "-p", "no:cacheprovider"],
        cwd=loopback_project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    _check_outputs(loopback_project, row)
    assert _step_summaries(loopback_project) == 1
    # Without flags: the run log alone, where the table says.
    assert row["run log"].endswith("`.arcanos/runs/<time>.jsonl`")
    done = subprocess.run(
        [sys.executable, "-m", *command, "-p", "no:cacheprovider"],
        cwd=loopback_project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(list((loopback_project / ".arcanos" / "runs").glob("*.jsonl"))) == 1
