"""``arcanos-eval report`` and ``arcanos-eval diff``: the subcommands that read saved run logs.

Exit statuses follow the CLI's: 0 promote (diff: no case regressed; a case whose request changed
between the runs is no regression), 1 gates failed / HOLD (diff: some case regressed), 2 usage
error (raised as :class:`~arcanos_eval.errors.ArcanosError` and printed by ``main``), 3 some calls
errored (the evidence is incomplete).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arcanos_eval.data.report import read_evidence
from arcanos_eval.errors import ExitCode, UsageError
from arcanos_eval.report.charts import ChartSet, write_charts
from arcanos_eval.report.evaluation import Evaluation, RunDiff, diff_runs, evaluate
from arcanos_eval.report.explain import explain_regression
from arcanos_eval.report.html import render_html
from arcanos_eval.report.markdown import render_diff_markdown, render_markdown
from arcanos_eval.report.summary import summary_json, write_step_summary
from arcanos_eval.runlog import read_run_log

__all__ = ["add_parsers", "publish", "read_data_report", "verdict_line"]


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from None


def _gates_from(pyproject: str | None) -> Mapping[str, Any] | None:
    if pyproject is None:
        return None
    # Imported here: only this option needs the configuration loader.
    from arcanos_eval.config import load_config

    return load_config(pyproject).gates


def verdict_line(evaluation: Evaluation, output: Path | None) -> str:
    """``PROMOTE: 12 gate(s) passed; report: report.md``: the one line a terminal shows, with
    each invariant that holds the release and each waiver (``; waived: data sanitized (...)``)."""
    v = evaluation.verdict
    detail = (
        f"{len(v.failing)} of {v.gates} gate(s) failed: {', '.join(v.failing)}"
        if v.failing
        else f"{v.gates} gate(s) passed"
    )
    if evaluation.incomplete is not None:
        detail = f"{evaluation.incomplete}; {detail}"
    errored = f", {v.errored_answers} answer(s) errored" if v.errored_answers else ""
    unmet = "".join(f"; {text}" for text in v.unmet)
    waived = "".join(f"; waived: {name} ({reason})" for name, reason in v.waived)
    where = f"; report: {output}" if output is not None else ""
    return f"{v.decision}: {detail}{errored}{unmet}{waived}{where}"


def publish(
    evaluation: Evaluation,
    *,
    output: Path | None,
    json_path: Path | None = None,
    charts_dir: str | Path | None = None,
    html_path: Path | None = None,
) -> str:
    """Write what was asked for: the markdown report to ``output``, the chart images to
    ``charts_dir`` (linked from the markdown, if any), the JSON summary, the HTML report, and the
    GitHub step summary (when ``$GITHUB_STEP_SUMMARY`` is set); return the verdict line.
    """
    charts = _charts(evaluation, charts_dir, output)
    if output is not None:
        _write(output, render_markdown(evaluation, charts=charts))
    if json_path is not None:
        _write(
            json_path,
            json.dumps(summary_json(evaluation), indent=2, sort_keys=True, ensure_ascii=False)
            + "\n",
        )
    if html_path is not None:
        _write(html_path, render_html(evaluation))
    write_step_summary(evaluation)
    return verdict_line(evaluation, output)


def _charts(
    evaluation: Evaluation, directory: str | Path | None, output: Path | None
) -> ChartSet | None:
    """The charts written to ``directory`` (``None`` when none were asked for), linked relative to
    the markdown report ``output`` (else to the current folder); when none could be written (no
    matplotlib), a line on stderr says why."""
    if not directory:
        return None
    charts = write_charts(
        evaluation, directory, relative_to=output.parent if output is not None else Path.cwd()
    )
    if charts.skipped:
        print(f"arcanos-eval: no charts written to {directory}: {charts.skipped}", file=sys.stderr)
    return charts


def read_data_report(path: str | Path | None) -> Mapping[str, Any] | None:
    """The training-data report JSON for the data gate, or ``None`` when no path is given."""
    return None if path is None else read_evidence(path)


def _cmd_report(args: argparse.Namespace) -> int:
    log = read_run_log(args.run_log)
    data_report = read_data_report(args.data_report)
    evaluation = evaluate(
        log,
        _gates_from(args.gates_from),
        data_report=data_report,
        exclude_paths=args.exclude_path or None,
    )
    output = Path(args.output) if args.output else None
    if output is None:
        charts = _charts(evaluation, args.charts, None)
        print(render_markdown(evaluation, charts=charts), end="")
        if evaluation.incomplete is not None:  # the markdown may go to a file: the terminal too
            print(f"arcanos-eval: {evaluation.incomplete}", file=sys.stderr)
    line = publish(
        evaluation,
        output=output,
        json_path=Path(args.json) if args.json else None,
        charts_dir=args.charts if output is not None else None,  # written above otherwise
        html_path=Path(args.html) if args.html else None,
    )
    if output is not None:
        print(line)
    return evaluation.verdict.exit_status


def _cmd_diff(args: argparse.Namespace) -> int:
    diff = diff_runs(
        read_run_log(args.run_a),
        read_run_log(args.run_b),
        old_target=args.target_a,
        new_target=args.target_b,
        exclude_paths=args.exclude_path or None,
    )
    markdown = render_diff_markdown(diff)
    if args.output:
        _write(Path(args.output), markdown)
    else:
        print(markdown, end="")
    counts = diff.categories[-1].transitions
    regressed, changed = counts["regressed"], counts.get("changed", 0)
    if args.output:
        print(
            f"{regressed} case(s) regressed, {counts['fixed']} fixed"
            + (f", {changed} changed (not compared)" if changed else "")
            + f"; diff: {args.output}"
        )
        for case in diff.comparison.with_transition("changed"):
            print(f"changed case: {case.key}: its request differs between RUN_A and RUN_B")
        for text in _regression_texts(diff):
            print(f"\n{text}")
    if regressed:
        return ExitCode.HOLD
    return ExitCode.ERRORED if diff.old_errored or diff.new_errored else ExitCode.PROMOTE


def _regression_texts(diff: RunDiff) -> list[str]:
    """What a failed pytest comparison item says, for each case that regressed between the runs."""
    texts = []
    for case in diff.comparison.cases:
        if case.transition != "regressed" or case.base is None or case.candidate is None:
            continue
        text = explain_regression(
            key=f"{case.suite_id}::{case.case_id}",
            location=diff.new_name or "",
            prompt=diff.new_header.suite(case.suite_id).case_inputs.get(case.case_id, ""),
            baseline=f"{diff.old_target} (RUN_A)",
            candidate=f"{diff.new_target} (RUN_B)",
            base_records=case.base.records,
            candidate_records=case.candidate.records,
        )
        if text is not None:
            texts.append(text)
    return texts


def add_parsers(subparsers: Any) -> None:
    """Register ``report`` and ``diff`` on the ``arcanos-eval`` subcommand parsers.

    Each parser sets ``handler``: a function of the parsed arguments returning the exit status.
    """
    report = subparsers.add_parser(
        "report",
        help="render the release report of a saved run log",
        description="Evaluate the gates on a run log and render the release report. Exit "
        "status: 0 PROMOTE, 1 HOLD, 2 usage error, 3 PROMOTE but calls errored.",
    )
    report.add_argument("run_log", metavar="RUN.jsonl", help="the run log to report on")
    report.add_argument(
        "-o",
        "--output",
        metavar="report.md",
        help="write the markdown here (default: standard output)",
    )
    report.add_argument(
        "--json", metavar="summary.json", help="also write the machine-readable summary"
    )
    report.add_argument(
        "--html",
        metavar="report.html",
        help="also write the report as one self-contained HTML page with a case browser",
    )
    report.add_argument(
        "--charts",
        metavar="DIR",
        help="write chart images here and link them (needs the charts extra)",
    )
    report.add_argument(
        "--data-report",
        metavar="PATH.json",
        help="training-data report (arcanos-eval data check) for the data gate",
    )
    report.add_argument(
        "--gates-from",
        metavar="PYPROJECT",
        help="evaluate the gates of this pyproject.toml instead of the ones the run recorded",
    )
    report.add_argument(
        "--exclude-path",
        action="append",
        metavar="PATH",
        help="JSON path left out of output diffs, e.g. meta.request_id or "
        "items[*].note (repeatable)",
    )
    report.set_defaults(handler=_cmd_report)

    diff = subparsers.add_parser(
        "diff",
        help="compare this release's run with the last release's",
        description="Per-case transitions and statistics of RUN_B's answers against RUN_A's "
        "(by default each run's candidate). Exit status: 0 no case regressed, 1 "
        "some case regressed, 2 usage error, 3 calls errored.",
    )
    diff.add_argument("run_a", metavar="RUN_A", help="the older run log (the last release)")
    diff.add_argument("run_b", metavar="RUN_B", help="the newer run log (this release)")
    diff.add_argument(
        "-o",
        "--output",
        metavar="diff.md",
        help="write the markdown here (default: standard output)",
    )
    diff.add_argument("--target-a", metavar="NAME", help="target of RUN_A (default: candidate)")
    diff.add_argument("--target-b", metavar="NAME", help="target of RUN_B (default: candidate)")
    diff.add_argument(
        "--exclude-path",
        action="append",
        metavar="PATH",
        help="JSON path left out of output diffs (repeatable)",
    )
    diff.set_defaults(handler=_cmd_diff)
