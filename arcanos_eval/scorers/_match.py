"""Exact checks on the text or the parsed JSON of an answer.

``equals``, ``contains``, ``not_contains``, ``regex``, ``field``, ``json`` (deep subset match, with
every differing path reported through deepdiff) and ``classify`` (a label from a JSON field or the
text, with the expected and predicted labels kept in the details so a suite can build a confusion
matrix with :func:`confusion_matrix`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from arcanos_eval.errors import ScorerArgumentError
from arcanos_eval.model import Score
from arcanos_eval.scorers._answer import answer_json, answer_text, lookup, preview
from arcanos_eval.scorers._pattern import (
    Deadline,
    compile_pattern,
    shown_pattern,
    timed_out_reason,
)
from arcanos_eval.scorers._registry import as_response, scorer

if TYPE_CHECKING:
    from arcanos_eval.model import Case

__all__ = [
    "classify",
    "classify_pairs",
    "confusion_matrix",
    "contains",
    "equals",
    "field",
    "json_diff",
    "json_match",
    "not_contains",
    "regex",
    "same_json",
]


class _Unset:
    """Marks an argument the suite did not give (``equals: null`` is a real expectation)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


def same_json(a: Any, b: Any) -> bool:
    """JSON equality that, unlike ``==``, tells ``true`` from ``1`` (and ``1`` equals ``1.0``).

    Example:
        >>> same_json({"n": 1, "ok": True}, {"n": 1.0, "ok": True}), same_json(True, 1)
        (True, False)
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _squash(text: str, case_sensitive: bool) -> str:
    # Models reflow whitespace freely; a check about words should not fail on a double space.
    squashed = " ".join(text.split())
    return squashed if case_sensitive else squashed.casefold()


def _needles(text: Any) -> list[str]:
    items = [text] if isinstance(text, str) else text
    if not isinstance(items, (list, tuple)) or not items:
        raise ScorerArgumentError(
            f"expected a string or a non-empty list of strings, found {preview(text)}"
        )
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise ScorerArgumentError(f"expected non-empty strings, found {preview(items)}")
    return list(items)


def _validate_contains(kwargs: Mapping[str, Any]) -> None:
    _needles(kwargs.get("text"))
    mode = kwargs.get("mode", "all")
    if mode not in ("any", "all"):
        raise ScorerArgumentError(f"mode must be 'any' or 'all', found {mode!r}")


@scorer("equals", primary="expected")
def equals(
    output: Any, case: Case | None = None, *, expected: Any, ignore_case: bool = False
) -> Score:
    """The whole answer (stripped) equals ``expected``; non-string expectations compare parsed JSON.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case being scored (unused).
        expected: A string compared with the stripped text, or a JSON value compared with the parsed
            answer (``true`` never equals ``1``).
        ignore_case: Compare strings case-insensitively.

    Example:
        >>> equals("  riddle\\n", expected="riddle").passed
        True
    """
    response = as_response(output)
    text, reason = answer_text(response)
    if reason is not None:
        return Score.fail(reason, expected=expected)
    if isinstance(expected, str):

        def norm(value: str) -> str:
            return _squash(value, case_sensitive=False) if ignore_case else value.strip()

        candidates = [text]
        if isinstance(response.parsed, str):  # the model answered with a JSON string: "riddle"
            candidates.append(response.parsed)
        if any(norm(found) == norm(expected) for found in candidates):
            return Score.ok("the answer equals the expected text")
        return Score.fail(
            f"expected {preview(expected)}, found {preview(text.strip())}",
            expected=expected,
            found=preview(text.strip(), 500),
        )
    value, reason = answer_json(response)
    if reason is not None:
        return Score.fail(f"expected JSON {preview(expected)}, but {reason}", expected=expected)
    if same_json(value, expected):
        return Score.ok("the parsed answer equals the expected value")
    return Score.fail(
        f"expected {preview(expected)}, found {preview(value)}", expected=expected, found=value
    )


@scorer("contains", primary="text", validate=_validate_contains)
def contains(
    output: Any,
    case: Case | None = None,
    *,
    text: str | Sequence[str],
    mode: str = "all",
    case_sensitive: bool = False,
) -> Score:
    """The answer contains ``text`` (one string, or all / any of a list).

    Whitespace runs count as one space, and the match ignores case unless ``case_sensitive``.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case being scored (unused).
        text: A string or a list of strings to look for.
        mode: ``all`` (every string must occur) or ``any`` (at least one).
        case_sensitive: Match case exactly.

    Example:
        >>> contains("The raid starts at 20:00 UTC.", text=["raid", "utc"]).passed
        True
    """
    needles = _needles(text)
    _validate_contains({"text": text, "mode": mode})
    body, reason = answer_text(as_response(output))
    if reason is not None:
        return Score.fail(reason, missing=needles)
    hay = _squash(body, case_sensitive)
    found = [n for n in needles if _squash(n, case_sensitive) in hay]
    missing = [n for n in needles if n not in found]
    value = len(found) / len(needles)
    passed = not missing if mode == "all" else bool(found)
    if passed:
        return Score.ok(f"found {', '.join(map(repr, found))}", value, found=found)
    if mode == "any":
        return Score.fail(
            f"none of {', '.join(map(repr, needles))} occurs in the answer", value, missing=missing
        )
    return Score.fail(
        f"missing {', '.join(map(repr, missing))}", value, found=found, missing=missing
    )


def _validate_not_contains(kwargs: Mapping[str, Any]) -> None:
    _needles(kwargs.get("text"))


@scorer("not_contains", primary="text", validate=_validate_not_contains)
def not_contains(
    output: Any,
    case: Case | None = None,
    *,
    text: str | Sequence[str],
    case_sensitive: bool = False,
) -> Score:
    """None of ``text`` occurs in the answer (a leak or forbidden-phrase guard).

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case being scored (unused).
        text: A string or a list of strings that must not occur.
        case_sensitive: Match case exactly.

    Example:
        >>> not_contains("Your ticket is open.", text=["password", "api key"]).passed
        True
    """
    needles = _needles(text)
    body, reason = answer_text(as_response(output))
    if reason is not None:
        return Score.fail(reason)
    hay = _squash(body, case_sensitive)
    found = [n for n in needles if _squash(n, case_sensitive) in hay]
    if found:
        return Score.fail(f"the answer contains {', '.join(map(repr, found))}", found=found)
    return Score.ok("no forbidden text")


_FLAG_LETTERS = {
    "i": re.IGNORECASE,
    "m": re.MULTILINE,
    "s": re.DOTALL,
    "x": re.VERBOSE,
    "a": re.ASCII,
}


def regex_flags(flags: Any) -> int:
    """Turn ``"im"``, ``["IGNORECASE", "MULTILINE"]``, ``"I|S"`` or an int into ``re`` flags."""
    if flags is None or flags == "":
        return 0
    if isinstance(flags, bool):
        raise ScorerArgumentError(f"flags must be letters, names or an int, found {flags!r}")
    if isinstance(flags, int):
        return flags
    if isinstance(flags, str) and flags.isalpha() and flags.islower():
        names: list[str] = list(flags)
    elif isinstance(flags, str):
        names = [part.strip() for part in re.split(r"[|,\s]+", flags) if part.strip()]
    elif isinstance(flags, (list, tuple)) and all(isinstance(f, str) for f in flags):
        names = list(flags)
    else:
        raise ScorerArgumentError(f"flags must be letters, names or an int, found {flags!r}")
    value = 0
    for name in names:
        flag = _FLAG_LETTERS.get(name.lower()) if len(name) == 1 else None
        if flag is None:
            found = getattr(re.RegexFlag, name.upper(), None)
            if not isinstance(found, re.RegexFlag):
                raise ScorerArgumentError(f"unknown regex flag {name!r}")
            flag = found
        value |= flag
    return value


def _validate_regex(kwargs: Mapping[str, Any]) -> None:
    pattern = kwargs.get("pattern")
    if not isinstance(pattern, str):
        raise ScorerArgumentError(f"pattern must be a string, found {preview(pattern)}")
    compile_pattern(pattern, regex_flags(kwargs.get("flags")))


@scorer("regex", primary="pattern", validate=_validate_regex)
def regex(
    output: Any,
    case: Case | None = None,
    *,
    pattern: str,
    flags: Any = None,
    fullmatch: bool = False,
) -> Score:
    """The answer matches the regular expression ``pattern`` (``re.search``).

    The match has :data:`~arcanos_eval.scorers._pattern.PATTERN_TIMEOUT_S` (1 s): a pattern that
    backtracks longer on this answer fails the check with the reason ``pattern timed out after
    1 s`` (see :mod:`arcanos_eval.scorers._pattern`).

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case being scored (unused).
        pattern: A Python regular expression.
        flags: ``"i"``, ``"ims"``, ``["IGNORECASE"]``, ``"I|M"`` or an ``re`` flag int.
        fullmatch: The whole stripped answer must match, not just a part of it.

    Example:
        >>> regex("Ticket #4821 opened", pattern=r"#\\d{4}").passed
        True
    """
    compiled = compile_pattern(pattern, regex_flags(flags))
    body, reason = answer_text(as_response(output))
    shown = pattern if len(pattern) <= 200 else shown_pattern(pattern, 200)[1:-1]
    if reason is not None:
        return Score.fail(reason, pattern=shown)
    clock = Deadline()
    try:
        match = (
            clock.fullmatch(compiled, body.strip()) if fullmatch else clock.search(compiled, body)
        )
    except TimeoutError:
        return Score.fail(timed_out_reason(clock.limit_s), pattern=shown, timed_out=True)
    if match is None:
        how = "fully match" if fullmatch else "match"
        return Score.fail(f"the answer does not {how} {shown_pattern(pattern)}", pattern=shown)
    return Score.ok(f"matched {preview(match.group(0))}", match=preview(match.group(0), 200))


def _validate_field(kwargs: Mapping[str, Any]) -> None:
    if not isinstance(kwargs.get("path"), str):
        raise ScorerArgumentError(
            f"path must be a dotted string, found {preview(kwargs.get('path'))}"
        )
    one_of = kwargs.get("one_of")
    if one_of is not None and not isinstance(one_of, (list, tuple)):
        raise ScorerArgumentError(f"one_of must be a list, found {preview(one_of)}")
    if kwargs.get("matches") is not None:
        _validate_regex({"pattern": kwargs["matches"]})


@scorer("field", primary="path", validate=_validate_field)
def field(
    output: Any,
    case: Case | None = None,
    *,
    path: str,
    equals: Any = _UNSET,
    one_of: Sequence[Any] | None = None,
    matches: str | None = None,
    exists: bool | None = None,
    allow_fenced: bool = False,
) -> Score:
    """A field of the parsed answer (a dotted path) exists, equals, is one of, or matches.

    With no condition the field must exist; ``exists: false`` requires it to be absent.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case being scored (unused).
        path: Dotted path with list indexes, e.g. ``items.0.name``.
        equals: The JSON value the field must equal.
        one_of: Values the field may take.
        matches: A regular expression the (string) field must match.
        exists: ``True`` (the default when no other condition is given) or ``False``.
        allow_fenced: Accept a fenced ```json block when the whole text is not JSON.

    Example:
        >>> field({"items": [{"name": "key"}]}, path="items.0.name", equals="key").passed
        True
    """
    _validate_field({"path": path, "one_of": one_of, "matches": matches})
    value, reason = answer_json(as_response(output), allow_fenced=allow_fenced)
    if reason is not None:
        return Score.fail(reason, path=path)
    present, found = lookup(value, path)
    if exists is False:
        if present:
            return Score.fail(
                f"{path} should be absent, found {preview(found)}", path=path, found=found
            )
        return Score.ok(f"{path} is absent", path=path)
    if not present:
        return Score.fail(f"{path} is missing", path=path)
    problems: list[str] = []
    if equals is not _UNSET and not same_json(found, equals):
        problems.append(f"expected {preview(equals)}")
    if one_of is not None and not any(same_json(found, option) for option in one_of):
        problems.append(f"expected one of {preview(list(one_of))}")
    if matches is not None:
        if not isinstance(found, str):
            problems.append(f"expected a string matching {shown_pattern(matches)}")
        else:
            try:
                if Deadline().search(compile_pattern(matches), found) is None:
                    problems.append(f"expected a match of {shown_pattern(matches)}")
            except TimeoutError:
                problems.append(f"{shown_pattern(matches)} {timed_out_reason()}")
    if problems:
        return Score.fail(
            f"{path}: {'; '.join(problems)}, found {preview(found)}", path=path, found=found
        )
    return Score.ok(f"{path} = {preview(found)}", path=path, found=found)


# --- json: deep subset match -------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _project(actual: Any, expected: Any, tolerance: float, ignore_order: bool) -> Any:
    """``actual`` cut down to the shape of ``expected``, so equality of the two is a subset match.

    Keys the expectation does not mention are dropped; numbers within ``tolerance`` are replaced by
    the expected number, so the deepdiff that follows reports only real differences.
    """
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return {
            k: _project(actual[k], v, tolerance, ignore_order)
            for k, v in expected.items()
            if k in actual
        }
    if isinstance(expected, list) and isinstance(actual, list):
        if not ignore_order:
            paired = [
                _project(a, e, tolerance, ignore_order)
                for a, e in zip(actual, expected, strict=False)
            ]
            return paired + list(actual[len(expected) :])
        from deepdiff import DeepDiff  # imported when first needed: it costs ~0.15 s

        remaining = list(actual)
        projected: list[Any] = []
        for item in expected:
            for index, candidate in enumerate(remaining):
                shaped = _project(candidate, item, tolerance, ignore_order)
                if not DeepDiff(item, shaped, ignore_order=True):
                    projected.append(shaped)
                    del remaining[index]
                    break
        return projected + remaining
    if _is_number(actual) and _is_number(expected) and abs(actual - expected) <= tolerance:
        return expected
    return actual


def _dotted(steps: Sequence[Any]) -> str:
    return ".".join(str(step) for step in steps) or "(root)"


def json_diff(
    actual: Any, expected: Any, *, tolerance: float = 0.0, ignore_order: bool = False
) -> list[str]:
    """Every path where ``actual`` fails to contain ``expected``, one readable line each.

    Dicts match when every expected key matches (extra keys are fine); lists must have the same
    length, element by element or, with ``ignore_order``, as a multiset.

    Example:
        >>> json_diff({"category": "logic", "id": 3}, {"category": "riddle"})
        ["category: expected 'riddle', found 'logic'"]
    """
    from deepdiff import DeepDiff  # imported when first needed: it costs ~0.15 s

    projected = _project(actual, expected, tolerance, ignore_order)
    # The tree view gives each path as a list of keys, so odd keys ("a.b", "it's") stay exact.
    diff = DeepDiff(expected, projected, ignore_order=ignore_order, view="tree")
    lines: list[str] = []
    for kind, levels in diff.items():
        for level in levels:
            where = _dotted(level.path(output_format="list"))
            if kind in ("values_changed", "type_changes"):
                lines.append(f"{where}: expected {preview(level.t1)}, found {preview(level.t2)}")
            elif kind in ("dictionary_item_removed", "iterable_item_removed"):
                lines.append(f"{where}: missing (expected {preview(level.t1)})")
            elif kind == "iterable_item_added":
                lines.append(f"{where}: unexpected extra item {preview(level.t2)}")
            elif kind == "repetition_change":
                lines.append(f"{where}: repeated a different number of times")
            else:  # e.g. dictionary_item_added, which projection rules out; kept honest
                lines.append(f"{where}: {kind.replace('_', ' ')}")
    return sorted(lines)


@scorer("json", primary="expected")
def json_match(
    output: Any,
    case: Case | None = None,
    *,
    expected: Any,
    tolerance: float = 0.0,
    ignore_order: bool = False,
    allow_fenced: bool = False,
) -> Score:
    """The parsed answer contains ``expected`` (deep subset match); the reason lists each difference.

    Registered as the ``json`` check. Extra keys in the answer are allowed; lists must match in
    length and, unless ``ignore_order``, in order.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case being scored (unused).
        expected: The JSON value (usually an object) the answer must contain.
        tolerance: Absolute tolerance for numbers.
        ignore_order: Compare lists as multisets.
        allow_fenced: Accept a fenced ```json block when the whole text is not JSON.

    Example:
        >>> json_match('{"category": "riddle", "confidence": 0.93}',
        ...            expected={"category": "riddle", "confidence": 0.9}, tolerance=0.05).passed
        True
    """
    value, reason = answer_json(as_response(output), allow_fenced=allow_fenced)
    if reason is not None:
        return Score.fail(reason)
    try:
        problems = json_diff(value, expected, tolerance=tolerance, ignore_order=ignore_order)
    except RecursionError:
        return Score.fail("the answer is nested too deeply to compare")
    if not problems:
        return Score.ok("the answer contains the expected JSON")
    shown = "; ".join(problems[:10]) + (
        f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
    )
    noun = "difference" if len(problems) == 1 else "differences"
    return Score.fail(f"{len(problems)} {noun}: {shown}", differences=problems)


# --- classify -----------------------------------------------------------------------------------


def _label_key(value: str) -> str:
    stripped = value.strip().strip("`'\".!").strip()
    return re.sub(r"[\s_\-]+", "_", stripped.casefold())


def _label_from_text(text: str, labels: Sequence[str] | None) -> str:
    if not labels:
        return text.strip()
    key = _label_key(text)
    for label in labels:
        if _label_key(label) == key:
            return label
    words = "_" + re.sub(r"[^\w]+", "_", text.casefold()) + "_"
    named = [label for label in labels if f"_{_label_key(label)}_" in words]
    return named[0] if len(named) == 1 else text.strip()


@scorer("classify", primary="label")
def classify(
    output: Any,
    case: Case | None = None,
    *,
    label: str,
    field: str = "category",
    labels: Sequence[str] | None = None,
    allow_fenced: bool = False,
) -> Score:
    """The predicted label (a JSON field, else the text) is ``label``.

    Labels compare ignoring case, surrounding quotes and ``-``/``_``/space differences. The details
    always carry ``expected`` and ``predicted`` (``None`` when nothing could be read), which
    :func:`classify_pairs` and :func:`confusion_matrix` aggregate.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case being scored (unused).
        label: The expected label.
        field: Dotted path of the label in a JSON answer.
        labels: The known labels; lets a prose answer that names exactly one of them count as it.
        allow_fenced: Accept a fenced ```json block when the whole text is not JSON.

    Example:
        >>> classify('{"category": "Riddle"}', label="riddle").details["predicted"]
        'Riddle'
    """
    response = as_response(output)
    text, reason = answer_text(response)
    if reason is not None:
        return Score.fail(reason, expected=label, predicted=None)
    value, json_reason = answer_json(response, allow_fenced=allow_fenced)
    predicted: str | None
    if json_reason is None and isinstance(value, (Mapping, list)):
        present, found = lookup(value, field)
        if not present or isinstance(found, (Mapping, list)) or found is None:
            return Score.fail(
                f"no label at {field!r} in the JSON answer", expected=label, predicted=None
            )
        predicted, source = (found if isinstance(found, str) else str(found)), "field"
    elif json_reason is None and isinstance(value, str):
        predicted, source = _label_from_text(value, labels), "text"
    else:
        predicted, source = _label_from_text(text, labels), "text"
    if _label_key(predicted) == _label_key(label):
        return Score.ok(
            f"label {preview(predicted)}", expected=label, predicted=predicted, source=source
        )
    return Score.fail(
        f"expected label {label!r}, predicted {preview(predicted)}",
        expected=label,
        predicted=preview(predicted, 200) if source == "text" else predicted,
        source=source,
    )


def classify_pairs(scores: Iterable[Any]) -> list[tuple[str, str | None]]:
    """``(expected, predicted)`` pairs from ``classify`` scores (Score objects or their dicts)."""
    pairs: list[tuple[str, str | None]] = []
    for item in scores:
        details = (
            item.get("details", {}) if isinstance(item, Mapping) else getattr(item, "details", {})
        )
        if "expected" in details:
            predicted = details.get("predicted")
            pairs.append((str(details["expected"]), None if predicted is None else str(predicted)))
    return pairs


def confusion_matrix(pairs: Iterable[tuple[str, str | None]]) -> dict[str, dict[str, int]]:
    """Count ``(expected, predicted)`` pairs into ``{expected: {predicted: count}}``.

    Labels are normalized like :func:`classify` compares them; a missing prediction is ``<none>``.
    Every row lists every label seen in either position, so the matrix is square.

    Example:
        >>> confusion_matrix([("riddle", "riddle"), ("riddle", "logic")])["riddle"]
        {'logic': 1, 'riddle': 1}
    """
    counts: dict[tuple[str, str], int] = {}
    seen: set[str] = set()
    for expected, predicted in pairs:
        row = _label_key(expected)
        col = "<none>" if predicted is None else _label_key(predicted)
        seen.update((row, col))
        counts[row, col] = counts.get((row, col), 0) + 1
    rows = sorted(r for r, _ in counts)
    columns = sorted(seen)
    return {row: {col: counts.get((row, col), 0) for col in columns} for row in dict.fromkeys(rows)}
