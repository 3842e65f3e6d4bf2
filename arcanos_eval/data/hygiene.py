"""Duplicates within and across files, and leakage of evaluation cases into training data.

Everything here runs in bounded memory while files stream by:

* **exact duplicates**: an 8-byte hash of the normalized conversation per example;
* **near duplicates**: MinHash over word 3-gram shingles, using one-permutation hashing (each
  shingle is hashed once and falls into one of :data:`SIGNATURE_BINS` bins) so a signature costs
  one pass over the text; locality-sensitive banding finds candidate pairs in
  ``O(examples x bands)`` instead of comparing every pair. A signature is 120 bytes;
* **contamination**: an eval case leaks when most of its character 5-grams appear in one training
  user message (containment, not Jaccard, because a leaked question is usually wrapped in more
  text). Each case is indexed by a few anchor shingles so a training message is compared only
  with the cases it shares an anchor with.

Normalization casefolds and drops punctuation, so "Reset my password!" and "reset my password"
are the same text.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from operator import and_, eq
from typing import Any

__all__ = [
    "CONTAINMENT_THRESHOLD",
    "MIN_CASE_CHARS",
    "NEAR_DUPLICATE_THRESHOLD",
    "SIGNATURE_BINS",
    "ContaminationIndex",
    "DuplicateIndex",
    "EvalCase",
    "ExampleTexts",
    "NearDuplicate",
    "example_texts",
    "normalize",
]

NEAR_DUPLICATE_THRESHOLD = 0.7
"""Estimated Jaccard similarity of word 3-gram sets from which two examples are near duplicates."""
CONTAINMENT_THRESHOLD = 0.8
"""Share of an eval case's character 5-grams found in a training message that counts as a leak."""
MIN_CASE_CHARS = 20
"""Eval inputs shorter than this (normalized) are too generic to signal a leak and are skipped."""

SIGNATURE_BINS = 30
_BANDS = 10
_ROWS = SIGNATURE_BINS // _BANDS
_EMPTY = 0xFFFFFFFF
_EMPTY_KEY_HASH = hash((_EMPTY,) * _ROWS)
# Bins are taken from the low 5 bits (32 values); bins 30 and 31 are dropped so the 30 kept bins
# split evenly into 10 bands of 3 rows. Their shingles simply do not vote.
_BIN_MASK = 31
_ANCHORS = 16
_CHAR_NGRAM = 5
_NON_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=256)
def _normalize_cached(text: str) -> str:
    return _NON_WORD.sub(" ", text.casefold()).strip()


def normalize(text: str) -> str:
    """Casefold, turn punctuation into spaces and collapse whitespace.

    >>> normalize("  Reset my PASSWORD, please!! ")
    'reset my password please'
    """
    # System prompts repeat on every line of a training file; short texts go through a cache.
    if len(text) <= 16_384:
        return _normalize_cached(text)
    return _NON_WORD.sub(" ", text.casefold()).strip()


@dataclass(frozen=True)
class ExampleTexts:
    """The texts of one example that hygiene checks compare.

    Attributes:
        fingerprint: 64-bit hash of the normalized conversation (every role and message).
        dialogue: normalized user, assistant and tool text (system prompts are usually shared by
            every example and would make them all look alike).
        user_messages: ``(field_path, text)`` of each user message, for contamination.
    """

    fingerprint: int
    dialogue: str
    user_messages: tuple[tuple[str, str], ...]


def _message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    parts: list[str] = []
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        parts.extend(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                parts.extend(str(function.get(key, "")) for key in ("name", "arguments"))
    return " ".join(parts)


def _conversation(example: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(field_path, message)`` of every message, in either format."""
    if isinstance(example.get("messages"), list):
        for index, message in enumerate(example["messages"]):
            if isinstance(message, dict):
                yield f"messages[{index}]", message
        return
    source = example.get("input")
    if isinstance(source, dict) and isinstance(source.get("messages"), list):
        for index, message in enumerate(source["messages"]):
            if isinstance(message, dict):
                yield f"input.messages[{index}]", message
    # The preferred answer is what the model learns; the rejected one is not training text.
    output = example.get("preferred_output")
    if isinstance(output, list):
        for index, message in enumerate(output):
            if isinstance(message, dict):
                yield f"preferred_output[{index}]", message


def example_texts(example: Mapping[str, Any]) -> ExampleTexts:
    """Extract what duplicate and contamination checks need from a parsed example."""
    digest = hashlib.blake2b(digest_size=8)
    dialogue: list[str] = []
    users: list[tuple[str, str]] = []
    for path, message in _conversation(example):
        role = str(message.get("role", ""))
        text = _message_text(message)
        normalized = normalize(text)
        digest.update(f"{role}\x1f{normalized}\x1e".encode())
        if role != "system":
            dialogue.append(normalized)
        if role == "user" and text:
            users.append((f"{path}.content", text))
    return ExampleTexts(int.from_bytes(digest.digest(), "big"), " ".join(dialogue), tuple(users))


def signature(text: str) -> array[int] | None:
    """One-permutation MinHash of the word 3-grams of a normalized text (``None`` if empty).

    Each shingle's CRC-32 picks its bin (the low bits) and competes for that bin's minimum;
    empty bins hold a sentinel that never matches.
    """
    words = text.split()
    if not words:
        return None
    if len(words) >= 3:
        grams: Iterable[str] = map(" ".join, zip(words, words[1:], words[2:], strict=False))
    else:
        grams = words
    hashes = sorted(set(map(zlib.crc32, map(str.encode, grams))), reverse=True)
    # Later (smaller) hashes overwrite earlier ones, so each bin keeps its minimum.
    mins = dict(zip(map(and_, hashes, repeat(_BIN_MASK)), hashes, strict=True))
    return array("I", map(mins.get, range(SIGNATURE_BINS), repeat(_EMPTY)))


def similarity(first: Sequence[int], second: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures (bins empty in both are ignored)."""
    same = sum(map(eq, first, second))
    both_empty = 0
    if _EMPTY in first and _EMPTY in second:  # only short texts leave bins empty
        both_empty = sum(map(and_, map(_EMPTY.__eq__, first), map(_EMPTY.__eq__, second)))
    union = len(first) - both_empty
    return (same - both_empty) / union if union else 0.0


@dataclass(frozen=True)
class NearDuplicate:
    """``ref`` (the later example) closely resembles ``original``; refs are caller-defined ints."""

    ref: int
    original: int
    similarity: float


class DuplicateIndex:
    """Exact and near duplicates over a stream of examples.

    Call :meth:`add` once per example with an integer ``ref`` of your choosing (the caller packs
    file and line into it); :meth:`add` answers exact duplicates at once, :meth:`near_duplicates`
    answers near ones after the last example.
    """

    def __init__(self, threshold: float = NEAR_DUPLICATE_THRESHOLD) -> None:
        self.threshold = threshold
        self._first_seen: dict[int, int] = {}
        self._refs: array[int] = array("Q")
        self._signatures: array[int] = array("I")

    def add(self, ref: int, texts: ExampleTexts) -> int | None:
        """Record an example; return the ref of an earlier identical example, if any."""
        original = self._first_seen.setdefault(texts.fingerprint, ref)
        if original != ref:
            return original  # an exact copy adds nothing to near-duplicate search
        sig = signature(texts.dialogue)
        if sig is not None:
            self._refs.append(ref)
            self._signatures.extend(sig)
        return None

    def __len__(self) -> int:
        return len(self._refs)

    def near_duplicates(self) -> list[NearDuplicate]:
        """Every example with an earlier example at least ``threshold`` similar (the first such
        match found is reported)."""
        count = len(self._refs)
        sigs = self._signatures
        best: dict[int, tuple[int, float]] = {}
        # The representative an example was last compared with: a pair that shares several
        # bands is scored once.
        compared = array("q", [-1]) * count
        for band in range(_BANDS):
            # One key per example: the hash of its rows in this band (ints hash the same in
            # every run; a collision only costs one similarity check). A dict built from the
            # reversed keys maps each key to its first example. All of this runs in C loops;
            # Python code only sees the candidates.
            rows = [sigs[band * _ROWS + row :: SIGNATURE_BINS] for row in range(_ROWS)]
            keys = list(map(hash, zip(*rows, strict=True)))
            first_of = dict(zip(reversed(keys), range(count - 1, -1, -1), strict=True))
            firsts = list(map(first_of.__getitem__, keys))
            del first_of
            for index, first in enumerate(firsts):
                # One earlier match is enough to report an example; later bands skip it.
                if first == index or index in best or compared[index] == first:
                    continue
                if keys[index] == _EMPTY_KEY_HASH:
                    continue  # all-empty bands say nothing about similarity
                compared[index] = first
                score = similarity(self._signature(first), self._signature(index))
                if score >= self.threshold:
                    best[index] = (first, score)
        return [
            NearDuplicate(self._refs[index], self._refs[first], round(score, 3))
            for index, (first, score) in sorted(best.items())
        ]

    def _signature(self, index: int) -> array[int]:
        return self._signatures[index * SIGNATURE_BINS : (index + 1) * SIGNATURE_BINS]


@dataclass(frozen=True)
class EvalCase:
    """The user text of one evaluation case: ``key`` is ``suite-id::case-id``."""

    key: str
    path: str
    text: str


def _char_ngrams(text: str) -> set[str]:
    if len(text) <= _CHAR_NGRAM:
        return {text}
    return {text[i : i + _CHAR_NGRAM] for i in range(len(text) - _CHAR_NGRAM + 1)}


class ContaminationIndex:
    """Finds training messages that contain an evaluation case's input.

    Args:
        cases: eval case texts (raw; normalized here).
        threshold: share of a case's character 5-grams that must occur in one training message.

    Example:
        >>> index = ContaminationIndex([EvalCase("s::c", "s.yaml", "What walks on four legs?")])
        >>> index.match("Riddle time: what walks on four legs in the morning?")[0].key
        's::c'
    """

    def __init__(self, cases: Iterable[EvalCase], threshold: float = CONTAINMENT_THRESHOLD) -> None:
        self.threshold = threshold
        self.cases: list[EvalCase] = []
        self.skipped = 0
        self._grams: list[frozenset[str]] = []
        self._by_anchor: dict[str, list[int]] = {}
        for case in cases:
            text = normalize(case.text)
            if len(text) < MIN_CASE_CHARS:
                self.skipped += 1
                continue
            grams = frozenset(_char_ngrams(text))
            position = len(self.cases)
            self.cases.append(case)
            self._grams.append(grams)
            # Anchors: the grams with the smallest CRC-32, a deterministic random sample. A
            # message holding 80% of the case's grams misses all 16 anchors with odds ~1e-11.
            for gram in sorted(grams, key=lambda g: zlib.crc32(g.encode()))[:_ANCHORS]:
                self._by_anchor.setdefault(gram, []).append(position)
        self._anchors = frozenset(self._by_anchor)

    def __len__(self) -> int:
        return len(self.cases)

    def match(self, text: str) -> tuple[EvalCase, float] | None:
        """The eval case best contained in ``text`` (with its containment), if any passes."""
        if not self._anchors:
            return None
        grams = _char_ngrams(normalize(text))
        hits = grams & self._anchors
        if not hits:
            return None
        candidates = {position for gram in hits for position in self._by_anchor[gram]}
        best: tuple[EvalCase, float] | None = None
        for position in sorted(candidates):
            case_grams = self._grams[position]
            containment = len(case_grams & grams) / len(case_grams)
            if containment >= self.threshold and (best is None or containment > best[1]):
                best = (self.cases[position], round(containment, 3))
        return best
