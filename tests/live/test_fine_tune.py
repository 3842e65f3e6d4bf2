"""The live lane: the committed fine-tune, served by llama.cpp on top of the base model file.

``examples/local-model/local_model.py start --fine-tune`` applies ``examples/fine-tune``'s LoRA
adapter to the base GGUF of the server's venv; this proves that llama.cpp loads it, that the
record names that very base file, and that the fine-tune answers held-out questions in the
answer formats it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.live._server import ROOT, LiveServer, load_script

pytestmark = pytest.mark.live

FINE_TUNE = ROOT / "examples" / "fine-tune"
# The held-out check's own client: the same request the README's figures were measured with.
heldout = load_script(FINE_TUNE / "heldout.py", "arcanos_fine_tune_heldout")
VALIDATION = ROOT / "examples" / "training-data" / "arcanos-support.validation.jsonl"
# The keys of each answer format (suites/schemas/): what tells them apart.
FORMATS = {
    frozenset({"category", "route_to", "confidence", "hint_allowed"}): "puzzle_classification",
    frozenset({"intents", "reply"}): "multi_intent",
    frozenset({"action", "reply", "escalate", "ticket_category"}): "support_reply",
}


def answer_format(text: str) -> str | None:
    try:
        value: Any = json.loads(text)
    except ValueError:
        return None
    return FORMATS.get(frozenset(value)) if isinstance(value, dict) else None


def test_the_record_names_the_base_model_file_the_server_serves(llama_installation: Any) -> None:
    record = json.loads((FINE_TUNE / "fine-tune-record.json").read_text(encoding="utf-8"))
    served = Path(llama_installation.model_path)
    assert served.name == record["base_model"]["file"]
    assert hashlib.sha256(served.read_bytes()).hexdigest() == record["base_model"]["sha256"]


def test_the_fine_tune_answers_held_out_questions_in_the_trained_formats(
    local_model_script: Any, fine_tune_server: LiveServer
) -> None:
    with urllib.request.urlopen(f"{fine_tune_server.base_url}/models", timeout=60) as answer:
        assert [m["id"] for m in json.load(answer)["data"]] == [local_model_script.FINE_TUNED_ALIAS]
    examples = [json.loads(line) for line in VALIDATION.read_text("utf-8").splitlines()]
    got, expected = [], []
    for example in examples[:6]:
        system, user, assistant = example["messages"]
        text = heldout.ask(fine_tune_server.base_url, fine_tune_server.model, [system, user])
        got.append(answer_format(text))
        expected.append(answer_format(assistant["content"]))
    assert got == expected
