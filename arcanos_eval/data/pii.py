"""Find PII and secrets in text, mask them for reports, and redact them with typed placeholders.

Structured kinds (emails, phones, cards, IBANs, IPs, government ids, OpenAI/AWS/GitHub keys, JWTs,
private keys, passwords stated in prose) come from :mod:`arcanos_eval.data.patterns`; other vendor
credentials and random-looking strings from the ``detect-secrets`` plugins
(:mod:`arcanos_eval.data.vendor_secrets`).

A raw value never leaves this module except through :func:`redact_text` (which removes it) and
the private ``value`` field of :class:`Match`, which is excluded from ``repr``. Reports carry
:attr:`Match.masked` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from arcanos_eval.data.fields import STRUCTURAL_KEYS, iter_text_fields
from arcanos_eval.data.patterns import DETECTORS, PII_KINDS, Span
from arcanos_eval.data.vendor_secrets import vendor_secrets
from arcanos_eval.errors import UsageError

__all__ = [
    "Allowlist",
    "Match",
    "Scanner",
    "iter_text_fields",
    "mask_value",
    "redact_text",
    "scan_text",
]

Category = Literal["pii", "secret"]

KIND_LABELS = {
    "email": "email address",
    "phone": "phone number",
    "payment_card": "payment card number (Luhn-valid)",
    "iban": "IBAN (mod-97 valid)",
    "ipv4": "IPv4 address",
    "ipv6": "IPv6 address",
    "us_ssn": "US Social Security number",
    "uk_nino": "UK National Insurance number",
    "openai_key": "OpenAI API key",
    "aws_access_key": "AWS access key id",
    "github_token": "GitHub token",
    "jwt": "JSON Web Token",
    "private_key": "private key block",
    "password": "password written in the text",
    "high_entropy_string": "high-entropy string (likely a credential)",
    "secret_keyword": "value assigned to a secret-named key",
}
"""Human names of the finding kinds; detect-secrets kinds not listed read as their slug."""

_PLACEHOLDERS = {detector.kind: detector.placeholder for detector in DETECTORS}
_PRIORITY = {detector.kind: index for index, detector in enumerate(DETECTORS)}
_TAIL_KINDS = frozenset({"payment_card", "phone", "us_ssn", "uk_nino"})
_HIDDEN_KINDS = frozenset({"password", "secret_keyword", "basic_auth_credentials"})
_DELETE_DIGITS = str.maketrans("", "", "0123456789")
_CACHE_ENTRIES = 256
_CACHE_MAX_CHARS = 16_384


@dataclass(frozen=True)
class Match:
    """One sensitive value found in a string.

    Attributes:
        kind: stable identifier, e.g. ``email``, ``payment_card``, ``slack_token``.
        category: ``pii`` (about a person) or ``secret`` (grants access to something).
        start: offset of the value in the scanned string.
        end: offset just past the value.
        masked: the value with most characters hidden; safe to print.
        allowlisted: the allowlist exempts this value; it is counted, not reported.
        value: the raw value; excluded from ``repr`` and never written to a report.
    """

    kind: str
    category: Category
    start: int
    end: int
    masked: str
    allowlisted: bool = False
    value: str = field(default="", repr=False, compare=False)

    @property
    def label(self) -> str:
        """A human name for the kind (``payment card number``)."""
        return KIND_LABELS.get(self.kind, self.kind.replace("_", " "))

    @property
    def placeholder(self) -> str:
        """The typed placeholder that replaces the value in a redacted file."""
        return _PLACEHOLDERS.get(self.kind, "[SECRET]")


def mask_value(value: str, kind: str) -> str:
    """Hide most of ``value``: at most a quarter of its characters (never more than 4) stay.

    Numbers keep their last digits (how support staff refer to a card), credentials keep their
    prefix (which tells the key type), passwords keep nothing. The result never contains the raw
    value, whatever its length.

    >>> mask_value("4111 1111 1111 1111", "payment_card")
    '***1111'
    >>> mask_value("jane.doe@example.com", "email")
    'j***@***com'
    """
    visible = min(4, len(value) // 4)
    if kind in _HIDDEN_KINDS or visible == 0:
        masked = "***"
    elif kind == "email":
        masked = f"{value[0]}***@***{value[len(value) - visible + 1 :]}"
    elif kind in _TAIL_KINDS:
        masked = f"***{value[-visible:]}"
    elif kind == "iban":
        masked = f"{value[:2]}***{value[len(value) - visible + 2 :]}"
    else:
        masked = f"{value[:visible]}***"
    # Defence in depth: a value made of asterisks could hide inside the mask.
    # Both fallbacks are masks only: no character of the value shows through.
    for candidate in (masked, "***", "###"):
        if value not in candidate:
            return candidate
    return "###"  # pragma: no cover - no non-empty string is inside both "***" and "###"


@dataclass(frozen=True)
class Allowlist:
    """Values that are not findings: one literal or regex per line, ``#`` starts a comment.

    A line ``re:PATTERN`` is a regex that must match the whole value (``re:.*@arcanos\\.example``
    allows every address of the company's own domain); any other line is a literal compared
    case-insensitively. Blank lines are ignored.
    """

    literals: frozenset[str] = frozenset()
    patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def from_lines(cls, lines: Iterable[str], *, source: str = "<allowlist>") -> Allowlist:
        """Parse allowlist lines; an invalid regex raises :class:`UsageError` naming the line."""
        literals: set[str] = set()
        patterns: list[re.Pattern[str]] = []
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("re:"):
                try:
                    patterns.append(re.compile(line[3:].strip()))
                except re.error as error:
                    raise UsageError(
                        f"{source}:{number}: invalid regex in allowlist ({error}); "
                        "expected 're:' followed by a Python regular expression"
                    ) from None
            else:
                literals.add(line.casefold())
        return cls(frozenset(literals), tuple(patterns))

    @classmethod
    def from_file(cls, path: str | Path) -> Allowlist:
        """Read an allowlist file (UTF-8); a missing file raises :class:`UsageError`."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise UsageError(f"{path}: cannot read allowlist: {reason}") from None
        return cls.from_lines(text.splitlines(), source=str(path))

    def __len__(self) -> int:
        return len(self.literals) + len(self.patterns)

    def allows(self, value: str) -> bool:
        """Whether ``value`` is exempt."""
        if value.casefold() in self.literals:
            return True
        return any(pattern.fullmatch(value) for pattern in self.patterns)


class Scanner:
    """Scans strings for PII and secrets, honouring an allowlist.

    Args:
        allowlist: values exempt from findings and from redaction.
        detect_secrets: also run the ``detect-secrets`` plugins (vendor tokens, high-entropy
            strings). On by default; tests of the structured kinds alone turn it off.

    Example:
        >>> [m.kind for m in Scanner().scan("Mail me at jane.doe@example.com")]
        ['email']
    """

    def __init__(self, allowlist: Allowlist | None = None, *, detect_secrets: bool = True) -> None:
        self.allowlist = allowlist or Allowlist()
        self._plugins = vendor_secrets() if detect_secrets else None
        # Training files repeat the same system prompt (and stock replies) on every line; a
        # small cache of results for short strings makes the repeats free.
        self._cached = lru_cache(maxsize=_CACHE_ENTRIES)(self._scan)

    def scan(self, text: str) -> list[Match]:
        """All findings in ``text``, allowlisted ones included and flagged, ordered by offset.

        Overlapping spans are resolved in favour of the longer span, then the detector listed
        first in :data:`~arcanos_eval.data.patterns.DETECTORS` (a card inside a JWT is the JWT).
        """
        if len(text) <= _CACHE_MAX_CHARS:
            return list(self._cached(text))
        return list(self._scan(text))

    def _scan(self, text: str) -> tuple[Match, ...]:
        spans = list(self._spans(text))
        if not spans:
            return ()
        spans.sort(key=lambda s: (-(s.end - s.start), _PRIORITY.get(s.kind, len(_PRIORITY))))
        taken: list[Span] = []
        for span in spans:
            if all(span.end <= other.start or span.start >= other.end for other in taken):
                taken.append(span)
        taken.sort(key=lambda s: s.start)
        return tuple(
            Match(
                kind=span.kind,
                category="pii" if span.kind in PII_KINDS else "secret",
                start=span.start,
                end=span.end,
                masked=mask_value(span.value, span.kind),
                allowlisted=self.allowlist.allows(span.value),
                value=span.value,
            )
            for span in taken
        )

    def _spans(self, text: str) -> Iterator[Span]:
        lowered = text.lower()
        digits = len(text) - len(text.translate(_DELETE_DIGITS))
        for detector in DETECTORS:
            if digits < detector.min_digits:
                continue
            if detector.needles:
                for needle in detector.needles:
                    if needle in lowered:
                        break
                else:
                    continue
            yield from detector.finder(text)
        if self._plugins is not None:
            yield from self._plugins.find(text, lowered)

    def redact(self, text: str) -> tuple[str, int]:
        """``text`` with each non-allowlisted finding replaced by its placeholder, and the count."""
        matches = [match for match in self.scan(text) if not match.allowlisted]
        for match in reversed(matches):
            text = text[: match.start] + match.placeholder + text[match.end :]
        return text, len(matches)

    def redact_json(self, value: Any) -> tuple[Any, int]:
        """A copy of a parsed JSON value with every content string redacted, and the count."""
        return _redact_value(self, value, None)


def _redact_value(scanner: Scanner, value: Any, key: str | None) -> tuple[Any, int]:
    if isinstance(value, str):
        return (value, 0) if key in STRUCTURAL_KEYS else scanner.redact(value)
    if isinstance(value, list):
        total = 0
        items = []
        for item in value:
            redacted, count = _redact_value(scanner, item, None)
            items.append(redacted)
            total += count
        return items, total
    if isinstance(value, dict):
        total = 0
        result = {}
        for item_key, item in value.items():
            redacted, count = _redact_value(scanner, item, str(item_key))
            result[item_key] = redacted
            total += count
        return result, total
    return value, 0


def scan_text(text: str, allowlist: Allowlist | None = None) -> list[Match]:
    """Findings in one string, allowlisted ones excluded.

    >>> [(m.kind, m.masked) for m in scan_text("card 4111 1111 1111 1111, thanks")]
    [('payment_card', '***1111')]
    """
    return [match for match in Scanner(allowlist).scan(text) if not match.allowlisted]


def redact_text(text: str, allowlist: Allowlist | None = None) -> str:
    """``text`` with typed placeholders (``[EMAIL]``, ``[CARD]``, ...) instead of findings.

    >>> redact_text("write to jane.doe@example.com")
    'write to [EMAIL]'
    """
    return Scanner(allowlist).redact(text)[0]
