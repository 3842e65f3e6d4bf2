"""The benchmark runs end to end on a small workload and reports every figure (no timing asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

# The whole benchmark, end to end: minutes of wall time, so it runs in the slow lane.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_quick_bench_reports_every_measure_and_loses_nothing(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--json", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    data = json.loads(out.read_text())
    figures = {f["measure"]: f for f in data["figures"]}
    kinds = (
        "bare SDK: live wall / ideal",
        "bare SDK: ms per call at 0 ms",
        "live wall / ideal (cli)",
        "live wall / ideal (pytest)",
        "harness per live call at 0 ms, concurrency 1 ",
        "harness per live call at 0 ms, concurrency 16 ",
        "replay",
        "peak RSS",
        "cached re-run",
        "429 storm",
        "batch mode",
    )
    for kind in kinds:
        assert any(kind in name for name in figures), kind
    for name, figure in figures.items():
        assert math.isfinite(figure["value"]) and figure["value"] > 0, name
        assert figure["detail"].get("lost", 0) == 0, name
    cached = next(f for n, f in figures.items() if n.startswith("cached re-run"))
    assert cached["detail"]["requests"] == 0
    storm = next(f for n, f in figures.items() if n.startswith("10% 429 storm"))
    assert storm["detail"]["retried"] > 0  # the storm happened, and was absorbed
    # A client that costs nothing still waits out every 429: above the ideal, below the harness.
    assert 1.0 < storm["detail"]["perfect_client_x"] <= storm["value"]
    floor = next(f for n, f in figures.items() if n.startswith("bare SDK: live"))
    assert floor["detail"]["requests"] == 2 * data["workload"]["cases"]
    assert data["machine"]["cores"] >= 1
