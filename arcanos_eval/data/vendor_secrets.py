"""Vendor credentials and random-looking strings, found by the ``detect-secrets`` plugins.

Our own patterns (:mod:`arcanos_eval.data.patterns`) cover the structured kinds with validation;
the plugins add the long tail of vendor tokens (Slack, Stripe, Twilio, SendGrid, GitLab, npm,
PyPI, Azure, ...), values assigned to secret-named keys, and high-entropy strings. They are called
directly on each string instead of through detect-secrets' file-oriented scanner, and never
verify anything over the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from arcanos_eval.data.patterns import Span

if TYPE_CHECKING:
    from detect_secrets.plugins.base import BasePlugin

__all__ = ["VendorSecrets", "vendor_secrets"]


class VendorSecrets:
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
def vendor_secrets() -> VendorSecrets:
    """The plugins, built once per process."""
    return VendorSecrets()
