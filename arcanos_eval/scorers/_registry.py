"""Scores, the ``@scorer`` decorator and the registry that maps suite check names to functions.

A scorer is a plain function ``(output, case=None, **args) -> Score``. ``output`` is a
:class:`~arcanos_eval.model.Response`, a string, or already-parsed JSON; :func:`as_response`
turns any of them into a Response so a notebook can call ``refusal("I can't help with that")``.

A suite names a check by its registered name. The value after the name is interpreted as follows:

* bare name (``- refusal``): the scorer's defaults;
* a mapping whose keys are all parameter names of the scorer: keyword arguments;
* anything else: the scorer's *primary* argument (``- json: {category: riddle}`` gives
  ``expected={"category": "riddle"}``; ``- intents: [a, b]`` gives ``intents=["a", "b"]``).

Custom scorers come from a dotted path (``- python: {function: "pkg.mod:func", ...kwargs}``) or
from the entry-point group ``arcanos_eval.scorers``.

A loaded :class:`~arcanos_eval.model.Check` holds only the scorer's name and its bound arguments;
:func:`score_check` looks the scorer up by that name when it scores.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from arcanos_eval.errors import ArgumentError, ScorerArgumentError, UnknownNameError
from arcanos_eval.errors import unknown_name_message as unknown_name_message
from arcanos_eval.model import Check, Response, Score

if TYPE_CHECKING:
    from arcanos_eval.model import Case

__all__ = [
    "ScorerSpec",
    "as_response",
    "bind_check",
    "get_scorer",
    "score_check",
    "scorer",
    "scorer_for",
    "scorer_names",
]

ENTRY_POINT_GROUP = "arcanos_eval.scorers"


ScorerFn = Callable[..., Score]
F = TypeVar("F", bound=ScorerFn)


@functools.cache
def _check_parameters(fn: ScorerFn) -> Mapping[str, inspect.Parameter]:
    """A scorer's check arguments: its parameters after (output, case). Cached: the signature
    is read for every check of every case when a run starts."""
    params = list(inspect.signature(fn).parameters.values())
    return MappingProxyType({p.name: p for p in params[2:] if p.kind is not p.VAR_KEYWORD})


@dataclass(frozen=True)
class ScorerSpec:
    """A registered scorer: its suite name, function and primary argument."""

    name: str
    fn: ScorerFn
    primary: str | None = None
    # Checks argument *values* at suite load time (bad regex, unknown mode); raises
    # ScorerArgumentError (or any TypeError or ValueError). Optional so entry-point and ``python:`` scorers need none.
    validate: Callable[[Mapping[str, Any]], None] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def parameters(self) -> Mapping[str, inspect.Parameter]:
        return _check_parameters(self.fn)

    @property
    def primary_takes_mapping(self) -> bool:
        """Whether a mapping after the check name is the primary argument itself (``json:
        {category: riddle}``) rather than named arguments, judged from its annotation."""
        if self.primary is None:
            return False
        annotation = self.parameters[self.primary].annotation
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        return annotation is inspect.Parameter.empty or any(
            word in str(text) for word in ("Mapping", "dict", "Any", "object")
        )


_REGISTRY: dict[str, ScorerSpec] = {}
_entry_points_loaded = False


def scorer(
    name: str | None = None,
    *,
    primary: str | None = None,
    validate: Callable[[Mapping[str, Any]], None] | None = None,
) -> Callable[[F], F]:
    """Register a scorer under ``name`` (default: the function's name).

    ``validate``, when given, receives the bound keyword arguments of a suite check and raises
    ``ScorerArgumentError`` (any ``TypeError`` or ``ValueError`` will do) for values the scorer
    cannot use, so a suite fails at load time.

    Example:
        >>> @scorer("shouts", primary="min_ratio")
        ... def shouts(output, case=None, *, min_ratio=0.5):
        ...     text = as_response(output).text or ""
        ...     ratio = sum(c.isupper() for c in text) / max(len(text), 1)
        ...     return Score(ratio >= min_ratio, ratio, f"upper-case ratio {ratio:.2f}")
    """

    def register(fn: F) -> F:
        key = name or fn.__name__
        params = list(inspect.signature(fn).parameters)
        if len(params) < 2:
            raise ArgumentError(f"scorer {key!r} must accept (output, case=None, **args)")
        if primary is not None and primary not in params[2:]:
            raise ArgumentError(f"scorer {key!r}: primary argument {primary!r} is not a parameter")
        _REGISTRY[key] = ScorerSpec(key, fn, primary, validate)
        fn.scorer_name = key  # type: ignore[attr-defined]
        return fn

    return register


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _REGISTRY:
            fn = ep.load()
            _REGISTRY[ep.name] = ScorerSpec(ep.name, fn, getattr(fn, "primary", None))


def scorer_names() -> list[str]:
    """Every registered check name, sorted (built-ins and entry points)."""
    _load_entry_points()
    return sorted(_REGISTRY)


def get_scorer(name: str) -> ScorerSpec:
    """The scorer registered as ``name``.

    Raises:
        UnknownNameError: no scorer of that name; the message suggests the nearest known names.
    """
    _load_entry_points()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError(unknown_name_message("check", name, _REGISTRY)) from None


_PYTHON = "python:"


def _import_function(path: str) -> ScorerFn:
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ScorerArgumentError(f"expected 'package.module:function', found {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownNameError(f"cannot import {module_name!r} for python check: {exc}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise UnknownNameError(f"{module_name!r} has no callable {attr!r}")
    return fn  # type: ignore[no-any-return]


def _binding_problem(fn: ScorerFn, names: frozenset[str]) -> str | None:
    """Why ``fn(response, case, **{name: ...})`` cannot be called with these argument names, if
    it cannot: whether a call binds depends on the names only, so a suite of 10,000 cases asks
    ``inspect`` once per scorer and set of names, not once per check."""
    try:
        return _cached_binding_problem(fn, names)
    except TypeError:  # an unhashable callable object: asked every time
        return _cached_binding_problem.__wrapped__(fn, names)


@functools.lru_cache(maxsize=1024)
def _cached_binding_problem(fn: ScorerFn, names: frozenset[str]) -> str | None:
    try:
        inspect.signature(fn).bind(None, None, **dict.fromkeys(names))
    except TypeError as exc:
        return str(exc)
    return None


def bind_check(name: str, value: Any) -> tuple[ScorerSpec, dict[str, Any]]:
    """Resolve a suite check ``name: value`` into a scorer and its keyword arguments.

    Raises:
        UnknownNameError: unknown check name or unimportable custom scorer.
        ScorerArgumentError: arguments the scorer does not accept, or a missing required argument.
    """
    if name == "python":
        if isinstance(value, str):
            value = {"function": value}
        if not isinstance(value, Mapping) or not isinstance(value.get("function"), str):
            raise ScorerArgumentError(
                "expected {function: 'package.module:function', ...arguments}"
            )
        kwargs = {k: v for k, v in value.items() if k != "function"}
        spec = _python_scorer(value["function"])
    else:
        spec = get_scorer(name)
        params = spec.parameters
        if value is None:
            kwargs = {}
        elif isinstance(value, Mapping) and value and all(k in params for k in value):
            kwargs = dict(value)
        elif spec.primary is not None and (
            not isinstance(value, Mapping) or spec.primary_takes_mapping
        ):
            kwargs = {spec.primary: value}
        elif isinstance(value, Mapping):
            unknown = sorted(k for k in value if k not in params)
            raise ScorerArgumentError(
                f"unexpected argument(s) {', '.join(map(repr, unknown))}; "
                f"{name!r} accepts {', '.join(params) or 'no arguments'}"
            )
        else:
            raise ScorerArgumentError(
                f"{name!r} takes named arguments, found {json.dumps(value)[:60]}"
            )
    problem = _binding_problem(spec.fn, frozenset(kwargs))
    if problem is not None:
        raise ScorerArgumentError(f"bad arguments for {spec.name!r}: {problem}")
    if spec.validate is not None:
        try:
            spec.validate(kwargs)
        except (TypeError, ValueError) as exc:
            raise ScorerArgumentError(f"bad arguments for {spec.name!r}: {exc}") from None
    return spec, kwargs


@functools.lru_cache(maxsize=256)
def _python_scorer(path: str) -> ScorerSpec:
    """The custom scorer at ``package.module:function``, imported once."""
    return ScorerSpec(f"{_PYTHON}{path}", _import_function(path), None)


def scorer_for(name: str) -> ScorerSpec:
    """The scorer a loaded check names: a registered name or ``python:package.module:function``.

    Raises:
        LookupError: no such scorer (a check the loader bound always has one).
    """
    if name.startswith(_PYTHON):
        return _python_scorer(name[len(_PYTHON) :])
    return get_scorer(name)


def score_check(check: Check, output: Any, case: Case | None = None) -> Score:
    """Score ``output`` with ``check``; never raises (see :func:`run_check`), also not for a
    check whose scorer is no longer registered."""
    try:
        spec = scorer_for(check.name)
    except LookupError as exc:
        return Score.fail(f"check {check.name!r}: {exc}", exception=type(exc).__name__)
    return run_check(spec, check.args, output, case)


def as_response(output: Any) -> Response:
    """Accept what a notebook has at hand: a Response, a string, parsed JSON, or ``None``."""
    if isinstance(output, Response):
        return output
    if output is None or isinstance(output, str):
        return Response.from_text(output)
    try:
        return Response.from_text(json.dumps(output))
    except (TypeError, ValueError):
        return Response.from_text(str(output))


def run_check(
    spec: ScorerSpec, kwargs: Mapping[str, Any], output: Any, case: Case | None = None
) -> Score:
    """Call a scorer and turn any exception into a failed score with a reason.

    A scorer is expected to handle malformed answers itself; this is the last line of defence so one
    odd answer can never crash a run.
    """
    try:
        result = spec.fn(output, case, **kwargs)
    except Exception as exc:
        return Score.fail(
            f"scorer {spec.name!r} raised {type(exc).__name__}: {exc}", exception=type(exc).__name__
        )
    if not isinstance(result, Score):
        return Score.fail(f"scorer {spec.name!r} returned {type(result).__name__}, not Score")
    return result
