"""The scorer library: every check a suite can name, importable for notebooks.

Importing this package registers the built-in scorers. Each is a plain function
``(output, case=None, **args) -> Score`` that accepts a Response, a string or parsed JSON and never
raises on a malformed answer::

    >>> from arcanos_eval.scorers import contains, refusal
    >>> refusal("I can't help with that.").passed
    True
    >>> contains("The raid starts at 20:00 UTC.", text="20:00").passed
    True

Families: :mod:`~arcanos_eval.scorers.match` (``equals``, ``contains``, ``not_contains``,
``regex``, ``field``, ``json``, ``classify``), :mod:`~arcanos_eval.scorers.schema`,
:mod:`~arcanos_eval.scorers.refusal` (``refusal``, ``complies``, ``deescalates``),
:mod:`~arcanos_eval.scorers.intents`, :mod:`~arcanos_eval.scorers.similarity` (``similar``),
:mod:`~arcanos_eval.scorers.judge`, :mod:`~arcanos_eval.scorers.moderation`,
:mod:`~arcanos_eval.scorers.tools` (``tool_call``) and :mod:`~arcanos_eval.scorers.budgets`
(``latency_ms``, ``max_tokens``, ``cost``). Model-backed scorers find their model through
:func:`use_backends` or take ``backend=``.
"""

from __future__ import annotations

from arcanos_eval.model import Score
from arcanos_eval.scorers._models import (
    ModelBackend,
    OpenAIBackend,
    get_backend,
    use_backends,
)
from arcanos_eval.scorers._registry import as_response, scorer
from arcanos_eval.scorers.budgets import cost, latency_ms, max_tokens
from arcanos_eval.scorers.intents import intents
from arcanos_eval.scorers.judge import PairwiseVerdict, Verdict, judge, pairwise
from arcanos_eval.scorers.match import (
    classify,
    classify_pairs,
    confusion_matrix,
    contains,
    equals,
    field,
    json_match,
    not_contains,
    regex,
)
from arcanos_eval.scorers.moderation import moderation, moderation_drift
from arcanos_eval.scorers.refusal import (
    RefusalFinding,
    classify_refusal,
    complies,
    deescalates,
    refusal,
)
from arcanos_eval.scorers.schema import schema
from arcanos_eval.scorers.similarity import lexical_similarity, similar
from arcanos_eval.scorers.tools import tool_call

__all__ = [
    "ModelBackend",
    "OpenAIBackend",
    "PairwiseVerdict",
    "RefusalFinding",
    "Score",
    "Verdict",
    "as_response",
    "classify",
    "classify_pairs",
    "classify_refusal",
    "complies",
    "confusion_matrix",
    "contains",
    "cost",
    "deescalates",
    "equals",
    "field",
    "get_backend",
    "intents",
    "json_match",
    "judge",
    "latency_ms",
    "lexical_similarity",
    "max_tokens",
    "moderation",
    "moderation_drift",
    "not_contains",
    "pairwise",
    "refusal",
    "regex",
    "schema",
    "scorer",
    "similar",
    "tool_call",
    "use_backends",
]
