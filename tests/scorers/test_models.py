"""Model backends: the context-local registry and OpenAIBackend against the loopback server."""

from __future__ import annotations

import threading

import pytest

from arcanos_eval.errors import ConfigError, ModelAnswerError, ModelCallError
from arcanos_eval.model import Response
from arcanos_eval.scorers._models import (
    ModelBackend,
    OpenAIBackend,
    ask_json,
    current_backends,
    get_backend,
    resolve_backend,
    use_backends,
)
from arcanos_eval.testing import ChatRequest, Fault, Reply
from arcanos_eval.testing.fixtures import OpenAIServerFactory

KEY_ENV = "ARCANOS_SCORERS_TEST_KEY"


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, "sk-scorers-test")
    return "sk-scorers-test"


def backend_for(
    server_url: str, *, embedding_model: str = "text-embedding-3-small"
) -> OpenAIBackend:
    return OpenAIBackend(
        "gpt-4.1-2025-04-14",
        base_url=server_url,
        api_key_env=KEY_ENV,
        embedding_model=embedding_model,
        max_retries=0,
        timeout=5.0,
    )


# --- registry -----------------------------------------------------------------------------------


def test_use_backends_nests_and_restores(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    server = openai_server_factory()
    judge, other = backend_for(server.base_url), backend_for(server.base_url)
    assert dict(current_backends()) == {}
    with use_backends({"judge": judge}):
        assert get_backend("judge") is judge
        with use_backends({"judge": other, "moderation": judge}):
            assert get_backend("judge") is other
            assert get_backend("moderation") is judge
        assert get_backend("judge") is judge
        assert "moderation" not in current_backends()
    assert dict(current_backends()) == {}


def test_unknown_backend_names_the_known_ones(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    judge = backend_for(openai_server_factory().base_url)
    with use_backends({"judge": judge}), pytest.raises(LookupError) as info:
        get_backend("judg")
    assert "unknown model backend 'judg' (did you mean 'judge'?)" in str(info.value)
    assert "known backends: judge" in str(info.value)


def test_backends_do_not_leak_across_threads(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    judge = backend_for(openai_server_factory().base_url)
    seen: list[int] = []
    with use_backends({"judge": judge}):
        worker = threading.Thread(target=lambda: seen.append(len(current_backends())))
        worker.start()
        worker.join()
    assert seen == [0]  # a plain thread starts from an empty context


def test_resolve_backend_prefers_an_explicit_object(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    explicit = backend_for(openai_server_factory().base_url)
    assert resolve_backend(explicit, "judge") is explicit
    with use_backends({"grader": explicit}):
        assert resolve_backend("grader", "judge") is explicit
        assert resolve_backend(None, "grader") is explicit
    with pytest.raises(LookupError, match="no model backend given"):
        resolve_backend(None, None)


def test_openai_backend_satisfies_the_protocol(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    assert isinstance(backend_for(openai_server_factory().base_url), ModelBackend)


# --- OpenAIBackend ------------------------------------------------------------------------------


def test_missing_key_for_the_official_api_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ARCANOS_NO_SUCH_KEY", raising=False)
    with pytest.raises(ConfigError, match="ARCANOS_NO_SUCH_KEY is not set"):
        OpenAIBackend("gpt-4.1", api_key_env="ARCANOS_NO_SUCH_KEY")


def test_complete_normalizes_and_caches(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    server = openai_server_factory(
        replies={"ping": Reply(text="pong", prompt_tokens=7, completion_tokens=2)}
    )
    backend = backend_for(server.base_url)
    messages = [{"role": "user", "content": "ping"}]
    first = backend.complete(messages)
    assert (first.text, first.finish_reason, first.origin) == ("pong", "stop", "live")
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (7, 2)
    assert first.latency_ms is not None and first.latency_ms >= 0
    again = backend.complete(messages)
    assert (again.text, again.origin) == ("pong", "cached")
    assert server.path_counts["/v1/chat/completions"] == 1
    assert backend.cache_size == 1
    backend.complete(messages, response_format={"type": "json_object"})  # a different request
    assert server.path_counts["/v1/chat/completions"] == 2


def test_complete_sends_temperature_zero_and_the_response_format(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    bodies: list[dict[str, object]] = []

    def responder(request: ChatRequest) -> Reply:
        bodies.append(dict(request.body))
        return Reply.json({"ok": True})

    server = openai_server_factory(responder=responder)
    verdict = ask_json(
        backend_for(server.base_url),
        [{"role": "user", "content": "grade"}],
        name="verdict",
        schema={"type": "object"},
    )
    assert verdict == {"ok": True}
    assert bodies[0]["temperature"] == 0
    assert bodies[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "schema": {"type": "object"}, "strict": True},
    }


def test_failed_calls_are_errored_responses_and_not_cached(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    server = openai_server_factory(faults={1: Fault.server_error()}, replies={"ping": "pong"})
    backend = backend_for(server.base_url)
    failed = backend.complete([{"role": "user", "content": "ping"}])
    assert isinstance(failed, Response) and failed.errored
    assert failed.error_type == "InternalServerError"
    assert backend.cache_size == 0
    assert backend.complete([{"role": "user", "content": "ping"}]).text == "pong"


def test_ask_json_raises_on_errors_and_non_objects(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    server = openai_server_factory(
        replies={"list": Reply.json([1, 2]), "prose": "Looks fine!"},
        faults={3: Fault.http_status(400, "bad schema")},
    )
    backend = backend_for(server.base_url)
    with pytest.raises(ModelAnswerError, match="expected a JSON object"):
        ask_json(backend, [{"role": "user", "content": "list"}], name="v", schema={})
    with pytest.raises(ModelAnswerError, match="'Looks fine!'"):
        ask_json(backend, [{"role": "user", "content": "prose"}], name="v", schema={})
    with pytest.raises(ModelCallError, match="model call failed"):
        ask_json(backend, [{"role": "user", "content": "third"}], name="v", schema={})


def test_embed_batches_only_unseen_texts(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    server = openai_server_factory(embedding_dimensions=16)
    backend = backend_for(server.base_url, embedding_model="text-embedding-3-small")
    first = backend.embed(["the raid starts friday", "reset your password"])
    assert len(first) == 2 and all(len(v) == 16 for v in first)
    again = backend.embed(["reset your password", "the raid starts friday", "new text"])
    assert again[0] == first[1] and again[1] == first[0]
    assert server.path_counts["/v1/embeddings"] == 2
    assert server.requests[-1].body["input"] == ["new text"]


def test_moderate_returns_plain_categories(
    openai_server_factory: OpenAIServerFactory, key: str
) -> None:
    server = openai_server_factory(moderation_words={"idiot": "harassment"})
    backend = backend_for(server.base_url)
    verdict = backend.moderate("you idiot")
    assert verdict["flagged"] is True
    assert verdict["categories"]["harassment"] is True
    assert verdict["categories"]["violence"] is False
    assert "harassment/threatening" in verdict["categories"]
    assert verdict["category_scores"]["harassment"] > 0.5
    assert backend.moderate("you idiot") == verdict
    assert server.path_counts["/v1/moderations"] == 1
    assert backend.moderate("good game")["flagged"] is False
