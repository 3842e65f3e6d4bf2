"""Release gates: specs parsed from ``[tool.arcanos_eval.gates]``, their results, and the verdict.

A gate is data: :func:`parse_gates` turns the table into :class:`GateSpec` objects (and rejects a bad
table at start-up with :class:`~arcanos_eval.errors.GateConfigError`); each spec is evaluated over a
*scope* of the run into a :class:`GateResult` with the measured value, the threshold, pass/fail and
evidence. Keys:

* ``pass_rate = {category = min}``: candidate pass rate per category (``all``: every case).
* ``pass_rate_base = {category = min}``: the same bar for the base target.
* ``max_regression``: per category, the candidate pass rate may trail base by at most this, over
  cases judged on both sides (0.02 = 2 points). By default (``regression_test =
  "noninferiority"``) the one-sided ``1 - alpha`` upper bound of the drop (Newcombe's hybrid score
  interval; ``alpha`` defaults to 0.05) must be within it: the candidate must show it is not worse.
  ``"observed"`` compares the observed drop alone; ``"mcnemar"`` fails a larger drop only when
  significant (one-sided exact McNemar p < ``alpha``).
* ``min_cases`` (default 30): ``pass_rate``, ``pass_rate_base`` and ``max_regression`` fail as
  "insufficient evidence" for a category with fewer cases.
* ``latency_p50_ms``, ``latency_p95_ms``, ``ttft_p95_ms``: candidate budgets in ms (time to first
  token needs streamed answers).
* ``latency_p95_ratio``: candidate p95 <= ratio x base p95.
* ``tokens_ratio``, ``cost_ratio``: candidate tokens (cost, from the targets' ``prices``) per answer
  <= ratio x base.
* ``schema_violations``: at most this many candidate answers fail the ``schema`` check in suites
  that have a ``response_schema``.
* ``moderation_drift``: candidate flagged rate minus base flagged rate (``moderation`` check)
  <= this.
* ``max_flaky``: at most this share of the candidate's repeated cases (two or more answers) may be
  flaky, some repeats passing and others failing.
* ``data``: ``true`` requires a passing training-data report; ``false`` ignores one. Unset, a
  supplied report is evaluated and a missing one leaves the checklist item "not evaluated" (a
  HOLD, unless ``waive`` gives a reason).
* ``schema_compat = true``: each suite's ``response_schema`` must be backward compatible with the
  schema of record stored with its recordings.
* ``min_win_rate``, ``max_loss_rate``: over the ``pairwise`` checks' comparisons, the candidate's
  win rate (a tie counts half) is at least, and its loss rate (undecided counts as lost) at most,
  this (see :mod:`arcanos_eval.gates._pairwise`).
* ``fine_tune = true``: the candidate's fine-tune provenance must be recorded and verified (its job
  succeeded, produced the model the candidate serves, from files the data report checked). Unset,
  the gate is evaluated whenever the run recorded the candidate's provenance (see
  :mod:`arcanos_eval.gates._fine_tune`), unless ``waive = { fine_tune = "..." }``.

``[tool.arcanos_eval.gates.suites.<suite-id>]`` takes the same keys (but ``data`` and ``waive``)
and overrides the run-wide value for that suite: the run-wide gate is then evaluated over the other
suites.

The verdict fails closed. No gate configured is a usage error (:func:`require_gates`). Each audit
invariant of the release checklist (``baseline_qa``, ``schema_stable``, ``data_sanitized``,
``latency``) must be evaluated by at least one configured gate, or waived with a reason::

    waive = { data_sanitized = "trained on synthetic data only" }

(aliases ``qa``, ``schema``, ``data``); an invariant neither evaluated nor waived holds the release.
A waiver is refused for an invariant that a configured gate backs, and is printed with the verdict.

A gate that is configured but cannot be evaluated (no case of the category, nothing streamed, no
prices, no data report...) **fails**, saying why: a release is not promoted on missing evidence.
So does a gate that reads checks graded by a model whose calibration failed or is missing
(``grader failed calibration: ...``, see :mod:`arcanos_eval.calibration`): the case-counting gates
read every check of their cases, ``moderation_drift`` the ``moderation`` checks, the pairwise
gates the pairwise judges; the latency, token, cost, schema and data gates read no graded check.
In a batch-mode run the latency gates fail as "not measurable in batch mode".

Adding a gate
-------------
A gate is a function registered with :func:`gate`: it receives the :class:`GateSpec` (its
``threshold`` is the number written in the table) and the :class:`Scope` of the run it judges,
and returns :class:`Measurement` values, or raises :class:`NoEvidence` to fail as "not
evaluable". Once registered (imported from a ``conftest.py``, or named in the entry-point group
``arcanos_eval.gates`` so the CLI finds it too), its key is accepted in
``[tool.arcanos_eval.gates]`` and in ``gates.suites.<suite-id>``, evaluated over each scope, and
listed in the report's gate table::

    from arcanos_eval.gates import Measurement, NoEvidence, gate

    @gate("refusal_rate", unit="rate", invariant="baseline_qa")
    def refusal_rate(spec, scope):
        answers = [r for r in scope.records if r.target == scope.candidate and not r.errored]
        if not answers:
            raise NoEvidence(f"no answer from {scope.candidate}")
        refused = sum((r.response.text or "").startswith("I can't") for r in answers) / len(answers)
        evidence = f"{refused:.1%} of {len(answers)} {scope.candidate} answers refused"
        return [Measurement(None, refused, refused <= spec.threshold, evidence)]

and then ``refusal_rate = 0.05`` under ``[tool.arcanos_eval.gates]``. A custom gate counts as
reading every check of its cases (it fails when one of them rests on an uncalibrated grader);
``@gate(..., reads=())`` declares one that reads no check, ``reads=("moderation",)`` one that
reads only those checks.
"""

from __future__ import annotations

# Importing the evaluators registers the built-in gates, in the order of the report's table.
from arcanos_eval.gates import (
    _evaluators,  # noqa: F401
    _flaky,  # noqa: F401
    _pairwise,  # noqa: F401
)
from arcanos_eval.gates._fine_tune import FileCheck, FineTuneAssessment, assess_fine_tune
from arcanos_eval.gates._scope import (
    GateResult,
    Measurement,
    NoEvidence,
    Scope,
    evaluate_gates,
)
from arcanos_eval.gates._spec import (
    _REGISTRY,
    INVARIANT_ALIASES,
    MODIFIERS,
    GateDefinition,
    GateSet,
    GateSpec,
    Invariant,
    Unit,
    gate,
    parse_gates,
    unmatched_scopes,
)
from arcanos_eval.gates._verdict import (
    CHECKLIST,
    INVARIANT_NAMES,
    NO_GATES,
    ChecklistItem,
    Verdict,
    checklist,
    require_gates,
    verdict,
)

__all__ = [
    "CHECKLIST",
    "GATE_KEYS",
    "INVARIANT_ALIASES",
    "INVARIANT_NAMES",
    "NO_GATES",
    "ChecklistItem",
    "FileCheck",
    "FineTuneAssessment",
    "GateDefinition",
    "GateResult",
    "GateSet",
    "GateSpec",
    "Invariant",
    "Measurement",
    "NoEvidence",
    "Scope",
    "Unit",
    "Verdict",
    "assess_fine_tune",
    "checklist",
    "evaluate_gates",
    "gate",
    "parse_gates",
    "require_gates",
    "unmatched_scopes",
    "verdict",
]

# The keys of the built-in gates table (custom gates add theirs to the registry).
GATE_KEYS: tuple[str, ...] = (*_REGISTRY, *MODIFIERS, "suites", "waive")
# Every registered gate by key (the built-ins and any custom gate registered since).
_EVALUATORS = _REGISTRY
