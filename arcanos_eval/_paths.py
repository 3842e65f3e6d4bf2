"""Paths written in suite files and in ``[tool.arcanos_eval]`` stay inside the project root.

The project root is the folder holding the configuration (the pyproject.toml with a
``[tool.arcanos_eval]`` table). A path a suite or the configuration names (a response schema, a
prompt file, the suites, golden, cache, log and report folders) must resolve, symlinks followed,
inside it or inside a folder listed in ``[tool.arcanos_eval] allowed_roots``; otherwise it is
refused before anything is read or written there. A path typed on the command line (``--log``, a
suite given to ``arcanos-eval run`` or pytest) is the user's own choice and is not confined.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["ALLOWED_ROOTS", "ProjectRoots"]

ALLOWED_ROOTS = "[tool.arcanos_eval] allowed_roots"
_SHOWN = 120  # characters of a path shown in a message; a longer one is cut and its length given


def shown(text: str) -> str:
    """``text`` quoted for a message, cut to a prefix and its length when long."""
    if len(text) <= _SHOWN:
        return repr(text)
    return f"{text[:_SHOWN]!r}... ({len(text)} characters)"


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        return None


@dataclass(frozen=True)
class ProjectRoots:
    """The project root and the other folders paths may lie in, each resolved."""

    project: Path
    allowed: tuple[Path, ...] = ()

    @classmethod
    def of(cls, project: Path, allowed: Iterable[str | Path] = ()) -> ProjectRoots:
        """The roots of the project at ``project``; ``allowed`` entries are relative to it or
        absolute."""
        root = project.resolve()
        return cls(root, tuple(dict.fromkeys((root / entry).resolve() for entry in allowed)))

    def with_allowed(self, folder: Path) -> ProjectRoots:
        """These roots and ``folder`` (resolved) too, unless it already lies inside one."""
        if self.contains(folder):
            return self
        return replace(self, allowed=tuple(dict.fromkeys((*self.allowed, folder.resolve()))))

    def outside(self, path: Path, written: str | None = None) -> str | None:
        """``None`` when ``path`` (symlinks resolved) lies inside a root; otherwise why not, as a
        message naming the setting that allows another root. ``written`` is the path as the user
        wrote it, for the message (default: ``path``)."""
        resolved = _resolved(path)
        written = str(path) if written is None else written
        if resolved is None:
            return f"{shown(written)} cannot be resolved (a symlink loop?)"
        if any(resolved.is_relative_to(root) for root in (self.project, *self.allowed)):
            return None
        where = f"the project root {self.project}"
        if self.allowed:
            where += " and the allowed roots " + ", ".join(str(p) for p in self.allowed)
        target = "" if str(resolved) == written else f" (resolves to {shown(str(resolved))})"
        return (
            f"{shown(written)}{target} is outside {where}; add its folder to {ALLOWED_ROOTS} "
            "to allow it"
        )

    def contains(self, path: Path) -> bool:
        """Whether ``path`` (symlinks resolved) lies inside a root."""
        return self.outside(path) is None
