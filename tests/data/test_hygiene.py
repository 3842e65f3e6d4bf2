"""Duplicates (exact and near, in bounded work), train/validation overlap and eval contamination."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from arcanos_eval.data import check_training_data, hygiene
from arcanos_eval.data.eval_cases import read_eval_cases
from arcanos_eval.data.hygiene import (
    ContaminationIndex,
    DuplicateIndex,
    EvalCase,
    example_texts,
    normalize,
    signature,
    similarity,
)
from arcanos_eval.errors import SuiteError, UsageError
from tests.data._corpus import chat_example, clean_user_message, write_jsonl

REPO = Path(__file__).resolve().parents[2]
WORDS = (REPO / "prompts" / "base.md").read_text(encoding="utf-8").split()


def text_of(rng: random.Random, length: int) -> list[str]:
    start = rng.randrange(len(WORDS) - length)
    return WORDS[start : start + length]


def true_jaccard(a: list[str], b: list[str]) -> float:
    def grams(words: list[str]) -> set[str]:
        words = normalize(" ".join(words)).split()
        return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}

    first, second = grams(a), grams(b)
    return len(first & second) / len(first | second)


def test_normalize_ignores_case_punctuation_and_spacing() -> None:
    assert normalize("  Reset my PASSWORD, please!!\n") == normalize("reset my password please")


def test_exact_duplicates_match_after_normalization() -> None:
    first = chat_example("How do I cancel my Patron Pass?", "Settings > Account.")
    second = chat_example("how do I cancel my patron pass", "Settings, Account")
    other = chat_example("How do I cancel my Patron Pass?", "Ask support.")
    assert example_texts(first).fingerprint == example_texts(second).fingerprint
    assert example_texts(first).fingerprint != example_texts(other).fingerprint


def test_similarity_estimates_jaccard_without_bias() -> None:
    rng = random.Random(11)
    errors = []
    for _ in range(400):
        a = text_of(rng, rng.randint(20, 80))
        b = list(a)
        for _ in range(rng.randint(1, 5)):
            b[rng.randrange(len(b))] = rng.choice(WORDS)
        sig_a, sig_b = signature(normalize(" ".join(a))), signature(normalize(" ".join(b)))
        assert sig_a is not None and sig_b is not None
        errors.append(similarity(sig_a, sig_b) - true_jaccard(a, b))
    mean = sum(errors) / len(errors)
    spread = (sum(e * e for e in errors) / len(errors)) ** 0.5
    print(f"minhash error: mean {mean:+.3f}, rms {spread:.3f} over {len(errors)} pairs")
    assert abs(mean) < 0.02
    assert spread < 0.1


def test_near_duplicates_are_found_and_unrelated_examples_are_not() -> None:
    rng = random.Random(5)
    index = DuplicateIndex()
    base = text_of(rng, 60)
    edited = list(base)
    edited[30] = "griffin"  # one word changed in sixty
    examples = [" ".join(base), " ".join(text_of(rng, 60)), " ".join(edited)]
    for ref, text in enumerate(examples):
        assert index.add(ref, example_texts(chat_example(text, "ok"))) is None
    found = index.near_duplicates()
    assert [(pair.ref, pair.original) for pair in found] == [(2, 0)]
    assert found[0].similarity >= hygiene.NEAR_DUPLICATE_THRESHOLD


def test_exact_copies_are_answered_at_once() -> None:
    index = DuplicateIndex()
    example = chat_example("When does the raid reset?", "Wednesdays.")
    assert index.add(7, example_texts(example)) is None
    assert index.add(9, example_texts(example)) == 7
    assert len(index) == 1  # the copy adds no signature


def test_near_duplicate_search_is_not_quadratic(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    original = hygiene.similarity

    def counting(first: Any, second: Any) -> float:
        nonlocal calls
        calls += 1
        return original(first, second)

    monkeypatch.setattr(hygiene, "similarity", counting)
    rng = random.Random(8)
    index = DuplicateIndex()
    count = 5_000
    for ref in range(count):
        user = f"{clean_user_message(rng)} {' '.join(text_of(rng, 12))}"
        index.add(ref, example_texts(chat_example(user, "ok")))
    index.near_duplicates()
    print(f"similarity computed {calls} times for {count} examples")
    # All-pairs would be 12.5 million comparisons; banding compares each example with at most
    # one representative per band.
    assert calls <= count * 10


def test_train_validation_overlap_and_duplicates_are_warnings(tmp_path: Path) -> None:
    rng = random.Random(2)
    train = [chat_example(" ".join(text_of(rng, 40)), "ok") for _ in range(12)]
    train.append(train[3])
    near = json.loads(json.dumps(train[5]))
    near["messages"][1]["content"] = (
        near["messages"][1]["content"].replace(" ", "  ", 1) + " please"
    )
    validation = [train[0], near, chat_example(" ".join(text_of(rng, 40)), "ok")]
    report = check_training_data(
        write_jsonl(tmp_path / "train.jsonl", train),
        validation=write_jsonl(tmp_path / "val.jsonl", validation),
    )
    hygiene_findings = [(f.file, f.line, f.kind, f.severity) for f in report.findings]
    assert (str(tmp_path / "train.jsonl"), 13, "exact_duplicate", "warning") in hygiene_findings
    assert (
        str(tmp_path / "val.jsonl"),
        1,
        "train_validation_overlap",
        "warning",
    ) in hygiene_findings
    assert (
        str(tmp_path / "val.jsonl"),
        2,
        "train_validation_overlap",
        "warning",
    ) in hygiene_findings
    assert report.passed  # warnings do not fail the gate


def test_contamination_finds_verbatim_and_wrapped_cases() -> None:
    case = EvalCase(
        "support::reset",
        "suites/support.yaml",
        "forgot my password. I still have my email. how do I reset it",
    )
    index = ContaminationIndex([case, EvalCase("misc::hi", "suites/misc.yaml", "hi")])
    assert index.skipped == 1  # "hi" is too short to mean anything
    verbatim = index.match("Forgot my password! I still have my email, how do I reset it?")
    assert verbatim is not None and verbatim[0] == case and verbatim[1] == 1.0
    wrapped = index.match(
        "Hello team. forgot my password. I still have my email. how do I reset it. Thanks"
    )
    assert wrapped is not None and wrapped[0] == case
    assert index.match("How do I change my character name in the settings menu?") is None


def test_suite_files_are_read_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "reply.json").write_text('{"type": "object"}')
    (tmp_path / "a.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "alpha",
                "cases": [
                    {"id": "one", "input": "What walks on four legs in the morning?"},
                    {
                        "id": "two",
                        "messages": [
                            {"role": "system", "content": "ignored"},
                            {"role": "user", "content": "first user turn"},
                            {"role": "assistant", "content": "ignored"},
                            {"role": "user", "content": [{"type": "text", "text": "second"}]},
                        ],
                    },
                ],
            }
        )
    )
    (tmp_path / "b.json").write_text(json.dumps({"cases": [{"input": "json case"}]}))
    (tmp_path / "c.jsonl").write_text(
        '{"id": "gamma"}\n{"id": "x", "input": "jsonl case"}\n\n{"id": "y", "input": "another"}\n'
    )
    eval_set = read_eval_cases(tmp_path)
    assert [(c.key, c.text) for c in eval_set.cases] == [
        ("alpha::one", "What walks on four legs in the morning?"),
        ("alpha::two", "first user turn"),
        ("alpha::two", "second"),
        ("b::#1", "json case"),
        ("gamma::x", "jsonl case"),
        ("gamma::y", "another"),
    ]
    assert eval_set.case_count == 5
    assert len(eval_set.files) == 3  # the schema file has no cases


def test_broken_suites_are_usage_errors_with_a_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: x\ncases:\n  - input: [unclosed\n")
    with pytest.raises(SuiteError, match=r"bad\.yaml:\d+: invalid YAML"):
        read_eval_cases(tmp_path)
    with pytest.raises(UsageError, match="no such suite"):
        read_eval_cases(tmp_path / "missing")


def test_hostile_suites_are_read_within_the_loaders_bounds(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)
    ]
    bomb.write_text("\n".join([*levels, "cases: [{input: *a8}]", ""]))
    with pytest.raises(SuiteError, match=r"bomb\.yaml"):
        read_eval_cases(bomb)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    # In a child process: reading a FIFO without a writer would block the test run for good.
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from arcanos_eval.data.eval_cases import "
            "read_eval_cases as r\ntry: r(sys.argv[1])\nexcept Exception as e: print(e)",
            str(fifo),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "pipe.yaml" in child.stdout and "FIFO" in child.stdout.upper(), child


def test_the_bundled_suites_can_be_read() -> None:
    suites = REPO / "suites"
    if not suites.is_dir():
        pytest.skip("no bundled suites in this checkout")
    eval_set = read_eval_cases(suites)
    assert eval_set.case_count > 50
    assert all(case.key.count("::") == 1 for case in eval_set.cases)
