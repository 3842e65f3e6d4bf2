"""Pairwise checks: the candidate's answer against the baseline's, judged once both are in.

A suite check ``- pairwise: {rubric: "...", target: judge}`` compares two answers to one case and
repeat, so it cannot be scored as each answer arrives, like every other check. The run answers
first; then, before the log is final, :class:`Pairing` asks the judge target about each pair whose
two answers are in, in both orders (:func:`~arcanos_eval.scorers.pairwise`), and appends one
:class:`~arcanos_eval.model.PairwiseRecord` per comparison to the run log.

The judge's questions go through the same engine-backed models as ``judge`` checks
(:class:`~arcanos_eval.backends.EngineBackend`): golden store, cache, retries and limits apply,
``--mode record`` records them under the case (``<case-id>~<judge>-<fingerprint>``), replay answers
them offline, and a missing recording is listed with the run's other unrecorded check calls.

A comparison is left ``undecided``, with the reason, when either answer errored or the judge gave
no verdict; it never fails the run by itself.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Mapping, MutableMapping, MutableSet, Sequence
from typing import TYPE_CHECKING

from arcanos_eval._interrupt import DaemonPool
from arcanos_eval.backends import EngineBackend, scoring_case
from arcanos_eval.model import (
    Case,
    Check,
    JudgedOrder,
    PairKey,
    PairwiseOutcome,
    PairwiseRecord,
    ResultKey,
    ResultRecord,
)
from arcanos_eval.scorers._judge import PAIRWISE_CHECK, pairwise
from arcanos_eval.scorers._models import use_backends

if TYPE_CHECKING:
    from arcanos_eval.config import RunConfig
    from arcanos_eval.runlog import RunLogWriter

__all__ = ["PAIRWISE_CHECK", "Pairing", "compare_answers", "pairwise_checks"]

_OUTCOME_OF_WINNER: Mapping[str, PairwiseOutcome] = {"b": "win", "a": "loss", "tie": "tie"}


def pairwise_checks(case: Case) -> tuple[Check, ...]:
    """The pairwise checks of ``case``, in suite order (their index keys the comparison)."""
    return tuple(check for check in case.checks if check.name == PAIRWISE_CHECK)


def _judge_name(check: Check) -> str:
    return str(check.args.get("target", "judge"))


def compare_answers(
    case: Case,
    index: int,
    check: Check,
    base: ResultRecord,
    candidate: ResultRecord,
    backends: Mapping[str, EngineBackend],
) -> PairwiseRecord:
    """Ask the check's judge which of the two answers better satisfies its rubric, in both
    orders (blocks on the judge's calls: run it off the event loop)."""
    judge = _judge_name(check)

    def undecided(error: str) -> PairwiseRecord:
        return PairwiseRecord(
            case.suite_id,
            case.id,
            candidate.repeat,
            case.category,
            index,
            judge,
            base.target,
            candidate.target,
            "undecided",
            args=dict(check.args),
            error=error,
        )

    for record in (base, candidate):
        if record.errored:
            return undecided(
                f"the {record.target} answer errored ({record.response.error_type}): "
                "nothing to compare"
            )
    token = scoring_case.set(case)  # the judge's recordings are filed under this case
    try:
        with use_backends(backends):
            verdict = pairwise(
                base.response,
                candidate.response,
                rubric=str(check.args["rubric"]),
                question=case.input,
                target=judge,
            )
    except Exception as exc:  # a judge that gives no verdict leaves the pair undecided
        return undecided(f"the judge gave no verdict: {type(exc).__name__}: {exc}")
    finally:
        scoring_case.reset(token)
    side = {"a": base.target, "b": candidate.target, "tie": "tie"}
    return PairwiseRecord(
        case.suite_id,
        case.id,
        candidate.repeat,
        case.category,
        index,
        judge,
        base.target,
        candidate.target,
        _OUTCOME_OF_WINNER[verdict.winner],
        (
            JudgedOrder(base.target, side[verdict.a_first], verdict.reasons[0]),
            JudgedOrder(candidate.target, side[verdict.b_first], verdict.reasons[1]),
        ),
        args=dict(check.args),
    )


class Pairing:
    """The pairwise checks of (part of) a run: which pairs of answers are due, and judging them.

    ``answers`` (the run's latest answer per key) and ``judged`` (the comparisons the log holds)
    are the caller's and are updated here, so one run executed in several parts (a pytest-xdist
    worker's call groups, a resumed log) judges each pair once, in the part that completes it.
    """

    def __init__(
        self,
        baseline: str,
        candidate: str,
        cases: Iterable[Case],
        answers: MutableMapping[ResultKey, ResultRecord],
        judged: MutableSet[PairKey],
        *,
        concurrency: int = 8,
    ) -> None:
        self.baseline, self.candidate = baseline, candidate
        self.concurrency = max(1, concurrency)
        self.cases = {case.key: case for case in cases if pairwise_checks(case)}
        self.answers = answers
        self.judged = judged

    @classmethod
    def of(
        cls,
        config: RunConfig,
        cases: Iterable[Case],
        answers: MutableMapping[ResultKey, ResultRecord],
        judged: MutableSet[PairKey],
    ) -> Pairing | None:
        """The pairing of ``cases`` in a run of ``config``; ``None`` when there is nothing to
        pair (no pairwise check, or the baseline or the candidate takes no part)."""
        active = {t.name for t in config.active_targets}
        if config.baseline not in active or config.candidate not in active:
            return None
        pairing = cls(
            config.baseline,
            config.candidate,
            cases,
            answers,
            judged,
            concurrency=config.concurrency,
        )
        return pairing if pairing.cases else None

    def due(self) -> list[tuple[Case, int, Check, ResultRecord, ResultRecord]]:
        """(case, check index, check, base answer, candidate answer) of every comparison whose
        two answers are in and which is not judged yet, case by case, repeat by repeat."""
        pending = []
        for key, case in self.cases.items():
            repeat = 0
            while True:
                base = self.answers.get((key, self.baseline, repeat))
                candidate = self.answers.get((key, self.candidate, repeat))
                if base is None and candidate is None:
                    break
                if base is not None and candidate is not None:
                    for index, check in enumerate(pairwise_checks(case)):
                        if (key, repeat, index) not in self.judged:
                            pending.append((case, index, check, base, candidate))
                repeat += 1
        return pending

    async def judge(
        self,
        new: Sequence[ResultRecord],
        backends: Mapping[str, EngineBackend],
        writer: RunLogWriter,
    ) -> list[PairwiseRecord]:
        """Take in the ``new`` answers, judge every comparison now due and append each to the
        run log (in case order, whatever order the judge answers in)."""
        for record in new:
            self.answers[record.key] = record
        pending = self.due()
        if not pending:
            return []
        # Each comparison blocks a thread until the engine, on this loop, has the judge's answers.
        # The threads are a pool of their own: were they the loop's default executor, the loop
        # could find it full when it needs it (asyncio resolves host names there, for the judge's
        # first connection, say), and the comparisons would wait on themselves until timeout.
        # Daemon threads, not waited for when the run is interrupted: they wait for the engine on
        # this loop, so waiting for them here would hang (see arcanos_eval._interrupt).
        loop = asyncio.get_running_loop()
        pool = DaemonPool(min(len(pending), self.concurrency), "arcanos-pairwise")
        try:
            compared = await asyncio.gather(
                *(
                    loop.run_in_executor(
                        pool,
                        functools.partial(
                            compare_answers, case, index, check, base, cand, backends
                        ),
                    )
                    for case, index, check, base, cand in pending
                )
            )
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for comparison in compared:
            writer.append_pairwise(comparison)
            self.judged.add(comparison.key)
        return list(compared)
