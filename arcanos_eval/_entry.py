"""The ``arcanos-eval`` console script: Ctrl-C while the command line's modules are still being
imported (the SDK, pydantic, jsonschema: about a second) exits 130 with one line, as it does later.

The console script imports its target before calling it, outside any handler; this module imports
nothing, so the heavy imports happen inside :func:`main`'s own ``try``.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> int:
    """Import and run :func:`arcanos_eval.cli.main`; returns the exit status."""
    try:
        from arcanos_eval.cli import main as run_command_line
    except KeyboardInterrupt:
        print("arcanos-eval: interrupted", file=sys.stderr)
        return 130  # ExitCode.INTERRUPTED, which is not imported yet either
    return run_command_line()
