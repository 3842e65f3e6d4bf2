"""What a keyword handler of the schema comparison receives: one old and one new node.

The walker (:mod:`._diff`) meets two nodes at the same instance path and hands them, as a
:class:`Pair`, to the handler of each keyword in its table. A handler returns the drafts for its
keywords and nothing else; for a keyword that holds subschemas it calls :meth:`Pair.compare`, which
walks on with the same ``$ref`` stack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from arcanos_eval.contracts._nodes import Draft, Impact, InstancePath, Side, covered
from arcanos_eval.contracts._schema import SchemaDocument

__all__ = ["Handler", "Pair", "Stack", "Walk"]

# The (old, new) node pairs being compared on the way down, by identity: ends $ref loops.
Stack = frozenset[tuple[int, int]]


class Walk(Protocol):
    """The walker as handlers see it: the two documents and the way down."""

    old: SchemaDocument
    new: SchemaDocument

    def compare(self, old: Side, new: Side, at: InstancePath, stack: Stack) -> list[Draft]: ...

    def effective_types(
        self, document: SchemaDocument, side: Side, depth: int = 0
    ) -> frozenset[str] | None: ...


@dataclass(frozen=True)
class Pair:
    """An old and a new schema node met at instance path ``at``.

    Both schemas are mappings: ``true`` and ``false`` nodes are settled before any handler runs.
    """

    walker: Walk
    old: Side
    new: Side
    at: InstancePath
    stack: Stack

    @property
    def o(self) -> Mapping[str, Any]:
        """The old node's keywords."""
        schema: Mapping[str, Any] = self.old.schema
        return schema

    @property
    def n(self) -> Mapping[str, Any]:
        """The new node's keywords."""
        schema: Mapping[str, Any] = self.new.schema
        return schema

    @property
    def path(self) -> str:
        """Where the new node is, as a JSON path into the new schema."""
        return self.new.path

    @cached_property
    def old_types(self) -> frozenset[str] | None:
        """The JSON types the old node admits (``None``: any type)."""
        return self.walker.effective_types(self.walker.old, self.old)

    @cached_property
    def new_types(self) -> frozenset[str] | None:
        """The JSON types the new node admits (``None``: any type)."""
        return self.walker.effective_types(self.walker.new, self.new)

    def relevant(self, kind: str) -> bool:
        """Whether values of JSON type ``kind`` can still appear here under the new schema."""
        return covered(kind, self.new_types)

    def loosened(self, kind: str) -> Impact:
        """The verdict of a loosened constraint on values of type ``kind``.

        Breaking, unless no such value can appear here under the new schema: a looser
        ``maxLength`` on a node that no longer admits strings breaks nobody.
        """
        return Impact.BREAKING if self.relevant(kind) else Impact.COMPATIBLE

    def compare(self, old: Side, new: Side, at: InstancePath | None = None) -> list[Draft]:
        """The differences between two subschemas, met at ``at`` (by default where this pair is)."""
        return self.walker.compare(old, new, self.at if at is None else at, self.stack)


Handler = Callable[[Pair], list[Draft]]
