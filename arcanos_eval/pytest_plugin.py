"""pytest plugin entry point (``pytest11: arcanos``). Glue only: options, fixtures and hooks."""

from __future__ import annotations
