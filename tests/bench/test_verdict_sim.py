"""The verdict simulation runs end to end on a tiny plan and accounts for every replicate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Several CLI runs in child processes: the slow lane.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_quick_simulation_decides_every_replicate(tmp_path):
    out = tmp_path / "sim.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "verdict_sim.py"), "--quick", "--reps", "2",
         "--json", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    data = json.loads(out.read_text())
    assert data["margin"] == 0.05 and data["recommended"] > 100
    labels = [(s["label"], s["cases"]) for s in data["settings"]]
    assert labels == [
        ("10% worse", 30),
        ("10% worse", 100),
        ("unchanged", 100),
        ("unchanged, pilot", 100),
    ]
    for setting in data["settings"]:
        # Every replicate got a verdict, and the CLI ran at least once per setting.
        assert setting["promoted"] + setting["held"] == setting["repetitions"]
        assert setting["runs"] >= 1
        wrong = setting["promoted"] if setting["wrong_when"] == "promote" else setting["held"]
        assert setting["errors"] == wrong
    # At 30 cases every gate is below min_cases: nothing can be promoted.
    assert data["settings"][0]["promoted"] == 0
    assert "false PROMOTE" in result.stdout and "false HOLD" in result.stdout
