"""The pairwise preference gates: how often a judge prefers the candidate's answer to the baseline's.

Both read the ``pairwise`` comparisons of their scope (see :mod:`arcanos_eval.pairing`), one per
case, repeat and pairwise check, each asked in both orders so a judge's position bias makes a tie
rather than a preference:

* ``min_win_rate``: the candidate's win rate, a tie counting half, is at least the threshold
  (0.5: the candidate is preferred at least as often as the baseline).
* ``max_loss_rate``: the share of comparisons the candidate lost, undecided ones counted as lost
  (no evidence for the candidate), is at most the threshold.

A scope without a single comparison fails both as not evaluable.
"""

from __future__ import annotations

from arcanos_eval.gates._scope import Measurement, NoEvidence, Scope
from arcanos_eval.gates._spec import GateSpec, gate
from arcanos_eval.model import PairwiseTally
from arcanos_eval.stats import format_percent

__all__: list[str] = []

_EPSILON = 1e-12  # as the built-in gates: a hair of slack against float rounding


def _tally(scope: Scope) -> PairwiseTally:
    compared = [
        p for p in scope.pairwise if p.candidate == scope.candidate and p.baseline == scope.baseline
    ]
    if not compared:
        raise NoEvidence(
            f"no pairwise check ran ({scope.candidate} against {scope.baseline}); add "
            '`- pairwise: {rubric: "...", target: judge}` to cases of the suites in scope'
        )
    return PairwiseTally.of(compared)


def _evidence(tally: PairwiseTally, scope: Scope) -> str:
    parts = [
        f"{tally.comparisons} comparison(s) of {scope.candidate} against {scope.baseline}: "
        f"{tally.wins} won, {tally.ties} tied, {tally.losses} lost"
    ]
    if tally.undecided:
        parts.append(f"{tally.undecided} undecided")
    if tally.flipped:
        parts.append(f"{tally.flipped} of the ties because the judge followed the order shown")
    return ", ".join(parts)


@gate("min_win_rate", unit="rate", reads=("pairwise",))
def min_win_rate(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """The candidate's pairwise win rate (a tie counts half) >= the threshold."""
    tally = _tally(scope)
    rate = tally.win_rate or 0.0
    evidence = f"{_evidence(tally, scope)}; win rate {format_percent(rate)}, a tie counting half"
    return [Measurement(None, rate, rate >= spec.threshold - _EPSILON, evidence)]


@gate("max_loss_rate", unit="rate", reads=("pairwise",))
def max_loss_rate(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """The share of pairwise comparisons the candidate lost (undecided ones count) <= the
    threshold."""
    tally = _tally(scope)
    rate = tally.loss_rate or 0.0
    evidence = f"{_evidence(tally, scope)}; loss rate {format_percent(rate)}" + (
        ", undecided counted as lost" if tally.undecided else ""
    )
    return [Measurement(None, rate, rate <= spec.threshold + _EPSILON, evidence)]
