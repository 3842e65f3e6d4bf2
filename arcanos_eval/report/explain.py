"""Why a case failed, why it regressed, why a gate failed: the few lines a terminal shows.

The same words serve every front-end: a failed pytest item shows them in place of a traceback, and
``arcanos-eval diff`` prints them for each case that regressed between two runs. Each function
returns ``None`` when there is nothing to explain. Every line is bounded: answers are excerpts,
reasons and diff lines are cut (``… N more characters``), and the JSON diff compares long strings
by a prefix, their length and a digest, so a 5 MB answer explains in the time of a short one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from arcanos_eval.compare import TargetOutcome
from arcanos_eval.gates import GateResult
from arcanos_eval.model import Response, ResultRecord

__all__ = [
    "case_value",
    "excerpt",
    "explain_case",
    "explain_gates",
    "explain_regression",
    "pass_rate",
]

_EXCERPT_CHARS = 300
_INPUT_CHARS = 200
_DIFF_LINES = 20
_LINE_CHARS = 300  # a reason or a diff line
_VALUE_CHARS = 200  # of a string in a JSON diff: with its length and digest, within a line


def excerpt(response: Response, limit: int = _EXCERPT_CHARS) -> str:
    """The answer on one line, cut at ``limit`` characters (tool calls when there is no text).

    Example:
        >>> excerpt(Response.from_text("raid " * 100), limit=9)
        'raid raid… 491 more characters'
    """
    if response.tool_calls and not response.text:
        text = "; ".join(f"{c.name}({c.arguments})" for c in response.tool_calls)
    else:
        text = response.text if response.text is not None else "<no text>"
    line = text[:limit].replace("\n", " ")  # cut first: the answer may be megabytes long
    return line if len(text) <= limit else f"{line}… {len(text) - limit:,} more characters"


def pass_rate(records: Sequence[ResultRecord]) -> float:
    """Share of the repeats whose every check passed."""
    return sum(r.passed for r in records) / len(records) if records else 0.0


def case_value(records: Sequence[ResultRecord]) -> float:
    """The case's pass value under its reducer, as the comparison computes it (see
    :attr:`~arcanos_eval.compare.TargetOutcome.pass_value`); 0 when there is no answer."""
    return TargetOutcome("", tuple(records)).pass_value if records else 0.0


def _cut(text: str, limit: int = _LINE_CHARS) -> str:
    """``text`` cut at ``limit`` characters, saying how many more there were."""
    return text if len(text) <= limit else f"{text[:limit]}… {len(text) - limit:,} more characters"


def _failing_checks(record: ResultRecord) -> list[str]:
    return [_cut(f"  - {s.check}: {s.reason or 'failed'}") for s in record.scores if not s.passed]


def explain_case(
    *,
    key: str,
    location: str,
    prompt: str,
    target: str,
    records: Sequence[ResultRecord],
    baseline: str | None = None,
    base_records: Sequence[ResultRecord] = (),
) -> str | None:
    """Why ``target``'s answers to a case failed their checks: each failing repeat's answer and
    reasons, and the baseline's answer beside them when one is given. ``None`` when the case
    passes under its reducer (``majority`` and ``any`` pass a case some repeats of which
    failed)."""
    failing = [r for r in records if not r.passed]
    if not failing or case_value(records) >= 1.0:
        return None
    lines = [f"case {key} ({location}) answered by {target}", f"input:  {prompt[:_INPUT_CHARS]!r}"]
    for record in failing:
        label = f" (repeat {record.repeat})" if len(records) > 1 else ""
        lines.append(f"answer{label}: {excerpt(record.response)}")
        lines.extend(_failing_checks(record))
    if len(records) > 1:
        reducer = records[0].reduce
        lines.append(
            (
                f"passed {len(records) - len(failing)} of {len(records)} repeats (flaky)"
                if len(failing) < len(records)
                else f"failed all {len(records)} repeats"
            )
            + ("" if reducer == "all" else f"; reduce: {reducer}")
        )
    if baseline is not None and base_records and not base_records[0].errored:
        said = "passed" if base_records[0].passed else "failed too"
        lines.append(f"{baseline} {said}: {excerpt(base_records[0].response)}")
    return "\n".join(lines)


def explain_regression(
    *,
    key: str,
    location: str,
    prompt: str,
    baseline: str,
    candidate: str,
    base_records: Sequence[ResultRecord],
    candidate_records: Sequence[ResultRecord],
) -> str | None:
    """Why a case counts as regressed: its pass value under its reducer (see
    :func:`case_value`) is lower on ``candidate`` than on ``baseline``; both answers, the
    candidate's failing checks and the JSON diff."""
    base_value, candidate_value = case_value(base_records), case_value(candidate_records)
    if not base_records or not candidate_records or candidate_value >= base_value:
        return None
    # The message shows the share of passing repeats, the evidence behind the reduced values.
    base_pass, candidate_pass = pass_rate(base_records), pass_rate(candidate_records)
    base, answer = base_records[0], candidate_records[0]
    lines = [
        f"regressed: {key} ({location}) passes on {baseline} ({base_pass:.0%}) "
        f"but not on {candidate} ({candidate_pass:.0%})",
        f"input:  {prompt[:_INPUT_CHARS]!r}",
        f"{baseline}: {excerpt(base.response)}",
        f"{candidate}: {excerpt(answer.response)}",
        *_failing_checks(answer),
        *_json_diff(base.response, answer.response),
    ]
    return "\n".join(lines)


def _clipped(value: Any) -> Any:
    """``value`` with each string longer than ``_VALUE_CHARS`` replaced by its prefix, length and
    digest: two long strings that differ anywhere still differ, and deepdiff never compares (or
    prints) megabytes."""
    if isinstance(value, str) and len(value) > _VALUE_CHARS:
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        more = len(value) - _VALUE_CHARS
        # "..." not "…": the diff is printed as JSON, which would escape it.
        return f"{value[:_VALUE_CHARS]}... {more:,} more characters (sha256 {digest})"
    if isinstance(value, dict):
        return {key: _clipped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clipped(item) for item in value]
    return value


def _json_diff(base: Response, candidate: Response) -> list[str]:
    if base.parsed is None or candidate.parsed is None:
        return []
    from deepdiff import DeepDiff  # imported on the first regression only

    try:
        diff = DeepDiff(_clipped(base.parsed), _clipped(candidate.parsed), verbose_level=2)
    except RecursionError:
        return ["diff (base -> candidate): the answers are nested too deeply to compare"]
    if not diff:
        return []
    text = json.dumps(json.loads(diff.to_json()), indent=1, sort_keys=True)
    shown = text.splitlines()[:_DIFF_LINES]
    return ["diff (base -> candidate):", *(_cut(f"  {line}") for line in shown)]


def explain_gates(results: Sequence[GateResult]) -> str | None:
    """One line per failing gate result: what was measured, what it needed, the evidence."""
    failing = [r for r in results if not r.passed]
    if not failing:
        return None
    return "\n".join(
        f"gate {r.label} failed: measured {r.measured_text}, needs {r.threshold_text}; {r.evidence}"
        for r in failing
    )
