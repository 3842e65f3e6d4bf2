"""Structured PII and credential patterns, each a regex plus a validator.

A regex alone over-matches (every 16-digit number is not a card), so each detector pairs a
permissive pattern with a check that encodes the real rule: Luhn for cards, mod-97 for IBANs,
``ipaddress`` for IPs, issuing-authority rules for government ids. Detectors return spans into
the scanned string, so redaction can replace exactly what was found.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "DETECTORS",
    "PII_KINDS",
    "SECRET_KINDS",
    "Detector",
    "Span",
    "iban_is_valid",
    "luhn_is_valid",
]


@dataclass(frozen=True)
class Span:
    """One match of a detector: ``text[start:end]`` is the sensitive value."""

    kind: str
    start: int
    end: int
    value: str = field(repr=False)


@dataclass(frozen=True)
class Detector:
    """A named pattern. ``finder`` yields spans; ``needles`` (one must occur in the lower-cased
    text) and ``min_digits`` (ASCII digits the text must hold) are cheap pre-checks, so most
    strings skip most regexes."""

    kind: str
    placeholder: str
    finder: Callable[[str], Iterator[Span]]
    needles: tuple[str, ...] = ()
    min_digits: int = 0


def luhn_is_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment cards.

    >>> luhn_is_valid("4111111111111111")
    True
    """
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# Lengths of IBANs by country (ISO 13616 registry); a length check rejects most random strings
# before the mod-97 check and tells the scanner where an IBAN written in groups ends.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_is_valid(iban: str) -> bool:
    """Whether a compact IBAN (no spaces) has its country's length and passes ISO 7064 mod-97.

    >>> iban_is_valid("DE89370400440532013000")
    True
    """
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


def _regex_finder(
    kind: str,
    pattern: re.Pattern[str],
    valid: Callable[[str], bool] | None = None,
    group: int | str = 0,
) -> Callable[[str], Iterator[Span]]:
    def find(text: str) -> Iterator[Span]:
        for match in pattern.finditer(text):
            value = match.group(group)
            if value and (valid is None or valid(value)):
                start, end = match.span(group)
                yield Span(kind, start, end, value)

    return find


# --- contact details -------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

_URL_CREDENTIALS_BEFORE = re.compile(r"://[^\s/@:]*:$")


def _find_emails(text: str) -> Iterator[Span]:
    for match in _EMAIL.finditer(text):
        # In "https://user:pass@host" the part before "@" is a password, not a mailbox; the
        # basic-auth detector reports it.
        if _URL_CREDENTIALS_BEFORE.search(text, max(0, match.start() - 80), match.start()):
            continue
        yield Span("email", match.start(), match.end(), match.group())


# Three shapes of phone numbers, from most to least explicit: international (+CC or 00CC),
# North American with parentheses or dash/dot groups, and national numbers with a trunk 0.
# Bare digit runs are not phones: too many order ids, scores and timestamps look the same, and a
# group inside a longer run of digit groups ("3704 0044 0532") is part of something else.
# Each alternative starts with a character and checks what precedes it afterwards, which lets
# the regex engine skip ahead to candidate characters instead of trying every position.
_PHONE_INTERNATIONAL = (
    r"(?:\+(?<![\w+]\+)(?<!\d \+)|\b00(?<![+]00)(?<!\d 00)(?<!\d-00)(?<!\d\.00))"
    r"[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,5}\)?){1,6}(?![\w])"
)
_PHONE_NANP = (
    r"(?:\((?<![\w+.-]\()(?<!\d \()\d{3}\) ?|\d(?<![\w+.-]\d)(?<!\d \d)\d{2}[-.])"
    r"\d{3}[-.]\d{4}(?![\w]|[-.]\d)"
)
_PHONE_NATIONAL = r"0(?<![\w+.-]0)(?<!\d 0)[1-9]\d{0,3}(?:[ .\-]\d{2,8}){1,4}(?![\w]|[-.]\d)"
_DATE_LIKE = re.compile(r"^\d{1,2}[ ./-]\d{1,2}[ ./-](?:19|20)\d\d$")
_SSN_SHAPED = re.compile(r"^\d{3}([- ])\d{2}\1\d{4}$")


def _digit_count(value: str) -> int:
    return sum(char.isdigit() for char in value)


_PHONE = re.compile(
    rf"(?P<international>{_PHONE_INTERNATIONAL})|(?P<nanp>{_PHONE_NANP})"
    rf"|(?P<national>{_PHONE_NATIONAL})"
)


def _find_phones(text: str) -> Iterator[Span]:
    # One scan with three alternatives instead of three scans: phones are the costliest check.
    for match in _PHONE.finditer(text):
        value = match.group()
        if match.lastgroup == "international":
            value = value.rstrip(".-) ")
            if value.count("(") != value.count(")") or not 8 <= _digit_count(value) <= 15:
                continue
        elif match.lastgroup == "nanp":
            if re.sub(r"\D", "", value)[0] not in "23456789":  # NANP area codes avoid 0 and 1
                continue
        elif (
            not 9 <= _digit_count(value) <= 11
            or _DATE_LIKE.match(value)
            or _SSN_SHAPED.match(value)
        ):
            continue
        yield Span("phone", match.start(), match.start() + len(value), value)


# --- financial -------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\d.,-])(?:\d[ -]?){12,18}\d(?![\d]|[.,-]\d)")
_CARD_GROUPS = re.compile(r"^\d{4}([ -]?)(?:\d{4}\1){2}\d{1,7}$|^\d{4}([ -]?)\d{6}\2\d{4,5}$")


def _card_is_valid(value: str) -> bool:
    digits = value.replace(" ", "").replace("-", "")
    # Issuer ranges start with 2-6 (Mastercard 2-series, Amex/JCB/Diners 3, Visa 4, MC 5,
    # Discover/UnionPay/Maestro 6); written cards use none or one consistent separator.
    return (
        13 <= len(digits) <= 19
        and digits[0] in "23456"
        and (value.isdigit() or _CARD_GROUPS.match(value) is not None)
        and luhn_is_valid(digits)
    )


_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})(\d{2})")
_IBAN_BODY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _find_ibans(text: str) -> Iterator[Span]:
    # Written IBANs are grouped by spaces; walking the exact country length tells where one
    # ends, which a regex cannot when the next word is also upper-case.
    for match in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(match.group(1))
        if length is None:
            continue
        need = length - 4
        chars: list[str] = []
        index = match.end()
        while need and index < len(text):
            char = text[index]
            if char in _IBAN_BODY_CHARS:
                chars.append(char)
                need -= 1
            elif not (
                char == " " and index + 1 < len(text) and text[index + 1] in _IBAN_BODY_CHARS
            ):
                break
            index += 1
        if need or (index < len(text) and text[index].isalnum()):
            continue
        compact = match.group(1) + match.group(2) + "".join(chars)
        if iban_is_valid(compact):
            yield Span("iban", match.start(), index, text[match.start() : index])


# --- network ---------------------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# The leading lookahead lets the engine skip to digits before trying the lookbehind.
_IPV4 = re.compile(rf"(?=\d)(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w]|\.\d)")
_IPV6_CANDIDATE = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{3,45}(?![\w:])"
)


_VERSION_BEFORE = re.compile(r"(?:version|build|patch|release|ver|v)\.?\s*[:#]?\s*$", re.IGNORECASE)


def _find_ipv4(text: str) -> Iterator[Span]:
    for match in _IPV4.finditer(text):
        address = ipaddress.IPv4Address(match.group())
        # Loopback and the unspecified address identify no one; "build 1.0.23.4" is a version.
        if address.is_loopback or address.is_unspecified:
            continue
        if _VERSION_BEFORE.search(text, max(0, match.start() - 12), match.start()):
            continue
        yield Span("ipv4", match.start(), match.end(), match.group())


def _find_ipv6(text: str) -> Iterator[Span]:
    for match in _IPV6_CANDIDATE.finditer(text):
        value = match.group().rstrip(".")
        try:
            address = ipaddress.IPv6Address(value)
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified:
            continue
        yield Span("ipv6", match.start(), match.start() + len(value), value)


# --- government ids --------------------------------------------------------------------------

# US SSN: area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
_US_SSN = re.compile(
    r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d]|-\d)"
)
# UK National Insurance number: prefix letters D, F, I, Q, U, V never used; O never second;
# a handful of prefixes are reserved.
_UK_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
)

# --- credentials -----------------------------------------------------------------------------

_OPENAI_KEY = re.compile(r"(?<![\w-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}(?![\w-])")
_AWS_ACCESS_KEY = re.compile(
    r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])"
)
_GITHUB_TOKEN = re.compile(
    r"(?<![\w])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![\w])"
)
_JWT = re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----"
    r"(?:.*?-----END \1PRIVATE KEY\2-----|[A-Za-z0-9+/=\s]*[A-Za-z0-9+/=])",
    re.DOTALL,
)
_PUTTY_KEY = re.compile(r"PuTTY-User-Key-File-\d: [^\n]*(?:\n[^\n]+)*")
# A password stated in prose ("my password is Dragon2024!"); only the value is the secret.
_PASSWORD = re.compile(
    r"\b(?:password|passwd|passcode|pwd)\b(?:\s+(?:is|was|to|=)|\s*[:=])\s*[\"'“‘]?"
    r"(?P<value>[^\s\"'”’]{6,64})",
    re.IGNORECASE,
)


def _has_letter_and_digit(value: str) -> bool:
    return any(char.isdigit() for char in value) and any(char.isalpha() for char in value)


def _password_is_plausible(value: str) -> bool:
    return _has_letter_and_digit(value.rstrip(".,;:!?)"))


def _find_passwords(text: str) -> Iterator[Span]:
    for match in _PASSWORD.finditer(text):
        value = match.group("value")
        stripped = value.rstrip(".,;:)")
        if stripped and _password_is_plausible(stripped):
            start = match.start("value")
            yield Span("password", start, start + len(stripped), stripped)


def _jwt_is_valid(value: str) -> bool:
    header = value.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(decoded, dict)


def _openai_key_is_plausible(value: str) -> bool:
    # Random key bodies mix digits and letters, or at least both cases; "sk-learn-estimators"
    # style slugs do neither.
    body = value[3:]
    mixed_case = any(c.islower() for c in body) and any(c.isupper() for c in body)
    return _has_letter_and_digit(body) or (mixed_case and len(body) >= 30)


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "private_key",
        "[PRIVATE_KEY]",
        _regex_finder("private_key", _PRIVATE_KEY),
        needles=("private key",),
    ),
    Detector("private_key", "[PRIVATE_KEY]", _regex_finder("private_key", _PUTTY_KEY), ("putty-",)),
    Detector("jwt", "[JWT]", _regex_finder("jwt", _JWT, _jwt_is_valid), ("eyj",)),
    Detector(
        "openai_key",
        "[OPENAI_KEY]",
        _regex_finder("openai_key", _OPENAI_KEY, _openai_key_is_plausible),
        ("sk-",),
    ),
    Detector(
        "aws_access_key",
        "[AWS_KEY]",
        _regex_finder("aws_access_key", _AWS_ACCESS_KEY),
        ("akia", "asia", "abia", "acca", "a3t"),
    ),
    Detector(
        "github_token",
        "[GITHUB_TOKEN]",
        _regex_finder("github_token", _GITHUB_TOKEN),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    Detector("password", "[PASSWORD]", _find_passwords, ("pass", "pwd")),
    Detector("email", "[EMAIL]", _find_emails, ("@",)),
    Detector("iban", "[IBAN]", _find_ibans, min_digits=4),
    Detector(
        "payment_card",
        "[CARD]",
        _regex_finder("payment_card", _CARD, _card_is_valid),
        min_digits=13,
    ),
    Detector("us_ssn", "[US_SSN]", _regex_finder("us_ssn", _US_SSN), min_digits=9),
    Detector("uk_nino", "[UK_NINO]", _regex_finder("uk_nino", _UK_NINO), min_digits=6),
    Detector("ipv6", "[IP_ADDRESS]", _find_ipv6, (":",)),
    Detector("ipv4", "[IP_ADDRESS]", _find_ipv4, (".",), 4),
    Detector("phone", "[PHONE]", _find_phones, min_digits=7),
)
"""Detectors in priority order: when two spans overlap, the earlier detector wins ties."""

PII_KINDS: tuple[str, ...] = (
    "email", "phone", "payment_card", "iban", "ipv4", "ipv6", "us_ssn", "uk_nino",
)  # fmt: skip
SECRET_KINDS: tuple[str, ...] = (
    "openai_key", "aws_access_key", "github_token", "jwt", "private_key", "password",
)  # fmt: skip
