"""The ``max_flaky`` gate: how often the candidate's repeats of one case disagree.

A case answered several times is *flaky* when some of its repeats pass and others fail. The share
of flaky cases measures the candidate's nondeterminism, which no pass rate shows: a reducer such
as ``majority`` or ``any`` can pass a case that fails one answer in three, and users see every
answer. Only cases with at least two answers (errored ones left out) can disagree, so the share is
taken over those; a run in which no case was repeated fails the gate as not evaluable.

It backs no checklist invariant: consistency is evidence beside baseline QA, not a substitute for
the pass-rate and regression gates behind it.
"""

from __future__ import annotations

from arcanos_eval.gates._scope import Measurement, NoEvidence, Scope
from arcanos_eval.gates._spec import GateSpec, gate
from arcanos_eval.stats import format_percent

__all__: list[str] = []

_EPSILON = 1e-12  # as the other gates: a hair of slack against float rounding


@gate("max_flaky", unit="rate")
def max_flaky(spec: GateSpec, scope: Scope) -> list[Measurement]:
    """Share of the candidate's repeated cases whose repeats disagree, at most the threshold."""
    repeated = [
        case.candidate
        for case in scope.cases
        if case.candidate is not None and sum(not r.errored for r in case.candidate.records) > 1
    ]
    if not repeated:
        raise NoEvidence(
            f"no case answered more than once by {scope.candidate} "
            "(set repeats in the suite or run with --repeats N)"
        )
    flaky = sum(outcome.flaky for outcome in repeated)
    share = flaky / len(repeated)
    answers = sum(len(outcome.records) for outcome in repeated)
    evidence = (
        f"{flaky}/{len(repeated)} repeated {scope.candidate} cases flaky "
        f"({format_percent(share)}; {answers} answers)"
    )
    return [Measurement(None, share, share <= spec.threshold + _EPSILON, evidence)]
