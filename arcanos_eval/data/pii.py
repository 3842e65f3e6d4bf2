"""Find PII and secrets in text, mask them for reports, and redact them with typed placeholders.

Structured kinds (emails, phones, cards, IBANs, IPs, government ids, OpenAI/AWS/GitHub keys, JWTs,
private keys, passwords stated in prose) come from :mod:`arcanos_eval.data.patterns`. Other
vendor credentials (Slack, Stripe, Twilio, SendGrid, GitLab, ...) and random-looking strings come
from the ``detect-secrets`` plugins, which we call directly on each string instead of through its
file-oriented scanner.

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
from typing import TYPE_CHECKING, Any, Literal

from arcanos_eval.data.patterns import DETECTORS, PII_KINDS, Span
from arcanos_eval.errors import UsageError

if TYPE_CHECKING:
    from detect_secrets.plugins.base import BasePlugin

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

# Keys whose values are structure, not content: tool-call ids look random by design and would
# trip the entropy check, and roles/types are fixed vocabularies.
STRUCTURAL_KEYS = frozenset({"role", "type", "id", "tool_call_id", "weight"})

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
    for candidate in (masked, "***", "<masked>", "#"):
        if value not in candidate:
            return candidate
    return "#"  # pragma: no cover - no non-empty string is contained in all three candidates


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


class _DetectSecrets:
    """The ``detect-secrets`` plugins that complement our patterns, behind one cheap pre-check.

    Plugins whose secret our own patterns already cover with validation (OpenAI, GitHub, JWT,
    private keys, public IPs) are left out so a value is reported once, under our kind.
    """

    def __init__(self) -> None:
        # Imported here: detect-secrets pulls in ``requests``, which the CLI's other commands
        # never need.
        from detect_secrets.plugins.artifactory import ArtifactoryDetector
        from detect_secrets.plugins.aws import AWSKeyDetector
        from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
        from detect_secrets.plugins.basic_auth import BasicAuthDetector
        from detect_secrets.plugins.cloudant import CloudantDetector
        from detect_secrets.plugins.discord import DiscordBotTokenDetector
        from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
        from detect_secrets.plugins.high_entropy_strings import (
            Base64HighEntropyString,
            HexHighEntropyString,
        )
        from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
        from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
        from detect_secrets.plugins.keyword import KeywordDetector
        from detect_secrets.plugins.mailchimp import MailchimpDetector
        from detect_secrets.plugins.npm import NpmDetector
        from detect_secrets.plugins.pypi_token import PypiTokenDetector
        from detect_secrets.plugins.sendgrid import SendGridDetector
        from detect_secrets.plugins.slack import SlackDetector
        from detect_secrets.plugins.softlayer import SoftlayerDetector
        from detect_secrets.plugins.square_oauth import SquareOAuthDetector
        from detect_secrets.plugins.stripe import StripeDetector
        from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
        from detect_secrets.plugins.twilio import TwilioKeyDetector

        # Each plugin runs only on strings that can hold its secret: its literal prefix, or a
        # run of 20+ token characters for secrets without one (all of them are that long), plus
        # a secret-sounding word for the assignment-style plugins. Most prose has none of these,
        # so most strings cost a few substring tests instead of twenty-odd regex scans.
        self.by_prefix: tuple[tuple[BasePlugin, tuple[str, ...]], ...] = (
            (ArtifactoryDetector(), ("AKC", "AP")),
            (AzureStorageKeyDetector(), ("AccountKey=",)),
            (BasicAuthDetector(), ("://",)),
            (GitLabTokenDetector(), ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "GR1348941",
                                     "glcbt-", "glimt-", "glptt-", "glagent-", "gloas-")),
            (NpmDetector(), ("_authToken",)),
            (PypiTokenDetector(), ("pypi-",)),
            (SendGridDetector(), ("SG.",)),
            (SlackDetector(), ("xox", "XOX", "hooks.slack")),
            (SquareOAuthDetector(), ("sq0csp-",)),
            (StripeDetector(), ("k_live_",)),
        )  # fmt: skip
        self.prefixes = tuple({p for _, prefixes in self.by_prefix for p in prefixes})
        self.on_long_run: tuple[tuple[BasePlugin, tuple[str, ...]], ...] = (
            (AWSKeyDetector(), ("aws", "AWS", "Aws")),
            (DiscordBotTokenDetector(), ()),
            (MailchimpDetector(), ("-us",)),
            (TelegramBotTokenDetector(), ()),
            (TwilioKeyDetector(), ("AC", "SK")),
        )
        self.on_secret_word: tuple[BasePlugin, ...] = (
            CloudantDetector(), IbmCloudIamDetector(), IbmCosHmacDetector(), SoftlayerDetector(),
        )  # fmt: skip
        self.keyword = KeywordDetector()
        self.base64 = Base64HighEntropyString()
        self.hex = HexHighEntropyString()
        self.base64_candidates = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{24,}")
        self.hex_candidates = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,}(?![0-9A-Za-z])")

    def find(self, text: str, lowered: str) -> Iterator[Span]:
        plugins: list[BasePlugin] = []
        if any(prefix in text for prefix in self.prefixes):
            plugins += (p for p, prefixes in self.by_prefix if any(x in text for x in prefixes))
        long_run = _LONG_RUN.search(text) is not None
        quoted = '"' in text or "'" in text
        words = (long_run or quoted) and _SECRET_WORDS.search(lowered) is not None
        if long_run:
            plugins += (
                p for p, tells in self.on_long_run if not tells or any(t in text for t in tells)
            )
            if words:
                plugins += self.on_secret_word
        for plugin in plugins:
            yield from _locate(_slug(str(plugin.secret_type)), text, plugin.analyze_string(text))
        # The keyword plugin needs a quoted value right after a secret-sounding name; its own
        # regexes are slow, so they run only on strings of that shape.
        if quoted and words and _KEYWORD_SHAPE.search(lowered):
            yield from _locate("secret_keyword", text, self.keyword.analyze_string(text))
        if not long_run:
            return
        for match in self.base64_candidates.finditer(text):
            value = match.group().strip("=")
            # Entropy alone flags long words glued by hyphens; real tokens mix letters and digits.
            if (
                any(char.isdigit() for char in value)
                and any(char.isalpha() for char in value)
                and self.base64.calculate_shannon_entropy(value) > self.base64.entropy_limit
            ):
                yield Span("high_entropy_string", match.start(), match.start() + len(value), value)
        for match in self.hex_candidates.finditer(text):
            value = match.group()
            if self.hex.calculate_shannon_entropy(value) > self.hex.entropy_limit:
                yield Span("high_entropy_string", match.start(), match.end(), value)


_LONG_RUN = re.compile(r"[A-Za-z0-9_+/=-]{20}")
_SECRET_WORDS = re.compile(r"key|pwd|pw|pass|token|secret|cloudant|softlayer|auth|contrase")
_KEYWORD_SHAPE = re.compile(
    r"(?:key|pass|pwd|secret|contrase)\w*[\]'\"]{0,2}\s*(?:[:=!<>-]{1,3}\s*)?\(?@?[\"'`]"
)


def _slug(secret_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", secret_type.lower()).strip("_")


def _locate(kind: str, text: str, values: Iterable[str]) -> Iterator[Span]:
    # detect-secrets yields values, not offsets; every occurrence of a value is a finding.
    for value in set(values):
        if not value:
            continue
        start = text.find(value)
        while start != -1:
            yield Span(kind, start, start + len(value), value)
            start = text.find(value, start + len(value))


@lru_cache(maxsize=1)
def _detect_secrets() -> _DetectSecrets:
    return _DetectSecrets()


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
        self._plugins = _detect_secrets() if detect_secrets else None
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


def iter_text_fields(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(field_path, text)`` for every content string of a parsed JSON value.

    Paths look like ``messages[2].content`` or ``tools[0].function.description``; structural
    fields (roles, types, ids) are skipped.

    >>> list(iter_text_fields({"messages": [{"role": "user", "content": "hi"}]}))
    [('messages[0].content', 'hi')]
    """
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_text_fields(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in STRUCTURAL_KEYS and isinstance(item, str):
                continue
            yield from iter_text_fields(item, join_field(path, str(key)))


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRINTABLE_KEY = re.compile(r"^[A-Za-z_][\w-]{0,39}$")


@lru_cache(maxsize=4096)
def join_field(path: str, key: str) -> str:
    """Append an object key to a field path: ``a.b``, ``a["odd-key"]``, or ``a[<key>]`` for a key
    that is not a plain name (it could itself be sensitive, so it is not echoed)."""
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f'{path}["{key}"]' if _PRINTABLE_KEY.match(key) else f"{path}[<key>]"


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
