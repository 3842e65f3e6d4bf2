#!/usr/bin/env python3
"""Ask the base model and the fine-tune the held-out validation questions, and grade the answers.

The validation examples (``examples/training-data/arcanos-support.validation.jsonl``) were never
trained on. Each answer is graded on two things: its **format** (one JSON object with exactly the
keys of the expected answer format) and its **decision** (the fields software acts on: category,
route and hint flag of a puzzle; the intents, in order, of a multi-intent message; action,
escalation and queue of a support reply). Reply wording is not graded here; the bundled suites
do that. Both servers must be running (``local_model.py start`` and ``start --fine-tune``)::

    python examples/fine-tune/heldout.py
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VALIDATION = ROOT / "examples" / "training-data" / "arcanos-support.validation.jsonl"
TARGETS = {
    "base": ("http://127.0.0.1:8765/v1", "SmolLM2-135M-Instruct-Q4_1"),
    "fine-tune": ("http://127.0.0.1:8766/v1", "ft:SmolLM2-135M-Instruct-Q4_1:arcanos:support"),
}
# The fields that decide what happens next, per answer format (told apart by their keys).
DECISIONS = {
    frozenset({"category", "route_to", "confidence", "hint_allowed"}): (
        "category",
        "route_to",
        "hint_allowed",
    ),
    frozenset({"intents", "reply"}): ("intents",),
    frozenset({"action", "reply", "escalate", "ticket_category"}): (
        "action",
        "escalate",
        "ticket_category",
    ),
}


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def grade(expected: str, answer: str) -> tuple[bool, bool]:
    """(format right, decision right) of ``answer`` against the reference answer ``expected``.

    >>> grade('{"intents": ["bug_report"], "reply": "a"}', '{"intents": ["bug_report"], "reply": "b"}')
    (True, True)
    """
    want = _object(expected)
    if want is None or frozenset(want) not in DECISIONS:
        raise ValueError(f"not a reference answer: {expected[:80]!r}")
    got = _object(answer)
    if got is None or frozenset(got) != frozenset(want):
        return False, False
    fields = DECISIONS[frozenset(want)]
    return True, all(got[f] == want[f] for f in fields)


def ask(base_url: str, model: str, messages: list[dict[str, Any]]) -> str:
    body = json.dumps(
        {"model": model, "messages": messages, "temperature": 0, "seed": 7, "max_tokens": 160}
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/chat/completions", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=600) as answer:
        return str(json.load(answer)["choices"][0]["message"]["content"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, help="also write every answer and grade here")
    args = parser.parse_args(argv)
    examples = [json.loads(line) for line in VALIDATION.read_text("utf-8").splitlines()]
    results: dict[str, list[dict[str, Any]]] = {}
    for name, (base_url, model) in TARGETS.items():
        rows = results[name] = []
        for number, example in enumerate(examples, 1):
            system, user, reference = example["messages"]
            answer = ask(base_url, model, [system, user])
            form, decision = grade(reference["content"], answer)
            rows.append({"line": number, "answer": answer, "format": form, "decision": decision})
            print(f"{name}: {number}/{len(examples)}", file=sys.stderr, flush=True)
    print(f"{len(examples)} held-out questions\n\ntarget      format right    decision right")
    for name, rows in results.items():
        forms = sum(r["format"] for r in rows)
        decisions = sum(r["decision"] for r in rows)
        print(
            f"{name:<10}  {forms:>5} ({forms / len(rows):4.0%})    {decisions:>5} ({decisions / len(rows):4.0%})"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
