"""Base against candidate, case by case: outcome transitions, output diffs and schema drift.

How answers are counted (the report repeats these rules, so every number in it can be traced):

* A *case outcome* groups one target's answers to one case (one per repeat). It is **errored** when
  any of its answers errored; otherwise the case's reducer turns its repeats into a *pass value*
  in [0, 1]: ``all`` (the default) 1 when every repeat passed (a flaky case, which passes in some
  repeats and fails in others, does not pass), ``majority`` 1 when more than half passed, ``any``
  1 when one passed (pass@k), ``mean`` the share of repeats that passed. The outcome **passes**
  when its pass value is 1 (under ``mean``: when every repeat passed).
* A case's *transition* pairs the two outcomes: ``fixed`` (the candidate's pass value is higher),
  ``regressed`` (lower), else ``both_pass`` or ``both_fail``; ``errored`` (either side errored)
  or ``unpaired`` (one side has no answer in the log at all). With 0/1 values (every reducer but
  ``mean``) ``fixed`` means only the candidate passes and ``regressed`` only the base.
* Pass rates are the mean pass value over non-errored case outcomes (a ``mean`` case counts the
  fraction of it that passed); paired statistics count cases judged on both sides: the delta is
  the mean of candidate minus base pass value, McNemar counts ``fixed`` against ``regressed`` (a
  sign test on the paired values under ``mean``).
* Comparing two runs, a case whose request changed between them is ``changed``: its answers answer
  different questions, so it is neither fixed nor regressed, and it is left out of the paired
  statistics.
* Output diffs compare one answer of each side (the first failing repeat, else repeat 0): a deepdiff of the parsed JSON when both answers are
  JSON (tool calls compare as JSON too), a line diff of the text otherwise.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from arcanos_eval.model import ResultRecord, reduce_repeats
from arcanos_eval.stats import (
    BootstrapResult,
    Interval,
    agreement,
    is_flaky,
    mcnemar_exact,
    paired_bootstrap,
    wilson_interval,
)

__all__ = [
    "ALL_CATEGORIES",
    "TRANSITIONS",
    "CaseComparison",
    "CategoryStats",
    "Comparison",
    "DriftSummary",
    "OutputDiff",
    "RateStats",
    "TargetOutcome",
    "Transition",
    "compare_records",
    "exclude_regex",
    "format_count",
    "pass_count",
]

Transition = Literal[
    "both_pass", "fixed", "regressed", "both_fail", "errored", "unpaired", "changed"
]
# The transitions of one run's base against its candidate, each counted even at zero. ``changed``
# arises only between two runs (``compare_records(changed=...)``) and is counted only when it does.
TRANSITIONS: tuple[Transition, ...] = (
    "both_pass",
    "fixed",
    "regressed",
    "both_fail",
    "errored",
    "unpaired",
)
ALL_CATEGORIES = "all"

_DIFF_LINES = 40
_TEXT_WIDTH = 88
# A text diff compares at most this many characters of each answer, from a little before their
# first difference: difflib and textwrap on a 5 MB answer took seconds, the report shows 40 lines.
_DIFF_CHARS = 4_000
_DIFF_LEAD = 2 * _TEXT_WIDTH
_VALUE_CHARS = 120
# A string leaf counts as a label (so new or vanished values are reported as drift) when it is
# short; free text such as a reply differs on every answer and would drown the summary.
_LABEL_CHARS = 40
_LABEL_WORDS = 3
_LABEL_DISTINCT = 30


# ------------------------------------------------------------------------------ case outcomes


def _canonical(record: ResultRecord) -> str:
    """One answer as a comparable string: sorted JSON when it parses, else stripped text."""
    response = record.response
    if response.tool_calls:
        calls = []
        for call in response.tool_calls:
            try:
                arguments: Any = call.parsed_arguments()
            except ValueError:
                arguments = call.arguments
            calls.append({"name": call.name, "arguments": arguments})
        value: Any = {
            "text": response.parsed if response.parse_error is None else response.text,
            "tool_calls": calls,
        }
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if response.parse_error is None:
        return json.dumps(response.parsed, sort_keys=True, ensure_ascii=False)
    return (response.text or "").strip()


def _structured(record: ResultRecord) -> tuple[bool, Any]:
    """(is JSON, value) of one answer, for diffing."""
    response = record.response
    if response.tool_calls:
        return True, json.loads(_canonical(record))
    if response.parse_error is None:
        return True, response.parsed
    return False, response.text or ""


def _record_score(record: ResultRecord) -> float:
    values = [float(s.value or 0.0) for s in record.scores]
    if not values:
        return 1.0 if record.passed else 0.0
    return sum(values) / len(values)


@dataclass(frozen=True)
class TargetOutcome:
    """One target's answers to one case, repeats in order."""

    target: str
    records: tuple[ResultRecord, ...]

    @property
    def errored(self) -> bool:
        return any(r.errored for r in self.records)

    @property
    def errored_answers(self) -> int:
        return sum(r.errored for r in self.records)

    @property
    def reducer(self) -> str:
        """How the repeats become one outcome (``all``, ``majority``, ``any``, ``mean``)."""
        return self.records[0].reduce if self.records else "all"

    @functools.cached_property
    def pass_value(self) -> float:
        """The case's pass value in [0, 1] under its reducer (0 when an answer errored); read
        many times per case by the statistics and gates, so computed once."""
        if self.errored:
            return 0.0
        return reduce_repeats(self.reducer, (r.passed for r in self.records))

    @property
    def passed(self) -> bool:
        """The case passes under its reducer (none errored): its pass value is 1. With ``all``,
        every repeat passed; ``mean`` passes a case the same way and counts the rest as a
        fraction in pass rates."""
        return self.pass_value >= 1.0

    @property
    def repeats(self) -> int:
        return len(self.records)

    @property
    def pass_rate(self) -> float:
        return sum(r.passed for r in self.records) / len(self.records)

    @property
    def score(self) -> float:
        """Mean check value over checks and repeats (errored answers score 0)."""
        return sum(_record_score(r) for r in self.records) / len(self.records)

    @property
    def flaky(self) -> bool:
        return is_flaky(r.passed for r in self.records if not r.errored)

    @property
    def agreement(self) -> float | None:
        """Share of repeats giving the most common answer; ``None`` for a single answer."""
        answered = [_canonical(r) for r in self.records if not r.errored]
        return agreement(answered) if len(answered) > 1 else None

    @property
    def failures(self) -> tuple[str, ...]:
        """``check: reason`` of every failed check over the repeats, deduplicated, in order."""
        seen: dict[str, None] = {}
        for record in self.records:
            if record.errored:
                seen.setdefault(f"errored: {record.response.error_type}: {record.response.error}")
            for result in record.scores:
                if not result.passed:
                    seen.setdefault(f"{result.check}: {result.reason or 'failed'}")
        return tuple(seen)


@dataclass(frozen=True)
class OutputDiff:
    """How the candidate's answer differs from the base's.

    Each side contributes its first failing repeat when it failed, else repeat 0, so a regression
    shows the answer that failed. ``kind`` is ``json`` (a deepdiff), ``text`` (a line diff),
    ``same`` or ``unavailable`` (a side has no usable answer). ``lines`` is the diff, at most a few
    dozen lines; ``omitted`` counts the lines cut. A text diff compares a window of a few thousand
    characters around the first difference: ``skipped`` characters before it are the same in both
    answers, and ``uncompared`` counts the characters after it (base, candidate) left out.
    """

    kind: Literal["json", "text", "same", "unavailable"]
    lines: tuple[str, ...] = ()
    omitted: int = 0
    base_repeat: int = 0
    candidate_repeat: int = 0
    skipped: int = 0
    uncompared: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class CaseComparison:
    """One case: both outcomes, the transition between them and the diff of the answers."""

    suite_id: str
    case_id: str
    category: str
    base: TargetOutcome | None
    candidate: TargetOutcome | None
    transition: Transition
    diff: OutputDiff

    @property
    def key(self) -> str:
        return f"{self.suite_id}::{self.case_id}"

    @property
    def paired(self) -> bool:
        """Judged on both sides (neither missing nor errored) on the same request."""
        return self.transition not in ("errored", "unpaired", "changed")

    @property
    def pass_delta(self) -> float | None:
        """Candidate minus base pass value (``None`` unless paired): -1, 0 or 1 but under
        ``mean``, where it is the difference of the shares of repeats that passed."""
        if not self.paired or self.base is None or self.candidate is None:
            return None
        return self.candidate.pass_value - self.base.pass_value


def _transition(
    base: TargetOutcome | None, candidate: TargetOutcome | None, changed: bool = False
) -> Transition:
    if base is None or candidate is None:
        return "unpaired"
    if changed:
        return "changed"
    if base.errored or candidate.errored:
        return "errored"
    if candidate.pass_value > base.pass_value:
        return "fixed"
    if candidate.pass_value < base.pass_value:
        return "regressed"
    return "both_pass" if candidate.passed else "both_fail"


# ------------------------------------------------------------------------------ output diffs


def exclude_regex(path: str) -> str:
    """A deepdiff ``exclude_regex_paths`` pattern for a user path.

    ``meta.request_id``, ``items[*].note`` and ``*.timestamp`` are dotted paths (``*`` matches any
    key or index); a path starting with ``root`` is taken as deepdiff's own notation. The pattern
    also excludes everything below the path.

    Example:
        >>> import re
        >>> bool(re.match(exclude_regex("items[*].note"), "root['items'][3]['note']"))
        True
    """
    if path.startswith("root"):
        return "^" + re.escape(path) + r"(?=$|\[)"
    pattern = "^root"
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if name == "*":
            pattern += r"\[[^\]]+\]"
        elif name:
            pattern += re.escape(f"['{name}']")
        for index in re.findall(r"\[([^\]]*)\]", "[" + rest) if rest else ():
            pattern += r"\[\d+\]" if index in ("*", "") else re.escape(f"[{index}]")
    return pattern + r"(?=$|\[)"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 3] + "..."


_SIGNS = {"added": "+", "removed": "-"}


def _json_diff(base: Any, candidate: Any, excludes: Sequence[str]) -> list[str]:
    if json.dumps(base, sort_keys=True) == json.dumps(candidate, sort_keys=True):
        return []  # identical answers, the common case: DeepDiff costs ~1 ms to say so
    from deepdiff import DeepDiff  # imported when first needed: it costs ~0.15 s

    tree = DeepDiff(
        base,
        candidate,
        view="tree",
        exclude_regex_paths=list(excludes) or None,
        ignore_numeric_type_changes=True,
    )
    lines = []
    for report, levels in tree.items():
        for level in levels:
            path = level.path()
            sign = next((s for word, s in _SIGNS.items() if report.endswith(word)), "~")
            if sign == "+":
                lines.append(f"+ {path}: {_short(level.t2)}")
            elif sign == "-":
                lines.append(f"- {path}: {_short(level.t1)}")
            else:
                lines.append(f"~ {path}: {_short(level.t1)} -> {_short(level.t2)}")
    return sorted(lines)


def _wrapped(text: str) -> list[str]:
    lines: list[str] = []
    for line in text.strip().splitlines() or [""]:
        lines.extend(textwrap.wrap(line, _TEXT_WIDTH) or [""])
    return lines


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share (a binary search of slice comparisons,
    which run in C: a character loop over a 5 MB answer takes a third of a second)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _text_diff(base: str, candidate: str) -> tuple[list[str], int, tuple[int, int]]:
    """The line diff of two answers' texts, over a window of at most ``_DIFF_CHARS`` characters of
    each that opens a little before their first difference; with the characters skipped before the
    window and those left out after it (base, candidate)."""
    base, candidate = base.strip(), candidate.strip()
    skipped = 0
    if len(base) > _DIFF_CHARS or len(candidate) > _DIFF_CHARS:
        if base == candidate:
            return [], 0, (0, 0)
        skipped = max(0, _common_prefix(base, candidate) - _DIFF_LEAD)
    shown_base = base[skipped : skipped + _DIFF_CHARS]
    shown_candidate = candidate[skipped : skipped + _DIFF_CHARS]
    left_out = (
        len(base) - skipped - len(shown_base),
        len(candidate) - skipped - len(shown_candidate),
    )
    raw = difflib.unified_diff(_wrapped(shown_base), _wrapped(shown_candidate), lineterm="", n=1)
    lines = [line for line in raw if not line.startswith(("---", "+++"))]
    return lines, skipped, left_out


def _shown(outcome: TargetOutcome) -> ResultRecord:
    """The answer a diff shows for one side: its first failing repeat, else the first."""
    return next((r for r in outcome.records if not r.passed), outcome.records[0])


def _diff(
    base: TargetOutcome | None, candidate: TargetOutcome | None, excludes: Sequence[str]
) -> OutputDiff:
    if base is None or candidate is None or base.errored or candidate.errored:
        return OutputDiff("unavailable")
    first, second = _shown(base), _shown(candidate)
    base_json, base_value = _structured(first)
    cand_json, cand_value = _structured(second)
    skipped, uncompared = 0, (0, 0)
    if base_json and cand_json:
        kind: Literal["json", "text"] = "json"
        lines = _json_diff(base_value, cand_value, excludes)
    else:
        kind = "text"
        lines, skipped, uncompared = _text_diff(
            first.response.text or "", second.response.text or ""
        )
    if not lines:
        return OutputDiff("same", base_repeat=first.repeat, candidate_repeat=second.repeat)
    return OutputDiff(
        kind,
        tuple(lines[:_DIFF_LINES]),
        max(0, len(lines) - _DIFF_LINES),
        first.repeat,
        second.repeat,
        skipped,
        uncompared,
    )


# ------------------------------------------------------------------------------ drift


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _walk(value: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """(path, value) of every node; array items share the path ``path[]``."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, f"{path}[]")


def _enum_paths(schema: Any, path: str = "$", root: Any = None, depth: int = 0) -> set[str]:
    """Paths whose values a JSON Schema restricts to an ``enum`` (or a ``const``)."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 20:
        return set()
    found = {path} if "enum" in schema or "const" in schema else set()
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        found |= _enum_paths(target, path, root, depth + 1)
    for key, sub in (schema.get("properties") or {}).items():
        found |= _enum_paths(sub, f"{path}.{key}", root, depth + 1)
    if isinstance(schema.get("items"), dict):
        found |= _enum_paths(schema["items"], f"{path}[]", root, depth + 1)
    for word in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(word) or ():
            found |= _enum_paths(sub, path, root, depth + 1)
    return found


def _is_label(value: str) -> bool:
    return len(value) <= _LABEL_CHARS and len(value.split()) <= _LABEL_WORDS


@dataclass
class _Shapes:
    answers: int = 0
    json_answers: int = 0
    types: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    strings: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, record: ResultRecord) -> None:
        self.answers += 1
        if record.response.parse_error is not None:
            return
        self.json_answers += 1
        for path, value in _walk(record.response.parsed):
            self.types[path].add(_json_type(value))
            if isinstance(value, str):
                self.strings[path].add(value)


@dataclass(frozen=True)
class DriftSummary:
    """How the shape of one suite's JSON answers moved from base to candidate.

    Attributes:
        suite_id: the suite.
        base_answers / candidate_answers: non-errored answers looked at.
        base_json / candidate_json: how many of them parsed as JSON.
        added_paths: JSON paths only candidate answers have (``$.a.b``, ``[]`` for array items).
        removed_paths: paths only base answers have.
        type_changes: ``(path, base types, candidate types)`` where the types seen differ.
        value_changes: ``(path, values new in candidate, values gone from candidate)`` for label
            fields (a schema ``enum``, or short strings).
    """

    suite_id: str
    base_answers: int
    candidate_answers: int
    base_json: int
    candidate_json: int
    added_paths: tuple[str, ...] = ()
    removed_paths: tuple[str, ...] = ()
    type_changes: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    value_changes: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()

    @property
    def comparable(self) -> bool:
        """Both sides gave at least one JSON answer (otherwise no shape is compared)."""
        return self.base_json > 0 and self.candidate_json > 0

    @property
    def drifted(self) -> bool:
        return bool(
            self.added_paths or self.removed_paths or self.type_changes or self.value_changes
        )


def _drift(suite_id: str, base: _Shapes, candidate: _Shapes, enums: set[str]) -> DriftSummary:
    if not base.json_answers or not candidate.json_answers:
        return DriftSummary(
            suite_id, base.answers, candidate.answers, base.json_answers, candidate.json_answers
        )
    common = sorted(set(base.types) & set(candidate.types))
    type_changes = tuple(
        (p, tuple(sorted(base.types[p])), tuple(sorted(candidate.types[p])))
        for p in common
        if base.types[p] != candidate.types[p]
    )
    value_changes = []
    for path in common:
        old, new = base.strings.get(path, set()), candidate.strings.get(path, set())
        if not old or not new or old == new:
            continue
        labels = path in enums or (
            all(_is_label(v) for v in old | new) and len(old | new) <= _LABEL_DISTINCT
        )
        if labels:
            value_changes.append((path, tuple(sorted(new - old)), tuple(sorted(old - new))))
    return DriftSummary(
        suite_id=suite_id,
        base_answers=base.answers,
        candidate_answers=candidate.answers,
        base_json=base.json_answers,
        candidate_json=candidate.json_answers,
        added_paths=tuple(sorted(set(candidate.types) - set(base.types))),
        removed_paths=tuple(sorted(set(base.types) - set(candidate.types))),
        type_changes=type_changes,
        value_changes=tuple(value_changes),
    )


# ------------------------------------------------------------------------------ categories


def pass_count(outcomes: Iterable[TargetOutcome]) -> float:
    """How many of ``outcomes`` passed: the sum of their pass values, a whole number unless a
    ``mean`` case counts a fraction of itself."""
    total = math.fsum(o.pass_value for o in outcomes)
    return int(total) if total.is_integer() else total


def format_count(count: float) -> str:
    """A case count as a report shows it: ``3``, or ``2.67`` for a fractional (``mean``) one."""
    return f"{count:.0f}" if float(count).is_integer() else f"{count:.2f}"


@dataclass(frozen=True)
class RateStats:
    """A pass rate with its Wilson 95% interval. ``passed`` is fractional when ``mean`` cases
    count part of themselves (the interval then takes it as the number of successes)."""

    passed: float
    total: int
    interval: Interval

    @property
    def rate(self) -> float | None:
        return self.passed / self.total if self.total else None

    @property
    def passed_text(self) -> str:
        return format_count(self.passed)

    @classmethod
    def of(cls, passed: float, total: int) -> RateStats:
        return cls(passed, total, wilson_interval(passed, total))


@dataclass(frozen=True)
class CategoryStats:
    """Pass rates of one category (or ``all``), and the paired statistics of base vs candidate.

    Attributes:
        category: the category, or :data:`ALL_CATEGORIES`.
        base / candidate: pass rate over that side's non-errored case outcomes (the mean pass
            value).
        transitions: cases per transition.
        paired: cases judged on both sides (the denominator of ``delta``).
        delta: candidate minus base pass rate over paired cases, the mean of their
            :attr:`CaseComparison.pass_delta` (``(fixed - regressed) / paired`` with 0/1 values).
        mcnemar_p: exact McNemar two-sided p-value (regressed vs fixed).
        worse_p: one-sided p-value that the candidate is worse than base.
        score_delta: paired bootstrap of the mean check value, candidate minus base.
    """

    category: str
    base: RateStats
    candidate: RateStats
    transitions: Mapping[Transition, int]
    paired: int
    delta: float | None
    mcnemar_p: float | None
    worse_p: float | None
    score_delta: BootstrapResult | None


def _category_stats(category: str, cases: Sequence[CaseComparison], seed: int) -> CategoryStats:
    counts = dict.fromkeys(TRANSITIONS, 0)
    for case in cases:
        counts[case.transition] = counts.get(case.transition, 0) + 1
    base = [c.base for c in cases if c.base is not None and not c.base.errored]
    cand = [c.candidate for c in cases if c.candidate is not None and not c.candidate.errored]
    paired = [c for c in cases if c.paired]
    regressed, fixed = counts["regressed"], counts["fixed"]
    deltas = [c.pass_delta for c in paired if c.pass_delta is not None]
    bootstrap = paired_bootstrap(
        [c.base.score for c in paired if c.base is not None],
        [c.candidate.score for c in paired if c.candidate is not None],
        seed=seed,
    )
    return CategoryStats(
        category=category,
        base=RateStats.of(pass_count(base), len(base)),
        candidate=RateStats.of(pass_count(cand), len(cand)),
        transitions=counts,
        paired=len(paired),
        delta=math.fsum(deltas) / len(deltas) if deltas else None,
        mcnemar_p=mcnemar_exact(regressed, fixed) if paired else None,
        worse_p=mcnemar_exact(regressed, fixed, "greater") if paired else None,
        score_delta=bootstrap,
    )


# ------------------------------------------------------------------------------ comparison


@dataclass(frozen=True)
class Comparison:
    """Every case of a run, base against candidate, with per-suite drift."""

    baseline: str
    candidate: str
    cases: tuple[CaseComparison, ...]
    drift: tuple[DriftSummary, ...]
    exclude_paths: tuple[str, ...] = ()
    seed: int = 0

    def with_transition(self, *transitions: Transition) -> tuple[CaseComparison, ...]:
        return tuple(c for c in self.cases if c.transition in transitions)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({c.category for c in self.cases}))

    def category_stats(
        self, cases: Iterable[CaseComparison] | None = None
    ) -> tuple[CategoryStats, ...]:
        """Stats per category (sorted) then over all of them, optionally of a subset of cases."""
        chosen = list(self.cases if cases is None else cases)
        groups: dict[str, list[CaseComparison]] = defaultdict(list)
        for case in chosen:
            groups[case.category].append(case)
        rows = [_category_stats(name, groups[name], self.seed) for name in sorted(groups)]
        if len(rows) == 1:  # "all" is that one category, case for case: no second bootstrap
            rows.append(replace(rows[0], category=ALL_CATEGORIES))
        else:
            rows.append(_category_stats(ALL_CATEGORIES, chosen, self.seed))
        return tuple(rows)

    def flaky(self) -> tuple[tuple[CaseComparison, TargetOutcome], ...]:
        """(case, outcome) of every target outcome whose repeats disagree on pass/fail."""
        return tuple(
            (case, outcome)
            for case in self.cases
            for outcome in (case.base, case.candidate)
            if outcome is not None and outcome.repeats > 1 and outcome.flaky
        )


def compare_records(
    records: Iterable[ResultRecord],
    baseline: str,
    candidate: str,
    *,
    exclude_paths: Sequence[str] = (),
    schemas: Mapping[str, Any] | None = None,
    seed: int = 0,
    candidate_records: Iterable[ResultRecord] | None = None,
    changed: AbstractSet[tuple[str, str]] = frozenset(),
) -> Comparison:
    """Pair the answers of ``baseline`` and ``candidate`` case by case.

    Args:
        records: the run's records (any targets; others are ignored).
        baseline: the target name playing base.
        candidate: the target name playing candidate.
        exclude_paths: JSON paths left out of output diffs (see :func:`exclude_regex`).
        schemas: response schema per suite id, so ``enum`` fields are always treated as labels.
        seed: bootstrap seed.
        candidate_records: take the candidate's answers from here instead of ``records`` (to
            compare two runs: the last release's answers against this one's).
        changed: (suite id, case id) of the cases whose request differs between the two sides
            (two runs); each is ``changed``, never fixed or regressed.
    """
    sides: dict[str, dict[tuple[str, str], list[ResultRecord]]] = {"b": {}, "c": {}}
    category: dict[tuple[str, str], str] = {}
    sources = (
        (records, "b", baseline),
        (records if candidate_records is None else candidate_records, "c", candidate),
    )
    for source, side, name in sources:
        for record in source:
            if record.target != name:
                continue
            key = (record.suite_id, record.case_id)
            sides[side].setdefault(key, []).append(record)
            if side == "c" or key not in category:
                category[key] = record.category
    excludes = tuple(exclude_regex(p) for p in exclude_paths)
    cases = []
    shapes: dict[str, tuple[_Shapes, _Shapes]] = {}
    for key in sorted(category):
        outcomes = []
        pair = shapes.get(key[0])
        if pair is None:
            pair = shapes[key[0]] = (_Shapes(), _Shapes())
        for side, name in (("b", baseline), ("c", candidate)):
            found = sorted(sides[side].get(key, ()), key=lambda r: r.repeat)
            outcomes.append(TargetOutcome(name, tuple(found)) if found else None)
            for record in found:
                if not record.errored:
                    pair[0 if side == "b" else 1].add(record)
        base, cand = outcomes
        cases.append(
            CaseComparison(
                key[0],
                key[1],
                category[key],
                base,
                cand,
                _transition(base, cand, key in changed),
                _diff(base, cand, excludes),
            )
        )
    drift = tuple(
        _drift(suite, b, c, _enum_paths((schemas or {}).get(suite)))
        for suite, (b, c) in sorted(shapes.items())
    )
    return Comparison(baseline, candidate, tuple(cases), drift, tuple(exclude_paths), seed)
