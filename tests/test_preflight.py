"""The pre-flight check of ``arcanos_eval._preflight``: keys, model ids and reachable servers are
checked before a run's first model call, through the CLI and the pytest plugin, against the
loopback server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from arcanos_eval.cli import main
from arcanos_eval.testing import Fault
from tests.conftest import KEY_ENV, hang_guard, loopback_pyproject, simple_cases, write_suite

pytest_plugins = ["pytester"]

MODELS = ["model-base", "model-candidate-v2", "gpt-4.1-2025-04-14"]


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _project(root: Path, pyproject: str, cases: int = 3) -> Path:
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    write_suite(root / "suites", "demo", simple_cases(cases))
    return root


def _chat_calls(server) -> int:
    return server.path_counts.get("/v1/chat/completions", 0)


def test_an_unknown_model_stops_the_run_before_any_call(
    tmp_path, monkeypatch, capsys, openai_server_factory, test_key
):
    server = openai_server_factory(models=MODELS)
    _project(tmp_path, loopback_pyproject(server.base_url, check_model=True))
    monkeypatch.chdir(tmp_path)

    status = main(["run", "-q", "--mode", "live"])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1
    # The candidate's model is not listed; the nearest listed one is named first.
    assert err[0].startswith(
        f"arcanos-eval: error: target 'candidate': model 'model-candidate' is not served by "
        f"{server.base_url}, which lists model-candidate-v2, "
    )
    assert "gpt-4.1-2025-04-14" in err[0] and "'base'" not in err[0]
    assert server.path_counts == {"/v1/models": 1}  # asked once, nothing called


def test_a_known_model_runs_and_each_endpoint_is_asked_once(
    tmp_path, monkeypatch, capsys, openai_server_factory, test_key
):
    first = openai_server_factory(models=MODELS)
    second = openai_server_factory(models=["model-candidate"])
    _project(
        tmp_path,
        loopback_pyproject(first.base_url, candidate_url=second.base_url, check_model=True),
    )
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "live"]) == 0
    assert first.path_counts == {"/v1/models": 1, "/v1/chat/completions": 3}
    assert second.path_counts == {"/v1/models": 1, "/v1/chat/completions": 3}
    # The check came before every call of its endpoint.
    assert first.requests[0].path == "/v1/models"
    assert second.requests[0].path == "/v1/models"


def test_targets_sharing_an_endpoint_and_key_are_checked_with_one_request(
    tmp_path, monkeypatch, openai_server_factory, test_key
):
    server = openai_server_factory(models=["model-base", "model-candidate"])
    _project(tmp_path, loopback_pyproject(server.base_url, check_model=True))
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "live"]) == 0
    assert server.path_counts == {"/v1/models": 1, "/v1/chat/completions": 6}


@pytest.mark.parametrize(
    ("knobs", "said"),
    [
        ({"models": None}, "answered 404 (no model list)"),
        ({"faults": {1: Fault.server_error()}}, "answered 500 (the server's trouble)"),
        ({"faults": {1: Fault.body([1, 2])}}, "did not answer with a model list"),
    ],
    ids=["no-endpoint", "server-error", "not-a-list"],
)
def test_a_server_that_does_not_list_its_models_is_not_checked(
    tmp_path, monkeypatch, capsys, openai_server_factory, test_key, knobs, said
):
    server = openai_server_factory(**knobs)
    _project(tmp_path, loopback_pyproject(server.base_url, check_model=True))
    monkeypatch.chdir(tmp_path)

    assert main(["-v", "run", "--mode", "live"]) == 0
    err = capsys.readouterr().err
    assert f"arcanos-eval: pre-flight: GET {server.base_url}/models {said}" in err
    assert "model ids not checked" in err
    assert _chat_calls(server) == 6


def test_without_verbose_a_skipped_check_is_silent(
    tmp_path, monkeypatch, capsys, openai_server_factory, test_key
):
    server = openai_server_factory(models=None)
    _project(tmp_path, loopback_pyproject(server.base_url, check_model=True))
    monkeypatch.chdir(tmp_path)

    assert main(["run", "-q", "--mode", "live"]) == 0
    assert "pre-flight" not in capsys.readouterr().err


def test_check_model_false_skips_the_model_check(
    tmp_path, monkeypatch, openai_server_factory, test_key
):
    server = openai_server_factory(models=["something-else"])
    _project(tmp_path, loopback_pyproject(server.base_url, check_model=False))
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "live"]) == 0
    assert server.path_counts == {"/v1/chat/completions": 6}  # only connected to, never asked


@pytest.mark.parametrize("check_model", [True, False], ids=["model-list", "connect-only"])
def test_a_refused_connection_stops_the_run_in_one_line_with_status_3(
    tmp_path, monkeypatch, capsys, test_key, check_model
):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    # Without the check, 50 retries with backoff per call would run for many minutes.
    settings = "max_retries = 50"
    _project(
        tmp_path, loopback_pyproject(url, settings=settings, check_model=check_model), cases=20
    )
    monkeypatch.chdir(tmp_path)

    with hang_guard(60, "retrying a server that refuses connections"):
        status = main(["run", "-q", "--mode", "live"])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 3
    assert len(err) == 1
    assert err[0].startswith(
        f"arcanos-eval: error: targets 'base', 'candidate': cannot reach {url}: "
    )
    assert "Connect call failed" in err[0] or "refused" in err[0].lower()


def test_an_unknown_host_stops_the_run_with_status_3(tmp_path, monkeypatch, capsys, test_key):
    url = "http://no-such-host.invalid/v1"
    _project(tmp_path, loopback_pyproject(url, settings="max_retries = 50", check_model=True))
    monkeypatch.chdir(tmp_path)

    with hang_guard(60, "retrying a host that does not resolve"):
        status = main(["run", "-q", "--mode", "live"])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 3 and len(err) == 1
    assert f"cannot reach {url}: " in err[0]


def test_a_refused_key_stops_the_run_with_status_3(
    tmp_path, monkeypatch, capsys, openai_server_factory, test_key
):
    server = openai_server_factory(api_key="sk-the-right-key-0123456789abcdef")
    _project(tmp_path, loopback_pyproject(server.base_url, check_model=True))
    monkeypatch.chdir(tmp_path)

    status = main(["run", "-q", "--mode", "live"])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 3 and len(err) == 1
    assert err[0] == (
        f"arcanos-eval: error: targets 'base', 'candidate': authentication failed (401) at "
        f"{server.base_url}: check {KEY_ENV}"
    )
    assert _chat_calls(server) == 0


def test_a_public_api_target_without_its_key_is_an_error_before_any_call(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / "pyproject.toml").write_text(
        """
[tool.arcanos_eval]
mode = "live"
max_retries = 0
[tool.arcanos_eval.targets.base]
model = "gpt-4.1-2025-04-14"
[tool.arcanos_eval.targets.candidate]
model = "ft:gpt-4.1-2025-04-14:acme:arca"
[tool.arcanos_eval.gates]
pass_rate = { happy_path = 1.0 }
""",
        encoding="utf-8",
    )
    write_suite(tmp_path / "suites", "demo", simple_cases(2))
    monkeypatch.chdir(tmp_path)

    with hang_guard(30, "calling the public API without a key"):
        status = main(["run", "-q"])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert err[0] == (
        "arcanos-eval: error: target 'base': OPENAI_API_KEY is not set: the OpenAI API needs a "
        "key; target 'candidate': OPENAI_API_KEY is not set: the OpenAI API needs a key"
    )


def test_a_server_that_names_its_key_variable_needs_it_set(
    tmp_path, monkeypatch, capsys, openai_server
):
    monkeypatch.delenv(KEY_ENV, raising=False)
    _project(tmp_path, loopback_pyproject(openai_server.base_url))  # api_key_env = KEY_ENV
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "live"]) == 2
    err = capsys.readouterr().err
    assert (
        f"target 'base': {KEY_ENV} is not set: {openai_server.base_url} takes one "
        "(api_key_env names it)"
    ) in err
    assert openai_server.total_requests == 0


def test_a_server_of_ones_own_without_api_key_env_needs_no_key(
    tmp_path, monkeypatch, openai_server
):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _project(tmp_path, loopback_pyproject(openai_server.base_url, key_env=None))
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "live"]) == 0
    assert _chat_calls(openai_server) == 6


def test_nothing_is_checked_when_golden_and_the_cache_answer_everything(
    tmp_path, monkeypatch, openai_server_factory, test_key
):
    server = openai_server_factory(models=["model-base", "model-candidate"])
    pyproject = loopback_pyproject(server.base_url, check_model=True).replace(
        "cache = false", 'cache = ".arcanos/cache"'
    )
    _project(tmp_path, pyproject)
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "record"]) == 0
    assert server.path_counts == {"/v1/models": 1, "/v1/chat/completions": 6}
    server.reset()
    assert main(["run", "--mode", "auto"]) == 0  # the cache answers
    assert main(["run", "--mode", "replay"]) == 0  # golden answers
    assert main(["run", "--mode", "record"]) == 0  # golden holds everything
    assert server.total_requests == 0


def test_a_judge_consulted_by_checks_is_checked_with_the_targets(
    tmp_path, monkeypatch, capsys, openai_server_factory, test_key
):
    server = openai_server_factory(models=["model-base", "model-candidate"])
    judge_server = openai_server_factory(models=["a-real-judge"])
    pyproject = loopback_pyproject(server.base_url, check_model=True) + (
        f'\n[tool.arcanos_eval.targets.judge]\nmodel = "judge-typo"\n'
        f'base_url = "{judge_server.base_url}"\nscorer_only = true\n'
    )
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    cases = [
        {
            "id": "c",
            "input": "hello",
            "checks": [{"judge": {"rubric": "polite", "target": "judge"}}],
        }
    ]
    write_suite(tmp_path / "suites", "demo", cases)
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "live"]) == 2
    err = capsys.readouterr().err
    assert "target 'judge': model 'judge-typo' is not served by" in err
    assert "a-real-judge" in err
    assert _chat_calls(server) == 0 and _chat_calls(judge_server) == 0


def test_the_pytest_plugin_stops_with_status_3_on_a_refused_connection(pytester, test_key):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    pytester.makefile(".toml", pyproject=loopback_pyproject(url, settings="max_retries = 50"))
    write_suite(pytester.path / "suites", "demo", simple_cases(3))

    with hang_guard(60, "retrying under pytest"):
        result = pytester.runpytest("--arcanos-suite", "suites", "--arcanos-mode", "live")

    assert result.ret == 3
    result.stdout.fnmatch_lines(
        [f"*arcanos-eval: error: targets 'base', 'candidate': cannot reach {url}: *"]
    )


def test_pytest_xdist_workers_that_cannot_reach_a_server_end_the_session_with_status_3(
    pytester, test_key
):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    pytester.makefile(".toml", pyproject=loopback_pyproject(url))
    write_suite(pytester.path / "suites", "demo", simple_cases(4))

    with hang_guard(120, "xdist workers"):
        result = pytester.runpytest_subprocess(
            "--arcanos-suite", "suites", "--arcanos-mode", "live", "-n", "2", "-p", "no:randomly"
        )

    # Each worker's items error, and the session ends as a single process would: one line, 3.
    assert result.ret == 3
    result.stderr.fnmatch_lines(
        [f"*arcanos-eval: error: targets 'base', 'candidate': cannot reach {url}: *"]
    )


def test_the_pytest_plugin_names_an_unknown_model(pytester, openai_server_factory, test_key):
    server = openai_server_factory(models=["model-base"])
    pytester.makefile(".toml", pyproject=loopback_pyproject(server.base_url, check_model=True))
    write_suite(pytester.path / "suites", "demo", simple_cases(3))

    result = pytester.runpytest("--arcanos-suite", "suites", "--arcanos-mode", "live")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*target 'candidate': model 'model-candidate' is not served by*which lists model-base*"]
    )
    assert _chat_calls(server) == 0


def test_a_grader_that_cannot_be_reached_stops_the_run_before_its_calibration_retries(
    tmp_path, monkeypatch, capsys, openai_server, test_key
):
    judge_url = f"http://127.0.0.1:{_closed_port()}/v1"
    pyproject = loopback_pyproject(openai_server.base_url, settings="max_retries = 50") + (
        f'\n[tool.arcanos_eval.targets.judge]\nmodel = "judge"\nbase_url = "{judge_url}"\n'
        "scorer_only = true\n"
    )
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    cases = [
        {
            "id": "c",
            "input": "hello",
            "checks": [{"judge": {"rubric": "polite", "target": "judge"}}],
        }
    ]
    write_suite(tmp_path / "suites", "demo", cases)
    monkeypatch.chdir(tmp_path)

    # The judge answers calibration items before any target is called: it is checked first.
    with hang_guard(60, "retrying a grader that refuses connections"):
        status = main(["run", "-q", "--mode", "live"])

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 3
    assert len(err) == 1
    assert err[0].startswith(f"arcanos-eval: error: target 'judge': cannot reach {judge_url}: ")
    assert _chat_calls(openai_server) == 0
