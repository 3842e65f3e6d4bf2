r"""Regular expressions from suites, matched on model answers within a time limit.

A suite's pattern meets text that nobody has read: a model's answer. Python's ``re`` backtracks
without limit and does not look at signals while it matches, so ``(a|aa)+$`` on forty ``a`` and a
``!`` runs for minutes at full CPU and not even Ctrl-C stops it. Patterns are compiled with the
``regex`` package in its ``VERSION0`` mode, which keeps ``re``'s syntax and behaviour, and the
matches of one check get :data:`PATTERN_TIMEOUT_S` seconds in all: ``regex`` stops a match that
runs longer (it counts the processor time of its C matcher, so on a loaded machine the clock shows
more), and the check then fails with the reason ``pattern timed out after 1 s`` instead of hanging
the run. The matcher also looks for signals, so Ctrl-C interrupts a long match. ``regex`` rules out
some patterns that are catastrophic for ``re`` directly: ``(a+)+$`` fails at once.

Where ``VERSION0`` differs from ``re``, it accepts more: ``\p{L}`` and POSIX classes such as
``[[:alpha:]]`` (a plain set in ``re``, with a warning).

Patterns are compiled once per (pattern, flags), when a suite is loaded: a pattern that does not
compile, or is longer than :data:`PATTERN_CHARS` (compiling takes about 20 µs a character), is an
error of the suite, not of a run.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

import regex as _regex

from arcanos_eval.errors import ScorerArgumentError

__all__ = [
    "PATTERN_CHARS",
    "PATTERN_TIMEOUT_S",
    "Deadline",
    "compile_pattern",
    "shown_pattern",
    "timed_out_reason",
]

#: Seconds (of processor time) one check may spend matching its patterns against an answer.
PATTERN_TIMEOUT_S = 1.0
#: The longest pattern a check may give.
PATTERN_CHARS = 10_000

# ``re`` and ``regex`` number some flags differently (``re.ASCII`` is ``regex.VERSION1``): flags
# given as an ``re`` int are translated by name.
_FLAG_NAMES = ("IGNORECASE", "LOCALE", "MULTILINE", "DOTALL", "UNICODE", "VERBOSE", "ASCII")


def _regex_flags(flags: int) -> int:
    value = 0
    left = flags
    for name in _FLAG_NAMES:
        bit = int(getattr(re, name))
        if flags & bit:
            value |= int(getattr(_regex, name))
            left &= ~bit
    if left:
        raise ScorerArgumentError(f"unsupported regex flag bits {left:#x} in {flags}")
    return value | _regex.VERSION0


def compile_pattern(pattern: str, flags: int = 0) -> _regex.Pattern[str]:
    """``pattern`` compiled with ``re`` semantics, for matching under a time limit (compiled once
    per pattern and flags).

    Args:
        pattern: A Python regular expression.
        flags: ``re`` flags (``re.IGNORECASE | re.MULTILINE``...).

    Raises:
        ScorerArgumentError: the pattern is not a string, is too long, or does not compile.

    Example:
        >>> compile_pattern(r"#\\d{4}").search("Ticket #4821", timeout=PATTERN_TIMEOUT_S).group()
        '#4821'
    """
    if not isinstance(pattern, str):
        raise ScorerArgumentError(f"pattern must be a string, found {type(pattern).__name__}")
    if isinstance(flags, bool) or not isinstance(flags, int):
        raise ScorerArgumentError(f"flags must be an int, found {type(flags).__name__}")
    if len(pattern) > PATTERN_CHARS:
        raise ScorerArgumentError(
            f"pattern is {len(pattern):,} characters long ({pattern[:40]!r}...); "
            f"at most {PATTERN_CHARS:,} are allowed"
        )
    return _compiled(pattern, flags)


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str, flags: int) -> _regex.Pattern[str]:
    try:
        return _regex.compile(pattern, _regex_flags(flags))
    except (_regex.error, ValueError, OverflowError) as exc:
        raise ScorerArgumentError(f"invalid regular expression {_shown(pattern)}: {exc}") from None
    except RecursionError:
        raise ScorerArgumentError(
            f"invalid regular expression {_shown(pattern)}: nested too deeply"
        ) from None


def _shown(pattern: str) -> str:
    return repr(pattern) if len(pattern) <= 80 else f"{pattern[:60]!r}... ({len(pattern):,} chars)"


def shown_pattern(pattern: str, limit: int = 80) -> str:
    """``pattern`` as a reason quotes it (``/.../``): as written, cut at ``limit`` characters."""
    return f"/{pattern}/" if len(pattern) <= limit else f"/{pattern[: limit - 3]}.../"


def timed_out_reason(limit_s: float = PATTERN_TIMEOUT_S) -> str:
    """The reason of a check whose pattern ran out of time."""
    return f"pattern timed out after {limit_s:g} s"


class Deadline:
    """The time a check has left for its matches: every match of one check shares one budget.

    Example:
        >>> Deadline().left() <= PATTERN_TIMEOUT_S
        True
    """

    def __init__(self, limit_s: float = PATTERN_TIMEOUT_S) -> None:
        self.limit_s = limit_s
        self._ends = time.monotonic() + limit_s

    def left(self) -> float:
        """Seconds left, never quite 0 (``regex`` takes ``timeout=0`` as a real limit, and a
        match that is quick must still get its chance)."""
        return max(self._ends - time.monotonic(), 0.001)

    def search(self, compiled: _regex.Pattern[str], text: str) -> Any:
        """``compiled.search(text)`` within the time left.

        Raises:
            TimeoutError: the match ran out of time.
        """
        return compiled.search(text, timeout=self.left())

    def fullmatch(self, compiled: _regex.Pattern[str], text: str) -> Any:
        """``compiled.fullmatch(text)`` within the time left.

        Raises:
            TimeoutError: the match ran out of time.
        """
        return compiled.fullmatch(text, timeout=self.left())
