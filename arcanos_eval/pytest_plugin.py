"""pytest plugin entry point (``pytest11: arcanos``). Glue only: options, fixtures and hooks."""

from __future__ import annotations

# The loopback OpenAI-protocol server fixtures, for this project's tests and for users who
# contract-test their own pipelines.
pytest_plugins = ["arcanos_eval.testing.fixtures"]
