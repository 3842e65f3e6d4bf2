"""The training-data gate: is a fine-tuning file fit to train on?

One call checks format, tokens, PII and secrets, duplicates and eval-case leakage, and returns a
:class:`DataReport` whose verdict backs the release checklist item "data is sanitized"::

    from arcanos_eval.data import check_training_data

    report = check_training_data("train.jsonl", validation="val.jsonl", against="suites")
    print(report.verdict)
    Path("data-report.md").write_text(report.to_markdown())

The command line twin is ``arcanos-eval data check`` (:mod:`arcanos_eval.data.cli`).
"""

from __future__ import annotations

from arcanos_eval.data.check import check_training_data
from arcanos_eval.data.pii import Allowlist, Match, Scanner, mask_value, redact_text, scan_text
from arcanos_eval.data.report import SCHEMA_VERSION, DataFinding, DataReport, FileSummary, Tally
from arcanos_eval.data.tokens import TokenCounter, TokenStats, model_spec

__all__ = [
    "SCHEMA_VERSION",
    "Allowlist",
    "DataFinding",
    "DataReport",
    "FileSummary",
    "Match",
    "Scanner",
    "Tally",
    "TokenCounter",
    "TokenStats",
    "check_training_data",
    "mask_value",
    "model_spec",
    "redact_text",
    "scan_text",
]
