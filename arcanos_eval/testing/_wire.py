"""OpenAI wire payloads: chat completions, Responses, embeddings, moderations, models, errors.

Pure functions from a :class:`Reply` (or an input) to the JSON objects and SSE events the ``openai``
SDK parses. Ids derive from the request number so repeated runs produce the same bodies.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from arcanos_eval.testing._reply import Reply

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PIECE = re.compile(r"\S+\s*|\s+")
_WORD = re.compile(r"\w+")

MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
_IMAGE_CATEGORIES = frozenset(
    {
        "self-harm",
        "self-harm/intent",
        "self-harm/instructions",
        "sexual",
        "violence",
        "violence/graphic",
    }
)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the API sends it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate: words and punctuation marks each count as one token.

    Example:
        >>> estimate_tokens("Hello, world!")
        4
    """
    return len(_TOKEN.findall(text))


def prompt_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """Estimated prompt tokens: message texts plus a small per-message overhead, like the API."""
    return sum(estimate_tokens(m.get("content", "")) + 3 for m in messages)


def completion_tokens(reply: Reply) -> int:
    """Estimated completion tokens of a reply, overridable by the reply itself."""
    if reply.completion_tokens is not None:
        return reply.completion_tokens
    count = estimate_tokens(reply.text or "")
    for call in reply.tool_calls:
        count += estimate_tokens(call.name) + estimate_tokens(call.arguments_json)
    return count


def pieces(text: str) -> list[str]:
    """Split text into stream deltas (a word and its trailing space each); joins back exactly."""
    return _PIECE.findall(text) or [""]


def error_body(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> bytes:
    """An OpenAI-shaped error body."""
    return dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


def _call_id(reply_id: str, number: int, index: int) -> str:
    return reply_id or f"call_{number:06d}_{index}"


# -- chat completions ---------------------------------------------------------------------------


def chat_usage(prompt: int, completion: int) -> dict[str, Any]:
    """The ``usage`` object of a chat completion."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def chat_completion(
    reply: Reply, *, model: str, number: int, created: int, usage: dict[str, Any]
) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(call.id, number, i),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json},
            }
            for i, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": f"chatcmpl-{number:08d}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_arcanos",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.resolved_finish_reason,
            }
        ],
        "usage": usage,
    }


def chat_chunks(
    reply: Reply, *, model: str, number: int, created: int, usage: dict[str, Any] | None
) -> Iterator[bytes]:
    """SSE events of a streamed chat completion, ending with ``data: [DONE]``."""
    head = {
        "id": f"chatcmpl-{number:08d}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_arcanos",
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return b"data: " + dumps({**head, "choices": [choice]}) + b"\n\n"

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    if reply.text:
        for piece in pieces(reply.text):
            yield chunk({"content": piece})
    for i, call in enumerate(reply.tool_calls):
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": i,
                        "id": _call_id(call.id, number, i),
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""},
                    }
                ]
            }
        )
        for piece in pieces(call.arguments_json):
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
    yield chunk({}, reply.resolved_finish_reason)
    if usage is not None:
        yield b"data: " + dumps({**head, "choices": [], "usage": usage}) + b"\n\n"
    yield b"data: [DONE]\n\n"


# -- Responses API ------------------------------------------------------------------------------


def _response_usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _output_items(reply: Reply, number: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reply.text is not None:
        items.append(
            {
                "type": "message",
                "id": f"msg_{number:08d}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
            }
        )
    for i, call in enumerate(reply.tool_calls):
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{number:08d}_{i}",
                "call_id": _call_id(call.id, number, i),
                "name": call.name,
                "arguments": call.arguments_json,
                "status": "completed",
            }
        )
    return items


def response_object(
    reply: Reply,
    *,
    body: Mapping[str, Any],
    number: int,
    created: int,
    prompt: int,
    completion: int,
    in_progress: bool = False,
) -> dict[str, Any]:
    """A Responses ``response`` object (``in_progress`` for the opening stream events)."""
    incomplete = reply.resolved_finish_reason == "length"
    status = "in_progress" if in_progress else ("incomplete" if incomplete else "completed")
    return {
        "id": f"resp_{number:08d}",
        "object": "response",
        "created_at": created,
        "status": status,
        "model": str(body.get("model", "")),
        "output": [] if in_progress else _output_items(reply, number),
        "error": None,
        "incomplete_details": (
            {"reason": "max_output_tokens"} if incomplete and not in_progress else None
        ),
        "instructions": body.get("instructions"),
        "metadata": body.get("metadata") or {},
        "parallel_tool_calls": bool(body.get("parallel_tool_calls", True)),
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "max_output_tokens": body.get("max_output_tokens"),
        "previous_response_id": body.get("previous_response_id"),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": list(body.get("tools") or []),
        "text": {"format": {"type": "text"}},
        "truncation": "disabled",
        "usage": None if in_progress else _response_usage(prompt, completion),
    }


def response_events(
    reply: Reply,
    *,
    body: Mapping[str, Any],
    number: int,
    created: int,
    prompt: int,
    completion: int,
) -> Iterator[bytes]:
    """SSE events of a streamed Responses answer, from ``response.created`` to the final state."""
    sequence = 0

    def event(type_: str, payload: dict[str, Any]) -> bytes:
        nonlocal sequence
        data = dumps({"type": type_, "sequence_number": sequence, **payload})
        sequence += 1
        return b"event: " + type_.encode() + b"\ndata: " + data + b"\n\n"

    opening = response_object(
        reply,
        body=body,
        number=number,
        created=created,
        prompt=prompt,
        completion=completion,
        in_progress=True,
    )
    yield event("response.created", {"response": opening})
    yield event("response.in_progress", {"response": opening})
    for index, item in enumerate(_output_items(reply, number)):
        item_id = item["id"]
        where = {"item_id": item_id, "output_index": index}
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield event(
                "response.output_item.added",
                {"output_index": index, "item": {**item, "status": "in_progress", "content": []}},
            )
            empty_part = {"type": "output_text", "text": "", "annotations": []}
            part_at = {**where, "content_index": 0}
            yield event("response.content_part.added", {**part_at, "part": empty_part})
            for piece in pieces(text):
                yield event(
                    "response.output_text.delta", {**part_at, "delta": piece, "logprobs": []}
                )
            yield event("response.output_text.done", {**part_at, "text": text, "logprobs": []})
            yield event("response.content_part.done", {**part_at, "part": item["content"][0]})
        else:
            arguments = item["arguments"]
            yield event(
                "response.output_item.added",
                {"output_index": index, "item": {**item, "status": "in_progress", "arguments": ""}},
            )
            for piece in pieces(arguments):
                yield event("response.function_call_arguments.delta", {**where, "delta": piece})
            yield event(
                "response.function_call_arguments.done",
                {**where, "name": item["name"], "arguments": arguments},
            )
        yield event("response.output_item.done", {"output_index": index, "item": item})
    final = response_object(
        reply, body=body, number=number, created=created, prompt=prompt, completion=completion
    )
    final_type = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    yield event(final_type, {"response": final})


# -- answers whose text is not text (Fault.content) ---------------------------------------------


def with_content(answer: Any, value: Any) -> Any:
    """``answer`` (a chat completion, a Responses object, or a streamed event) with ``value``
    wherever its text is: ``message.content``, a chunk's non-empty ``delta.content``, an
    ``output_text`` part's ``text``, a ``response.output_text`` event's ``delta`` or ``text``."""
    if not isinstance(answer, dict):
        return answer
    for choice in answer.get("choices") or ():
        for key in ("message", "delta"):
            part = choice.get(key)
            if isinstance(part, dict) and (key == "message" or part.get("content")):
                part["content"] = value
    for item in answer.get("output") or ():
        for part in item.get("content") or ():
            if part.get("type") == "output_text":
                part["text"] = value
    kind = answer.get("type")
    if kind == "response.output_text.delta":
        answer["delta"] = value
    elif kind == "response.output_text.done":
        answer["text"] = value
    for key in ("response", "item", "part"):
        if isinstance(answer.get(key), dict):
            with_content(answer[key], value)
    return answer


def event_with_content(event: bytes, value: Any) -> bytes:
    """One SSE event with :func:`with_content` applied to its ``data:`` JSON."""
    lines = event.rstrip(b"\n").split(b"\n")
    for index, line in enumerate(lines):
        if line.startswith(b"data: {"):
            lines[index] = b"data: " + dumps(with_content(json.loads(line[6:]), value))
    return b"\n".join(lines) + b"\n\n"


# -- embeddings, moderations, models ------------------------------------------------------------


@lru_cache(maxsize=65536)
def _bucket(word: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    return value % dimensions, 1.0 if value >> 63 else -1.0


def embed(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector: a signed hashed bag of lower-cased words.

    Texts sharing words get a positive cosine similarity; an empty text maps to the first axis.
    """
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        index, sign = _bucket(word, dimensions)
        vector[index] += sign
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return [v / norm for v in vector]


def embeddings(body: Mapping[str, Any], dimensions: int) -> tuple[dict[str, Any], int]:
    """A ``list`` of embeddings for ``input`` (text, texts or token arrays) and its token count."""
    raw = body.get("input", "")
    if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
        raw = [raw]
    texts = [item if isinstance(item, str) else " ".join(map(str, item)) for item in raw or []]
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    tokens = 0
    for index, text in enumerate(texts):
        tokens += estimate_tokens(text)
        vector = embed(text, dimensions)
        encoded: Any = vector
        if as_base64:
            encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    payload = {
        "object": "list",
        "data": data,
        "model": str(body.get("model", "")),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return payload, tokens


def moderation(
    body: Mapping[str, Any], number: int, pattern: re.Pattern[str] | None, words: Mapping[str, str]
) -> dict[str, Any]:
    """A moderation result per input text; a text is flagged when ``pattern`` finds a word.

    A list of strings gets one result each; a list of multimodal parts is one input, as in the API.
    """
    raw = body.get("input", "")
    if isinstance(raw, str):
        texts = [raw]
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        texts = raw
    else:
        parts = raw if isinstance(raw, list) else []
        texts = [
            " ".join(
                str(part.get("text", ""))
                for part in parts
                if isinstance(part, Mapping) and part.get("type") == "text"
            )
        ]
    results = []
    for text in texts:
        found = pattern.findall(text) if pattern else []
        hits = {words.get(m.lower(), "harassment") for m in found}
        results.append(
            {
                "flagged": bool(hits),
                "categories": {c: c in hits for c in MODERATION_CATEGORIES},
                "category_scores": {
                    c: 0.99 if c in hits else 0.0001 for c in MODERATION_CATEGORIES
                },
                "category_applied_input_types": {
                    c: ["text", "image"] if c in _IMAGE_CATEGORIES else ["text"]
                    for c in MODERATION_CATEGORIES
                },
            }
        )
    return {
        "id": f"modr-{number:08d}",
        "model": str(body.get("model") or "omni-moderation-latest"),
        "results": results,
    }


def model_object(model_id: str, created: int) -> dict[str, Any]:
    """One entry of ``GET /v1/models``."""
    return {"id": model_id, "object": "model", "created": created, "owned_by": "arcanos-eval"}
