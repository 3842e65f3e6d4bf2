"""Secrets masked out of what servers say: configured key values and anything shaped like a key.

A server's error message is stored in the run log and shown in reports, JUnit XML and pytest's
output, and a server may echo what it was sent ("Incorrect API key provided: sk-proj-...") or any
other credential. Such text is masked where it enters the system, the engine's boundary with its
targets (:func:`mask`): the value of every environment variable a target reads its key from
becomes ``[value of NAME]``, and every key-shaped string (OpenAI, AWS, GitHub and vendor tokens,
JWTs, private keys, ``Bearer`` tokens, long random strings: the shapes
:mod:`arcanos_eval.data.patterns` and :mod:`arcanos_eval.data.vendor_secrets` know) becomes a
placeholder naming its kind. Every JSONL line written checks for configured key values once more
(:func:`mask_configured`, a few substring tests), so a key reaches no file by any other path.

Answers themselves are not searched for key shapes: what a model writes is the evidence scored
(a suite may ask for a key-shaped string); only the configured values never reach a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator

__all__ = ["configured_secrets", "mask", "mask_configured", "watch_key_env"]

# The variables targets read their keys from; a target adds its own when it is built. Names, not
# values: the values are read when a text is masked, so a key set later is masked too.
_KEY_ENVS: set[str] = {"OPENAI_API_KEY"}
# Shorter values are not keys anyone would issue, and masking them would garble every message
# that happens to contain those few characters.
_MIN_SECRET = 8

_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=:-]{8,})")
_ANY_SK = re.compile(r"(?<![\w-])(?:sk|rk|sess)-[A-Za-z0-9_\-]{12,}")
_QUERY_SECRET = re.compile(
    r"(?i)\b((?:api[_-]?key|access[_-]?token|token|secret|password|key|sig)=)[^&\s\"'<>]{6,}"
)

_LONG_RUN = re.compile(r"[A-Za-z0-9_+/=-]{20}")


def _random_looking(value: str) -> bool:
    """A token, not a word: it holds a digit, or mixes cases, or is long."""
    return (
        any(c.isdigit() for c in value)
        or (any(c.islower() for c in value) and any(c.isupper() for c in value))
        or len(value) >= 20
    )


def watch_key_env(name: str) -> None:
    """Mask the value of environment variable ``name`` from now on (a target's ``api_key_env``)."""
    _KEY_ENVS.add(name)


def configured_secrets(names: Iterable[str] = ()) -> list[tuple[str, str]]:
    """``(name, value)`` of every watched key variable (and of ``names``) that is set, longest
    value first, so a key that contains another is masked whole."""
    found: dict[str, str] = {}
    for name in {*_KEY_ENVS, *names}:
        value = os.environ.get(name)
        if value and len(value.strip()) >= _MIN_SECRET:
            found.setdefault(value.strip(), name)
    return sorted(((n, v) for v, n in found.items()), key=lambda item: -len(item[1]))


def mask_configured(text: str, names: Iterable[str] = ()) -> str:
    """``text`` with each configured key value replaced by ``[value of NAME]``."""
    for name, value in configured_secrets(names):
        if value in text:
            text = text.replace(value, f"[value of {name}]")
    return text


def mask(text: str, *, limit: int | None = None, names: Iterable[str] = ()) -> str:
    """``text`` (a server's message) with configured key values and key-shaped strings masked.

    Args:
        text: What a server said.
        limit: Cut the result to this many characters (a prefix and the length). The text is
            masked before it is cut, so a cut never leaves half a key behind.
        names: More environment variables whose values to mask (besides the watched ones).

    Example:
        >>> mask("Incorrect API key provided: sk-proj-EXAMPLE-not-a-real-key-000000")
        'Incorrect API key provided: [OPENAI_KEY]'
    """
    if not isinstance(text, str):
        text = str(text)
    if limit is not None:
        # Masked, a secret never grows: what lies past this bound is cut anyway.
        text = text[: limit + 4096]
    text = mask_configured(text, names)
    spans = sorted(_spans(text), key=lambda s: (s[0], -(s[1] - s[0])))
    parts: list[str] = []
    position = 0
    for start, end, placeholder in spans:
        if start < position:
            continue  # inside a span already masked
        parts += (text[position:start], placeholder)
        position = end
    text = "".join(parts) + text[position:]
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}... ({len(text)} characters)"
    return text


def _spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, placeholder) of every key-shaped string in ``text``; spans may overlap."""
    from arcanos_eval.data.patterns import DETECTORS, SECRET_KINDS

    lowered = text.lower()
    for detector in DETECTORS:
        if detector.kind not in SECRET_KINDS:
            continue
        if detector.needles and not any(needle in lowered for needle in detector.needles):
            continue
        for span in detector.finder(text):
            yield span.start, span.end, detector.placeholder
    for match in _ANY_SK.finditer(text):
        yield match.start(), match.end(), "[OPENAI_KEY]"
    for match in _BEARER.finditer(text):
        if _random_looking(match.group(3)):
            yield match.end(2), match.end(), "[REDACTED]"
    for match in _QUERY_SECRET.finditer(text):
        yield match.end(1), match.end(), "[REDACTED]"
    if _LONG_RUN.search(text) is None and "://" not in text:
        return  # every vendor shape needs one or the other; skip loading the plugins
    from arcanos_eval.data.vendor_secrets import vendor_secrets

    for span in vendor_secrets().find(text, lowered):
        yield span.start, span.end, "[SECRET]"
