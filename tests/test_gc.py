"""Full collections held back during bulk work, and the thresholds given back after it."""

from __future__ import annotations

import gc

import pytest

from arcanos_eval._gc import bulk_work


@pytest.fixture
def thresholds():  # type: ignore[no-untyped-def]
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_only_full_collections_are_held_back(thresholds):
    with bulk_work():
        young, middle, full = gc.get_threshold()
        assert (young, middle) == (700, 10) and full >= 1_000_000
    assert gc.get_threshold() == (700, 10, 10)


def test_nested_blocks_and_errors_give_the_thresholds_back(thresholds):
    with pytest.raises(RuntimeError), bulk_work():
        with bulk_work():
            pass
        assert gc.get_threshold()[2] >= 1_000_000  # the inner block did not restore early
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)


def test_young_cycles_are_still_collected(thresholds):
    class Node:
        pass

    with bulk_work():
        gc.collect()  # start from a clean slate, then make garbage the young collections find
        collected: list[int] = []
        gc.callbacks.append(lambda phase, info: collected.append(info.get("collected", 0)))
        try:
            for _ in range(5_000):
                a, b = Node(), Node()
                a.other, b.other = b, a  # type: ignore[attr-defined]
        finally:
            gc.callbacks.pop()
    assert sum(collected) > 0


_AT_EXIT = """
import atexit, gc, sys
from arcanos_eval._gc import skip_final_collection

# Registered first, so it runs last: after the hook, before the interpreter's last collection.
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, flush=True))
print("frozen before:", gc.get_freeze_count() > 0, flush=True)
skip_final_collection()
print("frozen after the call:", gc.get_freeze_count() > 0, flush=True)
"""


def test_the_heap_is_frozen_only_at_exit():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _AT_EXIT], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["frozen before: False", "frozen after the call: False", "frozen at exit: True"]
