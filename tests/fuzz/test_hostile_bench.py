"""bench/hostile.py: its plan holds every fault kind, its samples are fixed by the seed, and a quick
run accounts for every sample and every hostile run (no outcome is asserted: the bench measures)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.fuzz._bench import ROOT, hostile


def test_plan_holds_n_samples_and_every_kind_twenty_times() -> None:
    planned = hostile.plan(2000, list(hostile.KINDS), quick=False)
    per_kind = Counter(kind for kind, _ in planned)
    assert len(planned) >= 2000
    assert set(per_kind) == set(hostile.KINDS)
    assert min(per_kind.values()) >= 20
    # Interleaved: the first tenth of the run already holds every kind.
    assert {kind for kind, _ in planned[: len(planned) // 10]} == set(hostile.KINDS)
    assert len(set(planned)) == len(planned)


def test_a_sample_is_fixed_by_seed_kind_and_index() -> None:
    bases = hostile.corpus()
    for kind in hostile.KINDS:
        first = hostile.make_sample(kind, 3, 18, bases)
        again = hostile.make_sample(kind, 3, 18, bases)
        assert (first.variant, first.content, first.special, first.links, first.prompt) == (
            again.variant, again.content, again.special, again.links, again.prompt
        )  # fmt: skip
        others = {hostile.make_sample(kind, 3, seed, bases).variant for seed in range(19, 27)}
        assert others - {first.variant}, f"{kind}: the seed changes nothing"


@pytest.mark.slow
def test_quick_run_accounts_for_every_sample_and_run(tmp_path: Path) -> None:
    out = tmp_path / "hostile.json"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "hostile.py"), "--quick", "--timeout", "5",
         "--kind", "byte_flip", "--kind", "special_file", "--scenario", "content_null",
         "--scenario", "non_json_body", "--json", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    data = json.loads(out.read_text())
    kinds = {row["kind"]: row for row in data["suites"]["kinds"]}
    assert set(kinds) == {"byte_flip", "special_file"}
    for row in kinds.values():
        outcomes = sum(row["counts"][k] for k in hostile.OUTCOMES)
        assert row["n"] == 3 and outcomes == 3, row
    runs = {run["scenario"]: run for run in data["server"]["runs"]}
    assert set(runs) == {"content_null", "non_json_body"}
    for run in runs.values():
        assert run["cases"] == 4 and run["requests"] >= 1, run
        assert run["hang"] == 0 and run["lost"] == 0, run
