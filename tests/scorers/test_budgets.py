"""Budget checks: latency_ms (total, ttft), max_tokens and cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from arcanos_eval.model import Case, Response, Usage
from arcanos_eval.run import execute_run
from arcanos_eval.scorers._budgets import (
    cost,
    current_prices,
    latency_ms,
    max_tokens,
    usage_cost,
    use_prices,
)
from arcanos_eval.scorers._registry import bind_check
from arcanos_eval.suite.loader import load_suites
from arcanos_eval.testing import ChatRequest, Reply
from tests.conftest import write_suite

CASE = Case(
    id="c",
    suite_id="s",
    category="happy_path",
    messages=({"role": "user", "content": "hi"},),
    latency_ms=4000,
)


def test_latency_within_and_over_budget() -> None:
    fast = latency_ms(Response.from_text("hi", latency_ms=850.0), max_ms=1000)
    assert fast.passed and fast.value == 1.0
    assert fast.reason == "latency 850 ms <= 1000 ms"
    slow = latency_ms(Response.from_text("hi", latency_ms=2000.0), max_ms=1000)
    assert not slow.passed and slow.value == 0.5
    assert slow.reason == "latency 2000 ms > budget 1000 ms"


def test_latency_budget_from_the_case_and_replayed_latency() -> None:
    replayed = Response.from_text("hi", latency_ms=3900.0, origin="replayed")
    score = latency_ms(replayed, CASE)
    assert score.passed
    assert score.details["origin"] == "replayed"
    assert not latency_ms(replayed).passed  # no budget anywhere
    assert "no latency budget" in latency_ms(replayed).reason


def test_time_to_first_token() -> None:
    streamed = Response.from_text("hi", latency_ms=3000.0, ttft_ms=250.0)
    assert latency_ms(streamed, max_ms=300, measure="ttft").passed
    unstreamed = latency_ms(Response.from_text("hi", latency_ms=100.0), max_ms=300, measure="ttft")
    assert not unstreamed.passed
    assert "time to first token was not measured" in unstreamed.reason


@pytest.mark.parametrize("answer", ["plain string", Response.from_text("x"), None])
def test_unmeasured_latency_fails(answer: Any) -> None:
    score = latency_ms(answer, max_ms=1000)
    assert not score.passed
    assert score.reason == "latency was not measured"


def test_budgets_fail_on_errored_calls() -> None:
    errored = Response.failed(
        "timeout", "APITimeoutError", latency_ms=30000.0, usage=Usage(10, 0, 10)
    )
    for score in (
        latency_ms(errored, max_ms=1000),
        max_tokens(errored, limit=100),
        cost(errored, max_usd=1.0, input_per_mtok=1.0, output_per_mtok=1.0),
    ):
        assert not score.passed
        assert "the call failed (APITimeoutError)" in score.reason


def test_empty_answer_in_time_passes_latency() -> None:
    # Content checks fail an empty answer; a budget check only judges the measurement.
    assert latency_ms(Response.from_text("", latency_ms=10.0), max_ms=100).passed


def test_max_tokens_by_kind() -> None:
    answer = Response.from_text("hi", usage=Usage(900, 120, 1020))
    assert max_tokens(answer, limit=200, kind="completion").passed
    total = max_tokens(answer, limit=1000)
    assert not total.passed
    assert total.reason == "1020 total tokens > limit 1000"
    assert max_tokens(answer, limit=900, kind="prompt").passed
    unreported = max_tokens(Response.from_text("hi"), limit=10)
    assert unreported.reason == "token usage was not reported"


def test_cost_from_usage_and_prices() -> None:
    assert usage_cost(Usage(1_000_000, 500_000, 1_500_000), 2.0, 8.0) == pytest.approx(6.0)
    answer = Response.from_text("hi", usage=Usage(2000, 500, 2500))
    cheap = cost(answer, max_usd=0.01, input_per_mtok=2.0, output_per_mtok=8.0)
    assert cheap.passed and cheap.details["usd"] == pytest.approx(0.008)
    dear = cost(answer, max_usd=0.004, input_per_mtok=2.0, output_per_mtok=8.0)
    assert not dear.passed and dear.value == pytest.approx(0.5)
    assert "no prices" in cost(answer, max_usd=1.0).reason
    assert (
        "not reported"
        in cost(
            Response.from_text("hi"), max_usd=1.0, input_per_mtok=1.0, output_per_mtok=1.0
        ).reason
    )


PRICES = {"input_per_mtok": 2.0, "output_per_mtok": 8.0}


def test_cost_uses_the_targets_prices_when_the_check_gives_none() -> None:
    answer = Response.from_text("hi", usage=Usage(2000, 500, 2500))
    with use_prices(PRICES):
        priced = cost(answer, max_usd=0.01)
        own = cost(answer, max_usd=0.01, input_per_mtok=4.0, output_per_mtok=16.0)
        mixed = cost(answer, max_usd=0.01, output_per_mtok=16.0)
    assert priced.passed and priced.details["usd"] == pytest.approx(0.008)
    assert priced.details["prices_from"] == {
        "input_per_mtok": "target",
        "output_per_mtok": "target",
    }
    assert not own.passed and own.details["usd"] == pytest.approx(0.016)  # the check's win
    assert mixed.details["usd"] == pytest.approx(0.012)
    assert mixed.details["prices_from"] == {"input_per_mtok": "target", "output_per_mtok": "check"}
    # The prices end with the block: nothing carries over to the next run or notebook cell.
    assert current_prices() == {}
    assert not cost(answer, max_usd=0.01).passed


def test_cost_without_prices_anywhere_fails_saying_so() -> None:
    answer = Response.from_text("hi", usage=Usage(2000, 500, 2500))
    nowhere = cost(answer, max_usd=0.01)
    assert not nowhere.passed and nowhere.value == 0.0
    assert nowhere.reason.startswith("no prices: input_per_mtok and output_per_mtok missing")
    assert "prices = {input_per_mtok = ..., output_per_mtok = ...} on the target" in nowhere.reason
    with use_prices({"input_per_mtok": 2.0}):  # a target priced for input only
        half = cost(answer, max_usd=0.01)
    assert not half.passed and half.details["missing"] == ["output_per_mtok"]
    assert half.reason.startswith("no prices: output_per_mtok missing")


def _answers(request: ChatRequest) -> Reply:
    if request.model == "model-judge":
        return Reply.json({"score": 1.0, "pass": True, "reason": "fine"})
    return Reply(text="The raid starts on Friday.")


def test_a_run_prices_each_answer_at_its_targets_prices(
    openai_server_factory: Any, make_config: Any, tmp_path: Path, test_key: str
) -> None:
    server = openai_server_factory(responder=_answers)
    cases = [
        {"id": "plain", "input": "When is the raid?", "checks": [{"cost": 1.0}]},
        {  # a model-backed check moves scoring to a worker thread: the prices go with it
            "id": "judged",
            "input": "When is the raid, really?",
            "checks": [{"judge": {"rubric": "Names a day", "target": "judge"}}, {"cost": 1.0}],
        },
    ]
    suites = load_suites([write_suite(tmp_path / "suites", "priced", cases)])
    config = make_config(
        server.base_url,
        mode="live",
        targets={
            "base": {},
            "candidate": {"prices": PRICES},
            "judge": {"scorer_only": True, "prices": {"input_per_mtok": 99.0}},
        },
    )
    outcome = execute_run(config, suites, log_path=tmp_path / "run.jsonl", progress=False)
    for case_id in ("plain", "judged"):
        candidate = outcome.log.results[(f"priced::{case_id}", "candidate", 0)]
        (priced,) = [s for s in candidate.scores if s.check == "cost"]
        assert priced.passed, priced.reason
        assert priced.score.details["usd"] == pytest.approx(
            usage_cost(candidate.response.usage, 2.0, 8.0)
        )
        assert priced.score.details["prices_from"]["output_per_mtok"] == "target"
        base = outcome.log.results[(f"priced::{case_id}", "base", 0)]
        (unpriced,) = [s for s in base.scores if s.check == "cost"]
        assert not unpriced.passed and unpriced.reason.startswith("no prices"), unpriced.reason


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("latency_ms", {"max_ms": -5}, "max_ms must be a finite positive number"),
        ("latency_ms", {"max_ms": float("nan")}, "max_ms must be a finite positive number"),
        ("latency_ms", {"max_ms": float("inf")}, "max_ms must be a finite positive number"),
        ("latency_ms", {"max_ms": 100, "measure": "p95"}, "measure must be"),
        ("max_tokens", {"limit": 0}, "limit must be a positive integer"),
        ("max_tokens", {"limit": 10, "kind": "reasoning"}, "kind must be one of"),
        ("cost", {"max_usd": "cheap"}, "max_usd must be a finite number"),
        ("cost", {"max_usd": float("nan")}, "max_usd must be a finite number"),
        ("cost", {"max_usd": 1, "input_per_mtok": -1}, "input_per_mtok must be"),
    ],
)
def test_bad_budgets_are_load_time_errors(name: str, value: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        bind_check(name, value)


def test_primaries_bind() -> None:
    assert bind_check("latency_ms", 2500)[1] == {"max_ms": 2500}
    assert bind_check("max_tokens", 400)[1] == {"limit": 400}
    assert bind_check("cost", 0.01)[1] == {"max_usd": 0.01}
    assert bind_check("latency_ms", None)[1] == {}
