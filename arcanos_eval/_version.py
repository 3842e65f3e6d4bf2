"""Versions a run records in its provenance: this package's and the OpenAI SDK's.

A leaf module: the engine, the CLI and the package facade read the version here, so none of them
imports another to learn it (the facade importing the run, the run importing the engine, the
engine importing the facade was a cycle), and the SDK version is read from its distribution
metadata without importing the SDK.
"""

from __future__ import annotations

import functools

__all__ = ["__version__", "sdk_version"]

__version__ = "0.1.0"


@functools.cache
def sdk_version() -> str:
    """``openai 1.x.y``: the installed OpenAI SDK, as golden records and run headers name it."""
    # importlib.metadata costs about 100 modules; only a run that records provenance needs it.
    # Read once: every new answer's provenance names it (about 1 ms a read).
    from importlib.metadata import version

    return f"openai {version('openai')}"
