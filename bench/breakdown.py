"""Where a profiled run spends its time, by component, from a pyinstrument session file.

A call tree answers "which path is slow"; a release decision about optimizing needs "which layer
owns the time". Every sample's self time is charged to the innermost frame that belongs to a known
component (the openai SDK, the HTTP transport, our engine, scoring, the run log, the report...), so
the shares add up to 100% of the profiled wall time.

    python -m pyinstrument -r pyisession -o run.pyisession .venv/bin/arcanos-eval run ...
    python bench/breakdown.py run.pyisession
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from pyinstrument.frame import Frame
from pyinstrument.session import Session
from tabulate import tabulate

IMPORTS = "imports (start-up)"
# First match wins, so the more specific package paths come before the broad ones. Libraries that
# serve several layers (jsonschema validates suites and answers, json, yaml) are not listed: their
# time goes to the layer that called them.
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("arcanos_eval/scorers/", "scoring (arcanos_eval.scorers)"),
    ("arcanos_eval/runlog.py", "run log writing/reading"),
    ("arcanos_eval/report/", "report and gates"),
    ("arcanos_eval/gates.py", "report and gates"),
    ("arcanos_eval/compare.py", "report and gates"),
    ("arcanos_eval/stats.py", "report and gates"),
    ("arcanos_eval/suite/", "suite loading"),
    ("arcanos_eval/golden.py", "golden/cache store"),
    ("arcanos_eval/cache", "golden/cache store"),
    ("arcanos_eval/targets/", "engine and targets"),
    ("arcanos_eval/engine.py", "engine and targets"),
    ("arcanos_eval/", "engine and targets"),
    ("openai/", "openai SDK"),
    ("pydantic", "openai SDK"),
    ("aiohttp", "HTTP transport (aiohttp, httpx, httpcore, anyio)"),
    ("multidict", "HTTP transport (aiohttp, httpx, httpcore, anyio)"),
    ("yarl", "HTTP transport (aiohttp, httpx, httpcore, anyio)"),
    ("httpx", "HTTP transport (aiohttp, httpx, httpcore, anyio)"),
    ("httpcore", "HTTP transport (aiohttp, httpx, httpcore, anyio)"),
    ("anyio", "HTTP transport (aiohttp, httpx, httpcore, anyio)"),
    ("h11", "HTTP transport (aiohttp, httpx, httpcore, anyio)"),
    ("ssl", "HTTP transport (aiohttp, httpx, httpcore, anyio)"),
    ("_pytest/", "pytest"),
    ("pluggy/", "pytest"),
    ("selectors.py", "waiting in epoll (the server's answer)"),
    ("asyncio/", "asyncio event loop"),
)


def component(frame: Frame) -> str | None:
    """The component that owns a frame, or None for frames that only pass time along."""
    path = (frame.file_path or "").replace("\\", "/")
    if frame.function == "[await]":
        return "waiting in epoll (the server's answer)"
    if frame.function == "[self]" or path == "":
        return None
    for marker, name in COMPONENTS:
        if marker in path:
            return name
    return None


def is_import(frame: Frame) -> bool:
    """A module body run by an import (not the program's own script or ``__main__``)."""
    path = frame.file_path or ""
    return (
        frame.function == "<module>"
        and ("site-packages" in path or "arcanos_eval" in path or "/lib/python" in path)
        and not path.endswith("__main__.py")
    )


def shares(root: Frame) -> Counter[str]:
    """Leaf time per component, charged to the innermost frame with a known component.

    Only leaves are counted: a frame's time is the sum of its children's, so counting inner
    frames as well would count the same sample twice.
    """
    totals: Counter[str] = Counter()
    stack: list[tuple[Frame, str]] = [(root, "other")]
    while stack:
        frame, owner = stack.pop()
        # Everything run while a module is imported is start-up cost, whichever package runs it.
        own = IMPORTS if owner == IMPORTS or is_import(frame) else component(frame)
        own = own or owner
        if frame.children:
            stack.extend((child, own) for child in frame.children)
        else:
            totals[own] += frame.time
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sessions", nargs="+", type=Path, help="pyinstrument .pyisession files")
    args = parser.parse_args(argv)
    for path in args.sessions:
        session = Session.load(str(path))
        root = session.root_frame()
        if root is None:
            continue
        totals = shares(root)
        whole = sum(totals.values()) or 1.0
        rows = [(name, f"{seconds:.2f}", f"{100 * seconds / whole:.1f}%")
                for name, seconds in totals.most_common()]  # fmt: skip
        print(f"\n{path.name}: {session.duration:.2f} s wall, {session.cpu_time:.2f} s CPU")
        print(tabulate(rows, headers=["component", "seconds", "share"], tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
