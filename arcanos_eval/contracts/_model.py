"""The result of a compatibility check: findings, each breaking or compatible, with evidence."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Compatibility", "Finding"]

_CELL = 80


@dataclass(frozen=True)
class Finding:
    """One difference between an old and a new schema, classified for consumers of outputs.

    Attributes:
        path: where the difference is, as a JSON path into the new schema
            (``$.properties.action``); for something only the old schema has, the path it had.
        kind: what changed, e.g. ``property_removed``, ``required_added``, ``enum_value_added``,
            ``type_widened``, ``max_length_loosened``, ``anyof_branch_added``.
        breaking: whether some output valid under the new schema is invalid under the old one
            because of this difference.
        reason: why it breaks clients, or why it does not.
        counterexample: for a breaking finding, a document valid under the new schema and invalid
            under the old one, when one was found; otherwise ``None``.
        has_counterexample: tells a found counterexample that is JSON ``null`` from none found.
    """

    path: str
    kind: str
    breaking: bool
    reason: str
    counterexample: Any | None = None
    has_counterexample: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``counterexample`` is present only when one was found."""
        out: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "breaking": self.breaking,
            "reason": self.reason,
        }
        if self.has_counterexample:
            out["counterexample"] = self.counterexample
        return out


@dataclass(frozen=True)
class Compatibility:
    """Every difference between two schemas, and whether any of them breaks clients.

    Attributes:
        breaking: ``True`` when at least one finding is breaking.
        findings: the differences, in the order of the new schema.
        examples: how many generated outputs each confirmation search could try.
        seed: the seed of those searches; the same seed gives the same counterexamples.

    Example:
        >>> from arcanos_eval.contracts import compat
        >>> old = {"type": "object", "properties": {"n": {"type": "integer"}}}
        >>> new = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}}
        >>> result = compat(old, new, examples=20)
        >>> result.breaking, [f.kind for f in result.findings]
        (False, ['minimum_added'])
    """

    breaking: bool
    findings: tuple[Finding, ...] = ()
    examples: int = 0
    seed: int = 0

    @property
    def breaking_findings(self) -> tuple[Finding, ...]:
        """Only the findings that break clients."""
        return tuple(f for f in self.findings if f.breaking)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict for run logs and JSON reports."""
        return {
            "breaking": self.breaking,
            "examples": self.examples,
            "seed": self.seed,
            "findings": [f.to_dict() for f in self.findings],
        }

    def table(self, *, breaking_only: bool = False) -> list[dict[str, str]]:
        """Rows for ``tabulate(rows, headers="keys")``: path, change, verdict, reason, example.

        Args:
            breaking_only: leave out compatible findings.

        Example:
            >>> from tabulate import tabulate
            >>> print(tabulate(Compatibility(False).table(), headers="keys"))
            <BLANKLINE>
        """
        rows: list[dict[str, str]] = []
        for finding in self.findings:
            if breaking_only and not finding.breaking:
                continue
            example = ""
            if finding.has_counterexample:
                example = json.dumps(
                    finding.counterexample,
                    ensure_ascii=False,
                    separators=(",", ":"),
                    sort_keys=True,
                )
                if len(example) > _CELL:
                    example = example[: _CELL - 3] + "..."
            rows.append(
                {
                    "path": finding.path,
                    "change": finding.kind,
                    "verdict": "breaking" if finding.breaking else "compatible",
                    "reason": finding.reason,
                    "counterexample": example,
                }
            )
        return rows
