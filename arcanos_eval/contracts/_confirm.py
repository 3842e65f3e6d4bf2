"""Confirmation by example: outputs generated from the new schema, validated against the old one.

Every breaking or undecided difference gets a search for a counterexample: a document valid under
the new schema, invalid under the old one, with an old-schema error where the difference is.
Hypothesis shrinks what it finds, so counterexamples are small. A final search looks for outputs
the old schema rejects for a reason no finding explains, so a misjudged difference cannot pass as
compatible. Searches are seeded: the same schemas and seed give the same counterexamples.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck, Unsatisfiable
from jsonschema.exceptions import best_match

from arcanos_eval.contracts._generate import instances
from arcanos_eval.contracts._nodes import (
    ITEM,
    KEY,
    Draft,
    Impact,
    InstancePath,
    Site,
    canon,
    child,
    is_number,
)
from arcanos_eval.contracts._schema import SchemaDocument

__all__ = ["confirm"]

_NUMERIC_BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_ROUNDS = 3  # searches for unexplained breaks, each after the previous one found something
ErrorList = list[tuple[tuple[str | int, ...] | None, str | None]]


class _Hit(Exception):
    """Stops a search at the first (then shrunk) matching output."""


class _Unavailable(Exception):
    """No outputs can be generated from the new schema (an unsupported keyword, a recursive ref)."""


def _presence(at: InstancePath) -> dict[str, Any] | None:
    """A schema that requires something to be present at instance path ``at``."""
    if not at:
        return None
    head, inner = at[0], _presence(at[1:])
    if head is ITEM:
        schema: dict[str, Any] = {"type": "array", "minItems": 1}
        if inner:
            schema["contains"] = inner
    elif head is KEY:
        schema = {"type": "object", "minProperties": 1}
    elif isinstance(head, int):
        schema = {"type": "array", "minItems": head + 1}
    else:
        schema = {"type": "object", "required": [head]}
        if inner:
            schema["properties"] = {head: inner}
    return schema


def _attributable(errors: ErrorList, draft: Draft) -> bool:
    return any(site.matches(path, keyword) for path, keyword in errors for site in draft.sites)


def _constants(*schemas: Any) -> list[Any]:
    """Values where two schemas are likely to differ: the scalars they name (``enum``,
    ``const``, ``examples``, ``default``) and the values on and next to their bounds."""
    found: dict[str, Any] = {}

    def add(*values: Any) -> None:
        for value in values:
            if isinstance(value, (str, int, float)):  # bool is an int
                found.setdefault(canon(value), value)

    stack = list(schemas)
    while stack and len(found) < 96:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        if not isinstance(node, Mapping):
            continue
        for key, value in node.items():
            if key in ("enum", "examples") and isinstance(value, list):
                add(*value)
            elif key in ("const", "default"):
                add(value)
            elif key in _NUMERIC_BOUNDS and is_number(value):
                add(value, value - 1, value + 1, value - 0.5, value + 0.5)
            elif key in ("minLength", "maxLength") and is_number(value) and 0 <= value <= 256:
                add(*("x" * n for n in (max(int(value) - 1, 0), int(value), int(value) + 1)))
            else:
                stack.append(value)
    return list(found.values())


def _instance_path(path: tuple[str | int, ...]) -> str:
    return child("$", *path)


class _Searcher:
    def __init__(self, old: SchemaDocument, new: SchemaDocument, examples: int, seed: int) -> None:
        self.old, self.new, self.examples, self.seed = old, new, examples, seed
        self._strategies: dict[str, st.SearchStrategy[Any]] = {}
        self._hints = _constants(old.schema, new.schema)

    def errors(self, instance: Any) -> ErrorList:
        """Old-schema errors of an output the new schema accepts; empty when nothing breaks."""
        if not self.new.is_valid(instance) or self.old.is_valid(instance):
            return []
        # jsonschema records no location for an error of a `false` subschema; such an error
        # (validator None) matches any site that accepts any keyword.
        return [
            (None if e.validator is None else tuple(e.absolute_path), e.validator)
            for e in self.old.errors(instance)
        ]

    def strategy(self, focus: InstancePath) -> st.SearchStrategy[Any]:
        key = repr(focus)
        if key not in self._strategies:
            schema: Mapping[str, Any] = self.new.schema
            presence = _presence(focus)
            if presence is not None:
                schema = {**schema, "allOf": [*schema.get("allOf", ()), presence]}
            self._strategies[key] = instances(self.new, schema, hints=self._hints)
        return self._strategies[key]

    def search(
        self, strategy: st.SearchStrategy[Any], predicate: Callable[[Any], bool]
    ) -> tuple[bool, Any]:
        hits: list[Any] = []

        def probe(instance: Any) -> None:
            if predicate(instance):
                hits[:] = [instance]
                raise _Hit

        test = hypothesis.settings(
            max_examples=self.examples,
            database=None,
            deadline=None,
            derandomize=False,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(hypothesis.seed(self.seed)(hypothesis.given(strategy)(probe)))
        try:
            test()
        except _Hit:
            return True, copy.deepcopy(hits[0])
        except Unsatisfiable:
            return False, None  # the new schema (with the focus) admits no output at all
        except FailedHealthCheck:
            raise  # e.g. compat() called inside a @given test: hypothesis explains the fix
        except Exception as exc:  # generation itself failed: say so instead of guessing
            raise _Unavailable(f"{type(exc).__name__}: {exc}") from exc
        return False, None

    def for_draft(self, draft: Draft) -> tuple[bool, Any]:
        def demonstrates(instance: Any) -> bool:
            errors = self.errors(instance)
            return bool(errors) and _attributable(errors, draft)

        found, value = self.search(self.strategy(draft.focus), demonstrates)
        if not found and draft.focus and draft.verdict == Impact.BREAKING:
            found, value = self.search(self.strategy(()), demonstrates)
        return found, value

    def unexplained(self, drafts: list[Draft]) -> list[Draft]:
        added: list[Draft] = []
        for _ in range(_ROUNDS):
            known = [d for d in [*drafts, *added] if d.verdict == Impact.BREAKING]

            def surprising(instance: Any, known: list[Draft] = known) -> bool:
                errors = self.errors(instance)
                return bool(errors) and not any(_attributable(errors, d) for d in known)

            found, value = self.search(self.strategy(()), surprising)
            if not found:
                break
            errors = self.errors(value)
            refuted = [
                d
                for d in drafts
                if d.verdict != Impact.BREAKING and d.sites and _attributable(errors, d)
            ]
            for draft in refuted:
                draft.verdict = Impact.BREAKING
                draft.reason += (
                    "; but a generated output valid under the new schema fails the old one"
                )
                draft.counterexample, draft.found = value, True
            if not refuted:
                error = best_match(self.old.validator.iter_errors(value))
                path = tuple(error.absolute_path) if error is not None else ()
                keyword = error.validator if error is not None else None
                message = error.message if error is not None else "invalid"
                added.append(
                    Draft(
                        "$",
                        "unclassified",
                        Impact.BREAKING,
                        f"an output valid under the new schema fails the old one at "
                        f"{_instance_path(path)}: {message}",
                        [Site(path, frozenset({keyword}) if isinstance(keyword, str) else None)],
                        path,
                        value,
                        True,
                    )
                )
        return added


def confirm(
    drafts: list[Draft], old: SchemaDocument, new: SchemaDocument, *, examples: int, seed: int
) -> list[Draft]:
    """Settle undecided drafts, attach counterexamples, and add breaks no draft explains.

    With ``examples=0`` nothing is generated and undecided drafts count as breaking: a release
    gate must not pass what it could not check.
    """
    if examples <= 0:
        for draft in drafts:
            if draft.verdict == Impact.UNDECIDED:
                draft.verdict = Impact.BREAKING
                draft.reason += "; not checked by example (examples=0), so treated as breaking"
        return drafts
    searcher = _Searcher(old, new, examples, seed)
    try:
        for draft in drafts:
            if draft.verdict == Impact.COMPATIBLE or draft.kind == "annotation_changed":
                continue
            found, value = searcher.for_draft(draft)
            if found:
                if draft.verdict == Impact.UNDECIDED:
                    draft.reason += (
                        "; a generated output valid under the new schema fails the old one"
                    )
                draft.verdict, draft.counterexample, draft.found = Impact.BREAKING, value, True
            elif draft.verdict == Impact.UNDECIDED:
                draft.verdict = Impact.COMPATIBLE
                draft.reason += (
                    f"; no counterexample among {examples} generated outputs, so judged compatible"
                )
        return drafts + searcher.unexplained(drafts)
    except _Unavailable as exc:
        for draft in drafts:
            if draft.verdict == Impact.UNDECIDED:
                draft.verdict = Impact.BREAKING
                draft.reason += f"; could not be checked by example ({exc}), so treated as breaking"
        return drafts
