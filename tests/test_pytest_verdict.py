"""pytest's exit status is the release verdict: the same as ``arcanos-eval run`` on the same answers,
in one process and under pytest-xdist, with the ``gated`` and ``strict`` outcome policies."""

from __future__ import annotations

import pytest
import yaml

from arcanos_eval.cli import main
from arcanos_eval.testing import Fault, Reply
from tests.conftest import KEY_ENV
from tests.test_pytest_plugin import PYPROJECT

pytest_plugins = ["pytester"]

GATED = """
[tool.arcanos_eval.gates]
pass_rate = { happy_path = 0.7 }
max_regression = 0.3
regression_test = "observed"  # four cases: judged on the observed rates
min_cases = 1
waive = { schema = "no response schema", data = "no training data", latency = "loopback server" }
"""

CASES = ["raid", "guild", "quest", "trade"]
SUITE = {
    "id": "events",
    "version": 1,
    "category": "happy_path",
    "cases": [{"id": word, "input": f"Tell me about the {word}.", "checks": [{"contains": word}]}
              for word in CASES],
}  # fmt: skip


@pytest.fixture
def project(pytester, openai_server, test_key, monkeypatch):
    pyproject = PYPROJECT.format(url=openai_server.base_url, env=KEY_ENV) + GATED
    pytester.makefile(".toml", pyproject=pyproject)
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "events.yaml").write_text(yaml.safe_dump(SUITE, sort_keys=False))
    monkeypatch.chdir(pytester.path)
    return pytester


def _fail(server, target: str, *words: str) -> None:
    for word in words:
        server.replies[(f"model-{target}", f"Tell me about the {word}.")] = Reply(text="no idea")


def _pytest(project, *args: str):  # type: ignore[no-untyped-def]
    return project.runpytest_subprocess(
        "--arcanos-suite",
        "suites",
        "--arcanos-mode",
        "live",
        "-p",
        "no:cacheprovider",
        "-rx",
        *args,
    )


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one-process", "xdist"])
def test_a_counted_candidate_failure_promotes_as_the_cli_does(project, openai_server, workers):
    _fail(openai_server, "candidate", "trade")  # 3 of 4 pass: 75% >= 70%, -25 pp within 30 pp
    result = _pytest(project, *workers)
    assert result.ret == main(["run", "--mode", "live", "-q"]) == 0
    result.assert_outcomes(passed=12, xfailed=2)
    result.stdout.fnmatch_lines(
        [
            "arcanos: PROMOTE: 2 gate(s) passed*",
            "XFAIL *trade?candidate? - counted by pass_rate[[]happy_path[]] >= 70.0%",
            "XFAIL *trade?candidate-vs-base? - counted by max_regression",
        ]
    )


def test_a_failing_gate_holds_as_the_cli_does(project, openai_server):
    _fail(openai_server, "candidate", "trade", "quest")  # 50% < 70%
    result = _pytest(project)
    assert result.ret == main(["run", "--mode", "live", "-q"]) == 1
    result.assert_outcomes(passed=8, failed=2, xfailed=4)  # only the two gate items fail
    result.stdout.fnmatch_lines(["gate pass_rate[[]happy_path[]] failed: measured 50.0%*"])


def test_the_base_target_never_fails_the_session(project, openai_server):
    _fail(openai_server, "base", "raid", "guild", "quest")
    result = _pytest(project)
    assert result.ret == main(["run", "--mode", "live", "-q"]) == 0
    result.assert_outcomes(passed=11, xfailed=3)
    result.stdout.fnmatch_lines(["XFAIL *raid?base?*base is a reference target*"])


def test_strict_fails_every_failing_candidate_case(project, openai_server):
    _fail(openai_server, "candidate", "trade")
    result = _pytest(project, "--arcanos-outcome", "strict")
    assert result.ret == 1
    result.assert_outcomes(passed=12, failed=2)
    result.stdout.fnmatch_lines(
        ["case events::trade (*) answered by candidate", "regressed: events::trade *"]
    )


def test_a_candidate_failure_no_gate_counts_fails(project, openai_server):
    pyproject = project.path / "pyproject.toml"
    # Only the base's pass rate: nothing judges a happy-path case of the candidate.
    text = pyproject.read_text().replace("pass_rate = {", "pass_rate_base = {")
    pyproject.write_text(text.replace("max_regression = 0.3\n", "").replace("regression_test", "#"))
    _fail(openai_server, "candidate", "trade")
    result = _pytest(project)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["case events::trade (*) answered by candidate"])


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one-process", "xdist"])
def test_a_selection_is_a_partial_run_without_a_release_verdict(project, openai_server, workers):
    result = _pytest(project, "-k", "raid or guild", *workers)
    outcomes = result.parseoutcomes()  # (xdist does not count the deselected items)
    assert outcomes["passed"] == 6 and "failed" not in outcomes  # every selected item passed...
    assert result.ret == 1  # ...but half the cases decide no release
    result.stdout.fnmatch_lines(
        ["arcanos: HOLD: partial run: 2 of 4 cases answered by both base and candidate*"]
    )


def test_errored_calls_exit_3_as_the_cli_does(project, openai_server):
    openai_server.faults[1] = Fault.http_status(400, "rejected")
    result = _pytest(project)
    openai_server.faults[len(openai_server.requests) + 1] = Fault.http_status(400, "rejected")
    assert result.ret == main(["run", "--mode", "live", "-q"]) == 3
    result.assert_outcomes(passed=12, errors=2)


def test_an_unknown_outcome_policy_in_the_ini_is_a_usage_error(project):
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.pytest.ini_options]\narcanos_outcome = "lenient"\n'
    )
    result = _pytest(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*arcanos_outcome: expected one of gated, strict, found 'lenient'"]
    )
