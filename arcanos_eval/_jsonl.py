"""How every JSONL file of ours is written: one sorted-key line per record, whole files atomically.

A leaf: the run log, the golden store and the cache all write through it, and it imports nothing of
the package.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["dump_line", "write_atomic"]


def dump_line(record: Mapping[str, Any]) -> str:
    """One JSONL line with sorted keys: the form every file of ours is written in."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_atomic(path: Path, lines: Iterator[str] | list[str]) -> None:
    """Write a whole file through a temporary sibling and a rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(lines)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
