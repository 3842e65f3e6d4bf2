"""The error tree of arcanos-eval.

Every error the library raises on purpose derives from :class:`ArcanosError`, so a caller (the CLI,
the pytest plugin, a notebook) can catch one type and show a one-line message. Misuse errors also
derive from the matching built-in so ``except ValueError`` (or ``TypeError``, ``LookupError``)
keeps working::

    ArcanosError
    ├── UsageError (ValueError)            bad input from the user: files, flags, config, arguments
    │   ├── ConfigError                    [tool.arcanos_eval] or command-line overrides
    │   ├── SuiteError                     a suite file: names file, line, case and field
    │   │   ├── UnknownCheckError          a check name that no scorer registers
    │   │   └── DuplicateCaseError         the same case id twice in one run
    │   ├── GateConfigError                a gate that cannot be evaluated as written
    │   ├── ArgumentError (TypeError)      a value a library function cannot use (type or range)
    │   │   └── ScorerArgumentError        a check's arguments, at suite load or in a direct call
    │   ├── UnknownNameError (LookupError) a name nothing registers: check, model backend, function
    │   └── UnsupportedError (NotImplementedError)  a backend asked for what it cannot do
    ├── MissingExtraError (ImportError)    an optional package is missing; names the pip extra
    ├── ModelCallError (RuntimeError)      a scorer's own model call (judge, embedder) failed
    ├── ModelAnswerError (ValueError)      a scorer's model answered, but not in a usable shape
    ├── GoldenStoreError (RuntimeError)    a golden store used against the mode it was opened in
    ├── GoldenIntegrityError               a golden record edited after recording, never sealed, or twice
    ├── LoopbackServerError (RuntimeError) the loopback OpenAI-protocol test server cannot serve
    ├── ReplayMissingError                 replay mode, and recordings are missing
    ├── EndpointError                      pre-flight: a model server cannot be reached (exit 3)
    └── RunLogError                        a run log that cannot be read or resumed

Model errors are not usage errors: a scorer turns them into a failed check with a reason, so they
reach a caller only from a direct call (``grade``, ``ask_json``) in a notebook.

A message says what was expected, what was found and where.

Exit statuses (:class:`ExitCode`) of every command; pytest exits 0, 1 and 3 for the same verdicts
(its own usage and internal errors keep pytest's statuses):

====  ===========  ===============================================================================
0     PROMOTE      every gate passed and the run is complete (or a command that decides nothing
                   succeeded)
1     HOLD         a gate failed, the run is partial or interrupted, a case regressed (``diff``)...
2     USAGE        an :class:`ArcanosError`: files, flags, configuration, missing recordings
3     ERRORED      some model calls errored: the evidence is incomplete
70    INTERNAL     an uncaught exception, a bug (BSD's ``EX_SOFTWARE``): one line names the crash
                   file holding its traceback (``arcanos-eval -v`` prints it too)
130   INTERRUPTED  Ctrl-C (128 + SIGINT)
====  ===========  ===============================================================================

A bug never exits 1: a pipeline reading 1 as HOLD must not mistake a crash for a verdict.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from enum import IntEnum
from pathlib import Path

# A message is one line of readable size, whatever the file held: a problem text longer than this
# is cut (its values are cut much shorter where they are quoted).
_MAX_PROBLEM = 1000

__all__ = [
    "ArcanosError",
    "ArgumentError",
    "ConfigError",
    "DuplicateCaseError",
    "EndpointError",
    "ExitCode",
    "GateConfigError",
    "GoldenIntegrityError",
    "GoldenStoreError",
    "LoopbackServerError",
    "MissingExtraError",
    "ModelAnswerError",
    "ModelCallError",
    "ReplayMissingError",
    "RunLogError",
    "ScorerArgumentError",
    "SuiteError",
    "UnknownCheckError",
    "UnknownNameError",
    "UnsupportedError",
    "UsageError",
    "quote",
    "shorten",
    "unknown_name_message",
]


class ArcanosError(Exception):
    """Root of every error arcanos-eval raises on purpose."""


class UsageError(ArcanosError, ValueError):
    """The user asked for something that cannot be done as written (exit status 2 in the CLI)."""


class ConfigError(UsageError):
    """Invalid configuration in ``[tool.arcanos_eval]`` or on the command line.

    ``others`` holds the further problems found beside this one, each a line of its own (the
    schema checks the whole table at once): ``arcanos-eval validate`` shows them all.
    """

    def __init__(self, message: str, *, others: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.others = tuple(others)


class SuiteError(UsageError):
    """A suite file is malformed.

    The message starts with ``file:line`` and names the case and field when they are known, so an
    editor or CI log links straight to the problem.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        case_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.case_id = case_id
        self.field = field
        # One line, whatever the parser or the file put in the problem: an editor or a CI log
        # shows the first line only.
        self.problem = shorten(" ".join(message.splitlines()), _MAX_PROBLEM)
        where = []
        if self.path is not None:
            where.append(f"{self.path}:{line}" if line is not None else self.path)
        if case_id is not None:
            where.append(f"case {quote(case_id, 200)}")
        if field:
            where.append(f"field {quote(field, 200)}")
        super().__init__(f"{', '.join(where)}: {self.problem}" if where else self.problem)


class UnknownCheckError(SuiteError):
    """A suite names a check that no registered scorer provides."""


class DuplicateCaseError(SuiteError):
    """Two cases of one run share an id (ids must be unique within a suite id)."""


class GateConfigError(UsageError):
    """A gate specification that cannot be evaluated.

    ``field`` is where it was written in ``[tool.arcanos_eval]``, as TOML keys (``("gates",
    "pass_rat")``), when known: a caller that holds the pyproject.toml can name its line.
    """

    def __init__(self, message: str, *, field: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.field = field


class ArgumentError(UsageError, TypeError):
    """A function of the library was called with a value it cannot use, by type or by range.

    Both a ``ValueError`` and a ``TypeError``, so callers written against either keep working.
    """


class ScorerArgumentError(ArgumentError):
    """A check's arguments that its scorer cannot take: raised when a suite binds the check (the
    loader reports it with file and line) or when a notebook calls the scorer directly."""


class UnknownNameError(UsageError, LookupError):
    """A name that nothing registers: a check, a model backend, a ``python:`` check function.

    The message suggests the nearest known names.
    """


class UnsupportedError(UsageError, NotImplementedError):
    """A component asked for something it does not provide (embeddings through a run target)."""


class MissingExtraError(ArcanosError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install`` extra.

    Not a ``ValueError``: a suite naming ``embedder: local`` is valid as written, and the loader
    must not report the missing package as a bad check argument.
    """


class ModelCallError(ArcanosError, RuntimeError):
    """A call a model-backed scorer made (judge, embedder, moderation) failed after retries."""


class ModelAnswerError(ArcanosError, ValueError):
    """A model-backed scorer's model answered, but not in the shape the scorer needs."""


class GoldenStoreError(ArcanosError, RuntimeError):
    """A golden store asked to do what the mode it was opened in forbids (write while replaying)."""


class GoldenIntegrityError(ArcanosError):
    """A golden record that must not be replayed: its content hash does not match (it was edited
    after recording), it has none (recorded before records were sealed), or its request is recorded
    twice with different answers. The message starts with ``file:line``."""


class LoopbackServerError(ArcanosError, RuntimeError):
    """The loopback OpenAI-protocol server of :mod:`arcanos_eval.testing` could not start."""


class ReplayMissingError(ArcanosError):
    """Replay mode was asked for, and some requests have no recording."""


class EndpointError(ArcanosError):
    """The pre-flight check before a run's first model call found a server that cannot be
    reached (refused connection, unknown host, no answer) or refuses the key: the run stops
    before any call, with exit status 3 (the calls would all have errored), not 2."""


class RunLogError(ArcanosError):
    """A run log that cannot be read, or does not match the run it should resume."""


class ExitCode(IntEnum):
    """The exit status of every command, the CLI's and pytest's alike.

    ``PROMOTE`` is also plain success of a command that decides nothing (``validate``), and
    ``HOLD`` the negative answer of one that does (gates failed, a case regressed in ``diff``, a
    breaking schema change, a training-data check that failed).
    """

    PROMOTE = 0
    HOLD = 1
    USAGE = 2  # an ArcanosError: files, flags, configuration, missing recordings
    ERRORED = 3  # model calls errored: the evidence is incomplete
    INTERNAL = 70  # an uncaught exception, a bug (EX_SOFTWARE); never 1, which reads as HOLD
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    BROKEN_PIPE = 141  # the reader of stdout went away (`| head`), as a shell reports SIGPIPE


def unknown_name_message(kind: str, name: object, known: Iterable[str]) -> str:
    """``unknown check 'refusl' (did you mean 'refusal'?)``: one phrasing for every name lookup."""
    text = str(name)
    # A name far longer than any known one is like none of them (and not worth comparing).
    close = [] if len(text) > 200 else difflib.get_close_matches(text, list(known), n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    shown = quote(name) if isinstance(name, str) else shorten(repr(name))
    return f"unknown {kind} {shown}{hint}"


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, then ``… (N characters)``: a value of any size (a
    10 MB id, a pasted answer) fits in a one-line message and still says how long it was.

    Example:
        >>> shorten("x" * 10_000, 5)
        'xxxxx… (10,000 characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def quote(text: str, limit: int = 60) -> str:
    """``repr(text)``, cut as :func:`shorten` does: control characters and newlines escaped.

    Example:
        >>> quote("id-" + "x" * 100, 5)
        "'id-xx…' (103 characters)"
    """
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit] + '…'!r} ({len(text):,} characters)"
