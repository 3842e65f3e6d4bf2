"""The report's flaky section: what each flaky case counts as under its reducer, and max_flaky."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from arcanos_eval.model import ResultRecord
from arcanos_eval.report import evaluate, render_markdown
from tests.test_gates import make_log, rec


def answers(case: str, target: str, passes: Sequence[bool], reduce: str) -> list[ResultRecord]:
    return [replace(rec(case, target, ok, repeat=r), reduce=reduce) for r, ok in enumerate(passes)]


def flaky_section(records: Sequence[ResultRecord], gates: Mapping[str, Any]) -> str:
    report = render_markdown(evaluate(make_log(records, gates)))
    return report.split("## Flaky cases", 1)[1].split("\n## ", 1)[0]


RECORDS = [
    *answers("a", "base", [True] * 3, "majority"),
    *answers("a", "candidate", [True, False, True], "majority"),
    *answers("b", "base", [True] * 3, "mean"),
    *answers("b", "candidate", [False, False, True], "mean"),
    *answers("c", "base", [True] * 3, "all"),
    *answers("c", "candidate", [True] * 3, "all"),
]


def test_the_section_shows_the_max_flaky_gate_and_what_flaky_cases_count_as():
    section = flaky_section(RECORDS, {"max_flaky": 0.5})
    assert section.startswith(" (2)\n")
    assert "| counts as" in section
    rows = {line.split("|")[1].strip(): line for line in section.splitlines() if "| s::" in line}
    assert "pass (majority)" in rows["s::a"] and "0.33 (mean)" in rows["s::b"]
    assert (
        "Repeats reduced otherwise than `all` in this run: `majority` (2 case outcomes), "
        "`mean` (2 case outcomes)." in section
    )
    assert (
        "Gate `max_flaky`: 66.7% of repeated cases flaky, needs <= 50.0%: ❌ fail "
        "(2/3 repeated candidate cases flaky (66.7%; 9 answers))." in section
    )


def test_without_the_gate_or_a_reducer_the_section_is_as_before():
    plain = [r for r in RECORDS if r.case_id != "b"]
    plain = [replace(r, reduce="all") for r in plain]
    section = flaky_section(plain, {"pass_rate": {"all": 0.5}})
    assert "counts as" not in section and "max_flaky" not in section
    assert "reduced otherwise" not in section


def test_a_run_without_repeats_says_why_the_gate_failed():
    section = flaky_section([rec("a", "base"), rec("a", "candidate")], {"max_flaky": 0.1})
    assert "Each case was answered once per target" in section
    assert (
        "Gate `max_flaky`: ❌ fail (not evaluable: no case answered more than once by candidate"
        in section
    )
