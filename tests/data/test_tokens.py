"""Token counts: exact encodings, the documented chat overhead, limits and billed tokens."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from arcanos_eval.data import check_training_data
from arcanos_eval.data.tokens import (
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_NAME,
    TOKENS_PER_TOOL_CALL,
    ModelSpec,
    TokenCounter,
    TokenTally,
    get_encoding,
    model_spec,
)
from arcanos_eval.errors import ConfigError

# Reference token ids published in OpenAI's cookbook ("How to count tokens with tiktoken"), which
# prints these strings under both encodings.
KNOWN = {
    "cl100k_base": {
        "hello world": [15339, 1917],
        "tiktoken is great!": [83, 1609, 5963, 374, 2294, 0],
        "antidisestablishmentarianism": [519, 85342, 34500, 479, 8997, 2191],
        "2 + 2 = 4": [17, 489, 220, 17, 284, 220, 19],
        "お誕生日おめでとう": [33334, 45918, 243, 21990, 9080, 33334, 62004, 16556, 78699],
    },
    "o200k_base": {
        "hello world": [24912, 2375],
        "tiktoken is great!": [83, 8251, 2488, 382, 2212, 0],
        "antidisestablishmentarianism": [493, 129901, 376, 160388, 21203, 2367],
        "2 + 2 = 4": [17, 659, 220, 17, 314, 220, 19],
        "お誕生日おめでとう": [8930, 9697, 243, 128225, 8930, 17693, 4344, 48669],
    },
}


@pytest.mark.parametrize(
    ("encoding", "text", "ids"),
    [(name, text, ids) for name, table in KNOWN.items() for text, ids in table.items()],
)
def test_encodings_match_published_token_ids(encoding: str, text: str, ids: list[int]) -> None:
    assert get_encoding(encoding).encode_ordinary(text) == ids
    assert TokenCounter(encoding).text(text) == len(ids)


def test_encodings_load_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("token counting tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    get_encoding.cache_clear()
    try:
        assert TokenCounter("o200k_base").text("hello world") == 2
    finally:
        get_encoding.cache_clear()


def test_special_token_text_is_counted_as_text() -> None:
    counter = TokenCounter("o200k_base")
    assert counter.text("<|endoftext|>") > 1


def test_chat_overhead_is_three_per_message_one_per_name_and_three_for_the_reply() -> None:
    assert (TOKENS_PER_MESSAGE, TOKENS_PER_NAME, REPLY_PRIMING) == (3, 1, 3)
    counter = TokenCounter("o200k_base")
    example = {
        "messages": [
            {"role": "user", "content": "hello world"},  # role "user" is 1 token, content 2
            {"role": "assistant", "content": "tiktoken is great!", "name": "hello world"},
        ]
    }
    user = 3 + 1 + 2
    assistant = 3 + counter.text("assistant") + 6 + 1 + 2
    assert counter.example(example) == user + assistant + 3


def test_tool_calls_and_tool_declarations_are_counted() -> None:
    counter = TokenCounter("o200k_base")
    tools = [{"type": "function", "function": {"name": "lookup_order", "parameters": {}}}]
    call = {"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}
    example = {"messages": [{"role": "assistant", "tool_calls": [call]}], "tools": tools}
    expected = (
        TOKENS_PER_MESSAGE
        + counter.text("assistant")
        + TOKENS_PER_TOOL_CALL
        + counter.text("lookup_order")
        + counter.text("{}")
        + counter.text(json.dumps(tools, separators=(",", ":")))
        + REPLY_PRIMING
    )
    assert counter.example(example) == expected


def test_preference_examples_count_input_and_both_outputs() -> None:
    counter = TokenCounter("o200k_base")
    user = {"role": "user", "content": "hello world"}
    good = {"role": "assistant", "content": "hello world"}
    bad = {"role": "assistant", "content": "2 + 2 = 4"}
    example = {
        "input": {"messages": [user]},
        "preferred_output": [good],
        "non_preferred_output": [bad],
    }
    assert counter.example(example) == (3 + 1 + 2) + (3 + 1 + 2) + (3 + 1 + 7) + 3


@pytest.mark.parametrize(
    ("model", "family", "encoding", "limit"),
    [
        ("gpt-4.1", "gpt-4.1", "o200k_base", 65_536),
        ("gpt-4.1-2025-04-14", "gpt-4.1", "o200k_base", 65_536),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini", "o200k_base", 65_536),
        ("ft:gpt-4.1-2025-04-14:personal:arca:abc123", "gpt-4.1", "o200k_base", 65_536),
        ("gpt-4o-mini", "gpt-4o-mini", "o200k_base", 65_536),
        ("gpt-3.5-turbo-0125", "gpt-3.5-turbo", "cl100k_base", 16_385),
    ],
)
def test_models_resolve_to_their_tokenizer_and_limit(
    model: str, family: str, encoding: str, limit: int
) -> None:
    assert model_spec(model) == ModelSpec(model, family, encoding, limit)


def test_unknown_models_and_bad_limits_are_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="unknown model 'llama-3'"):
        model_spec("llama-3")
    with pytest.raises(ConfigError, match="positive"):
        model_spec("gpt-4.1", context_limit=0)
    assert model_spec("gpt-4.1", context_limit=100).context_limit == 100


def test_tally_reports_nearest_rank_percentiles_and_billed_tokens() -> None:
    tally = TokenTally(ModelSpec("m", "gpt-4.1", "o200k_base", 50), epochs=3)
    over = [tally.add(count) for count in [10, 20, 30, 40, 60, 5, 15, 25, 35, 45]]
    stats = tally.stats()
    assert over.count(True) == 1
    assert (stats.min, stats.p50, stats.p90, stats.p95, stats.max) == (5, 25, 45, 60, 60)
    assert stats.total == 285
    assert stats.mean == 28.5
    assert stats.over_limit == 1
    assert stats.billed_per_epoch == 285 - 10  # the long example is billed at the limit
    assert stats.billed_total == 275 * 3


def test_examples_over_the_context_limit_fail_the_gate(tmp_path: Path) -> None:
    short = {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    }
    long = {
        "messages": [
            {"role": "user", "content": "word " * 200},
            {"role": "assistant", "content": "ok"},
        ]
    }
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in [short] * 10 + [long]) + "\n")

    report = check_training_data(path, context_limit=100, epochs=2)

    over = [f for f in report.findings if f.kind == "over_context_limit"]
    assert [(f.line, f.severity) for f in over] == [(11, "error")]
    stats = report.files[0].tokens
    assert stats.over_limit == 1
    assert stats.max > 100
    assert stats.billed_total == (stats.total - stats.max + 100) * 2
    assert not report.passed
