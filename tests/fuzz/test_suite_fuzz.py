"""Fuzz lane: a mutated bundled suite loads, or fails with one clean line, in bounded time and memory.

Hypothesis draws the suite and the seed of one mutation of ``bench/hostile.py`` (the same kinds
the hostile-input run counts: byte flips, type swaps, deletions, deep nesting, aliases, huge values,
control and surrogate characters, duplicate keys, non-finite budgets, paths out of the project,
special files, regex patterns); the failure report names the mutation and its seed. Each
example asserts only what the issue promises for any input: either the suite loads, or the loader
raises an ``ArcanosError`` whose message is one line, names the file and stays short (long values
cut). Kinds that cannot hang or exhaust memory run in this process; the others (FIFOs, devices,
alias bombs, 10 MB values and patterns) run in a child process under an address-space limit and a
generous time limit that only a hang or a blow-up exceeds.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from arcanos_eval import load_config, load_suite
from arcanos_eval.errors import ArcanosError
from tests.fuzz._bench import hostile

HANG_S = 30.0  # a load of any mutated suite under 10 MB finishes far sooner: only a hang breaks it
MEMORY_MB = 1024  # the child's address space: only a blow-up reaches it
GROWTH_MB = 1024  # the in-process high-water mark may grow this much during one example

BASES = {base.file: base for base in hostile.corpus()}
FILES = sorted(BASES)
# Kinds whose worst case is a quick exception: loaded here, where a failure shows its traceback.
IN_PROCESS = (
    "byte_flip",
    "type_swap",
    "deletion",
    "deep_nesting",
    "recursive_alias",
    "huge_int",
    "control_chars",
    "lone_surrogate",
    "duplicate_keys",
    "nonfinite_budget",
    "path_escape",
    "prompt_escape",
)
# Kinds that block, read forever or expand without bound when unguarded: loaded in a child.
IN_CHILD = ("special_file", "alias_bomb", "huge_string", "regex")
assert set(IN_PROCESS) | set(IN_CHILD) == set(hostile.KINDS)

# No shrinking: the draws of a random source shrink to nothing more telling than the variant the
# failure names, and a shrink of a hanging child would cost HANG_S per step. Stop at the first bug.
FAST = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Drawn:
    """A sample as a failure report shows it: kind, seed, suite and what the mutation did (not the
    megabytes of its file)."""

    def __init__(self, kind: str, seed: int, file: str) -> None:
        self.sample = hostile.KINDS[kind].make(random.Random(seed), BASES[file])
        self.shown = f"{kind} (seed {seed}, {file}): {self.sample.variant}"

    def __repr__(self) -> str:
        return self.shown


def samples(kind: str) -> st.SearchStrategy[Drawn]:
    """Samples of ``kind``: hypothesis draws the bundled suite and the seed that fixes the mutation
    (a random source hypothesis drove itself would print every draw in the report of a failure,
    lists of document paths included)."""
    return st.builds(
        Drawn, st.just(kind), st.integers(min_value=0, max_value=2**32 - 1), st.sampled_from(FILES)
    )


def assert_clean(sample: Any, error: BaseException | None) -> None:
    """A clean load, or an ArcanosError on one short line naming the file."""
    if error is None:
        return
    message = _text(error)
    shown = message if len(message) <= 300 else f"{message[:300]}... ({len(message)} chars)"
    assert isinstance(error, ArcanosError), (
        f"{sample.variant}: {type(error).__name__} escaped the loader: {shown}"
    )
    assert "\n" not in message, f"{sample.variant}: a message of several lines: {shown!r}"
    assert sample.named in message, f"{sample.variant}: the message does not name {sample.named}"
    assert len(message) <= hostile.MAX_LINE, (
        f"{sample.variant}: a {len(message)}-character line (long values must be cut): {shown}"
    )


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # a value too large to print (a 5,000-digit int in the message)
        return type(error).__name__


def _load(sample: Any, project: Path) -> None:
    """Load as a user in the project folder would: the folder may be what paths resolve in."""
    here = os.getcwd()
    os.chdir(project)
    try:
        if sample.names == "pyproject.toml":
            load_config(project / "pyproject.toml")
        else:
            load_suite(project / sample.file)
    finally:
        os.chdir(here)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_in_process(sample: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="arcanos-fuzz-") as folder:
        project = hostile.write_project(sample, Path(folder))
        before = _peak_mb()
        error: BaseException | None = None
        try:
            _load(sample, project)
        except (Exception, RecursionError) as exc:
            error = exc
        growth = _peak_mb() - before
    assert growth < GROWTH_MB, f"{sample.variant}: memory grew by {growth:.0f} MB"
    assert_clean(sample, error)


# The child reports what the loader did, as JSON on its last line.
PROBE = """
import gc, json, resource, sys
from arcanos_eval import load_suite
from arcanos_eval.errors import ArcanosError
limit = int(sys.argv[2]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
found = {"type": None}
try:
    load_suite(sys.argv[1])
except BaseException as exc:
    found = {"type": type(exc).__name__, "arcanos": isinstance(exc, ArcanosError)}
    try:
        message = str(exc)
    except Exception:
        message = found["type"]
    found.update(message=message[:4000], length=len(message))
gc.collect()  # the traceback held what filled the memory: report with it freed
print(json.dumps(found))
"""


def check_in_child(sample: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="arcanos-fuzz-") as folder:
        project = hostile.write_project(sample, Path(folder))
        try:
            done = subprocess.run(
                [sys.executable, "-c", PROBE, str(project / sample.file), str(MEMORY_MB)],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=HANG_S,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"{sample.variant}: no answer within {HANG_S:g} s (a hang)")
    last = done.stderr.strip().splitlines()[-1:] or [""]
    assert done.returncode == 0, f"{sample.variant}: the loader's process died: {last[0]}"
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if found["type"] is None:
        return
    shown = found["message"][:300]
    assert found["type"] != "MemoryError", (
        f"{sample.variant}: MemoryError under a {MEMORY_MB} MB address space"
    )
    assert found["arcanos"], f"{sample.variant}: {found['type']} escaped the loader: {shown}"
    message = found["message"]
    assert found["length"] <= hostile.MAX_LINE, (
        f"{sample.variant}: a {found['length']}-character line (long values must be cut): {shown}"
    )
    assert "\n" not in message, f"{sample.variant}: a message of several lines: {shown!r}"
    assert sample.named in message, f"{sample.variant}: the message does not name {sample.named}"


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_mutated_suite_loads_or_fails_on_one_line(kind: str) -> None:
    @settings(FAST, max_examples=12)
    @given(samples(kind))
    def check(drawn: Drawn) -> None:
        check_in_process(drawn.sample)

    check()


# The worst case of each kind loaded in a child, whatever the few drawn examples hold:
# (seed, suite, what the mutation must be). A change to the mutations that moves one fails here.
PINNED = {
    "special_file": [(2, "suites/support-escalation.json", "is fifo"),
                     (1, "suites/support-escalation.json", "-> /dev/zero")],
    "alias_bomb": [(127, "suites/support-escalation.json", "10^20 leaves")],
    "huge_string": [(78, "suites/support-escalation.json", "10 MB at key"),
                    (13, "suites/support-escalation.json", "10 MB at regex")],
    "regex": [(29, "suites/multi-intent.yaml", "10 MB pattern"),
              (12, "suites/support-escalation.json", "a{99999999999}")],
}  # fmt: skip


@pytest.mark.parametrize("kind", IN_CHILD)
def test_hostile_file_is_refused_without_hang_or_blow_up(kind: str) -> None:
    for seed, file, expected in PINNED[kind]:
        drawn = Drawn(kind, seed, file)
        assert expected in drawn.shown, f"the pinned sample changed: {drawn}"
        check_in_child(drawn.sample)

    @settings(FAST, max_examples=2)
    @given(samples(kind))
    def check(drawn: Drawn) -> None:
        check_in_child(drawn.sample)

    check()


@pytest.mark.slow
@pytest.mark.parametrize("kind", IN_PROCESS)
def test_many_mutated_suites_load_or_fail_on_one_line(kind: str) -> None:
    @settings(FAST, max_examples=300)
    @given(samples(kind))
    def check(drawn: Drawn) -> None:
        check_in_process(drawn.sample)

    check()


@pytest.mark.slow
@pytest.mark.parametrize("kind", IN_CHILD)
def test_many_hostile_files_are_refused_without_hang_or_blow_up(kind: str) -> None:
    @settings(FAST, max_examples=25)
    @given(samples(kind))
    def check(drawn: Drawn) -> None:
        check_in_child(drawn.sample)

    check()
