"""Models that scorers consult: judges, embedders and moderation endpoints.

A scorer that needs a model (``judge``, ``moderation``, ``similar`` with an embeddings target, the
judge layer of ``refusal`` and ``intents``) asks for a :class:`ModelBackend` by name. Names are
resolved through a context-local registry, so a run (or a test) installs its backends for the
duration of a block and nothing leaks between runs::

    with use_backends({"judge": OpenAIBackend("gpt-4.1-mini")}):
        judge(answer, rubric="Cites the patch notes", target="judge")

A notebook can skip the registry and pass ``backend=`` to the scorer directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from arcanos_eval.errors import ConfigError, ModelAnswerError, ModelCallError, UnknownNameError
from arcanos_eval.model import Response, ToolCall, Usage
from arcanos_eval.scorers._registry import unknown_name_message

if TYPE_CHECKING:
    import openai

__all__ = [
    "ModelBackend",
    "OpenAIBackend",
    "ask_json",
    "current_backends",
    "get_backend",
    "resolve_backend",
    "use_backends",
]


@runtime_checkable
class ModelBackend(Protocol):
    """What a model-backed scorer needs from a model endpoint (synchronous on purpose: scorers are
    plain functions; the engine runs them in worker threads when it needs concurrency)."""

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        response_format: Mapping[str, Any] | None = None,
    ) -> Response:
        """A chat completion; a failed call is an errored :class:`Response`, not an exception."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One embedding vector per text, in order."""
        ...

    def moderate(self, text: str) -> dict[str, Any]:
        """``{"flagged": bool, "categories": {name: bool}, "category_scores": {name: float}}``."""
        ...


_BACKENDS: ContextVar[Mapping[str, ModelBackend]] = ContextVar(
    "arcanos_eval_backends", default=MappingProxyType({})
)


@contextmanager
def use_backends(backends: Mapping[str, ModelBackend]) -> Iterator[Mapping[str, ModelBackend]]:
    """Make ``backends`` resolvable by name inside the block (merged over the enclosing ones).

    Example:
        >>> with use_backends({"judge": my_backend}):  # doctest: +SKIP
        ...     judge("The raid is on Friday.", rubric="Gives a day", target="judge")
    """
    merged = MappingProxyType({**_BACKENDS.get(), **backends})
    token = _BACKENDS.set(merged)
    try:
        yield merged
    finally:
        _BACKENDS.reset(token)


def current_backends() -> Mapping[str, ModelBackend]:
    """The backends visible in this context, by name (read-only)."""
    return _BACKENDS.get()


def get_backend(name: str) -> ModelBackend:
    """The backend registered as ``name`` in the current context.

    Raises:
        UnknownNameError: no backend of that name; the message names the known ones.
    """
    backends = _BACKENDS.get()
    try:
        return backends[name]
    except KeyError:
        known = ", ".join(sorted(backends)) or "none"
        raise UnknownNameError(
            f"{unknown_name_message('model backend', name, backends)}; known backends: {known}. "
            "Install one with use_backends({...}) or pass backend= to the scorer"
        ) from None


def resolve_backend(backend: ModelBackend | str | None, target: str | None) -> ModelBackend:
    """An explicit ``backend`` object wins; a string or ``target`` is looked up by name."""
    if backend is not None and not isinstance(backend, str):
        return backend
    name = backend if isinstance(backend, str) else target
    if not name:
        raise UnknownNameError("no model backend given: pass backend= or a target name")
    return get_backend(name)


def ask_json(
    backend: ModelBackend,
    messages: Sequence[Mapping[str, Any]],
    *,
    name: str,
    schema: Mapping[str, Any],
) -> dict[str, Any]:
    """Ask ``backend`` for a JSON object shaped by ``schema`` (structured outputs) and parse it.

    Raises:
        ModelCallError: the call failed.
        ModelAnswerError: the model did not return a JSON object.
    """
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": dict(schema), "strict": True},
    }
    response = backend.complete(messages, response_format=response_format)
    if response.errored:
        raise ModelCallError(f"model call failed ({response.error_type}): {response.error}")
    value = response.parsed
    if not isinstance(value, dict):
        shown = (response.text or "")[:80]
        raise ModelAnswerError(f"expected a JSON object from the model, found {shown!r}")
    return value


def _key(payload: Mapping[str, Any]) -> str:
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class OpenAIBackend:
    """A :class:`ModelBackend` on the official synchronous ``openai.OpenAI`` client.

    Identical requests are answered from an in-memory cache (keyed by a hash of the request), so a
    judge asked the same question about the same answer is called once per process.

    Args:
        model: Chat model used by ``complete``.
        base_url: Any OpenAI-compatible endpoint; ``None`` uses the SDK default.
        api_key_env: Name of the environment variable holding the API key.
        embedding_model: Model used by ``embed``.
        moderation_model: Model used by ``moderate``.
        params: Extra chat parameters (default ``{"temperature": 0}`` for repeatable grading).
        timeout: Seconds per request.
        max_retries: Retries the SDK makes on connection errors, 429 and 5xx.
        client: A ready client (tests, custom transports); skips ``base_url`` and the key lookup.

    Raises:
        ConfigError: the key variable is unset and no ``base_url`` points at a local server.

    Example:
        >>> judge_model = OpenAIBackend("gpt-4.1-mini")  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        embedding_model: str = "text-embedding-3-small",
        moderation_model: str | None = "omni-moderation-latest",
        params: Mapping[str, Any] | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.model = model
        self.embedding_model = embedding_model
        self.moderation_model = moderation_model
        self.params: dict[str, Any] = {"temperature": 0} if params is None else dict(params)
        if client is None:
            import openai

            api_key = os.environ.get(api_key_env)
            if not api_key:
                if base_url is None:
                    raise ConfigError(
                        f"environment variable {api_key_env} is not set; it must hold the API key "
                        f"for model {model!r}"
                    )
                api_key = "unused"  # local OpenAI-compatible servers usually ignore the key
            client = openai.OpenAI(
                base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries
            )
        self.client = client
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={str(self.client.base_url)!r})"

    @property
    def cache_size(self) -> int:
        """How many distinct requests are cached."""
        return len(self._cache)

    def _cached(self, key: str) -> Any:
        with self._lock:
            return self._cache.get(key)

    def _store(self, key: str, value: Any) -> None:
        with self._lock:
            self._cache[key] = value

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        response_format: Mapping[str, Any] | None = None,
    ) -> Response:
        """One chat completion, from the cache when the same request was made before."""
        import openai

        request: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            **self.params,
        }
        if response_format is not None:
            request["response_format"] = dict(response_format)
        key = _key({"op": "complete", **request})
        hit = self._cached(key)
        if isinstance(hit, Response):
            return replace(hit, origin="cached")
        started = time.perf_counter()
        try:
            completion = self.client.chat.completions.create(**request)
        except openai.OpenAIError as exc:
            return Response.failed(str(exc), type(exc).__name__, model=self.model)
        latency_ms = (time.perf_counter() - started) * 1000
        if not completion.choices:
            return Response.failed(
                "the completion has no choices",
                "EmptyCompletion",
                model=self.model,
                latency_ms=latency_ms,
            )
        choice = completion.choices[0]
        message = choice.message
        calls = tuple(
            ToolCall(name=call.function.name, arguments=call.function.arguments or "{}", id=call.id)
            for call in message.tool_calls or ()
            if getattr(call, "function", None) is not None
        )
        usage = Usage.from_dict(completion.usage.model_dump() if completion.usage else None)
        text = message.content if message.content is not None else getattr(message, "refusal", None)
        response = Response(
            text=text,
            tool_calls=calls,
            finish_reason=choice.finish_reason,
            usage=usage,
            latency_ms=latency_ms,
            model=completion.model or self.model,
        )
        self._store(key, response)
        return response

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embeddings for ``texts``; only the texts not seen before are sent."""
        keys = [_key({"op": "embed", "model": self.embedding_model, "input": t}) for t in texts]
        missing = list(
            dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if self._cached(k) is None)
        )
        if missing:
            result = self.client.embeddings.create(model=self.embedding_model, input=missing)
            vectors = [item.embedding for item in sorted(result.data, key=lambda d: d.index)]
            if len(vectors) != len(missing):
                raise ModelAnswerError(
                    f"asked for {len(missing)} embeddings, received {len(vectors)}"
                )
            for text, vector in zip(missing, vectors, strict=True):
                self._store(
                    _key({"op": "embed", "model": self.embedding_model, "input": text}),
                    [float(x) for x in vector],
                )
        return [list(self._cached(k)) for k in keys]

    def moderate(self, text: str) -> dict[str, Any]:
        """The moderation verdict for ``text`` as a plain dict."""
        key = _key({"op": "moderate", "model": self.moderation_model, "input": text})
        hit = self._cached(key)
        if isinstance(hit, dict):
            return dict(hit)
        if self.moderation_model is None:
            result = self.client.moderations.create(input=text)
        else:
            result = self.client.moderations.create(input=text, model=self.moderation_model)
        if not result.results:
            raise ModelAnswerError("the moderation endpoint returned no result")
        first = result.results[0]
        verdict = {
            "flagged": bool(first.flagged),
            "categories": {
                k: bool(v)
                for k, v in first.categories.model_dump(by_alias=True).items()
                if v is not None
            },
            "category_scores": {
                k: float(v)
                for k, v in first.category_scores.model_dump(by_alias=True).items()
                if v is not None
            },
        }
        self._store(key, verdict)
        return dict(verdict)
