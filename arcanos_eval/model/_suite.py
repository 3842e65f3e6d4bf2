"""Suites, cases and checks as frozen values. The loader builds them; everything else reads them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["BUILTIN_CATEGORIES", "REDUCERS", "Case", "Check", "Reducer", "Suite", "reduce_repeats"]

BUILTIN_CATEGORIES = ("happy_path", "multi_intent", "adversarial")

Reducer = Literal["all", "majority", "any", "mean"]
REDUCERS: tuple[Reducer, ...] = ("all", "majority", "any", "mean")


def reduce_repeats(reducer: str, passes: Iterable[bool]) -> float:
    """The pass value of one case from its repeats' pass/fail, in [0, 1].

    ``all`` (the default): 1 when every repeat passed. ``majority``: 1 when more than half of
    them passed (a tie fails). ``any``: 1 when at least one passed (pass@k, k = the repeats).
    ``mean``: the share of repeats that passed, a fraction. No repeat gives 0.

    Example:
        >>> [reduce_repeats(r, [True, True, False]) for r in ("all", "majority", "any")]
        [0.0, 1.0, 1.0]
        >>> round(reduce_repeats("mean", [True, True, False]), 3)
        0.667
    """
    outcomes = list(passes)
    if not outcomes:
        return 0.0
    passed = sum(outcomes)
    if reducer == "mean":
        return passed / len(outcomes)
    if reducer == "any":
        return 1.0 if passed else 0.0
    if reducer == "majority":
        return 1.0 if 2 * passed > len(outcomes) else 0.0
    return 1.0 if passed == len(outcomes) else 0.0


@dataclass(frozen=True)
class Check:
    """One check of a case: the scorer's registered name and the arguments the suite gave it.

    A check holds no function: the scoring step looks the scorer up by ``name`` (see
    ``arcanos_eval.scorers._registry.score_check``), so the model does not depend on the registry.
    The loader has already bound ``args`` to the scorer's signature, so a bad check never gets
    this far. A custom ``python:`` check is named ``python:package.module:function``.
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "args": dict(self.args)}


@dataclass(frozen=True)
class Case:
    """One input with its checks. ``messages`` always holds the conversation to send (the system
    prompt is the target's and is prepended at call time). ``reduce`` says how the answers of
    ``repeats`` repeats become the case's one outcome (see :func:`reduce_repeats`)."""

    id: str
    suite_id: str
    category: str
    messages: tuple[Mapping[str, Any], ...]
    checks: tuple[Check, ...] = ()
    tools: tuple[Mapping[str, Any], ...] = ()
    tags: tuple[str, ...] = ()
    latency_ms: float | None = None
    repeats: int = 1
    reduce: Reducer = "all"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    xfail: str | None = None
    response_schema: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    path: Path | None = None
    line: int | None = None

    @property
    def key(self) -> str:
        """``suite-id::case-id``: unique within a run."""
        return f"{self.suite_id}::{self.id}"

    @property
    def input(self) -> str:
        """The last user message as text (what a report shows as the prompt)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                content = message.get("content")
                return content if isinstance(content, str) else str(content)
        return ""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


@dataclass(frozen=True)
class Suite:
    """A file of cases sharing an id, version, category and optional response schema."""

    id: str
    version: str
    category: str
    cases: tuple[Case, ...]
    description: str = ""
    response_schema: Mapping[str, Any] | None = field(default=None, repr=False)
    response_schema_path: Path | None = None
    path: Path | None = None

    @property
    def categories(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for case in self.cases:
            seen.setdefault(case.category, None)
        return tuple(seen)

    @property
    def check_names(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for case in self.cases:
            for check in case.checks:
                seen.setdefault(check.name, None)
        return tuple(seen)
