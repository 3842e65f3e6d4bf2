"""``arcanos_eval.cost``: ``run --dry-run`` estimates a run's calls and cost without calling any
model; ``--max-cost`` stops a run resumably before its calls could exceed the budget (against the
loopback server, which reports usage)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from arcanos_eval.cli import main
from arcanos_eval.config import load_config
from arcanos_eval.cost import Budget, call_cost, completion_bound, prompt_tokens
from arcanos_eval.data.tokens import get_encoding
from arcanos_eval.errors import ConfigError
from arcanos_eval.model import Request
from arcanos_eval.runlog import read_run_log
from arcanos_eval.scorers._calibration import calibration_items
from arcanos_eval.testing import Reply
from tests.conftest import loopback_pyproject, simple_cases, write_suite

pytest_plugins = ["pytester"]

# $1 per completion token and nothing for the prompt: an answer of 2 tokens costs $2, and a call
# bounded by max_tokens = 10 at most $10, whatever the prompt.
PRICED = """
params = {{ max_tokens = 10 }}
prices = {{ input_per_mtok = 0.0, output_per_mtok = 1000000.0 }}"""


def _two_tokens(request):
    return Reply(text=request.prompt, completion_tokens=2)


def _closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def _priced_project(root: Path, url: str, *, settings: str = "", cases: int = 3) -> Path:
    """Base and candidate on ``url``, both priced as :data:`PRICED`."""
    text = loopback_pyproject(url, settings=settings)
    for name in ("base", "candidate"):
        header = f'model = "model-{name}"\nbase_url = "{url}"'
        text = text.replace(header, header + PRICED.format())
    (root / "pyproject.toml").write_text(text, encoding="utf-8")
    write_suite(root / "suites", "demo", simple_cases(cases))
    return root


def _table(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] not in ("target",):
            rows[cells[0]] = cells[1:]
    return rows


# ------------------------------------------------------------------------------ estimates


def test_prompt_tokens_count_each_message_with_the_chat_framing():
    encoding = get_encoding("o200k_base")
    messages = ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"})
    request = Request(api="chat", model="gpt-4.1-2025-04-14", messages=messages)
    words = sum(len(encoding.encode_ordinary(m[k])) for m in messages for k in ("role", "content"))
    assert prompt_tokens(request) == words + 3 * len(messages) + 3
    # The schema sent as response_format and the tools count too.
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    bound = Request(api="chat", model="gpt-4.1", messages=messages, response_schema=schema)
    assert prompt_tokens(bound) == prompt_tokens(request) + len(
        encoding.encode_ordinary(json.dumps(schema, separators=(",", ":")))
    )


def test_the_completion_bound_is_max_tokens_under_any_of_its_names():
    def bound(**params):
        return completion_bound(Request(api="chat", model="m", messages=(), params=params))

    assert bound(max_tokens=160) == 160
    assert bound(max_completion_tokens=50) == 50
    assert bound(max_output_tokens=70) == 70
    assert bound() is None and bound(max_tokens=True) is None


def test_call_cost_at_live_and_batch_prices():
    prices = {"input_per_mtok": 2.0, "output_per_mtok": 8.0}
    assert call_cost(prices, 1_000_000, 500_000) == pytest.approx(6.0)
    assert call_cost(prices, 1_000_000, 500_000, batch=True) == pytest.approx(3.0)
    assert call_cost({}, 10, 10) is None


# ------------------------------------------------------------------------------ --dry-run


def test_dry_run_prints_calls_tokens_and_cost_without_calling(tmp_path, monkeypatch, capsys):
    url = _closed_url()  # nothing listens: a call, or a pre-flight check, would fail the run
    _priced_project(tmp_path, url, cases=4)
    pyproject = tmp_path / "pyproject.toml"
    # The candidate is a gpt-4.1 model: counted with its own tokenizer.
    pyproject.write_text(
        pyproject.read_text().replace('"model-candidate"', '"gpt-4.1-2025-04-14"'),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "live", "--dry-run"]) == 0

    out = capsys.readouterr().out
    encoding = get_encoding("o200k_base")
    prompt = sum(
        3 + 3 + len(encoding.encode_ordinary("user")) + len(encoding.encode_ordinary(c["input"]))
        for c in simple_cases(4)
    )
    rows = _table(out)
    # answers, golden, cache, same request, to call, prompt tokens, completion, cost, batch cost
    assert rows["base"] == ["4", "0", "0", "0", "4", f"{prompt:,}", "40", "$40.0000", "$20.0000"]
    assert rows["candidate"][4:] == ["4", f"{prompt:,}", "40", "$40.0000", "$20.0000"]
    assert (
        "dry run (live): 8 call(s) would be sent, estimated at most $80.0000 (batch: $40.0000); "
        "nothing was called."
    ) in out
    assert "estimated offline with the model's own tokenizer (o200k_base for base: a " in out
    assert not (tmp_path / ".arcanos" / "runs").exists()  # no run log either


def test_dry_run_counts_what_golden_and_the_cache_answer(
    tmp_path, monkeypatch, capsys, openai_server, test_key
):
    _priced_project(tmp_path, openai_server.base_url)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("cache = false", 'cache = ".arcanos/cache"'),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["run", "-q", "--mode", "record", "--targets", "base"]) == 1  # partial: HOLD
    assert main(["run", "-q", "--mode", "live", "--targets", "candidate"]) == 1  # cache only
    capsys.readouterr()
    requests = openai_server.total_requests

    assert main(["run", "--dry-run"]) == 0  # auto: golden, then the cache

    out = capsys.readouterr().out
    rows = _table(out)
    assert rows["base"][:5] == ["3", "3", "0", "0", "0"]
    assert rows["candidate"][:5] == ["3", "0", "0", "0", "3"]  # live writes no cache
    assert openai_server.total_requests == requests
    assert main(["run", "--dry-run", "--mode", "refresh"]) == 0  # refresh reads neither
    assert _table(capsys.readouterr().out)["base"][:5] == ["3", "0", "0", "0", "3"]


def test_dry_run_in_replay_names_what_has_no_recording(tmp_path, monkeypatch, capsys):
    _priced_project(tmp_path, _closed_url(), cases=2)
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "replay", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run (replay): 0 call(s) would be sent" in out
    assert (
        "4 answer(s) cannot be called in this mode and have no recording "
        "(demo::case-0[base], demo::case-0[candidate], demo::case-1[base], "
        "demo::case-1[candidate]): the run would stop with an error."
    ) in out


def test_dry_run_without_prices_or_max_tokens_says_so(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text(loopback_pyproject(_closed_url()), encoding="utf-8")
    write_suite(tmp_path / "suites", "demo", simple_cases(2))
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "live", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert _table(out)["base"][6:] == ["8,192*", "no prices", "no prices"]
    assert "* requests without max_tokens: 4,096 completion tokens assumed each." in out
    assert "dry run (live): 4 call(s) would be sent; nothing was called." in out
    assert "estimated offline with o200k_base (for base, candidate: a model whose" in out


# ------------------------------------------------------------------------------ --max-cost


def test_max_cost_stops_before_the_budget_and_resume_completes(
    tmp_path, monkeypatch, capsys, openai_server_factory, test_key
):
    server = openai_server_factory(responder=_two_tokens)
    _priced_project(tmp_path, server.base_url, settings="concurrency = 1")
    monkeypatch.chdir(tmp_path)

    status = main(["run", "-q", "--mode", "live", "--log", "run.jsonl", "--max-cost", "15"])

    # One call in flight at a time, each at most $10: $0, $2 and $4 spent leave room for one more
    # ($14 <= $15), $6 does not ($16): three answers, then nothing more is sent.
    assert status == 1  # HOLD: the run is not complete
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "arcanos-eval: stopped at $6.0000 of $15 budget, 3 call(s) not sent; resume with: "
        "arcanos-eval run --resume run.jsonl --max-cost 30 (the estimated worst case of the "
        "calls left)"
    ]
    assert server.path_counts["/v1/chat/completions"] == 3
    log = read_run_log(tmp_path / "run.jsonl")
    assert len(log.records()) == 3 and log.header.footer is None  # resumable

    status = main(["run", "-q", "--resume", "run.jsonl", "--max-cost", "30"])

    assert status == 0
    assert server.path_counts["/v1/chat/completions"] == 6
    log = read_run_log(tmp_path / "run.jsonl")
    assert len(log.records()) == 6 and log.header.footer is not None
    assert "stopped at" not in capsys.readouterr().err


def test_max_cost_counts_the_worst_case_of_calls_in_flight(
    tmp_path, monkeypatch, capsys, openai_server_factory, test_key
):
    server = openai_server_factory(responder=_two_tokens)
    _priced_project(tmp_path, server.base_url, settings="concurrency = 4")
    monkeypatch.chdir(tmp_path)

    # The first call holds $10 while in flight: a second would make $20 > $15, so only one goes.
    assert main(["run", "-q", "--mode", "live", "--log", "run.jsonl", "--max-cost", "15"]) == 1
    assert server.path_counts["/v1/chat/completions"] == 1
    assert "stopped at $2.0000 of $15 budget, 5 call(s) not sent" in capsys.readouterr().err


def test_max_cost_setting_in_pyproject(tmp_path, monkeypatch, openai_server_factory, test_key):
    server = openai_server_factory(responder=_two_tokens)
    _priced_project(tmp_path, server.base_url, settings="concurrency = 1\nmax_cost_usd = 11")
    monkeypatch.chdir(tmp_path)

    assert main(["run", "-q", "--mode", "live"]) == 1
    assert server.path_counts["/v1/chat/completions"] == 1  # $2 + $10 > $11


def test_a_target_without_prices_under_max_cost_is_a_start_up_error(
    tmp_path, monkeypatch, capsys, openai_server, test_key
):
    _priced_project(tmp_path, openai_server.base_url)
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    at = text.index("[tool.arcanos_eval.targets.candidate]")
    pyproject.write_text(
        text[:at] + text[at:].replace("prices = ", "# prices = ", 1), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--mode", "live", "--max-cost", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "arcanos-eval: error: --max-cost: target(s) 'candidate' have no prices: add prices = "
        "{ input_per_mtok = ..., output_per_mtok = ... } to "
        "[tool.arcanos_eval.targets.candidate] (USD per million tokens)"
    ]
    assert openai_server.total_requests == 0
    assert not (tmp_path / ".arcanos" / "runs").exists()


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_max_cost_must_be_a_positive_finite_amount(tmp_path, value):
    (tmp_path / "pyproject.toml").write_text(loopback_pyproject("http://127.0.0.1:1/v1"))
    with pytest.raises(ConfigError, match="--max-cost: expected a"):
        load_config(tmp_path / "pyproject.toml", max_cost_usd=float(value))


def test_max_cost_in_batch_mode_submits_only_what_fits_at_batch_prices(
    tmp_path, monkeypatch, capsys, openai_server_factory, test_key
):
    server = openai_server_factory(responder=_two_tokens)
    _priced_project(tmp_path, server.base_url)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + "\n[tool.arcanos_eval.batch]\npoll_interval_s = 0.01\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)

    # Half price: at most $5 a call; $12 holds two of the six calls.
    assert main(["run", "-q", "--batch", "--log", "run.jsonl", "--max-cost", "12"]) == 1
    lines = read_run_log(tmp_path / "run.jsonl").records()
    assert sorted((r.case_id, r.target) for r in lines) == [
        ("case-0", "base"),
        ("case-0", "candidate"),
    ]
    err = capsys.readouterr().err
    assert "stopped at $2.0000 of $12 budget, 4 call(s) not sent" in err  # 2 answers x $1


def test_checks_that_consult_a_model_are_counted_not_refused(
    tmp_path, monkeypatch, capsys, openai_server_factory, test_key
):
    server = openai_server_factory(
        responder=lambda request: Reply(
            text='{"score": 1, "pass": true, "reason": "fine"}'
            if request.model == "judge"
            else request.prompt,
            completion_tokens=2,
        )
    )
    # The judge first answers its calibration items ($2 each), counted before any answer.
    calibration = 2 * len(calibration_items("judge"))
    budget = calibration + 15
    _priced_project(tmp_path, server.base_url, settings="concurrency = 1")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + f'\n[tool.arcanos_eval.targets.judge]\nmodel = "judge"\nbase_url = "{server.base_url}"'
        + "\nscorer_only = true\ncheck_model = false"
        + "\nprices = { input_per_mtok = 0.0, output_per_mtok = 1000000.0 }\n",
        encoding="utf-8",
    )
    cases = [
        {
            "id": f"c{i}",
            "input": f"q{i}",
            "checks": [{"judge": {"rubric": "ok", "target": "judge"}}],
        }
        for i in range(3)
    ]
    write_suite(tmp_path / "suites", "demo", cases)
    monkeypatch.chdir(tmp_path)

    # Past the calibration, each answer ($2) is judged ($2, never refused): $0 and $4 more leave
    # room for a call ($10), $8 more does not.
    args = ["run", "-q", "--mode", "live", "--log", "run.jsonl", "--max-cost", str(budget)]
    assert main(args) == 1
    judged = [r for r in server.requests if r.path == "/v1/chat/completions"]
    assert sum(r.body["model"] != "judge" for r in judged) == 2  # two answers
    assert sum(r.body["model"] == "judge" for r in judged) == calibration // 2 + 2
    records = read_run_log(tmp_path / "run.jsonl").records()
    assert len(records) == 2
    assert all(s.passed for r in records for s in r.scores)  # scored, not failed by the budget
    assert f"stopped at ${calibration + 8:.4f} of ${budget} budget" in capsys.readouterr().err


def test_the_pytest_plugin_stops_at_the_budget(pytester, openai_server_factory, test_key):
    server = openai_server_factory(responder=_two_tokens)
    _priced_project(pytester.path, server.base_url, settings="concurrency = 1")

    result = pytester.runpytest(
        "--arcanos-suite", "suites", "--arcanos-mode", "live", "--arcanos-max-cost", "15"
    )

    assert result.ret == 1
    result.stdout.fnmatch_lines(["arcanos: stopped at $6.0000 of $15 budget, 3 call(s) not sent*"])
    assert server.path_counts["/v1/chat/completions"] == 3


def test_a_budget_refuses_every_call_after_the_first_it_refused():
    budget = Budget(10.0, {"t": {"input_per_mtok": 0.0, "output_per_mtok": 1e6}})

    def call(bound: int):
        from arcanos_eval.engine import Call
        from arcanos_eval.model import Case

        request = Request(api="chat", model="m", messages=(), params={"max_tokens": bound})
        return Call(Case(id="c", suite_id="s", category="c", messages=()), "t", 0, request)

    assert budget.reserve(call(8))  # $8 held
    assert not budget.reserve(call(5))  # $13 > $10
    assert not budget.reserve(call(1))  # would fit, but the run has stopped sending
    assert budget.stopped and budget.not_sent == 2
    assert budget.stop_line("run.jsonl") == (
        "stopped at $0.0000 of $10 budget, 2 call(s) not sent; resume with: arcanos-eval run "
        "--resume run.jsonl --max-cost 6 (the estimated worst case of the calls left)"
    )


@pytest.mark.slow  # pytest-xdist in a subprocess: tens of seconds on a loaded machine
def test_each_pytest_xdist_worker_spends_its_share_of_the_budget(
    pytester, openai_server_factory, test_key
):
    server = openai_server_factory(responder=_two_tokens)
    _priced_project(pytester.path, server.base_url, cases=6)

    result = pytester.runpytest_subprocess(
        "--arcanos-suite", "suites", "-p", "no:cacheprovider", "-n", "2",
        "--arcanos-mode", "live", "--arcanos-max-cost", "24",
    )  # fmt: skip

    # $12 each: a worker sends a call at $0 and at $2 spent ($12 <= $12), none at $4. Had each
    # worker the whole $24, the two would send more than 4 of the 12 calls.
    assert result.ret == 1
    assert 1 <= server.path_counts.get("/v1/chat/completions", 0) <= 4
