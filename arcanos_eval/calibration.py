"""Calibrating a run's graders before their verdicts count.

Every target a run's checks consult to grade (see
:func:`~arcanos_eval.scorers._calibration.graders_of`) is first asked the built-in calibration
items of its role, once per run, through the same engine-backed model as the checks
(:class:`~arcanos_eval.backends.EngineBackend`): golden store, cache, retries and limits apply,
``--mode record`` records the questions under ``golden/_calibration/<grader>.jsonl`` (case
``<item>~<grader>-<fingerprint>``; no suite id starts with ``_``), and replay answers them offline.
Replay without those recordings leaves the grader ``uncalibrated`` (no error: the gates that rest
on it fail, saying how to record them). Each grader's outcome is one sealed ``calibration`` line of
the run log (:class:`~arcanos_eval.model.CalibrationRecord`), which the gates read.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, MutableMapping, MutableSet
from typing import TYPE_CHECKING, TextIO

from arcanos_eval._interrupt import DaemonPool
from arcanos_eval.backends import EngineBackend, scoring_case
from arcanos_eval.model import CalibrationAnswer, CalibrationRecord, Case, GraderKey
from arcanos_eval.scorers._calibration import (
    CalibrationItem,
    Grader,
    ask_item,
    assess,
    calibration_items,
    graders_of,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from arcanos_eval.runlog import RunLogWriter

__all__ = ["CALIBRATION_SUITE", "Calibration", "case_graders"]

#: The golden folder of calibration recordings: no suite id can take it (ids start with a letter
#: or digit), so ``golden prune`` and ``verify`` never count them as a suite's.
CALIBRATION_SUITE = "_calibration"


def case_graders(cases: Iterable[Case]) -> list[Grader]:
    """The graders the checks of ``cases`` consult, each once, in order of first use."""
    found: dict[Grader, None] = {}
    for case in cases:
        for check in case.checks:
            found.update(dict.fromkeys(graders_of(check.name, check.args)))
    return list(found)


def _ask(item: CalibrationItem, backend: EngineBackend) -> CalibrationAnswer:
    """One calibration question, filed under the item in the golden store (blocks on the
    engine: run it off the event loop)."""
    case = Case(
        id=item.id,
        suite_id=CALIBRATION_SUITE,
        category="calibration",
        messages=({"role": "user", "content": item.question},) if item.question else (),
    )
    token = scoring_case.set(case)
    try:
        return ask_item(item, backend)
    finally:
        scoring_case.reset(token)


class Calibration:
    """The graders of (part of) a run: which still need calibrating, and calibrating them.

    ``done`` (the calibrations the log holds) is the caller's and is updated here, so a run
    executed in several parts (a pytest-xdist worker's call groups, a resumed log) asks each
    grader once. A grader left ``uncalibrated`` by an earlier run (a replay without recordings) is
    asked again by the next one; within one run, ``asked`` keeps it from being asked twice.
    """

    def __init__(
        self,
        cases: Iterable[Case],
        done: MutableMapping[GraderKey, CalibrationRecord],
        asked: MutableSet[GraderKey],
        *,
        concurrency: int = 8,
    ) -> None:
        self.graders = case_graders(cases)
        self.done = done
        self.asked = asked
        self.concurrency = max(1, concurrency)

    def due(self) -> list[Grader]:
        return [
            grader
            for grader in self.graders
            if grader not in self.asked
            and (grader not in self.done or self.done[grader].status == "uncalibrated")
        ]

    async def run(
        self,
        backends: Mapping[str, EngineBackend],
        writer: RunLogWriter,
        *,
        notes: TextIO | None = None,
    ) -> list[CalibrationRecord]:
        """Calibrate every grader due (that the run has a model for) and append each outcome to
        the run log."""
        due = [g for g in self.due() if g.target in backends]
        if not due:
            return []
        loop = asyncio.get_running_loop()
        records = []
        for grader in due:
            self.asked.add(grader)
            items = calibration_items(grader.role)
            if notes is not None:
                print(
                    f"arcanos: calibrating {grader.role} grader {grader.target!r} "
                    f"on {len(items)} items with known answers",
                    file=notes,
                )
            shared = backends[grader.target]
            # Its own backend, so that calibration questions replay cannot answer are not
            # counted with the checks' (an uncalibrated grader is a gate's finding, not an error).
            backend = EngineBackend(shared.name, shared.target, shared.engine, shared.loop)
            # Daemon threads, as for pairwise judging (see arcanos_eval.pairing): each question
            # waits for the engine on this loop.
            pool = DaemonPool(min(len(items), self.concurrency), "arcanos-calibration")
            try:
                answers = await asyncio.gather(
                    *(
                        loop.run_in_executor(pool, functools.partial(_ask, item, backend))
                        for item in items
                    )
                )
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
            record = assess(grader.target, grader.role, answers)
            writer.append_calibration(record)
            self.done[record.key] = record
            records.append(record)
            if notes is not None:
                print(f"arcanos: {record.summary}", file=notes)
        return records
