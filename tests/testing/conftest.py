"""The loopback server's fixtures; the arcanos pytest plugin registers them for everyone else."""

from __future__ import annotations

pytest_plugins = ["arcanos_eval.testing.fixtures", "pytester"]
