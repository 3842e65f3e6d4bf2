"""Snapshot helper for report tests: compare rendered text with a committed file.

Regenerate the snapshots after an intended change with ``ARCANOS_UPDATE_SNAPSHOTS=1 pytest
tests/report`` and review the diff before committing.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture
def snapshot() -> Callable[[str, str], None]:
    def check(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if os.environ.get("ARCANOS_UPDATE_SNAPSHOTS") == "1":
            path.write_text(text, encoding="utf-8", newline="\n")
        assert path.is_file(), f"no snapshot {path}: run with ARCANOS_UPDATE_SNAPSHOTS=1"
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(True), text.splitlines(True), str(path), "rendered", n=2
                )
            )
            pytest.fail(f"rendered text differs from the snapshot {path.name}:\n{diff}")

    return check
