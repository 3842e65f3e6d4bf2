"""``arcanos-eval``: the command line.

Exit statuses (:class:`~arcanos_eval.errors.ExitCode`): 0 promote (or success), 1 gates failed,
2 usage or configuration error, 3 calls errored, 70 internal error (a bug), 130 interrupted (Ctrl-C;
a run's log is then resumable, and the line says how), 141 stdout closed by its reader. User errors
print as one ``arcanos-eval: error: ...`` line, never a traceback; a bug prints one
``arcanos-eval: internal error: ...`` line naming the crash file that holds its traceback (``-v``
prints the traceback too).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tabulate import tabulate

from arcanos_eval._crash import crash_report
from arcanos_eval._gc import bulk_work, skip_final_collection
from arcanos_eval._version import __version__
from arcanos_eval.config import RunConfig, find_pyproject, load_config
from arcanos_eval.contracts.cli import add_parser as add_schema_parser
from arcanos_eval.data.cli import add_parser as add_data_parser
from arcanos_eval.errors import ArcanosError, ConfigError, EndpointError, ExitCode
from arcanos_eval.golden import prune_golden, seal_golden, verify_golden
from arcanos_eval.options import add_cli_options, overrides_from
from arcanos_eval.report.cli import add_parsers as add_report_parsers
from arcanos_eval.report.evaluation import PartialRun, partial_run
from arcanos_eval.run import RunInterrupted, plan_run_cost, summarize
from arcanos_eval.runlog import read_run_log
from arcanos_eval.session import ArcanosSession
from arcanos_eval.startup import MAX_PROBLEMS, check_startup
from arcanos_eval.suite.loader import SUITE_SCHEMA_PATH, load_suites

__all__ = ["build_parser", "main"]

Command = Callable[[argparse.Namespace], int]


def _relative(path: Path | None) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    if path is None:
        return ""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.schema_path:
        print(SUITE_SCHEMA_PATH)
        return ExitCode.PROMOTE
    try:
        config = load_config(args.config, suites=args.paths or None)
    except ConfigError as exc:  # every problem of the table, if the schema found several
        return _problems([str(exc), *exc.others])
    startup = check_startup(config)
    if startup.problems:
        return _problems([str(p) for p in startup.problems])
    suites = startup.suites
    rows = [
        (
            suite.id,
            ", ".join(suite.categories),
            len(suite.cases),
            ", ".join(suite.check_names),
            _relative(suite.path),
        )
        for suite in suites
    ]
    print(
        tabulate(
            rows, headers=["suite", "category", "cases", "checks used", "file"], tablefmt="github"
        )
    )
    total = sum(len(s.cases) for s in suites)
    targets = ", ".join(f"{t.name}={t.model}" for t in config.active_targets) or "none configured"
    graders = ", ".join(f"{n}={t.model}" for n, t in config.targets.items() if t.scorer_only)
    print(
        f"\n{len(suites)} suites, {total} cases: valid. Targets: {targets}."
        + (f" Consulted by checks: {graders}." if graders else "")
    )
    return ExitCode.PROMOTE


def _problems(lines: Sequence[str]) -> int:
    """Every problem on a line of its own (``MAX_PROBLEMS`` at most, then how many more)."""
    for line in lines[:MAX_PROBLEMS]:
        print(f"arcanos-eval: error: {line}", file=sys.stderr)
    if len(lines) > MAX_PROBLEMS:
        print(f"arcanos-eval: error: ... and {len(lines) - MAX_PROBLEMS} more", file=sys.stderr)
    return ExitCode.USAGE


def _run_config(args: argparse.Namespace) -> RunConfig:
    return load_config(args.config, **overrides_from(vars(args)))


def _cmd_run(args: argparse.Namespace) -> int:
    if args.dry_run:
        config = _run_config(args)
        print(plan_run_cost(config, load_suites(config.suites, roots=config.roots)).render())
        return ExitCode.PROMOTE
    session = ArcanosSession.open(_run_config(args))
    log = session.run(progress=not args.quiet)
    print(
        tabulate(
            summarize(log),
            headers=["suite", "target", "answers", "passed", "failed", "errored"],
            tablefmt="github",
        )
    )
    print(f"\n{session.stats_line()}")
    golden = session.golden_line()
    if golden is not None:
        print(golden)
    print(session.publish(json_path=args.json, html_path=args.html, charts_dir=args.charts))
    for line in session.stopped_targets:
        print(f"arcanos-eval: error: {line}", file=sys.stderr)
    if session.budget_line is not None:
        print(f"arcanos-eval: {session.budget_line}", file=sys.stderr)
    return session.exit_status


def _cmd_golden_verify(args: argparse.Namespace) -> int:
    config = load_config(args.config, golden=args.golden, targets=args.targets)
    suites = load_suites(args.suites or config.suites, roots=config.roots)
    problems = verify_golden(config, suites)
    if problems:
        print(
            tabulate(
                [(p.kind, p.where, p.detail) for p in problems],
                headers=["problem", "where", "detail"],
                tablefmt="github",
            )
        )
        print(f"\n{len(problems)} problem(s) in {config.golden}")
        return ExitCode.HOLD
    print(f"{config.golden}: every planned answer is recorded, intact, with provenance.")
    return ExitCode.PROMOTE


def _cmd_golden_prune(args: argparse.Namespace) -> int:
    config = load_config(args.config, golden=args.golden, targets=args.targets)
    suites = load_suites(args.suites or config.suites, roots=config.roots)
    removed = prune_golden(config, suites, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{config.golden}: {verb} {removed} stale recording(s)")
    return ExitCode.PROMOTE


def _cmd_golden_seal(args: argparse.Namespace) -> int:
    config = load_config(args.config, golden=args.golden)
    count = seal_golden(config.golden, dry_run=args.dry_run)
    verb = "would seal" if args.dry_run else "sealed"
    print(
        f"{config.golden}: {verb} {count.sealed} record(s) that had no content hash "
        f"({count.already} already sealed)"
    )
    if count.edited:
        for path, line in count.edited:
            print(f"{_relative(path)}:{line}: content hash mismatch, left as it is")
        print(
            f"{len(count.edited)} record(s) were edited after recording: restore them, or delete "
            "them and record them again (arcanos-eval golden verify lists them)"
        )
        return ExitCode.HOLD
    return ExitCode.PROMOTE


def build_parser() -> argparse.ArgumentParser:
    """The ``arcanos-eval`` argument parser (subcommands register themselves here)."""
    parser = argparse.ArgumentParser(
        prog="arcanos-eval",
        description="Decide whether a fine-tuned model may replace its base model.",
    )
    parser.add_argument("--version", action="version", version=f"arcanos-eval {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="say what the pre-flight check skipped, and on an internal error (a bug) print "
        "its traceback too (before the command)",
    )
    parser.add_argument(
        "--config",
        metavar="PYPROJECT",
        default=None,
        help="pyproject.toml holding [tool.arcanos_eval] (default: nearest one)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    validate = sub.add_parser(
        "validate",
        help="run every check a run makes before its first call (no model is called): list every "
        "problem, or what the suites hold",
    )
    validate.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="suite files or folders (default: the configured suites)",
    )
    validate.add_argument(
        "--schema-path",
        action="store_true",
        help="print where the suite JSON Schema is installed (for editors) and exit",
    )
    validate.set_defaults(handler=_cmd_validate)

    run = sub.add_parser("run", help="run suites against the targets and write a run log")
    add_cli_options(run)
    run.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print the calls each target would get (after golden and the cache) with their "
        "estimated tokens and cost, and exit without calling any model",
    )
    run.set_defaults(handler=_cmd_run)

    add_report_parsers(sub)
    add_schema_parser(sub)
    add_data_parser(sub)

    golden = sub.add_parser("golden", help="verify, prune or seal the golden recordings")
    golden_sub = golden.add_subparsers(dest="golden_command", metavar="ACTION")
    golden_sub.required = True
    for name, handler, text in (
        ("verify", _cmd_golden_verify, "check recordings: intact, provenance, coverage"),
        ("prune", _cmd_golden_prune, "remove recordings no planned request matches"),
        ("seal", _cmd_golden_seal, "add the content hash to recordings made without one"),
    ):
        action = golden_sub.add_parser(name, help=text)
        if name != "seal":
            action.add_argument("suites", nargs="*", metavar="SUITE")
            action.add_argument("--targets", metavar="A,B", help="comma-separated targets")
        action.add_argument("--golden", metavar="DIR", help="golden store folder")
        if name != "verify":
            action.add_argument("--dry-run", action="store_true", help="only count")
        action.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Command = args.handler
    skip_final_collection()
    try:
        with bulk_work(), _notes(args.verbose):
            return handler(args)
    except EndpointError as exc:  # no call could be made: the evidence is missing, not the input
        print(f"arcanos-eval: error: {exc}", file=sys.stderr)
        return ExitCode.ERRORED
    except ArcanosError as exc:
        print(f"arcanos-eval: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt as exc:
        print(_interrupted(exc), file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say to it
        # Python flushes stdout again at exit; point it at devnull so that flush is silent.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    except OSError as exc:
        if exc.filename is None:  # not about a path the user gave: a bug, handled below
            return _internal_error(exc, argv, args)
        # A path that cannot be read or written (a report in a missing or read-only folder).
        print(f"arcanos-eval: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return ExitCode.USAGE
    except Exception as exc:
        return _internal_error(exc, argv, args)


@contextlib.contextmanager
def _notes(verbose: bool) -> Iterator[None]:
    """With ``-v``, the notes of the ``arcanos_eval`` logger (what the pre-flight check skipped)
    go to stderr while the command runs, one ``arcanos-eval: ...`` line each."""
    if not verbose:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("arcanos-eval: %(message)s"))
    logger = logging.getLogger("arcanos_eval")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _internal_error(
    exc: BaseException, argv: Sequence[str] | None, args: argparse.Namespace
) -> int:
    """A bug: its own status, never HOLD's 1, and a file to report."""
    line = crash_report(
        exc,
        argv=sys.argv[1:] if argv is None else argv,
        root=_project_root(args.config),
        verbose=args.verbose,
    )
    print(line, file=sys.stderr)
    return ExitCode.INTERNAL


def _project_root(config: str | None) -> Path | None:
    """The folder whose ``.arcanos/`` gets a crash file: the configuration's, else the current
    one."""
    try:
        pyproject = Path(config) if config else find_pyproject(Path.cwd())
        return (pyproject.parent if pyproject is not None else Path.cwd()).resolve()
    except Exception:  # the crash may have come from here: the temporary folder then
        return None


def _interrupted(exc: KeyboardInterrupt) -> str:
    log = exc.log if isinstance(exc, RunInterrupted) else None
    if log is None:
        return "arcanos-eval: interrupted"
    shown = _relative(log)
    partial = PartialRun(0, None, shown)
    what = f"the run log {shown} keeps every answer so far"
    try:
        counted = partial_run(read_run_log(log), shown)
    except (ArcanosError, OSError, KeyboardInterrupt):  # unreadable, or Ctrl-C again: no counts
        counted = None
    if counted is not None:
        partial, what = counted, counted.counts
    return (
        f"arcanos-eval: interrupted: {what}; resume with: {partial.resume_command} "
        "(with this run's other options)"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
