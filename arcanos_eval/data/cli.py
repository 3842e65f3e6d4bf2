"""``arcanos-eval data check``: the training-data gate on the command line.

Exit status: 0 when the data passes the gate, 1 when findings fail it, 2 on a usage error (the
error is printed on one line, without a traceback).

``add_parser`` plugs the ``data`` command into the main ``arcanos-eval`` parser; ``main`` runs it
on its own (``python -m arcanos_eval.data.cli data check train.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from tabulate import tabulate

from arcanos_eval.data.check import check_training_data
from arcanos_eval.data.report import DataReport
from arcanos_eval.errors import ExitCode, UsageError

__all__ = ["add_parser", "run_check"]

_SHOWN_FINDINGS = 20


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``data`` command (with its ``check`` subcommand) to ``subparsers``.

    The ``check`` parser sets ``handler`` to :func:`run_check`, which returns the exit status.
    """
    data = subparsers.add_parser(
        "data",
        help="check fine-tuning data: format, tokens, PII and secrets, duplicates, eval leakage",
        description="Training-data gate: is a fine-tuning file fit to train on?",
    )
    commands = data.add_subparsers(dest="data_command", metavar="COMMAND", required=True)
    check = commands.add_parser(
        "check",
        help="check a training file (and optionally its validation file)",
        description=(
            "Check an OpenAI fine-tuning JSONL file: format (every bad line, with its field "
            "path), tokens and billed cost, PII and secrets (masked), exact and near duplicates, "
            "train/validation overlap and eval-suite contamination. Exit status 0 when the data "
            "passes, 1 when findings fail the gate, 2 on usage errors."
        ),
    )
    check.add_argument("train", metavar="TRAIN.jsonl", help="training file (JSONL)")
    check.add_argument("--validation", metavar="VAL.jsonl", help="validation file (JSONL)")
    check.add_argument(
        "--against", metavar="SUITES", help="eval suite file or folder to check for leaked cases"
    )
    check.add_argument(
        "--redact-to",
        metavar="OUT.jsonl",
        help="write a copy of the training file with PII and secrets replaced by [TYPE] "
        "placeholders (never the input file)",
    )
    check.add_argument("--report", metavar="PATH", help="write the markdown report here")
    check.add_argument("--json", metavar="PATH", help="write the JSON report here")
    check.add_argument(
        "--model", default="gpt-4.1", help="model to fine-tune: tokenizer and context limit"
    )
    check.add_argument(
        "--epochs", type=int, default=3, metavar="N", help="epochs, for billed tokens (default 3)"
    )
    check.add_argument(
        "--allowlist",
        metavar="FILE",
        help="values that are not findings: one literal or 're:REGEX' per line, '#' comments",
    )
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run ``data check`` for parsed arguments; print the summary and return the exit status."""
    out = out or sys.stdout
    try:
        outputs = [Path(p) for p in (args.report, args.json) if p]
        inputs = [Path(p) for p in (args.train, args.validation) if p]
        for output in outputs:
            if any(output.resolve() == source.resolve() for source in inputs):
                raise UsageError(f"{output}: refusing to write a report over an input file")
        report = check_training_data(
            args.train,
            validation=args.validation,
            against=args.against,
            redact_to=args.redact_to,
            model=args.model,
            epochs=args.epochs,
            allowlist=args.allowlist,
        )
        _write(args.report, report.to_markdown())
        _write(args.json, json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    except UsageError as error:
        print(f"arcanos-eval data check: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    print(render_summary(report), file=out)
    return ExitCode.PROMOTE if report.passed else ExitCode.HOLD


def _write(path: str | None, text: str) -> None:
    if not path:
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{path}: cannot write the report: {error.strerror}") from None


def render_summary(report: DataReport) -> str:
    """The terminal summary: files, a table per check, the first findings, the verdict last."""
    lines = []
    for summary in report.files:
        lines.append(
            f"{summary.role}: {summary.path}: {summary.lines} lines, {summary.examples} valid "
            f"{summary.format or 'unrecognised'} examples, {summary.tokens.total:,} tokens "
            f"(p95 {summary.tokens.p95:,}, max {summary.tokens.max:,}); "
            f"{summary.tokens.billed_total:,} billed over {summary.tokens.epochs} epochs"
        )
    lines += ["", tabulate(report.summary_rows(), headers=["check", "errors", "warnings"]), ""]
    if report.findings:
        ordered = sorted(report.findings, key=lambda f: f.severity != "error")
        rows = [
            [
                f.severity,
                f.location,
                f.field or "",
                f"{f.check}/{f.kind}",
                f.masked or "",
                f.message,
            ]
            for f in ordered[:_SHOWN_FINDINGS]
        ]
        lines.append(
            tabulate(rows, headers=["severity", "where", "field", "finding", "value", "detail"])
        )
        hidden = report.omitted + max(0, len(report.findings) - _SHOWN_FINDINGS)
        if hidden:
            lines.append(f"... and {hidden} more findings (write them with --report or --json)")
        lines.append("")
    if report.redaction is not None:
        lines.append(
            f"redacted copy: {report.redaction['path']} "
            f"({report.redaction['replacements']} values replaced)"
        )
    lines.append(report.verdict)
    return "\n".join(lines)
