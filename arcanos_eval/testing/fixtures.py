"""Pytest fixtures for the loopback OpenAI server.

Enable them with ``pytest_plugins = ["arcanos_eval.testing.fixtures"]`` (the arcanos-eval pytest
plugin registers them for you)::

    def test_retry_on_429(openai_server_factory):
        server = openai_server_factory(faults={1: Fault.rate_limit(retry_after_ms=10)})
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=1)
        client.models.list()
        assert server.total_requests == 2
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:  # the server (asyncio, HTTP) is imported by a test that uses it, not by every run
    from arcanos_eval.testing.server import OpenAIServer

__all__ = ["OpenAIServerFactory", "openai_server", "openai_server_factory"]


class OpenAIServerFactory(Protocol):
    """Starts an :class:`OpenAIServer` with the given knobs; the fixture stops it after the test."""

    def __call__(self, **knobs: Any) -> OpenAIServer: ...


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A started :class:`OpenAIServer` with default knobs (echo answers, no latency, no faults)."""
    from arcanos_eval.testing.server import OpenAIServer

    with OpenAIServer() as server:
        yield server


@pytest.fixture
def openai_server_factory() -> Iterator[OpenAIServerFactory]:
    """A factory ``(**knobs) -> OpenAIServer`` of started servers, all stopped after the test."""
    from arcanos_eval.testing.server import OpenAIServer

    servers: list[OpenAIServer] = []

    def start(**knobs: Any) -> OpenAIServer:
        server = OpenAIServer(**knobs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
