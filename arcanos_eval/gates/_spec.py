"""Gate specs: the registry of gate keys (``@gate``) and the parsing of ``[tool.arcanos_eval.gates]``.

Types, ranges and the shape of the tables are checked by ``config.schema.json`` (the same schema
``load_config`` applies, so a bad table fails the same way from a pyproject.toml or a run log);
this module checks what the schema cannot know: that a key names a registered gate, that a
modifier (``regression_test``, ``alpha``, ``min_cases``) has its gate, and that a threshold is a
finite number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, get_args

from arcanos_eval.compare import ALL_CATEGORIES
from arcanos_eval.config import config_error
from arcanos_eval.errors import GateConfigError, unknown_name_message
from arcanos_eval.model import Suite

if TYPE_CHECKING:
    from arcanos_eval.gates._scope import Measurement, Scope

__all__ = [
    "DEFAULT_MIN_CASES",
    "ENTRY_POINT_GROUP",
    "INVARIANT_ALIASES",
    "MODIFIERS",
    "REGRESSION_TESTS",
    "TABLE",
    "Evaluator",
    "GateDefinition",
    "GateSet",
    "GateSpec",
    "Invariant",
    "Reads",
    "Unit",
    "definitions",
    "gate",
    "parse_gates",
    "unmatched_scopes",
]

TABLE = "[tool.arcanos_eval.gates]"
ENTRY_POINT_GROUP = "arcanos_eval.gates"

Invariant = Literal["baseline_qa", "schema_stable", "data_sanitized", "latency", "fine_tune"]
Unit = Literal["rate", "points", "ms", "ratio", "count", "check"]

# Keys of the gates table that are not gates: modifiers of max_regression, the evidence floor of
# the case-counting gates, the per-suite overrides, and the waived audit invariants.
_REGRESSION_MODIFIERS = ("regression_test", "alpha")
MODIFIERS = (*_REGRESSION_MODIFIERS, "min_cases")
_RESERVED = (*MODIFIERS, "suites", "waive")
# The gates that count cases, and so fail below min_cases.
_COUNTING = ("pass_rate", "pass_rate_base", "max_regression")

# Below 30 cases an observed pass rate says little: a candidate 10 points under a 95% or 100% bar
# still clears it more than 5% of the time (exact binomial figures in the README).
DEFAULT_MIN_CASES = 30

# regression_test values, and what each makes of a drop: "noninferiority" (the default) passes
# only when the one-sided upper bound of the drop is within the margin; "mcnemar" fails only a
# significant drop past it; "observed" compares the observed drop with no allowance for chance.
REGRESSION_TESTS = ("noninferiority", "mcnemar", "observed")

# Short names accepted in ``waive`` beside the invariant ids (``latency`` is both).
INVARIANT_ALIASES: Mapping[str, Invariant] = {
    "qa": "baseline_qa",
    "schema": "schema_stable",
    "data": "data_sanitized",
}

# Which checks' results a gate reads, so that a gate resting on a grader that failed calibration
# fails too: "verdicts" (whether cases passed: every check of the cases it measures), or the
# names of the checks it reads (``pairwise``: the pairwise comparisons of its scope), or none.
Reads = Literal["verdicts"] | tuple[str, ...]

Evaluator = Callable[["GateSpec", "Scope"], Sequence["Measurement"]]
E = TypeVar("E", bound=Evaluator)


@dataclass(frozen=True)
class GateDefinition:
    """A registered gate: its key in the gates table, evaluator, unit and audit invariant."""

    key: str
    evaluate: Evaluator
    unit: Unit
    invariant: Invariant | None = None
    reads: Reads = "verdicts"


# Insertion order is the order of the report's gate table: built-ins first, in the order
# arcanos_eval.gates._evaluators defines them, then custom gates as they register.
_REGISTRY: dict[str, GateDefinition] = {}
_entry_points_loaded = False


def _origin(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def gate(
    key: str, *, unit: Unit, invariant: Invariant | None = None, reads: Reads = "verdicts"
) -> Callable[[E], E]:
    """Register ``fn(spec, scope) -> [Measurement, ...]`` as the gate ``key``.

    The key is then accepted in ``[tool.arcanos_eval.gates]`` (and its ``suites.<id>``
    overrides) with a number as its threshold, and the gate is evaluated over every scope like
    the built-in ones. ``unit`` says how the report shows the measured value and threshold;
    ``invariant`` puts the gate behind an item of the release checklist. ``reads`` says which
    checks' results it reads: ``"verdicts"`` (the default: whether cases passed, so every check
    of its cases), the names of the checks it reads (``("moderation",)``), or ``()`` for a gate
    that reads no check (latency, tokens). A gate fails when a check it reads rests on a grader
    that is not calibrated (see :mod:`arcanos_eval.calibration`).

    Raises:
        GateConfigError: ``key`` is a reserved table key, already registered by another function, or
            ``unit`` or ``invariant`` is not one of the known values.
    """
    if key in _RESERVED:
        raise GateConfigError(f"gate key {key!r} is reserved in {TABLE}")
    if unit not in get_args(Unit):
        raise GateConfigError(f"gate {key!r}: unit must be one of {get_args(Unit)}, not {unit!r}")
    if invariant is not None and invariant not in get_args(Invariant):
        raise GateConfigError(
            f"gate {key!r}: invariant must be one of {get_args(Invariant)}, not {invariant!r}"
        )

    def register(fn: E) -> E:
        existing = _REGISTRY.get(key)
        # The same function registering again (a module imported twice) replaces itself.
        if existing is not None and _origin(existing.evaluate) != _origin(fn):
            raise GateConfigError(
                f"gate {key!r} is already registered by {_origin(existing.evaluate)}"
            )
        _REGISTRY[key] = GateDefinition(key, fn, unit, invariant, reads)
        return fn

    return register


def definitions() -> Mapping[str, GateDefinition]:
    """Every registered gate, in report order (built-ins, then custom gates, including those
    of the ``arcanos_eval.gates`` entry-point group)."""
    global _entry_points_loaded
    if not _entry_points_loaded:
        _entry_points_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in _REGISTRY:
                ep.load()  # importing the module runs its @gate
    return _REGISTRY


@dataclass(frozen=True)
class GateSpec:
    """One configured gate.

    Attributes:
        key: the gate key (``pass_rate``, ``latency_p95_ms``...).
        threshold: the bar (a number; ``1.0`` for the on/off gates ``data`` and ``schema_compat``).
        category: for ``pass_rate`` and ``pass_rate_base``.
        test: how ``max_regression`` treats chance: ``"noninferiority"`` (the default: the
            one-sided ``1 - alpha`` upper bound of the drop must be within the threshold),
            ``"mcnemar"`` (a drop past the threshold fails only when significant), or ``None``
            for the plain observed drop (``regression_test = "observed"``).
        alpha: the level of that test.
        min_cases: the counting gates (pass rates, max_regression) fail with fewer cases.
        suite: the suite of a per-suite override, ``None`` for run-wide.
        implicit: the ``data`` gate evaluated because a report was supplied, or the
            ``fine_tune`` gate because the run recorded the candidate's provenance; not
            configured.
    """

    key: str
    threshold: float
    category: str | None = None
    test: str | None = None
    alpha: float = 0.05
    suite: str | None = None
    implicit: bool = False
    min_cases: int = DEFAULT_MIN_CASES

    @property
    def name(self) -> str:
        return f"{self.key}[{self.category}]" if self.category is not None else self.key

    @property
    def identity(self) -> tuple[str, str | None]:
        """What a per-suite override replaces: the key, and the category for pass rates."""
        return self.key, self.category

    @property
    def invariant(self) -> Invariant | None:
        return _REGISTRY[self.key].invariant


@dataclass(frozen=True)
class GateSet:
    """Parsed gates: run-wide specs, per-suite overrides, the ``data`` setting, the audit
    invariants waived with their reasons (``waive``, aliases resolved to invariant ids), and
    ``fine_tune = true``."""

    specs: tuple[GateSpec, ...] = ()
    data: bool | None = None
    waivers: tuple[tuple[Invariant, str], ...] = ()
    fine_tune: bool | None = None

    @property
    def configured(self) -> bool:
        return bool(self.specs) or self.data is not None

    def with_data_report(self, supplied: bool) -> GateSet:
        """Add the implicit ``data`` gate when a report is supplied and ``data`` is unset."""
        if supplied and self.data is None:
            return replace(self, specs=(*self.specs, GateSpec("data", 1.0, implicit=True)))
        return self

    def with_fine_tune(self, recorded: bool) -> GateSet:
        """Add the implicit ``fine_tune`` gate when the run recorded the candidate's fine-tune
        provenance, unless ``fine_tune = true`` configured it already or a waiver accepts the
        release without it (the provenance is found by itself for every ``ft:`` model, so the
        waiver, not the evidence, decides here)."""
        waived = any(invariant == "fine_tune" for invariant, _ in self.waivers)
        if recorded and not self.fine_tune and not waived:
            return replace(self, specs=(*self.specs, GateSpec("fine_tune", 1.0, implicit=True)))
        return self


def _where(suite: str | None) -> str:
    return TABLE if suite is None else f"[tool.arcanos_eval.gates.suites.{suite}]"


def _table(suite: str | None) -> tuple[str, ...]:
    """The TOML keys of the gate table of ``suite`` (run-wide: ``None``)."""
    return ("gates",) if suite is None else ("gates", "suites", suite)


def _threshold(value: Any, where: str, name: str, table: tuple[str, ...] = ("gates",)) -> float:
    """A threshold as a float. The schema checked the built-in gates' types and ranges; NaN and
    infinity (valid TOML) pass every JSON Schema bound, and a custom gate's value is checked
    only here."""
    number = (
        float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    )
    if number is None or not math.isfinite(number):
        raise GateConfigError(
            f"{where} field {name!r}: expected a finite number, found {value!r}",
            field=(*table, *name.split(".")),
        )
    return number


# Built-in gates whose value is not one number: parsed by _parse_table itself.
_SPECIAL = ("pass_rate", "pass_rate_base", "max_regression", "schema_compat", "data", "fine_tune")


def _parse_table(
    table: Mapping[str, Any],
    suite: str | None,
    inherited: Mapping[str, Any],
    known: Mapping[str, GateDefinition],
) -> tuple[list[GateSpec], bool | None]:
    where, at = _where(suite), _table(suite)
    allowed = [*known, *MODIFIERS, *(("suites", "waive") if suite is None else ())]
    for key in table:
        if key not in allowed:
            raise GateConfigError(
                f"{where}: {unknown_name_message('gate', key, allowed)}", field=(*at, key)
            )
    min_cases = int(table.get("min_cases", inherited.get("min_cases", DEFAULT_MIN_CASES)))
    # A suite's own min_cases overrides every counting gate of the run for that suite.
    floor_only = suite is not None and "min_cases" in table
    specs: list[GateSpec] = []
    for key in ("pass_rate", "pass_rate_base"):
        rates = {**(inherited.get(key, {}) if floor_only else {}), **table.get(key, {})}
        for category in sorted(rates):
            source = table if category in table.get(key, {}) else inherited
            minimum = _threshold(source[key][category], where, f"{key}.{category}", at)
            specs.append(
                GateSpec(key, minimum, category=str(category), suite=suite, min_cases=min_cases)
            )
    modifiers = [k for k in _REGRESSION_MODIFIERS if k in table]
    if "max_regression" in table or modifiers or (floor_only and "max_regression" in inherited):
        merged = {
            **{k: inherited[k] for k in ("max_regression", *MODIFIERS) if k in inherited},
            **{k: table[k] for k in ("max_regression", *MODIFIERS) if k in table},
        }
        if "max_regression" not in merged:
            raise GateConfigError(
                f"{where} field {modifiers[0]!r}: only applies to max_regression, which is not set",
                field=(*at, modifiers[0]),
            )
        test = merged.get("regression_test", "noninferiority")
        if "alpha" in merged and test == "observed":
            raise GateConfigError(
                f"{where} field 'alpha': only applies with regression_test = 'noninferiority' "
                "or 'mcnemar'",
                field=(*at, "alpha"),
            )
        specs.append(
            GateSpec(
                "max_regression",
                _threshold(merged["max_regression"], where, "max_regression", at),
                test=None if test == "observed" else str(test),
                alpha=_threshold(merged["alpha"], where, "alpha", at)
                if "alpha" in merged
                else 0.05,
                suite=suite,
                min_cases=min_cases,
            )
        )
    if suite is not None and "min_cases" in table:
        _check_floor_applies(specs, where, at)
    for key in known:
        if key in table and key not in _SPECIAL:
            specs.append(GateSpec(key, _threshold(table[key], where, key, at), suite=suite))
    if table.get("schema_compat") is True:
        specs.append(GateSpec("schema_compat", 0.0, suite=suite))
    data: bool | None = table.get("data")
    if data:
        specs.append(GateSpec("data", 1.0))
    if table.get("fine_tune") is True:
        specs.append(GateSpec("fine_tune", 1.0))
    return specs, data


def _check_floor_applies(
    specs: Sequence[GateSpec], where: str, at: tuple[str, ...] = ("gates",)
) -> None:
    if not any(spec.key in _COUNTING for spec in specs):
        raise GateConfigError(
            f"{where} field 'min_cases': only applies to pass_rate, pass_rate_base and "
            "max_regression, none of which is set",
            field=(*at, "min_cases"),
        )


def parse_gates(table: Mapping[str, Any] | None) -> GateSet:
    """Validate a ``[tool.arcanos_eval.gates]`` table.

    Raises:
        GateConfigError: an unknown gate (with the nearest known name), a wrong type or range, a
            modifier without its gate, a ``waive`` entry without a reason, naming an unknown
            invariant, naming one twice or one a configured gate backs; the message names the
            table and the field.

    Example:
        >>> gates = parse_gates({"pass_rate": {"adversarial": 1.0}, "latency_p95_ms": 2500})
        >>> [spec.name for spec in gates.specs]
        ['pass_rate[adversarial]', 'latency_p95_ms']
    """
    if table is None:
        return GateSet()
    problem = config_error({"gates": table})
    if problem is not None:
        raise GateConfigError(problem, field=("gates",))
    known = definitions()
    specs, data = _parse_table(table, None, {}, known)
    suites = table.get("suites", {})
    for suite in sorted(suites):
        suite_specs, _ = _parse_table(suites[suite], str(suite), table, known)
        specs.extend(suite_specs)
    if "min_cases" in table:
        _check_floor_applies(specs, TABLE)
    return GateSet(
        tuple(specs),
        data,
        _waivers(table.get("waive", {}), specs),
        fine_tune=table.get("fine_tune"),
    )


def unmatched_scopes(
    gates: GateSet, suites: Sequence[Suite], *, every_suite: bool = True
) -> list[GateConfigError]:
    """The configured gates that name a category, or a suite, that no case of ``suites`` has:
    such a gate can only fail, as "no case in scope", after a paid run; most often the name is
    misspelt. Each is one error naming the field, the nearest name and what the suites have.

    With ``every_suite=False`` the run covers only some of the configured suites (suites named
    on the command line): a run-wide category or a suite that it leaves out is not an error
    there; its gate fails closed when the run is judged.
    """
    categories = sorted({c for s in suites for c in s.categories})
    by_suite = {s.id: sorted(set(s.categories)) for s in suites}
    problems: list[GateConfigError] = []
    for suite_id in dict.fromkeys(s.suite for s in gates.specs if s.suite is not None):
        if suite_id not in by_suite and every_suite:
            problems.append(
                GateConfigError(
                    f"{_where(suite_id)}: no suite of this run has the id "
                    f"{_named(suite_id, list(by_suite))}; "
                    f"suites: {', '.join(by_suite) or 'none'}",
                    field=_table(suite_id),
                )
            )
    for spec in gates.specs:
        if spec.category is None or spec.category == ALL_CATEGORIES:
            continue
        if spec.suite is not None and spec.suite not in by_suite:
            continue  # said once above, or left out of this run
        have = by_suite[spec.suite] if spec.suite is not None else categories
        if spec.category in have or (spec.suite is None and not every_suite):
            continue
        scope = f"suite {spec.suite!r}" if spec.suite is not None else "this run's suites"
        problems.append(
            GateConfigError(
                f"{_where(spec.suite)} field '{spec.key}.{spec.category}': no case of {scope} "
                f"has the category {_named(spec.category, have)}; "
                f"categories: {', '.join(have) or 'none'}",
                field=(*_table(spec.suite), spec.key, spec.category),
            )
        )
    return problems


def _named(name: str, known: Sequence[str]) -> str:
    """``'adversrial' (did you mean 'adversarial'?)``: a name and the nearest known ones."""
    return unknown_name_message("name", name, known).removeprefix("unknown name ")


def _waivers(
    table: Mapping[str, str], specs: Sequence[GateSpec]
) -> tuple[tuple[Invariant, str], ...]:
    """``waive`` as (invariant id, reason) pairs. The schema checked the names and that each
    reason is non-empty text; an invariant named twice (by id and alias), or waived while a
    configured gate backs it, is a contradiction the user has to resolve."""
    waived: dict[Invariant, str] = {}
    for name, reason in table.items():
        invariant = INVARIANT_ALIASES.get(name, cast("Invariant", name))
        if invariant in waived:
            raise GateConfigError(
                f"{TABLE} field 'waive.{name}': {invariant} is waived twice (by its id and "
                "its alias); keep one",
                field=("gates", "waive", name),
            )
        backing = [s.name for s in specs if _REGISTRY[s.key].invariant == invariant]
        if backing:
            raise GateConfigError(
                f"{TABLE} field 'waive.{name}': {invariant} is backed by the configured "
                f"gate(s) {', '.join(dict.fromkeys(backing))}; a waiver is for an invariant no "
                "gate evaluates, so remove the waiver or the gate(s)",
                field=("gates", "waive", name),
            )
        waived[invariant] = reason.strip()
    return tuple((i, waived[i]) for i in get_args(Invariant) if i in waived)
