"""Garbage collection tuned for bulk work: many long-lived objects, few reference cycles.

A run builds tens of thousands of long-lived objects (cases, recorded answers, results, the
comparison) and frees them together at the end. CPython's collector walks the whole heap again every
time it has grown by a quarter: on a replay of 10,000 cases x 2 targets those full collections were
a third of the run. :func:`bulk_work` leaves young collections as they are (they reclaim the short
cycles asyncio and exceptions make) and holds back only the full ones until the work is done.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["bulk_work"]

# Full collections wait for this many collections of the middle generation (the default is 10).
_HELD_BACK = 1_000_000


@contextmanager
def bulk_work() -> Iterator[None]:
    """Hold back full collections inside the block; the previous thresholds come back after it.

    Nested blocks keep the outermost block's saved thresholds.
    """
    young, middle, full = gc.get_threshold()
    if full >= _HELD_BACK:
        yield  # already inside a block
        return
    gc.set_threshold(young, middle, _HELD_BACK)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, full)
