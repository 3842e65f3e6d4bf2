"""Test doubles for arcanos-eval users: a real loopback server speaking the OpenAI wire protocol.

Point the real ``openai`` SDK at :class:`OpenAIServer` through ``base_url``; script answers per
model and prompt, and inject latency and faults; Batch API jobs (files and batches endpoints) are
answered by the same replies, with scripted endings (``batch_outcomes``); fine-tuning jobs, their
events and checkpoints are scripted with :class:`FineTuneJob`. Pytest fixtures live in
:mod:`arcanos_eval.testing.fixtures` (``openai_server``, ``openai_server_factory``).

Example::

    import openai
    from arcanos_eval.testing import OpenAIServer, Reply, ReplyToolCall

    reply = Reply(tool_calls=(ReplyToolCall("lookup_raid", {"day": "friday"}),))
    with OpenAIServer(replies={"when is the raid?": reply}) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")
        completion = client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "when is the raid?"}]
        )
        assert completion.choices[0].message.tool_calls[0].function.name == "lookup_raid"
"""

from __future__ import annotations

import typing

if typing.TYPE_CHECKING:
    from arcanos_eval.testing._batches import BatchOutcome
    from arcanos_eval.testing._calibration import calibrated, calibration_reply
    from arcanos_eval.testing._fine_tuning import FineTuneJob
    from arcanos_eval.testing._log import RecordedRequest
    from arcanos_eval.testing._reply import (
        ChatRequest,
        Fault,
        FaultKind,
        Reply,
        ReplyToolCall,
        Responder,
        echo,
    )
    from arcanos_eval.testing._wire import estimate_tokens
    from arcanos_eval.testing.server import (
        DEFAULT_MODELS,
        DEFAULT_MODERATION_WORDS,
        OpenAIServer,
    )

__all__ = [
    "DEFAULT_MODELS",
    "DEFAULT_MODERATION_WORDS",
    "BatchOutcome",
    "ChatRequest",
    "Fault",
    "FaultKind",
    "FineTuneJob",
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "ReplyToolCall",
    "Responder",
    "calibrated",
    "calibration_reply",
    "echo",
    "estimate_tokens",
]

# Where each name lives: read on first use, so that the pytest plugin registering this package's
# fixtures costs an unrelated test run nothing (the server pulls in asyncio and an HTTP stack).
_SOURCES = {
    "DEFAULT_MODELS": "server",
    "DEFAULT_MODERATION_WORDS": "server",
    "OpenAIServer": "server",
    "BatchOutcome": "_batches",
    "FineTuneJob": "_fine_tuning",
    "calibrated": "_calibration",
    "calibration_reply": "_calibration",
    "RecordedRequest": "_log",
    "ChatRequest": "_reply",
    "Fault": "_reply",
    "FaultKind": "_reply",
    "Reply": "_reply",
    "ReplyToolCall": "_reply",
    "Responder": "_reply",
    "echo": "_reply",
    "estimate_tokens": "_wire",
}


def __getattr__(name: str) -> object:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'arcanos_eval.testing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"arcanos_eval.testing.{source}"), name)
    globals()[name] = value  # read once: later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
