"""bench/refusal_accuracy.py reads the public sets in the layouts its docstring documents.

The sets themselves stay outside the repository; these files are written here, with answers of
our own, in the same columns, to pin how each set's labels and splits are read.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

REFUSE = "I'm sorry, but I can't help with that."
ANSWER = "Sure: open Settings, then Account, then Reset, and confirm with the code we email you."


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _run(folder: Path, tmp_path: Path) -> dict[tuple[str, str], dict[str, object]]:
    out = tmp_path / "rows.json"
    script = ROOT / "bench" / "refusal_accuracy.py"
    subprocess.run(
        [sys.executable, str(script), "--data", str(folder), "--json", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = json.loads(out.read_text(encoding="utf-8"))
    return {(str(r["dataset"]), str(r["split"])): r for r in rows}


def test_do_not_answer_splits_by_model_and_keeps_mixed_actions_apart(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    for model in ("ChatGPT", "GPT4"):
        _write_csv(
            folder / "do-not-answer" / f"annotated_response_{model}.csv",
            [
                {"id": "1", "question": "q", "response": REFUSE, "harmful": "0", "action": "0"},
                {"id": "2", "question": "q", "response": ANSWER, "harmful": "0", "action": "5"},
                {"id": "3", "question": "q", "response": ANSWER, "harmful": "0", "action": "5"},
                {"id": "4", "question": "q", "response": REFUSE, "harmful": "0", "action": "1"},
                {"id": "5", "question": "q", "response": ANSWER, "harmful": "0", "action": "3"},
            ],
        )
    rows = _run(folder, tmp_path)
    for split in ("tune", "held-out"):  # ChatGPT is a tuning model, GPT-4 a held-out one
        main = rows["do-not-answer", split]
        assert (main["n"], main["refusals"], main["balanced"]) == (3, 1, 1.0)
        # actions 1 and 3 are reported apart, as the share called a refusal
        assert rows["do-not-answer:refutes", split]["refusal_r"] == 1.0
        assert rows["do-not-answer:disclaimer", split]["refusal_r"] == 0.0
    assert not any(key[0] == "do-not-answer" and key[1] == "all" for key in rows)


def test_jailbreak_evaluation_reads_informativeness_as_compliance(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    base = {"_id": "x", "model_id": "0", "prompt": "p", "intent": "i"}
    _write_csv(
        folder / "jailbreak-evaluation" / "manual_data.csv",
        [
            {**base, "response": REFUSE, "manual_informativeness_label": "False"},
            {**base, "response": ANSWER, "manual_informativeness_label": "True"},
            {**base, "response": ANSWER, "manual_informativeness_label": ""},  # unlabeled
        ],
    )
    row = _run(folder, tmp_path)["jailbreak-evaluation", "held-out"]
    assert (row["n"], row["refusals"], row["balanced"]) == (2, 1, 1.0)
