"""The pytest fixtures start servers for a test and stop them after it."""

from __future__ import annotations

import pytest

from arcanos_eval.testing import OpenAIServer
from arcanos_eval.testing.fixtures import OpenAIServerFactory


def test_openai_server_is_started(openai_server: OpenAIServer) -> None:
    assert openai_server.running and openai_server.total_requests == 0


def test_factory_passes_knobs(openai_server_factory: OpenAIServerFactory) -> None:
    first = openai_server_factory(latency_s=0.5)
    second = openai_server_factory(seed=3)
    assert first.running and second.running and first.port != second.port
    assert (first.latency_s, second.seed) == (0.5, 3)


def test_servers_stop_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["arcanos_eval.testing.fixtures"]')
    pytester.makepyfile(
        """
        seen = []

        def test_uses_both(openai_server, openai_server_factory):
            seen.extend([openai_server, openai_server_factory(latency_s=0.1)])
            assert all(server.running for server in seen)

        def test_they_stopped():
            assert len(seen) == 2 and not any(server.running for server in seen)
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
