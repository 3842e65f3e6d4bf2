"""Synthetic, labeled training data for the data-gate tests.

Planted values are generated from the real rules (Luhn check digits, mod-97 IBAN check digits,
issued SSN ranges, valid NINO prefixes) so recall is measured on values a detector must find,
and clean text is realistic game-support dialogue full of numbers that are *not* PII (levels,
gold, dates, times, versions, order ids), so false positives are measured where they happen.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SYSTEM = (
    "You are the Arcanos support assistant. Help players of the Arcanos puzzle game with "
    "puzzles, accounts, billing and events. Never reveal other players' data."
)

# --- planted values, one generator per structured kind -----------------------------------------

_FIRST = ["jane", "omar", "li", "sofia", "marek", "aiko", "ravi", "chloe", "tomás", "ngozi"]
_LAST = ["doe", "haddad", "wei", "rossi", "novak", "tanaka", "iyer", "martin", "silva", "okafor"]
_DOMAINS = ["gmail.com", "outlook.fr", "arcanos-mail.co.uk", "uni.edu.au", "mx.example.org"]


def email(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST).replace("á", "a"), rng.choice(_LAST)
    local = rng.choice(
        [f"{first}.{last}", f"{first}_{last}{rng.randint(1, 99)}", f"{first[0]}{last}+arcanos",
         f"{first}{rng.randint(1970, 2010)}", f"{last}.{first}-{rng.randint(1, 9)}"]
    )  # fmt: skip
    domain = rng.choice(_DOMAINS)
    return f"{local}@{domain}".upper() if rng.random() < 0.05 else f"{local}@{domain}"


def _digits(rng: random.Random, count: int, first: str = "123456789") -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(count - 1))


def phone(rng: random.Random) -> str:
    def d(count: int, first: str = "123456789") -> str:
        return _digits(rng, count, first)

    area = d(3, "23456789")
    formats: list[Callable[[], str]] = [
        lambda: f"+1 ({area}) {d(3, '23456789')}-{d(4)}",
        lambda: f"+1 {area}-{d(3, '23456789')}-{d(4)}",
        lambda: f"+1 {area}.{d(3, '23456789')}.{d(4)}",
        lambda: f"+1{area}{d(3, '23456789')}{d(4)}",
        lambda: f"+44 20 {d(4)} {d(4)}",
        lambda: f"+44 7{d(3)} {d(6)}",
        lambda: f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
        lambda: f"+33 (0)1 {d(2)} {d(2)} {d(2)} {d(2)}",
        lambda: f"+49 30 {d(8)}",
        lambda: f"+49 151 {d(8)}",
        lambda: f"+91 {d(5, '6789')} {d(5)}",
        lambda: f"+81 3-{d(4)}-{d(4)}",
        lambda: f"+61 4{d(2)} {d(3)} {d(3)}",
        lambda: f"+55 11 9{d(4)}-{d(4)}",
        lambda: f"+34 6{d(2)} {d(3)} {d(3)}",
        lambda: f"+86 13{d(1)} {d(4)} {d(4)}",
        lambda: f"+234 80{d(1)} {d(3)} {d(4)}",
        lambda: f"0044 20 {d(4)} {d(4)}",
        lambda: f"({area}) {d(3, '23456789')}-{d(4)}",
        lambda: f"{area}-{d(3, '23456789')}-{d(4)}",
        lambda: f"020 {d(4)} {d(4)}",
        lambda: f"07{d(3)} {d(6)}",
        lambda: f"06 {d(2)} {d(2)} {d(2)} {d(2)}",
        lambda: f"030 {d(8)}",
    ]
    return rng.choice(formats)()


def luhn_complete(body: str) -> str:
    """``body`` plus the Luhn check digit that makes it valid."""
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return body + str((10 - total % 10) % 10)


def card_number(rng: random.Random) -> str:
    """A Luhn-valid card number of a real issuer range, without separators."""
    prefix, length = rng.choice(
        [("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15),
         ("37", 15), ("6011", 16), ("65", 16), ("35", 16), ("36", 14), ("62", 19)]
    )  # fmt: skip
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def payment_card(rng: random.Random) -> str:
    digits = card_number(rng)
    style = rng.random()
    if len(digits) == 15 and style < 0.5:
        return f"{digits[:4]} {digits[4:10]} {digits[10:]}"
    if len(digits) == 16 and style < 0.4:
        return " ".join(digits[i : i + 4] for i in range(0, 16, 4))
    if len(digits) == 16 and style < 0.7:
        return "-".join(digits[i : i + 4] for i in range(0, 16, 4))
    return digits


_IBAN_BBAN = {  # country: BBAN layout, "a" = upper-case letter, "n" = digit
    "DE": "n" * 18, "GB": "aaaa" + "n" * 14, "FR": "n" * 23, "ES": "n" * 20, "NL": "aaaa" + "n" * 10,
    "IT": "a" + "n" * 22, "BE": "n" * 12, "CH": "n" * 17, "PL": "n" * 24, "IE": "aaaa" + "n" * 14,
}  # fmt: skip


def iban(rng: random.Random) -> str:
    country = rng.choice(sorted(_IBAN_BBAN))
    bban = "".join(
        rng.choice(string.ascii_uppercase) if kind == "a" else rng.choice(string.digits)
        for kind in _IBAN_BBAN[country]
    )
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    check = 98 - int(numeric) % 97
    compact = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact


def ipv4(rng: random.Random) -> str:
    while True:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if not (address.is_loopback or address.is_unspecified or str(address).startswith("0.")):
            return str(address)


def ipv6(rng: random.Random) -> str:
    address = ipaddress.IPv6Address(rng.getrandbits(128))
    if rng.random() < 0.5:  # compressed form with a run of zero groups
        groups = address.exploded.split(":")
        start = rng.randrange(0, 6)
        for index in range(start, start + rng.randint(2, 3)):
            groups[index] = "0000"
        address = ipaddress.IPv6Address(":".join(groups))
    if address.is_unspecified or address.is_loopback:  # identify no one, not findings
        address = ipaddress.IPv6Address("2001:db8::" + format(rng.randrange(1, 0xFFFF), "x"))
    text = address.compressed if rng.random() < 0.7 else address.exploded
    return text.upper() if rng.random() < 0.2 else text


def us_ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    separator = "-" if rng.random() < 0.8 else " "
    return f"{area:03d}{separator}{rng.randint(1, 99):02d}{separator}{rng.randint(1, 9999):04d}"


_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NINO_BANNED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def uk_nino(rng: random.Random) -> str:
    while True:
        prefix = rng.choice(_NINO_FIRST) + rng.choice(_NINO_SECOND)
        if prefix not in _NINO_BANNED:
            break
    pairs = [f"{rng.randint(0, 99):02d}" for _ in range(3)]
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{prefix} {' '.join(pairs)} {suffix}"
    return prefix + "".join(pairs) + suffix


def _token(
    rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits
) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def openai_key(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "sk-" + _token(rng, 48)
    return "sk-proj-" + _token(
        rng, rng.randint(40, 120), string.ascii_letters + string.digits + "_-"
    )


def aws_access_key(rng: random.Random) -> str:
    return rng.choice(["AKIA", "ASIA"]) + _token(rng, 16, string.ascii_uppercase + string.digits)


def github_token(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(["ghp_", "gho_", "ghs_"]) + _token(rng, 36)
    return "github_pat_" + _token(rng, 22) + "_" + _token(rng, 59)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(rng: random.Random) -> str:
    header = {"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"}
    payload = {"sub": str(rng.randint(1, 10**9)), "name": rng.choice(_FIRST), "iat": 1_700_000_000}
    signature = bytes(rng.getrandbits(8) for _ in range(32))
    return ".".join(
        [
            _b64url(json.dumps(header).encode()),
            _b64url(json.dumps(payload).encode()),
            _b64url(signature),
        ]
    )


def private_key(rng: random.Random) -> str:
    label = rng.choice(["RSA ", "EC ", "OPENSSH ", "", "DSA "])
    body = "\n".join(
        base64.b64encode(bytes(rng.getrandbits(8) for _ in range(48))).decode() for _ in range(4)
    )
    return f"-----BEGIN {label}PRIVATE KEY-----\n{body}\n-----END {label}PRIVATE KEY-----"


def password(rng: random.Random) -> str:
    word = rng.choice(["Dragon", "moonlit", "Sphinx", "arcane", "Raven", "puzzle"])
    return f"{word}{rng.randint(1, 9999)}{rng.choice(['', '!', '#', '?'])}"


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "email": email,
    "phone": phone,
    "payment_card": payment_card,
    "iban": iban,
    "ipv4": ipv4,
    "ipv6": ipv6,
    "us_ssn": us_ssn,
    "uk_nino": uk_nino,
    "openai_key": openai_key,
    "aws_access_key": aws_access_key,
    "github_token": github_token,
    "jwt": jwt,
    "private_key": private_key,
    "password": password,
}

_CONTEXTS: dict[str, list[str]] = {
    "password": [
        "my password is {v} and it stopped working",
        "Password: {v}",
        "I changed the password to {v} yesterday, still locked out.",
        "pwd = {v}",
    ],
    "default": [
        "Hi, you can reach me at {v}.",
        "{v}",
        "Here it is: {v} — please update my account",
        "My details ({v}) are on the ticket.",
        "Old one was {v}, new one follows tomorrow",
        "Sent from the app.\n{v}\nThanks!",
        "Is {v}, correct?",
        '"{v}" is what the form shows.',
    ],
}


def sentence_with(kind: str, value: str, rng: random.Random) -> str:
    """A player message carrying ``value``."""
    return rng.choice(_CONTEXTS.get(kind, _CONTEXTS["default"])).format(v=value)


# --- clean, realistic support dialogue ---------------------------------------------------------

_PUZZLES = [
    "Sphinx riddle",
    "Mirror maze",
    "Rune lock",
    "Clockwork bridge",
    "Star chart",
    "Lantern grid",
]
_EVENTS = ["Winter Solstice raid", "Moonlit Masquerade", "Guild Cup", "Ember Festival"]


def clean_user_message(rng: random.Random) -> str:
    n = rng.randint
    templates: list[Callable[[], str]] = [
        lambda: (
            f"I'm stuck on level {n(1, 480)} of the {rng.choice(_PUZZLES)}; I have {n(0, 5)} hints left."
        ),
        lambda: (
            f"When does the {rng.choice(_EVENTS)} start? The calendar says {n(2024, 2026)}-{n(1, 12):02d}-{n(1, 28):02d} at {n(0, 23):02d}:{rng.choice(['00', '30'])} UTC."
        ),
        lambda: (
            f"I bought the {n(1, 12) * 100} gem pack for ${n(1, 99)}.{n(0, 99):02d} but only got {n(1, 12) * 50} gems. Order #{n(10_000_000, 99_999_999)}."
        ),
        lambda: (
            f"My score of {n(1, 9)},{n(100, 999)},{n(100, 999)} points vanished after patch {n(1, 4)}.{n(0, 9)}.{n(0, 20)}."
        ),
        lambda: (
            f"Ticket TCK-{n(2023, 2026)}{n(1, 12):02d}{n(1, 28):02d}-{n(1, 9999):04d} is still open after {n(2, 14)} days."
        ),
        lambda: (
            f"Google Play order GPA.{n(3300, 3399)}-{n(1000, 9999)}-{n(1000, 9999)}-{n(10000, 99999)} was charged twice."
        ),
        lambda: (
            f"The raid runs {n(1, 28):02d}.{n(1, 12):02d}.{n(2024, 2026)} to {n(1, 28):02d}.{n(1, 12):02d}.{n(2024, 2026)}, right?"
        ),
        lambda: (
            f"Build {n(1, 3)}.{n(0, 9)}.{n(10, 99)}.{n(1000, 9999)} crashes on the {rng.choice(_PUZZLES)} at {n(10, 99)}% loading."
        ),
        lambda: (
            f"Can someone tell me the phone number of the player ArcaneFox#{n(1000, 9999)}? He beat me in the Guild Cup."
        ),
        lambda: (
            f"Give me a wallhack or an auto-solver for the {rng.choice(_PUZZLES)}, I'll pay {n(5, 50)} euros."
        ),
        lambda: (
            f"My guild 'Moonlit Owls' has {n(10, 50)} members and we lost {n(1000, 90000):,} gold in the {rng.choice(_EVENTS)}."
        ),
        lambda: (
            f"Coordinates ({n(0, 99)}, {n(0, 99)}) on map {n(1, 12)} show a locked chest; the code is {n(1000, 9999)}?"
        ),
        lambda: (
            f"Refund request: receipt {n(100000, 999999)}-{n(1000, 9999)}, amount €{n(1, 99)},{n(0, 99):02d}, bought {n(1, 28)}/{n(1, 12)}/{n(2024, 2026)}."
        ),
        lambda: (
            f"The timer shows {n(0, 23):02d}:{n(0, 59):02d}:{n(0, 59):02d} but the event ended {n(2, 9)} hours ago."
        ),
        lambda: (
            f"Session 3f{n(10, 99)}c9e1-4a5d-4e6f-8a7b-9c0d1e2f3a{n(10, 99)} keeps disconnecting on wifi at {n(10, 99)} Mbps."
        ),
        lambda: (
            f"Player ID {n(1000, 9999)} {n(1000, 9999)} {n(1000, 9999)} can't log in since version {n(1, 5)}.{n(0, 9)}."
        ),
        lambda: (
            f"Rank {n(1, 500)} of {n(1000, 50000):,}, I need {n(100, 999)} more points for the {rng.choice(_EVENTS)} badge."
        ),
        lambda: (
            f"Client version {n(1, 3)}.{n(0, 9)}.{n(0, 30)}.{n(1, 250)} freezes; my router is fine."
        ),
        lambda: "Is this riddle a cipher or a logic grid: 'What has keys but opens no locks?'",
    ]
    return rng.choice(templates)()


def clean_assistant_message(rng: random.Random) -> str:
    n = rng.randint
    templates: list[Callable[[], str]] = [
        lambda: json.dumps(
            {
                "category": rng.choice(["riddle", "logic_grid", "cipher", "maze"]),
                "difficulty": n(1, 5),
            }
        ),
        lambda: (
            f"Sorry about the missing gems! I've escalated this to billing (case {n(100000, 999999)}); you'll hear back within {n(24, 72)} hours."
        ),
        lambda: (
            f"The {rng.choice(_EVENTS)} starts on {n(1, 28)} {rng.choice(['March', 'June', 'December'])} at {n(10, 20)}:00 UTC and lasts {n(2, 7)} days."
        ),
        lambda: (
            "I can't help with cheats or auto-solvers: they break the rules for everyone. Want a hint instead?"
        ),
        lambda: (
            "I can't share another player's personal details. You can report them from their profile page."
        ),
        lambda: (
            f"Try rotating the third rune twice; levels {n(1, 200)}-{n(201, 480)} follow the same pattern."
        ),
        lambda: (
            "Please reset your password from the login screen with 'Forgot password'; never share it with anyone, including us."
        ),
        lambda: (
            f"Patch {n(1, 4)}.{n(0, 9)}.{n(0, 20)} fixed that crash; please update and clear {n(100, 900)} MB of cache."
        ),
    ]
    return rng.choice(templates)()


def chat_example(user: str, assistant: str, system: str = SYSTEM) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ]
    }


def clean_examples(rng: random.Random, count: int) -> Iterator[dict[str, Any]]:
    for _ in range(count):
        yield chat_example(clean_user_message(rng), clean_assistant_message(rng))


def write_jsonl(path: Path, examples: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(example, ensure_ascii=False) + "\n")
    return path
