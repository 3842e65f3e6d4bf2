"""PII and secret detection: recall per kind, false positives on clean dialogue, masking, redaction."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from arcanos_eval.data import Allowlist, Scanner, mask_value, redact_text, scan_text
from arcanos_eval.data.fields import iter_text_fields
from arcanos_eval.data.patterns import PII_KINDS, SECRET_KINDS, iban_is_valid, luhn_is_valid
from arcanos_eval.errors import UsageError
from tests.data._corpus import (
    GENERATORS,
    clean_assistant_message,
    clean_user_message,
    luhn_complete,
    sentence_with,
)

SAMPLES_PER_KIND = 500
CLEAN_TEXTS = 10_000


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner()


def test_every_structured_kind_has_a_generator() -> None:
    assert set(GENERATORS) == set(PII_KINDS) | set(SECRET_KINDS)


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_recall_per_kind_is_at_least_99_percent(kind: str, scanner: Scanner) -> None:
    rng = random.Random(f"recall-{kind}")
    found = 0
    misses: list[str] = []
    for _ in range(SAMPLES_PER_KIND):
        value = GENERATORS[kind](rng)
        text = sentence_with(kind, value, rng)
        if any(m.kind == kind and m.value == value for m in scanner.scan(text)):
            found += 1
        else:
            misses.append(mask_value(value, kind))
    recall = found / SAMPLES_PER_KIND
    print(f"recall {kind}: {recall:.3f} ({found}/{SAMPLES_PER_KIND})")
    assert recall >= 0.99, misses[:5]


def test_false_positives_on_clean_support_dialogue_are_rare(scanner: Scanner) -> None:
    rng = random.Random("clean")
    texts = [clean_user_message(rng) for _ in range(CLEAN_TEXTS // 2)]
    texts += [clean_assistant_message(rng) for _ in range(CLEAN_TEXTS // 2)]
    hits = Counter(m.kind for text in texts for m in scanner.scan(text))
    print(f"false positives on {len(texts)} clean texts: {sum(hits.values())} {dict(hits)}")
    assert sum(hits.values()) <= len(texts) // 1000  # at most 0.1%


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 was declined",  # Luhn fails
        "0000 0000 0000 0000",  # Luhn-valid, but no issuer starts with 0
        "IBAN DE89 3704 0044 0532 0130 01",  # mod-97 fails
        "SSN 000-12-3456, 666-12-3456, 912-12-3456, 123-00-4567",  # never issued
        "NI number BG 12 34 56 A",  # reserved prefix
        "build 1.0.23.4 and version 2.10.3.1 crash on 127.0.0.1",  # versions and loopback
        "event on 05.12.2024 and 2024-05-12T18:30:00Z, order #48213957, 12,500 gold",
        "ticket TCK-20240512-0042 and session 3f2b9c1e-4a5d-4e6f-8a7b-9c0d1e2f3a4b",
        "reset your password from the login screen; your password is case-sensitive",
        "the sk-learn-compatible-estimators-with-pipelines guide",  # a slug, not a key
    ],
)
def test_near_misses_are_not_findings(text: str, scanner: Scanner) -> None:
    assert [(m.kind, m.masked) for m in scanner.scan(text)] == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("slack token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "slack_token"),
        ("stripe: sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe_access_key"),
        ("session=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u", "high_entropy_string"),
        ('config: api_key = "abcd1234efgh5678"', "secret_keyword"),
        ("https://admin:hunter2pass@db.example.org/arcanos", "basic_auth_credentials"),
    ],
)
def test_detect_secrets_plugins_find_vendor_tokens(text: str, kind: str, scanner: Scanner) -> None:
    matches = scanner.scan(text)
    assert [(m.kind, m.category) for m in matches] == [(kind, "secret")]
    assert matches[0].placeholder == "[SECRET]"


def test_overlapping_spans_keep_the_longer_finding(scanner: Scanner) -> None:
    jwt = GENERATORS["jwt"](random.Random(3))
    assert [m.kind for m in scanner.scan(f"Bearer {jwt}")] == ["jwt"]


def test_match_repr_never_shows_the_value(scanner: Scanner) -> None:
    match = scanner.scan("mail jane.doe@example.com")[0]
    assert "jane.doe" not in repr(match)
    assert match.masked == "j***@***com"


def test_allowlist_literals_and_regexes(tmp_path: Path) -> None:
    path = tmp_path / "allow.txt"
    path.write_text(
        "# our own addresses\n\nSupport@Arcanos.Game\nre:[a-z.]+@guilds\\.arcanos\\.game\n"
    )
    allowlist = Allowlist.from_file(path)
    text = "write to support@arcanos.game, owls@guilds.arcanos.game or jane@example.com"
    matches = Scanner(allowlist).scan(text)
    assert [(m.kind, m.allowlisted) for m in matches] == [
        ("email", True),
        ("email", True),
        ("email", False),
    ]
    assert [m.masked for m in scan_text(text, allowlist)] == ["j***@***com"]
    assert redact_text(text, allowlist) == (
        "write to support@arcanos.game, owls@guilds.arcanos.game or [EMAIL]"
    )


def test_allowlist_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "allow.txt"
    path.write_text("ok@example.com\nre:[unclosed\n")
    with pytest.raises(UsageError, match=r"allow\.txt:2: invalid regex"):
        Allowlist.from_file(path)
    with pytest.raises(UsageError, match="cannot read allowlist"):
        Allowlist.from_file(tmp_path / "missing.txt")


def test_text_fields_have_json_paths_and_skip_structure() -> None:
    example = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {
                "role": "assistant",
                "tool_calls": [{"id": "call_Zm9vYmFy", "function": {"arguments": "{}"}}],
            },
        ],
        "odd-key": "v",
        "jane@example.com": "w",
    }
    assert list(iter_text_fields(example)) == [
        ("messages[0].content[0].text", "hi"),
        ("messages[1].tool_calls[0].function.arguments", "{}"),
        ('["odd-key"]', "v"),
        ("[<key>]", "w"),  # a key that is not a plain name could itself be sensitive
    ]


def test_redaction_uses_typed_placeholders_and_leaves_nothing(scanner: Scanner) -> None:
    rng = random.Random("redact")
    for kind, generate in GENERATORS.items():
        text = sentence_with(kind, generate(rng), rng)
        redacted, count = scanner.redact(text)
        assert count >= 1
        assert scanner.scan(redacted) == [], (kind, redacted)
    assert redact_text("call +44 20 7946 0958 or mail a@b.org") == "call [PHONE] or mail [EMAIL]"


kinds = st.sampled_from(sorted(GENERATORS))


# Property tests run without Hypothesis deadlines: CI machines are shared, and timing is not
# the property under test.
@settings(max_examples=200, deadline=None)
@given(kinds, st.randoms(use_true_random=False))
def test_masked_values_never_contain_the_raw_value(kind: str, rng: random.Random) -> None:
    value = GENERATORS[kind](rng)
    text = sentence_with(kind, value, rng)
    assert value not in mask_value(value, kind)
    # Hypothesis's randoms also produce degenerate values ("sk-aaaa..."), which detectors may
    # rightly skip; every value that is found must be masked.
    for match in Scanner().scan(text):
        assert match.value not in match.masked
        assert match.value not in redact_text(text)


@settings(deadline=None)
@given(st.text(min_size=1, max_size=64), st.sampled_from([*sorted(GENERATORS), "slack_token"]))
@example("*", "aws_access_key")  # the mask itself would contain the value
@example("#", "password")
def test_mask_hides_any_string(value: str, kind: str) -> None:
    masked = mask_value(value, kind)
    assert value not in masked
    # At most four characters of the value stay visible (plus the '@' of an email mask).
    assert sum(char not in "*@" for char in masked) <= 4


@settings(deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_leaks_values_into_masks(text: str) -> None:
    for match in Scanner().scan(text):
        assert text[match.start : match.end] == match.value
        assert match.value not in match.masked


issuers = st.sampled_from(
    [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16)]
)


@settings(deadline=None)
@given(issuers, st.data())
def test_luhn_valid_generated_cards_are_found(issuer: tuple[str, int], data: st.DataObject) -> None:
    prefix, length = issuer
    body = prefix + data.draw(
        st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1)
    )
    card = luhn_complete(body)
    assert luhn_is_valid(card)
    separator = data.draw(st.sampled_from(["", " ", "-"]))
    written = (
        separator.join(card[i : i + 4] for i in range(0, len(card), 4)) if length == 16 else card
    )
    matches = Scanner(detect_secrets=False).scan(f"my card is {written}, thanks")
    assert [(m.kind, m.value) for m in matches] == [("payment_card", written)]


@settings(deadline=None)
@given(st.text("0123456789", min_size=13, max_size=19))
def test_cards_failing_luhn_are_never_reported(digits: str) -> None:
    assume(not luhn_is_valid(digits))
    assert not any(
        m.kind == "payment_card" for m in Scanner(detect_secrets=False).scan(f"card {digits}")
    )


def test_iban_checksum() -> None:
    assert iban_is_valid("GB82WEST12345698765432")
    assert not iban_is_valid("GB82WEST12345698765433")
    assert not iban_is_valid("XX82WEST12345698765432")
