"""The ``similar`` check: the answer means about the same as a reference answer.

Three embedders, chosen by the ``embedder`` argument:

* ``"lexical"`` (default): a dependency-free cosine over word and character n-gram counts. It is
  deterministic and offline, and it measures wording overlap, not meaning: a negation of the
  reference ("The raid does not start on Friday") scores far above a paraphrase in other words,
  and thresholds for it are lower than for neural embeddings (0.5-0.7 for paraphrases of a short
  answer). Its details say so;
* ``"local"``: all-MiniLM-L6-v2 run offline on ONNX Runtime (no PyTorch, no GPU stack), from the
  optional packages of ``pip install 'arcanos-eval[local-embeddings]'``, with a negation check:
  sentence embeddings place "X" and "not X" close together, so when the answer and the reference
  differ in how many negation words they hold, the cosine is lowered by how much the two texts
  say the same words once the negation words are removed (their lexical similarity): "not" added
  to the same sentence drops it to about zero, a paraphrase that happens to phrase one clause
  negatively loses far less. English negation words only, as the model is English;
* any other string: the name of a model backend whose embeddings endpoint is used (a plain
  cosine, without the negation check).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from arcanos_eval.errors import ArgumentError, ScorerArgumentError
from arcanos_eval.model import Score
from arcanos_eval.scorers._answer import answer_text, preview
from arcanos_eval.scorers._local_embedder import (
    LOCAL_EXTRA,
    LOCAL_MODEL,
    LocalModel,
    load_local_model,
)
from arcanos_eval.scorers._models import ModelBackend, resolve_backend
from arcanos_eval.scorers._registry import as_response, scorer

if TYPE_CHECKING:
    from arcanos_eval.model import Case

__all__ = [
    "LOCAL_EXTRA",
    "cosine",
    "lexical_similarity",
    "local_embedder",
    "negation_words",
    "similar",
]

_WORD = re.compile(r"\w+")
# Lexical vectors of megabyte answers would cost more than the whole run; meaning is in the head.
_MAX_CHARS = 50_000
# The default thresholds: ``local``'s was chosen on the tuning half of the labeled pairs (see
# bench/similarity.py); the lexical and model embedders keep the customary 0.8.
DEFAULT_THRESHOLD = 0.8
LOCAL_THRESHOLD = 0.28
LEXICAL_NOTE = (
    "lexical: measures word overlap, not meaning; a negation of the reference scores high"
)
# English negation words: the local model is English, and so is this list.
_NEGATION = re.compile(
    r"\b(?:not|no|never|nothing|none|nobody|nowhere|neither|nor|cannot|without)\b"
    r"|\b\w+n['\u2019]t\b",
    re.IGNORECASE,
)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros).

    Raises:
        ArgumentError: the vectors differ in length.
    """
    if len(a) != len(b):
        raise ArgumentError(f"vectors differ in length: {len(a)} and {len(b)}")
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return 0.0 if norm == 0 else max(-1.0, min(1.0, dot / norm))


def _features(text: str) -> Counter[str]:
    words = _WORD.findall(text[:_MAX_CHARS].casefold())
    features: Counter[str] = Counter(f"w:{w}" for w in words)
    features.update(f"b:{a} {b}" for a, b in itertools.pairwise(words))
    # Character trigrams inside words absorb inflection ("starts"/"starting") and typos.
    for word in words:
        padded = f" {word} "
        features.update(f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2))
    return features


def _sparse_cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    dot = sum(weight * b[key] for key, weight in a.items() if key in b)
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return 0.0 if norm == 0 else min(1.0, dot / norm)


def lexical_similarity(a: str, b: str) -> float:
    """Cosine of sublinear word, word-bigram and character-trigram counts, in [0, 1].

    Example:
        >>> round(lexical_similarity("The raid starts at 8pm.", "the raid starts at 8pm"), 2)
        1.0
        >>> lexical_similarity("The raid starts at 8pm.", "Reset your password.") < 0.3
        True
    """
    return _sparse_cosine(_sublinear(_features(a)), _sublinear(_features(b)))


def _sublinear(counts: Counter[str]) -> dict[str, float]:
    # 1 + log(tf): a word repeated ten times should not outweigh ten different shared words.
    return {key: 1.0 + math.log(count) for key, count in counts.items()}


def local_embedder() -> Callable[[Sequence[str]], list[list[float]]]:
    """The offline all-MiniLM-L6-v2 embedder of the ``local-embeddings`` extra (no negation check).

    Raises:
        MissingExtraError: a package of the extra is missing; the message names the extra.
    """
    return load_local_model().embed


def negation_words(text: str) -> int:
    """How many English negation words ``text`` holds ("not", "never", "can't", "without", ...).

    Example:
        >>> negation_words("You can't trade yet, and gifts are not allowed.")
        2
    """
    return len(_NEGATION.findall(text))


_Compare = Callable[[str, str], tuple[float, dict[str, Any]]]


def _backend_similarity(model: ModelBackend) -> _Compare:
    def compare(text: str, reference: str) -> tuple[float, dict[str, Any]]:
        first, second = model.embed([text, reference])
        return cosine(first, second), {}

    return compare


def _negation_aware(model: LocalModel, text: str, reference: str) -> tuple[float, dict[str, Any]]:
    """The local model's cosine, lowered when one text negates what the other asserts."""
    first, second = model.embed([text, reference])
    value = cosine(first, second)
    details: dict[str, Any] = {"cosine": round(value, 4), "model": LOCAL_MODEL}
    # Count negations only in what the model read: a negation in a truncated tail is unseen.
    read, reference_read = (t[: model.embedded_chars(t)] for t in (text, reference))
    answer_negations, reference_negations = negation_words(read), negation_words(reference_read)
    if answer_negations != reference_negations:
        overlap = lexical_similarity(_NEGATION.sub(" ", read), _NEGATION.sub(" ", reference_read))
        value = max(-1.0, value - overlap)
        details["negation"] = (
            f"the answer holds {answer_negations} negation word(s), the reference "
            f"{reference_negations}: cosine {details['cosine']:.2f} lowered by their word "
            f"overlap without them, {overlap:.2f}"
        )
    return value, details


def _validate(kwargs: Mapping[str, Any]) -> None:
    if not isinstance(kwargs.get("reference"), str) or not kwargs["reference"].strip():
        raise ScorerArgumentError(
            f"reference must be a non-empty string, found {preview(kwargs.get('reference'))}"
        )
    threshold = kwargs.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not (-1.0 <= threshold <= 1.0)
    ):
        raise ScorerArgumentError(f"threshold must be a number in [-1, 1], found {threshold!r}")
    embedder = kwargs.get("embedder", "lexical")
    if not isinstance(embedder, str) or not embedder:
        raise ScorerArgumentError(
            f"embedder must be 'lexical', 'local' or a target name, found {embedder!r}"
        )
    if embedder == "local":
        local_embedder()  # a missing extra is a load-time error, not a failure per case


@scorer("similar", primary="reference", validate=_validate)
def similar(
    output: Any,
    case: Case | None = None,
    *,
    reference: str,
    threshold: float | None = None,
    embedder: str = "lexical",
    backend: ModelBackend | str | None = None,
) -> Score:
    """The answer's similarity to the reference answer reaches ``threshold``.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case being scored (unused).
        reference: The reference answer.
        threshold: Minimum similarity to pass: the cosine, lowered by ``local``'s negation
            check. By default 0.28 for ``local`` (the threshold chosen on the tuning half of
            ``tests/data/similarity_pairs.jsonl``: paraphrases in other words average 0.68
            there, and 0.8 passes fewer than half of them), 0.8 otherwise.
        embedder: ``"lexical"``, ``"local"``, or the name of a model backend with embeddings.
        backend: A backend object whose ``embed`` is used (overrides ``embedder``).

    Raises:
        MissingExtraError: ``embedder="local"`` without the ``local-embeddings`` extra.

    Example:
        >>> similar("The raid starts Friday at 8pm.", reference="Raid starts Friday at 8 pm.",
        ...         threshold=0.6).passed
        True
    """
    text, reason = answer_text(as_response(output))
    if reason is not None:
        return Score.fail(reason, similarity=None)
    text = text[:_MAX_CHARS]
    extra: dict[str, Any]
    compare: _Compare
    if backend is None and embedder == "lexical":
        value, how, extra = lexical_similarity(text, reference), "lexical", {"note": LEXICAL_NOTE}
    else:
        if backend is None and embedder == "local":
            compare, how = functools.partial(_negation_aware, load_local_model()), "local"
        else:
            compare = _backend_similarity(resolve_backend(backend, embedder))
            how = (
                embedder
                if backend is None
                else str(backend if isinstance(backend, str) else "backend")
            )
        try:
            value, extra = compare(text, reference)
        except Exception as exc:  # a failing endpoint or model is a failed check
            return Score.fail(
                f"embedding failed ({how}): {type(exc).__name__}: {exc}", similarity=None
            )
    if threshold is None:
        threshold = LOCAL_THRESHOLD if how == "local" else DEFAULT_THRESHOLD
    details = {"similarity": round(value, 4), "threshold": threshold, "embedder": how, **extra}
    score = max(0.0, value)
    if value >= threshold:
        return Score.ok(f"similarity {value:.2f} >= {threshold}", score, **details)
    negation = f" ({extra['negation']})" if "negation" in extra else ""
    return Score.fail(
        f"similarity {value:.2f} < {threshold} to the reference {preview(reference, 60)}{negation}",
        score,
        **details,
    )
