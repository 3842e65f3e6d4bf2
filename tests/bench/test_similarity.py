"""bench/similarity.py recomputes the README's `similar` figures: the ranking counts it publishes.

Timings and sizes are reported by the script, never asserted. The counts are: they come from one
pinned model file run on fp32 arithmetic, so a change in them is a change in the scorer (or in the
pinned stack), and the README's table must change with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# The whole labeled set through three embedders, plus five fresh processes loading the model.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

# (embedder, half): (paraphrase > negation, explicit, antonym, paraphrase > unrelated), as in the
# README's Scorers section.
PUBLISHED = {
    ("lexical", "holdout"): (0, [0, 35], [0, 10], 45),
    ("local cosine", "holdout"): (6, [5, 35], [1, 10], 45),
    ("local", "holdout"): (34, [33, 35], [1, 10], 45),
    ("local", "tune"): (37, [35, 37], [2, 8], 45),
}
BALANCED_ACCURACY = {
    ("lexical", "holdout"): (0.717, 0.15),
    ("local cosine", "holdout"): (0.739, 0.20),
    ("local", "holdout"): (0.906, 0.28),
    ("local", "tune"): (0.928, 0.28),
}


def test_the_bench_reproduces_the_published_figures(tmp_path: Path) -> None:
    out = tmp_path / "similarity.json"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "similarity.py"), "--json", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    data = json.loads(out.read_text())
    rows = {(r["embedder"], r["split"]): r for r in data["accuracy"]}
    for key, (over_negation, explicit, antonym, over_unrelated) in PUBLISHED.items():
        row = rows[key]
        assert row["n"] == 45
        assert row["paraphrase_over_negation"] == over_negation, key
        assert row["explicit"] == explicit, key
        assert row["antonym"] == antonym, key
        assert row["paraphrase_over_unrelated"] == over_unrelated, key
        assert (row["accuracy"], row["threshold"]) == BALANCED_ACCURACY[key], key
    timings = data["seconds_in_a_fresh_process_median_of_5"]
    assert set(timings) == {"import arcanos_eval", "load_local_model()"}
    assert all(seconds > 0 for seconds in timings.values())
    assert data["ms_per_text_median"] > 0
