"""The scorer package as suites see it: registered names, primaries, public API, robustness."""

from __future__ import annotations

import doctest
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest

import arcanos_eval.scorers as scorers
from arcanos_eval.errors import ScorerArgumentError, UnknownNameError, UsageError
from arcanos_eval.model import Score
from arcanos_eval.scorers._registry import bind_check, get_scorer, run_check, scorer_names
from tests.scorers._answers import MALFORMED, ODD

# The check vocabulary suites are written against: names and primary arguments are fixed.
VOCABULARY = {
    "equals": "expected",
    "contains": "text",
    "not_contains": "text",
    "regex": "pattern",
    "field": "path",
    "json": "expected",
    "classify": "label",
    "schema": None,
    "refusal": None,
    "complies": None,
    "deescalates": None,
    "intents": "intents",
    "similar": "reference",
    "judge": "rubric",
    "pairwise": "rubric",
    "moderation": None,
    "tool_call": "name",
    "latency_ms": "max_ms",
    "max_tokens": "limit",
    "cost": "max_usd",
}

MODULES = [
    "_answer",
    "_models",
    "_budgets",
    "_intents",
    "_judge",
    "_match",
    "_moderation",
    "_refusal",
    "_schema",
    "_similarity",
    "_tools",
]


def test_every_builtin_is_registered_with_its_primary() -> None:
    assert set(VOCABULARY) <= set(scorer_names())
    for name, primary in VOCABULARY.items():
        spec = get_scorer(name)
        assert spec.primary == primary, name
        params = list(inspect.signature(spec.fn).parameters.values())
        assert [p.name for p in params[:2]] == ["output", "case"], name
        assert params[1].default is None
        assert all(p.kind is p.KEYWORD_ONLY for p in params[2:]), name


def test_public_api_is_exactly_all() -> None:
    # Submodules and the ``annotations`` future import are attributes, not API.
    public = {
        name
        for name in dir(scorers)
        if not name.startswith(("_", "@"))
        and name != "annotations"
        and not inspect.ismodule(getattr(scorers, name))
    }
    assert set(scorers.__all__) == public
    for name in (
        "Score",
        "scorer",
        "as_response",
        "json_match",
        "classify_refusal",
        "moderation_drift",
        "confusion_matrix",
        "pairwise",
        "use_backends",
    ):
        assert name in scorers.__all__
    assert scorers.json_match is get_scorer("json").fn


@pytest.mark.parametrize("name", sorted(VOCABULARY))
def test_every_scorer_is_documented_with_an_example(name: str) -> None:
    doc = inspect.getdoc(get_scorer(name).fn) or ""
    assert "Args:" in doc and "Example:" in doc and ">>> " in doc, name


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module: str) -> None:
    imported = importlib.import_module(f"arcanos_eval.scorers.{module}")
    failures, _ = doctest.testmod(imported, optionflags=doctest.ELLIPSIS)
    assert failures == 0


@pytest.mark.parametrize("name", scorers.__all__)
def test_importing_a_public_name_as_a_module_never_yields_a_function(name: str) -> None:
    # Family modules are private (_schema.py): ``import arcanos_eval.scorers.schema`` used to
    # bind the ``schema`` function, which shadowed its own module.
    namespace: dict[str, Any] = {}
    try:
        exec(f"import arcanos_eval.scorers.{name} as imported", namespace)
    except ModuleNotFoundError:
        return
    assert inspect.ismodule(namespace["imported"]), name


def test_family_modules_are_private() -> None:
    package = Path(scorers.__file__).parent
    public = sorted(p.stem for p in package.glob("*.py") if not p.stem.startswith("_"))
    assert public == []


def test_unknown_check_suggests_the_nearest_name() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown check 'refusl' \(did you mean 'refusal'"):
        bind_check("refusl", None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("contains", {"text": ""}),  # a type problem (TypeError before the tree)
        ("contains", {"text": "raid", "mode": "most"}),  # a value problem (ValueError before)
        ("regex", {"pattern": "(unclosed"}),
        ("latency_ms", {"max_ms": -1}),
        ("judge", {"rubric": "x", "threshold": 3}),
        ("contains", {"case_sensitive": True}),  # a missing required argument
        ("contains", {"txt": "raid", "mode": "all"}),  # an unknown argument
        ("python", {"function": "no-colon"}),
    ],
)
def test_bad_check_arguments_are_one_error_that_old_handlers_still_catch(
    name: str, value: Any
) -> None:
    with pytest.raises(ScorerArgumentError) as info:
        bind_check(name, value)
    assert isinstance(info.value, UsageError) and isinstance(info.value, TypeError)
    assert not isinstance(info.value, LookupError)  # the loader reads LookupError as unknown check


@pytest.mark.parametrize(
    "function", ["tests.scorers.no_such_module:f", "tests.scorers.test_package:no_such_function"]
)
def test_unknown_names_are_lookup_errors_of_the_tree(function: str) -> None:
    with pytest.raises(UnknownNameError) as info:
        bind_check("python", {"function": function})
    assert isinstance(info.value, LookupError) and isinstance(info.value, UsageError)


class _Unhashable:
    """A callable custom scorer object that cannot be a cache key."""

    __hash__ = None  # type: ignore[assignment]

    def __call__(self, response: Any, case: Any, *, word: str) -> Score:
        return Score.ok("fine")


UNHASHABLE = _Unhashable()


@pytest.mark.parametrize("target", ["tests.scorers.test_package:UNHASHABLE", None])
def test_argument_names_are_checked_on_every_binding(target: str | None) -> None:
    # Bindings are remembered per scorer and argument names: a bad name fails every time, and a
    # scorer that cannot be remembered (unhashable) is still checked.
    for _ in range(2):
        if target is None:
            with pytest.raises(TypeError, match=r"'contains'.*missing a required argument: 'text'"):
                bind_check("contains", {"case_sensitive": True})
        else:
            with pytest.raises(
                TypeError, match=r"UNHASHABLE': missing a required argument: 'word'"
            ):
                bind_check("python", {"function": target, "wrd": "x"})
            _, kwargs = bind_check("python", {"function": target, "word": "x"})
            assert kwargs == {"word": "x"}


# One representative, valid set of arguments per check (no model needed).
ARGS: dict[str, dict[str, Any]] = {
    "equals": {"expected": "riddle"},
    "contains": {"text": "raid"},
    "not_contains": {"text": "password"},
    "regex": {"pattern": r"\d"},
    "field": {"path": "category"},
    "json": {"expected": {"category": "riddle"}},
    "classify": {"label": "riddle"},
    "schema": {"schema": {"type": "object"}},
    "refusal": {},
    "complies": {},
    "deescalates": {},
    "intents": {"intents": ["a"], "keywords": {"a": ["raid"]}},
    "similar": {"reference": "The raid starts Friday."},
    "judge": {"rubric": "Names a day"},
    "pairwise": {"rubric": "Names a day"},
    "moderation": {},
    "tool_call": {"name": "lookup_raid"},
    "latency_ms": {"max_ms": 1000},
    "max_tokens": {"limit": 100},
    "cost": {"max_usd": 1.0, "input_per_mtok": 1.0, "output_per_mtok": 1.0},
}
CONTENT_CHECKS = sorted(set(ARGS) - {"latency_ms", "max_tokens", "cost", "not_contains"})


def test_args_table_covers_the_vocabulary() -> None:
    assert set(ARGS) == set(VOCABULARY)
    for name, args in ARGS.items():
        bind_check(name, args or None)


@pytest.mark.parametrize("name", sorted(ARGS))
@pytest.mark.parametrize(("kind", "answer"), MALFORMED, ids=[k for k, _ in MALFORMED])
def test_malformed_answers_are_failed_scores_not_exceptions(
    name: str, kind: str, answer: Any
) -> None:
    spec = get_scorer(name)
    # Calling the function directly: run_check would hide an exception behind a failed score.
    score = spec.fn(answer, None, **ARGS[name])
    assert isinstance(score, Score)
    assert score.reason
    if kind == "tool-call" and name == "tool_call":
        return  # the one check for which a tool call is the right answer
    assert not score.passed, (name, kind, score)


MODEL_FREE = sorted(set(ARGS) - {"judge", "moderation"})


@pytest.mark.parametrize("name", MODEL_FREE)
@pytest.mark.parametrize(("kind", "answer"), ODD, ids=[k for k, _ in ODD])
def test_odd_answers_never_raise(name: str, kind: str, answer: Any) -> None:
    score = get_scorer(name).fn(answer, None, **ARGS[name])
    assert isinstance(score, Score)
    assert "raised" not in run_check(get_scorer(name), ARGS[name], answer).reason
