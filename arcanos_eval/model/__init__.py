"""The core records every step of a run reads and writes, in one place.

Loading builds :class:`Suite`, :class:`Case` and :class:`Check`; execution turns a case into a
:class:`Request` and gets a :class:`Response`; scoring gives a :class:`Score` per check, kept as a
:class:`CheckResult` in a :class:`ResultRecord`; a run log is a :class:`RunHeader` and its records.
Everything after execution reads these typed values back from the run log (``from_dict`` of
``to_dict`` gives the same value), never dictionary keys.

This package depends on nothing else in arcanos-eval: the scorer registry, targets and the run log
all build on it, not the other way round.
"""

from __future__ import annotations

from arcanos_eval.model._calibration import (
    CalibrationAnswer,
    CalibrationRecord,
    CalibrationStatus,
    GraderKey,
    GraderRole,
)
from arcanos_eval.model._finetune import (
    FineTune,
    FineTuneCheckpoint,
    FineTuneEvent,
    FineTuneFile,
)
from arcanos_eval.model._header import (
    SCHEMA_VERSION,
    SUPPORTED_VERSIONS,
    Provenance,
    Roles,
    RunFooter,
    RunHeader,
    SuiteInfo,
    TargetInfo,
)
from arcanos_eval.model._pairwise import (
    JudgedOrder,
    PairKey,
    PairwiseOutcome,
    PairwiseRecord,
    PairwiseTally,
)
from arcanos_eval.model._response import (
    Origin,
    Request,
    Response,
    ToolCall,
    Usage,
    fingerprint_of,
    parse_json,
)
from arcanos_eval.model._result import CheckResult, ResultKey, ResultRecord, Score
from arcanos_eval.model._suite import (
    BUILTIN_CATEGORIES,
    REDUCERS,
    Case,
    Check,
    Reducer,
    Suite,
    reduce_repeats,
)

__all__ = [
    "BUILTIN_CATEGORIES",
    "REDUCERS",
    "SCHEMA_VERSION",
    "SUPPORTED_VERSIONS",
    "CalibrationAnswer",
    "CalibrationRecord",
    "CalibrationStatus",
    "Case",
    "Check",
    "CheckResult",
    "FineTune",
    "FineTuneCheckpoint",
    "FineTuneEvent",
    "FineTuneFile",
    "GraderKey",
    "GraderRole",
    "JudgedOrder",
    "Origin",
    "PairKey",
    "PairwiseOutcome",
    "PairwiseRecord",
    "PairwiseTally",
    "Provenance",
    "Reducer",
    "Request",
    "Response",
    "ResultKey",
    "ResultRecord",
    "Roles",
    "RunFooter",
    "RunHeader",
    "Score",
    "Suite",
    "SuiteInfo",
    "TargetInfo",
    "ToolCall",
    "Usage",
    "fingerprint_of",
    "parse_json",
    "reduce_repeats",
]
