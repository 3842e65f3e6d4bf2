"""The error tree of arcanos-eval.

Every error the library raises on purpose derives from :class:`ArcanosError`, so a caller (the CLI,
the pytest plugin, a notebook) can catch one type and show a one-line message. Misuse errors also
derive from the matching built-in so ``except ValueError`` keeps working::

    ArcanosError
    ├── UsageError (ValueError)            bad input from the user: files, flags, config
    │   ├── ConfigError                    [tool.arcanos_eval] or command-line overrides
    │   ├── SuiteError                     a suite file: names file, line, case and field
    │   │   ├── UnknownCheckError          a check name that no scorer registers
    │   │   └── DuplicateCaseError         the same case id twice in one run
    │   └── GateConfigError                a gate that cannot be evaluated as written
    ├── ReplayMissingError                 replay mode, and recordings are missing
    └── RunLogError                        a run log that cannot be read or resumed

A message says what was expected, what was found and where.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "ArcanosError",
    "ConfigError",
    "DuplicateCaseError",
    "GateConfigError",
    "ReplayMissingError",
    "RunLogError",
    "SuiteError",
    "UnknownCheckError",
    "UsageError",
    "unknown_name_message",
]


class ArcanosError(Exception):
    """Root of every error arcanos-eval raises on purpose."""


class UsageError(ArcanosError, ValueError):
    """The user asked for something that cannot be done as written (exit status 2 in the CLI)."""


class ConfigError(UsageError):
    """Invalid configuration in ``[tool.arcanos_eval]`` or on the command line."""


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
        self.problem = message
        where = []
        if self.path is not None:
            where.append(f"{self.path}:{line}" if line is not None else self.path)
        if case_id is not None:
            where.append(f"case {case_id!r}")
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class UnknownCheckError(SuiteError):
    """A suite names a check that no registered scorer provides."""


class DuplicateCaseError(SuiteError):
    """Two cases of one run share an id (ids must be unique within a suite id)."""


class GateConfigError(UsageError):
    """A gate specification that cannot be evaluated."""


class ReplayMissingError(ArcanosError):
    """Replay mode was asked for, and some requests have no recording."""


class RunLogError(ArcanosError):
    """A run log that cannot be read, or does not match the run it should resume."""


def unknown_name_message(kind: str, name: object, known: Iterable[str]) -> str:
    """``unknown check 'refusl' (did you mean 'refusal'?)``: one phrasing for every name lookup."""
    close = difflib.get_close_matches(str(name), list(known), n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}"
