"""``compat()``: structural diff, then confirmation by example."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arcanos_eval.contracts._diff import Walker
from arcanos_eval.contracts._model import Compatibility, Finding
from arcanos_eval.contracts._nodes import Impact
from arcanos_eval.contracts._schema import ContractError, SchemaDocument

__all__ = ["compat"]


def compat(
    old_schema: Mapping[str, Any],
    new_schema: Mapping[str, Any],
    *,
    examples: int = 200,
    seed: int = 0,
) -> Compatibility:
    """Classify every difference between two response schemas for consumers of model outputs.

    A difference is *breaking* when some output valid under ``new_schema`` is invalid under
    ``old_schema``: clients were written against the old schema, so a model answering under the
    new one may send them something they reject. Narrowing (a new required property, a removed enum
    value, a tighter bound) is compatible; widening (a removed required property, a new enum value,
    a looser bound, a new type) is breaking.

    Each breaking finding is confirmed by example when possible: outputs generated from the new
    schema are validated against the old one (Draft 2020-12 unless ``$schema`` says otherwise,
    ``format`` asserted, ``$ref`` resolved inside each schema), and the smallest failing one becomes
    the finding's counterexample. Differences the keywords cannot settle (a changed ``pattern``,
    ``if``/``then``, a dropped ``allOf`` entry, unknown keywords) are decided by those examples,
    and a final search catches breaks no finding explains.

    Inside a hypothesis test, add ``HealthCheck.nested_given`` to that test's
    ``suppress_health_check``: the confirmation runs hypothesis searches of its own.

    Args:
        old_schema: the schema of record (what clients were written against).
        new_schema: the schema the candidate answers under.
        examples: generated outputs per search; ``0`` skips generation and counts undecided
            differences as breaking.
        seed: seed of the searches; the same inputs and seed give the same result.

    Returns:
        A :class:`Compatibility`: ``breaking`` and the classified ``findings``.

    Raises:
        ContractError: a schema is not a valid JSON Schema, or has a ``$ref`` that cannot be
            resolved inside it; ``examples`` is negative.

    Example:
        >>> old = {"type": "object", "properties": {"action": {"enum": ["answer", "refuse"]}}}
        >>> new = {"type": "object", "properties": {"action": {"enum": ["answer", "defer"]}}}
        >>> result = compat(old, new)
        >>> result.breaking
        True
        >>> [(f.path, f.kind, f.breaking) for f in result.findings]
        [('$.properties.action', 'enum_value_added', True), ('$.properties.action', 'enum_value_removed', False)]
        >>> result.findings[0].counterexample
        {'action': 'defer'}
    """
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise ContractError(f"examples must be a non-negative integer, found {examples!r}")
    old = SchemaDocument.build(old_schema, role="old schema")
    new = SchemaDocument.build(new_schema, role="new schema")
    # Imported here: confirmation needs hypothesis, which a run that never diffs a schema should
    # not pay for at start-up.
    from arcanos_eval.contracts._confirm import confirm

    drafts = confirm(Walker(old, new).run(), old, new, examples=examples, seed=seed)
    findings = tuple(
        Finding(
            path=d.path,
            kind=d.kind,
            breaking=d.verdict == Impact.BREAKING,
            reason=d.reason,
            counterexample=d.counterexample if d.found else None,
            has_counterexample=d.found,
        )
        for d in drafts
    )
    return Compatibility(
        breaking=any(f.breaking for f in findings), findings=findings, examples=examples, seed=seed
    )
