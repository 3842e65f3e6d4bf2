"""Release reports, rendered from a run log only.

Example::

    from arcanos_eval import read_run_log
    from arcanos_eval.report import evaluate, render_html, render_markdown, summary_json

    evaluation = evaluate(read_run_log("run.jsonl"))
    print(evaluation.verdict.decision)          # PROMOTE or HOLD
    markdown = render_markdown(evaluation)      # byte-identical for the same log
    page = render_html(evaluation)              # one self-contained page, also byte-identical
"""

from __future__ import annotations

from arcanos_eval.report.charts import Chart, ChartSet, write_charts
from arcanos_eval.report.evaluation import Alternative, Evaluation, RunDiff, diff_runs, evaluate
from arcanos_eval.report.html import render_html
from arcanos_eval.report.markdown import (
    render_diff_markdown,
    render_markdown,
    render_summary_sections,
)
from arcanos_eval.report.summary import summary_json, write_step_summary

__all__ = [
    "Alternative",
    "Chart",
    "ChartSet",
    "Evaluation",
    "RunDiff",
    "diff_runs",
    "evaluate",
    "render_diff_markdown",
    "render_html",
    "render_markdown",
    "render_summary_sections",
    "summary_json",
    "write_charts",
    "write_step_summary",
]
