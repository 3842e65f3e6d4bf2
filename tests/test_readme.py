"""The README is the contract with a new user: its commands, code and tables must stay true."""

from __future__ import annotations

import re
import shlex
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
