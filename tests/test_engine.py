"""The engine through the real SDK against the loopback OpenAI-protocol server."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from arcanos_eval import run as run_module
from arcanos_eval.engine import _Slots
from arcanos_eval.errors import ReplayMissingError
from arcanos_eval.golden import verify_golden
from arcanos_eval.run import execute_run
from arcanos_eval.runlog import read_run_log
from arcanos_eval.suite.loader import load_suites
from arcanos_eval.targets.replay import GoldenStore
from arcanos_eval.testing import Fault, Reply
from tests.conftest import TEST_KEY, simple_cases, write_suite


def _suites(tmp_path: Path, count: int = 4, **fields: object) -> list:
    return load_suites([write_suite(tmp_path / "suites", "demo", simple_cases(count), **fields)])


def _run(config, suites, tmp_path: Path, name: str = "run"):  # type: ignore[no-untyped-def]
    return execute_run(config, suites, log_path=tmp_path / f"{name}.jsonl", progress=False)


def test_record_then_replay_makes_no_request_and_gives_the_same_scores(
    openai_server, make_config, tmp_path, test_key
):
    suites = _suites(tmp_path)
    recorded = _run(make_config(openai_server.base_url, mode="record"), suites, tmp_path, "rec")
    assert recorded.stats.live == 8 and openai_server.total_requests == 8
    golden = tmp_path / "golden" / "demo" / "candidate.jsonl"
    lines = [json.loads(line) for line in golden.read_text().splitlines()]
    assert [r["case"] for r in lines] == [f"case-{i}" for i in range(4)]
    provenance = lines[0]["provenance"]
    assert provenance["endpoint"] == openai_server.base_url.rstrip("/")
    assert provenance["model"] == "model-candidate"
    assert provenance["sdk"].startswith("openai ")
    assert provenance["recorded_at"] and provenance["latency_ms"] > 0

    openai_server.reset()
    replayed = _run(make_config(openai_server.base_url, mode="replay"), suites, tmp_path, "rep")
    assert openai_server.total_requests == 0
    assert replayed.stats.replayed == 8
    scores = {k: [s.passed for s in r.scores] for k, r in recorded.log.results.items()}
    assert scores == {k: [s.passed for s in r.scores] for k, r in replayed.log.results.items()}
    assert all(r.response.origin == "replayed" for r in replayed.log.records())


def test_replay_lists_missing_recordings_before_any_call(openai_server, make_config, tmp_path):
    suites = _suites(tmp_path, count=7)
    with pytest.raises(ReplayMissingError) as info:
        _run(make_config(openai_server.base_url, mode="replay"), suites, tmp_path)
    assert "14 answer(s) have no recording" in str(info.value)
    assert "demo::case-0[base]" in str(info.value) and "and 9 more" in str(info.value)
    assert openai_server.total_requests == 0


def test_auto_without_credentials_is_the_replay_error(make_config, tmp_path, monkeypatch):
    monkeypatch.delenv("ARCANOS_TEST_API_KEY", raising=False)
    suites = _suites(tmp_path, count=1)
    with pytest.raises(ReplayMissingError, match="set the target's API key variable"):
        _run(make_config(None, mode="auto"), suites, tmp_path)


def test_auto_calls_what_is_missing_then_the_cache_answers(
    openai_server, make_config, tmp_path, test_key
):
    suites = _suites(tmp_path, count=3)
    config = make_config(openai_server.base_url, mode="auto")
    first = _run(config, suites, tmp_path, "one")
    assert first.stats.live == 6
    openai_server.reset()
    second = _run(config, suites, tmp_path, "two")
    assert openai_server.total_requests == 0 and second.stats.cached == 6
    assert not (tmp_path / "golden").exists(), "auto mode must not write golden files"


def test_live_mode_ignores_recordings_and_writes_none(
    openai_server, make_config, tmp_path, test_key
):
    suites = _suites(tmp_path, count=2)
    _run(make_config(openai_server.base_url, mode="record"), suites, tmp_path, "rec")
    before = (tmp_path / "golden" / "demo" / "base.jsonl").read_text()
    openai_server.reset()
    outcome = _run(make_config(openai_server.base_url, mode="live"), suites, tmp_path, "live")
    assert openai_server.total_requests == 4 and outcome.stats.live == 4
    assert (tmp_path / "golden" / "demo" / "base.jsonl").read_text() == before


def _cache_lines(tmp_path: Path) -> list[dict]:
    path = tmp_path / ".arcanos" / "cache" / "responses.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _golden_lines(tmp_path: Path) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted((tmp_path / "golden").glob("*/*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_record_writes_into_golden_the_answers_the_cache_holds(
    openai_server, make_config, tmp_path, test_key
):
    suites = _suites(tmp_path, count=3)
    _run(make_config(openai_server.base_url, mode="auto"), suites, tmp_path, "auto")
    assert not (tmp_path / "golden").exists()
    cached = {(c["fingerprint"], c["repeat"]): c for c in _cache_lines(tmp_path)}
    assert len(cached) == 6
    openai_server.reset()

    recorded = _run(make_config(openai_server.base_url, mode="record"), suites, tmp_path, "rec")
    assert openai_server.total_requests == 0, "the cache answered: no call is paid for again"
    stats = recorded.stats
    assert (stats.cached, stats.golden_from_cache, stats.golden_from_live) == (6, 6, 0)
    records = _golden_lines(tmp_path)
    assert len(records) == 6
    for record in records:
        entry = cached[(record["fingerprint"], record["repeat"])]
        # The provenance of the call that produced the answer, not of this run.
        assert record["provenance"] == {**entry["provenance"], "source": "cache"}
        assert record["provenance"]["recorded_at"] and record["provenance"]["sdk"]
        assert record["response"] == {**entry["response"], "origin": "live"}
    assert verify_golden(make_config(openai_server.base_url), suites) == []

    replayed = _run(make_config(openai_server.base_url, mode="replay"), suites, tmp_path, "rep")
    assert replayed.stats.replayed == 6 and openai_server.total_requests == 0


def test_record_takes_from_the_cache_what_it_holds_and_calls_for_the_rest(
    openai_server, make_config, tmp_path, test_key
):
    _run(make_config(openai_server.base_url, mode="auto"), _suites(tmp_path, 2), tmp_path, "a")
    openai_server.reset()
    suites = _suites(tmp_path, count=5)  # three more cases, which the cache has never seen
    recorded = _run(make_config(openai_server.base_url, mode="record"), suites, tmp_path, "rec")
    assert openai_server.total_requests == 6
    stats = recorded.stats
    assert (stats.golden_from_cache, stats.golden_from_live) == (4, 6)
    sources = sorted(r["provenance"].get("source", "call") for r in _golden_lines(tmp_path))
    assert sources == ["cache"] * 4 + ["call"] * 6


def test_a_cache_entry_without_provenance_is_recorded_saying_what_is_unknown(
    openai_server, make_config, tmp_path, test_key
):
    suites = _suites(tmp_path, count=2)
    _run(make_config(openai_server.base_url, mode="auto"), suites, tmp_path, "auto")
    # A cache written before the cache kept provenance: the same entries without it.
    cache = tmp_path / ".arcanos" / "cache" / "responses.jsonl"
    old = [{k: v for k, v in c.items() if k != "provenance"} for c in _cache_lines(tmp_path)]
    cache.write_text("".join(json.dumps(c) + "\n" for c in old))
    openai_server.reset()

    recorded = _run(make_config(openai_server.base_url, mode="record"), suites, tmp_path, "rec")
    assert openai_server.total_requests == 0
    assert (recorded.stats.golden_from_cache, recorded.stats.golden_provenance_unknown) == (4, 4)
    for record in _golden_lines(tmp_path):
        provenance = record["provenance"]
        # What the entry tells is kept; what it does not is left empty and said, never made up.
        assert provenance["endpoint"] == openai_server.base_url.rstrip("/")
        assert provenance["model"] == record["request"]["model"]
        assert provenance["latency_ms"] == record["response"]["latency_ms"] > 0
        assert provenance["usage"] == record["response"]["usage"]
        assert (provenance["recorded_at"], provenance["sdk"], provenance["arcanos_eval"]) == (
            None,
            None,
            None,
        )
        assert "not known" in provenance["unknown"] and provenance["source"] == "cache"
    problems = verify_golden(make_config(openai_server.base_url), suites)
    assert [(p.kind, p.detail) for p in problems] == [
        ("provenance", "provenance lacks recorded_at, sdk")
    ] * 4


def test_configured_concurrency_is_the_observed_maximum_in_flight(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(latency_s=0.15)
    suites = _suites(tmp_path, count=12)
    _run(make_config(server.base_url, mode="live", concurrency=5), suites, tmp_path)
    assert server.total_requests == 24
    assert server.max_in_flight == 5


def test_per_target_concurrency_bounds_that_target(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(latency_s=0.1)
    suites = _suites(tmp_path, count=8)
    config = make_config(
        server.base_url, mode="live", concurrency=16, targets={"base": {"concurrency": 2}}
    )
    _run(config, suites, tmp_path)
    assert server.max_in_flight == 2


def test_a_slow_target_does_not_hold_back_the_others(
    openai_server_factory, make_config, tmp_path, test_key
):
    # The candidate answers one call at a time, slowly; base answers at once. Calls waiting for
    # the candidate's one slot must not take the run's two slots from base.
    slow, fast = openai_server_factory(latency_s=0.3), openai_server_factory()
    config = make_config(
        None,
        mode="live",
        concurrency=2,
        targets={
            "base": {"base_url": fast.base_url},
            "candidate": {"base_url": slow.base_url, "concurrency": 1},
        },
    )
    _run(config, _suites(tmp_path, count=6), tmp_path)
    assert (fast.total_requests, slow.total_requests) == (6, 6)
    # Every base call was made while the candidate's first or second call was in flight.
    assert fast.requests[-1].received_at < slow.requests[1].received_at


def test_retry_after_is_honoured(openai_server_factory, make_config, tmp_path, test_key):
    server = openai_server_factory(faults={1: Fault.rate_limit(retry_after_s=0.4)})
    suites = _suites(tmp_path, count=1)
    outcome = _run(
        make_config(server.base_url, mode="live", targets={"base": {}}), suites, tmp_path
    )
    first, second = server.requests
    assert first.status == 429 and second.status == 200
    assert second.received_at - first.received_at >= 0.4
    (record,) = outcome.log.records()
    assert not record.errored and record.response.attempts == 2
    assert outcome.stats.retries == 1


def test_a_retry_goes_before_calls_not_yet_started(
    openai_server_factory, make_config, tmp_path, test_key
):
    # One slot, 8 calls of 50 ms: the first call's retry is due after 0.2 s, while 5 calls
    # still wait for their first attempt. In arrival order it would be made last.
    server = openai_server_factory(latency_s=0.05, faults={1: Fault.rate_limit(retry_after_s=0.2)})
    config = make_config(server.base_url, mode="live", concurrency=1, targets={"base": {}})
    outcome = _run(config, _suites(tmp_path, count=8), tmp_path)
    prompts = [r.body["messages"][-1]["content"] for r in server.requests]
    assert server.requests[0].status == 429 and len(prompts) == 9
    retried_at = prompts.index(prompts[0], 1)
    assert retried_at < len(prompts) - 2, prompts
    assert not [r for r in outcome.log.records() if r.errored]


def test_slots_survive_cancelled_waiters():
    async def scenario() -> list[str]:
        slots = _Slots(1)
        order: list[str] = []

        async def hold(name: str, retry: bool, seconds: float) -> None:
            async with slots.hold(retry=retry):
                order.append(name)
                await asyncio.sleep(seconds)

        first = asyncio.ensure_future(hold("first", False, 0.05))
        await asyncio.sleep(0)
        waiting = [asyncio.ensure_future(hold(f"w{i}", False, 0)) for i in range(3)]
        retry = asyncio.ensure_future(hold("retry", True, 0))
        await asyncio.sleep(0)
        waiting[0].cancel()  # cancelled while queued: must neither run nor keep a slot
        await asyncio.gather(first, retry, *waiting[1:])
        async with slots.hold(retry=False):  # every slot came back
            order.append("last")
        return order

    assert asyncio.run(scenario()) == ["first", "retry", "w1", "w2", "last"]


def test_retry_after_ms_is_honoured(openai_server_factory, make_config, tmp_path, test_key):
    server = openai_server_factory(faults={1: Fault.rate_limit(retry_after_ms=300)})
    _run(
        make_config(server.base_url, mode="live", targets={"base": {}}),
        _suites(tmp_path, count=1),
        tmp_path,
    )
    first, second = server.requests
    assert second.received_at - first.received_at >= 0.3


def test_twenty_percent_faults_lose_no_case(openai_server_factory, make_config, tmp_path, test_key):
    server = openai_server_factory(
        seed=3,
        fault_rates={
            Fault.rate_limit(retry_after_s=0): 0.08,
            Fault.server_error(): 0.06,
            Fault.reset(): 0.03,
            Fault.malformed(): 0.03,
        },
    )
    suites = _suites(tmp_path, count=40)
    outcome = _run(make_config(server.base_url, mode="live", max_retries=8), suites, tmp_path)
    records = outcome.log.records()
    assert len(records) == 80
    assert not [r.key for r in records if r.errored]
    assert outcome.stats.retries > 0
    assert server.total_requests == 80 + outcome.stats.retries
    assert all(r.passed for r in records)


def test_a_call_that_keeps_failing_is_errored_not_failed(
    openai_server_factory, make_config, tmp_path, test_key
):
    server = openai_server_factory(responder=lambda request: Reply.failing(Fault.server_error()))
    suites = _suites(tmp_path, count=1)
    outcome = _run(
        make_config(server.base_url, mode="live", max_retries=2, targets={"base": {}}),
        suites,
        tmp_path,
    )
    (record,) = outcome.log.records()
    assert record.errored and record.scores == ()
    assert record.response.error_type == "http_500" and record.response.attempts == 3
    assert server.total_requests == 3


def test_client_errors_are_not_retried(openai_server_factory, make_config, tmp_path, test_key):
    server = openai_server_factory(faults={1: Fault.http_status(400, "bad request")})
    outcome = _run(
        make_config(server.base_url, mode="live", targets={"base": {}}),
        _suites(tmp_path, count=1),
        tmp_path,
    )
    (record,) = outcome.log.records()
    assert record.errored and record.response.attempts == 1
    assert server.total_requests == 1


def test_timeouts_are_retried_then_errored(openai_server_factory, make_config, tmp_path, test_key):
    server = openai_server_factory(
        responder=lambda r: Reply.failing(Fault.timeout(hang_s=5)), max_hang_s=5
    )
    outcome = _run(
        make_config(
            server.base_url, mode="live", timeout_s=0.3, max_retries=1, targets={"base": {}}
        ),
        _suites(tmp_path, count=1),
        tmp_path,
    )
    (record,) = outcome.log.records()
    assert record.errored and record.response.error_type == "timeout"
    assert server.total_requests == 2


def test_identical_requests_are_made_once(openai_server, make_config, tmp_path, test_key):
    cases = [
        {"id": f"same-{i}", "input": "when does the raid start?", "checks": [{"contains": "raid"}]}
        for i in range(3)
    ]
    suites = load_suites([write_suite(tmp_path, "dupes", cases)])
    outcome = _run(make_config(openai_server.base_url, mode="live"), suites, tmp_path)
    assert openai_server.total_requests == 2
    assert outcome.stats.deduplicated == 4
    assert len(outcome.log.records()) == 6


def test_repeats_are_distinct_calls(openai_server, make_config, tmp_path, test_key):
    suites = _suites(tmp_path, count=2)
    outcome = _run(make_config(openai_server.base_url, mode="live", repeats=3), suites, tmp_path)
    assert openai_server.total_requests == 12
    assert sorted({r.repeat for r in outcome.log.records()}) == [0, 1, 2]


def test_every_artifact_is_free_of_the_api_key(openai_server, make_config, tmp_path, test_key):
    suites = _suites(tmp_path, count=2)
    _run(make_config(openai_server.base_url, mode="record"), suites, tmp_path)
    assert all(r.authorization for r in openai_server.requests)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".jsonl" for p in written)
    for path in written:
        assert TEST_KEY not in path.read_text(encoding="utf-8", errors="replace"), path


def test_results_are_one_record_per_case_target_repeat(
    openai_server, make_config, tmp_path, test_key
):
    suites = _suites(tmp_path, count=5)
    path = tmp_path / "run.jsonl"
    execute_run(
        make_config(openai_server.base_url, mode="live"), suites, log_path=path, progress=False
    )
    kinds = Counter(json.loads(line)["type"] for line in path.read_text().splitlines())
    assert kinds == {"header": 1, "result": 10, "footer": 1}


def test_a_replaying_store_keeps_answers_not_requests(
    openai_server, make_config, tmp_path, test_key
):
    suites = _suites(tmp_path, count=2)
    _run(make_config(openai_server.base_url, mode="record"), suites, tmp_path, "rec")
    full, slim = (
        GoldenStore(tmp_path / "golden"),
        GoldenStore(tmp_path / "golden", answers_only=True),
    )
    records, answers = full.records("demo", "base"), slim.records("demo", "base")
    assert answers.keys() == records.keys() and len(answers) == 2
    for key, record in records.items():
        assert record.request and record.provenance  # what replay does not need
        kept = answers[key]
        assert (kept.request, kept.provenance) == ({}, {})
        assert kept.as_response() == record.as_response()
    with pytest.raises(RuntimeError, match="opened to replay, not to write"):
        slim.put("demo", "base", next(iter(records.values())), replace_case=True)
    with pytest.raises(RuntimeError, match="opened to replay"):
        slim.remove("demo", "base", set(answers))
    assert len(slim.records("demo", "base")) == 2


def test_a_run_reports_from_the_records_it_wrote_without_reading_them_back(
    openai_server, make_config, tmp_path, test_key, monkeypatch
):
    suites = _suites(tmp_path, count=3)
    _run(make_config(openai_server.base_url, mode="record"), suites, tmp_path, "rec")

    def unexpected(path):  # type: ignore[no-untyped-def]
        raise AssertionError(f"{path} was read back")

    monkeypatch.setattr(run_module, "read_run_log", unexpected)
    outcome = _run(make_config(openai_server.base_url, mode="replay"), suites, tmp_path, "rep")
    monkeypatch.undo()
    on_disk = read_run_log(tmp_path / "rep.jsonl")
    assert outcome.log.header == on_disk.header and outcome.log.results == on_disk.results
    assert len(outcome.log.results) == 6 and outcome.log.header.footer is not None
