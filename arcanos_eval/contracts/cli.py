"""``arcanos-eval schema diff OLD NEW``: classify response-schema changes for clients.

Prints a GitHub table of findings (path, change, verdict, reason, counterexample) and exits 1
when any change breaks clients written against OLD, 0 otherwise, 2 on a usage error (a missing
or invalid schema file). The main CLI registers it with :func:`add_parser`::

    from arcanos_eval.contracts.cli import add_parser
    add_parser(subparsers)  # subparsers = parser.add_subparsers(...)
"""

from __future__ import annotations

import argparse
import json

from tabulate import tabulate

from arcanos_eval.contracts._compat import compat
from arcanos_eval.contracts._schema import load_schema
from arcanos_eval.errors import ExitCode

__all__ = ["add_parser", "run_diff"]


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, found {value}")
    return value


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``schema diff OLD NEW`` to an ``add_subparsers()`` object.

    Each parser sets ``handler``: a function of the parsed arguments returning the exit status.
    """
    schema = subparsers.add_parser(
        "schema", help="response schema contracts", description="Response schema contracts."
    )
    actions = schema.add_subparsers(dest="schema_command", metavar="ACTION")
    actions.required = True
    diff = actions.add_parser(
        "diff",
        help="classify changes from OLD to NEW; exit 1 if any breaks clients",
        description="Classify every change from OLD to NEW (JSON or YAML schema files) for "
        "consumers of model outputs: a change is breaking when an output valid "
        "under NEW is invalid under OLD. Exit 1 on a breaking change.",
    )
    diff.add_argument("old", metavar="OLD", help="the schema of record (.json, .yaml)")
    diff.add_argument("new", metavar="NEW", help="the changed schema (.json, .yaml)")
    diff.add_argument(
        "--examples",
        type=_count,
        default=200,
        metavar="N",
        help="generated outputs per confirmation search (default 200; 0: none, "
        "and undecided changes count as breaking)",
    )
    diff.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed of the searches (default 0)"
    )
    diff.add_argument("--breaking-only", action="store_true", help="list only the breaking changes")
    diff.add_argument("--json", action="store_true", help="print the result as JSON")
    diff.set_defaults(handler=run_diff)


def run_diff(args: argparse.Namespace) -> int:
    """Compare ``args.old`` with ``args.new``, print the findings, return the exit status.

    Raises:
        ContractError: a schema file is missing or invalid (the CLI exits with status 2).
    """
    result = compat(
        load_schema(args.old), load_schema(args.new), examples=args.examples, seed=args.seed
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, sort_keys=True))
        return ExitCode.HOLD if result.breaking else ExitCode.PROMOTE
    rows = result.table(breaking_only=args.breaking_only)
    if rows:
        print(tabulate(rows, headers="keys", tablefmt="github"))
        print()
    breaking = len(result.breaking_findings)
    compatible = len(result.findings) - breaking
    if not result.findings:
        print(f"{args.old} -> {args.new}: no differences.")
    else:
        verdict = "BREAKING for clients of OLD" if breaking else "compatible"
        print(
            f"{args.old} -> {args.new}: {breaking} breaking, {compatible} compatible "
            f"change(s): {verdict}."
        )
    return ExitCode.HOLD if result.breaking else ExitCode.PROMOTE
