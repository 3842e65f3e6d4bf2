"""The scorer library: every check a suite can name, importable for notebooks.

Importing this package registers the built-in scorers. Each is a plain function
``(output, case=None, **args) -> Score`` that accepts a Response, a string or parsed JSON and never
raises on a malformed answer::

    >>> from arcanos_eval.scorers import contains, refusal
    >>> refusal("I can't help with that.").passed
    True
    >>> contains("The raid starts at 20:00 UTC.", text="20:00").passed
    True

Families, one private module each, every public name re-exported here: match (``equals``,
``contains``, ``not_contains``, ``regex``, ``field``, ``json``, ``classify``), schema (``schema``),
refusal (``refusal``, ``complies``, ``deescalates``), intents, similarity (``similar``), judge
(``judge``, ``pairwise``), moderation, tools (``tool_call``) and budgets (``latency_ms``,
``max_tokens``, ``cost``); :func:`calibrate` asks a grader the built-in calibration items. Import them from here: ``arcanos_eval.scorers.schema`` is the
``schema`` check, never a module. Model-backed scorers find their model through
:func:`use_backends` or take ``backend=``.
"""

from __future__ import annotations

from arcanos_eval.model import Score
from arcanos_eval.scorers._budgets import cost, latency_ms, max_tokens
from arcanos_eval.scorers._calibration import calibrate
from arcanos_eval.scorers._intents import intents
from arcanos_eval.scorers._judge import JudgeVerdict, PairwiseVerdict, judge, pairwise
from arcanos_eval.scorers._match import (
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
from arcanos_eval.scorers._models import (
    ModelBackend,
    OpenAIBackend,
    get_backend,
    use_backends,
)
from arcanos_eval.scorers._moderation import moderation, moderation_drift
from arcanos_eval.scorers._refusal import (
    RefusalFinding,
    classify_refusal,
    complies,
    deescalates,
    refusal,
)
from arcanos_eval.scorers._registry import as_response, scorer
from arcanos_eval.scorers._schema import schema
from arcanos_eval.scorers._similarity import lexical_similarity, similar
from arcanos_eval.scorers._tools import tool_call

__all__ = [
    "JudgeVerdict",
    "ModelBackend",
    "OpenAIBackend",
    "PairwiseVerdict",
    "RefusalFinding",
    "Score",
    "as_response",
    "calibrate",
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
