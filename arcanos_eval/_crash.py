"""What the command line does with an exception nobody raised on purpose: a bug.

A bug is not a verdict: it exits with :attr:`~arcanos_eval.errors.ExitCode.INTERNAL` (70, BSD's
``EX_SOFTWARE``), never 1, which a release pipeline reads as HOLD. The user sees one line naming
the exception and a crash file holding the traceback, written under the project's
``.arcanos/crash/`` (the folder of the nearest configured pyproject.toml, else the current one;
the temporary folder when neither is writable), so a bug report carries what a maintainer needs
without a screen of traceback in every CI log.

Nothing secret reaches the file or the line: the environment is not recorded, and every value of
an environment variable (but paths and short values, which would mask ordinary words) and anything
shaped like an API key is masked wherever the traceback or the message quotes it.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import tempfile
import traceback
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from arcanos_eval._version import __version__

__all__ = ["MASK", "crash_report", "mask_secrets"]

MASK = "***"
# Shorter environment values (``1``, ``true``, ``C.UTF-8``) are words, not secrets.
_MIN_SECRET = 8
_MESSAGE_LIMIT = 300
# Key-shaped text: OpenAI-style keys (``sk-...``, ``sk-proj-...``) and bearer tokens, the word
# ``Bearer`` kept. (A configured key is an environment variable's value, masked as such.)
_KEY_SHAPED = (
    (re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"), MASK),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{12,}"), rf"\g<1>{MASK}"),
)


def _is_path_list(value: str) -> bool:
    """Whether ``value`` is a path or a ``PATH``-like list of them: tracebacks are full of these
    and they are not secrets."""
    return all(os.path.isabs(part) for part in value.split(os.pathsep) if part)


def mask_secrets(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret-looking value replaced by ``***``.

    Masked: the value of every environment variable of at least 8 characters that is not a path,
    and anything shaped like an API key or a bearer token.
    """
    env = os.environ if environ is None else environ
    values = {
        v
        for v in (value.strip() for value in env.values())
        if len(v) >= _MIN_SECRET and not _is_path_list(v)
    }
    for value in sorted(values, key=len, reverse=True):  # a longer value may hold a shorter one
        text = text.replace(value, MASK)
    for pattern, replacement in _KEY_SHAPED:
        text = pattern.sub(replacement, text)
    return text


def _cut(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    """One line, at most ``limit`` characters, saying how long it was when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return f"{flat[:limit]}... ({len(flat)} characters)"


def _describe(exc: BaseException) -> str:
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not hide the bug it reports
        message = "<the exception's message could not be read>"
    return type(exc).__name__ + (f": {message}" if message else "")


def _crash_folders(root: Path | None) -> Iterable[Path]:
    if root is not None:
        yield root / ".arcanos" / "crash"
    yield Path(tempfile.gettempdir()) / "arcanos-eval-crash"


def _write(text: str, root: Path | None) -> Path | None:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    for folder in _crash_folders(root):
        path = folder / f"{stamp}-{os.getpid()}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Only the user may read it: a traceback quotes file contents and arguments.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write(text)
        except OSError:
            continue
        return path
    return None


def crash_report(
    exc: BaseException,
    *,
    argv: Sequence[str],
    root: Path | None,
    verbose: bool = False,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Write the crash file of ``exc`` and return the one line to print (with the masked
    traceback before it when ``verbose``). Never raises.

    Args:
        exc: the exception nobody caught.
        argv: the command line's arguments, recorded in the file.
        root: the project folder (its ``.arcanos/crash/`` gets the file); ``None``: a temporary
            folder.
        verbose: also return the traceback, for ``-v``.
        environ: the environment whose values are masked (default: ``os.environ``).
    """
    try:
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:
        trace = f"{_describe(exc)}\n(the traceback could not be formatted)\n"
    trace = mask_secrets(trace, environ)
    text = (
        f"arcanos-eval {__version__}: internal error\n"
        f"time: {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n"
        f"command: {mask_secrets(' '.join(['arcanos-eval', *argv]), environ)}\n"
        f"python: {sys.version.split()[0]} on {platform.platform()}\n\n"
        f"{trace}"
    )
    path = _write(text, root)
    summary = _cut(mask_secrets(_describe(exc), environ))
    where = (
        f"please report it with the file {path}"
        if path is not None
        else "please report it with the traceback (arcanos-eval -v prints it): no crash file "
        "could be written"
    )
    line = f"arcanos-eval: internal error: {summary}; {where}"
    return f"{trace.rstrip()}\n{line}" if verbose else line
