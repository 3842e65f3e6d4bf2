"""The live lane: the bundled suites' demo targets against a real model on real servers.

The loopback server of the other tests is ours; here the answers come from SmolLM2-135M-Instruct
and its fine-tune, served by llama.cpp, software nobody here wrote. A representative subset of the
bundled suites (every category, a multi-turn conversation, a case offering tools) runs through the
demo targets of pyproject.toml, pointed at this session's two servers (the base model's and the
fine-tune's); then the same cases are recorded into a temporary golden store and replayed
offline.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest

from arcanos_eval import RunConfig, RunOutcome, Suite, execute_run, load_config, load_suites
from arcanos_eval.golden import verify_golden
from arcanos_eval.model import CheckResult
from tests.live._server import ROOT, LiveServer

pytestmark = pytest.mark.live

# Checks that measure time, not the answer: they may differ between two passes of the same text.
TIMING_CHECKS = frozenset({"latency_ms"})


def representative_subset(suites: Sequence[Suite]) -> list[Suite]:
    """The first case of every suite, plus the first multi-turn case and the first case that
    offers tools when those are not already among them.

    Every suite, and so every category, is present; the lane stays a few minutes long because
    each answer of a 2-core CPU model takes seconds.
    """
    chosen: dict[str, list[str]] = {s.id: [s.cases[0].id] for s in suites if s.cases}
    for wanted in (
        lambda c: sum(m.get("role") == "user" for m in c.messages) > 1,
        lambda c: bool(c.tools),
    ):
        for suite in suites:
            match = next((c for c in suite.cases if wanted(c)), None)
            if match is not None:
                if match.id not in chosen[suite.id]:
                    chosen[suite.id].append(match.id)
                break
    return [
        dataclasses.replace(s, cases=tuple(c for c in s.cases if c.id in chosen[s.id]))
        for s in suites
        if s.id in chosen
    ]


# The demo target the fine-tune's server answers; the base model's server answers the others.
FINE_TUNED = "candidate"
# The demo's evaluated targets (the judge only grades).
EVALUATED = ("base", "candidate", "prompt-only")


def demo_config(servers: Servers, tmp: Path, mode: str) -> RunConfig:
    """The demo targets of pyproject.toml, sent to this session's servers; nothing is written to
    the project's golden store or cache."""
    config = load_config(ROOT / "pyproject.toml", mode=mode)
    targets = {
        name: dataclasses.replace(t, base_url=servers.of(name).base_url)
        for name, t in config.targets.items()
    }
    return dataclasses.replace(config, targets=targets, golden=tmp / "golden", cache=None)


def scores_by_key(
    outcome: RunOutcome, *, skip: frozenset[str] = frozenset()
) -> dict[tuple[str, str, int], list[CheckResult]]:
    return {
        record.key: [s for s in record.scores if s.check not in skip]
        for record in outcome.log.records()
    }


def texts_by_key(outcome: RunOutcome) -> dict[tuple[str, str, int], str | None]:
    return {record.key: record.response.text for record in outcome.log.records()}


@dataclasses.dataclass(frozen=True)
class Servers:
    """The session's two servers: the base model's and the fine-tune's."""

    base: LiveServer
    fine_tune: LiveServer

    def of(self, target: str) -> LiveServer:
        return self.fine_tune if target == FINE_TUNED else self.base

    def restart(self) -> None:
        self.base.restart()
        self.fine_tune.restart()

    def stop(self) -> None:
        self.base.stop()
        self.fine_tune.stop()


@pytest.fixture(scope="module")
def servers(llama_server: LiveServer, fine_tune_server: LiveServer) -> Servers:
    return Servers(llama_server, fine_tune_server)


@pytest.fixture(scope="module")
def subset() -> list[Suite]:
    config = load_config(ROOT / "pyproject.toml")
    return representative_subset(load_suites(config.suites))


@pytest.fixture(scope="module")
def served_models(servers: Servers) -> list[str]:
    """The model ids the two servers report."""
    models = []
    for server in (servers.base, servers.fine_tune):
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=30) as answer:
            models += [m["id"] for m in json.load(answer)["data"]]
    return models


@pytest.fixture(scope="module")
def live_outcome(
    servers: Servers,
    subset: list[Suite],
    tmp_path_factory: pytest.TempPathFactory,
) -> RunOutcome:
    """The subset run live (nothing recorded), on the freshly started servers."""
    tmp = tmp_path_factory.mktemp("live")
    return execute_run(
        demo_config(servers, tmp, "live"), subset, log_path=tmp / "run.jsonl", progress=False
    )


def test_subset_covers_every_category_of_the_bundled_suites(subset: list[Suite]) -> None:
    config = load_config(ROOT / "pyproject.toml")
    bundled = load_suites(config.suites)
    assert {s.id for s in subset} == {s.id for s in bundled}
    assert {c for s in subset for c in s.categories} == {c for s in bundled for c in s.categories}
    cases = [c for s in subset for c in s.cases]
    assert any(sum(m.get("role") == "user" for m in c.messages) > 1 for c in cases)
    assert any(c.tools for c in cases)
    assert any(s.response_schema for s in subset)  # schema-constrained decoding is exercised


def test_live_run_answers_come_from_the_real_server(
    live_outcome: RunOutcome,
    subset: list[Suite],
    served_models: list[str],
    servers: Servers,
    local_model_script: ModuleType,
) -> None:
    stats = live_outcome.stats
    planned = len(EVALUATED) * sum(len(s.cases) for s in subset)
    assert stats.errored == 0, [r.response.error for r in live_outcome.log.records() if r.errored]
    assert (stats.planned, stats.live, stats.requests) == (planned, planned, planned)
    assert (stats.replayed, stats.cached) == (0, 0)
    assert live_outcome.log.header.mode == "live"
    for name, described in live_outcome.log.header.targets.items():
        assert described.endpoint == servers.of(name).base_url, name
        assert described.description, f"target {name} must say what it is"

    records = live_outcome.log.records()
    assert len(records) == planned
    for record in records:
        response = record.response
        where = f"{record.suite_id}::{record.case_id}[{record.target}]"
        assert response.origin == "live", where
        assert response.model in served_models, where
        assert (response.text or "").strip() or response.tool_calls, where
        assert response.usage.prompt_tokens > 0, where
        assert response.usage.completion_tokens > 0, where
        assert response.latency_ms is not None and response.latency_ms > 0, where
        assert response.finish_reason in ("stop", "length", "tool_calls"), where
        assert record.scores, f"{where}: every bundled case has checks"
    # The long prompt of prompt-only and the plain one of base and candidate reached the model.
    prompt_tokens = {
        t: max(r.response.usage.prompt_tokens for r in records if r.target == t) for t in EVALUATED
    }
    assert (
        prompt_tokens["prompt-only"] > 2000 > max(prompt_tokens["base"], prompt_tokens["candidate"])
    )
    # The candidate is the fine-tune: only its answers come from the adapter's server.
    fine_tuned = local_model_script.FINE_TUNED_ALIAS
    assert {r.target for r in records if r.response.model == fine_tuned} == {FINE_TUNED}


def test_recording_replays_offline_with_the_same_scores(
    live_outcome: RunOutcome,
    servers: Servers,
    subset: list[Suite],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tmp = tmp_path_factory.mktemp("record")
    planned = len(EVALUATED) * sum(len(s.cases) for s in subset)
    # llama.cpp is deterministic at temperature 0 for the same sequence of evaluations, but its
    # prompt cache now holds the live pass's prompts, and resuming from a cached prompt evaluates
    # its last token alone, which rounds differently. A fresh server repeats the live pass's
    # evaluations exactly (one call in flight per target keeps each target's calls in order).
    servers.restart()
    recorded = execute_run(
        demo_config(servers, tmp, "record"),
        subset,
        log_path=tmp / "record.jsonl",
        progress=False,
    )
    assert recorded.stats.errored == 0
    assert recorded.stats.live == planned
    written = {
        Path(p).relative_to(tmp / "golden").as_posix()
        for p in recorded.stats.golden_written
        if p.endswith(".jsonl")
    }
    assert written == {f"{s.id}/{t}.jsonl" for s in subset for t in EVALUATED}
    # Greedy decoding with a fixed seed: the recording pass answered exactly as the live one.
    assert texts_by_key(recorded) == texts_by_key(live_outcome)
    assert scores_by_key(recorded, skip=TIMING_CHECKS) == scores_by_key(
        live_outcome, skip=TIMING_CHECKS
    )

    replay_config = demo_config(servers, tmp, "replay")
    assert verify_golden(replay_config, subset) == []
    servers.stop()  # replay must not need a server at all
    replayed = execute_run(replay_config, subset, log_path=tmp / "replay.jsonl", progress=False)
    assert replayed.stats.requests == 0
    assert replayed.stats.replayed == planned
    assert {r.response.origin for r in replayed.log.records()} == {"replayed"}
    assert texts_by_key(replayed) == texts_by_key(recorded)
    assert scores_by_key(replayed) == scores_by_key(recorded)
    for record in replayed.log.records():
        original = recorded.log.results[record.key].response
        assert record.response.usage == original.usage
        assert record.response.model == original.model
        assert record.response.finish_reason == original.finish_reason
