"""Base vs candidate per case: transitions, repeats, output diffs, drift and category statistics."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from scipy.stats import binomtest

from arcanos_eval.compare import ALL_CATEGORIES, compare_records, exclude_regex
from arcanos_eval.model import CheckResult, Response, ResultRecord, Score, ToolCall


def rec(
    case: str,
    target: str,
    passed: bool = True,
    *,
    text: str | None = "ok",
    repeat: int = 0,
    suite: str = "s",
    category: str = "happy_path",
    errored: bool = False,
    value: float | None = None,
    tool_calls: tuple[ToolCall, ...] = (),
) -> ResultRecord:
    if errored:
        response = Response.failed("boom", "http_500")
        scores: tuple[CheckResult, ...] = ()
    else:
        response = Response(text=text, tool_calls=tool_calls)
        score = Score(
            passed,
            (1.0 if passed else 0.0) if value is None else value,
            "ok" if passed else f"{case} failed on {target}",
        )
        scores = (CheckResult("contains", {}, score),)
    return ResultRecord(suite, case, target, repeat, category, "fp", response, scores)


def by_key(comparison):  # type: ignore[no-untyped-def]
    return {c.case_id: c for c in comparison.cases}


def test_every_transition():
    records = [
        rec("both-pass", "base"),
        rec("both-pass", "candidate"),
        rec("fixed", "base", False),
        rec("fixed", "candidate"),
        rec("regressed", "base"),
        rec("regressed", "candidate", False),
        rec("both-fail", "base", False),
        rec("both-fail", "candidate", False),
        rec("errored", "base"),
        rec("errored", "candidate", errored=True),
        rec("unpaired", "candidate"),
        rec("other-target", "previous"),
    ]
    cases = by_key(compare_records(records, "base", "candidate"))
    assert {k: c.transition for k, c in cases.items()} == {
        "both-pass": "both_pass",
        "fixed": "fixed",
        "regressed": "regressed",
        "both-fail": "both_fail",
        "errored": "errored",
        "unpaired": "unpaired",
    }
    assert cases["regressed"].candidate.failures == ("contains: regressed failed on candidate",)
    assert cases["unpaired"].base is None and not cases["unpaired"].paired
    assert cases["errored"].candidate.failures == ("errored: http_500: boom",)


def test_cases_are_sorted_by_suite_then_case():
    records = [
        rec("b", "base", suite="z"),
        rec("a", "candidate", suite="z"),
        rec("c", "base", suite="a"),
    ]
    keys = [c.key for c in compare_records(records, "base", "candidate").cases]
    assert keys == ["a::c", "z::a", "z::b"]


def test_a_case_passes_only_when_every_repeat_passes():
    records = [rec("c", "base", True, repeat=r) for r in range(3)]
    records += [rec("c", "candidate", r != 1, repeat=r, text=f"answer {r % 2}") for r in range(3)]
    (case,) = compare_records(records, "base", "candidate").cases
    assert case.transition == "regressed"
    assert case.candidate.repeats == 3 and not case.candidate.passed
    assert case.candidate.pass_rate == pytest.approx(2 / 3)
    assert case.candidate.flaky and not case.base.flaky
    assert case.candidate.agreement == pytest.approx(2 / 3)
    assert case.base.agreement == 1.0
    # The diff shows the repeat that failed.
    assert (case.diff.base_repeat, case.diff.candidate_repeat) == (0, 1)
    comparison = compare_records(records, "base", "candidate")
    assert [(c.case_id, o.target) for c, o in comparison.flaky()] == [("c", "candidate")]


def test_a_single_answer_has_no_agreement_figure():
    (case,) = compare_records([rec("c", "base"), rec("c", "candidate")], "base", "candidate").cases
    assert case.base.agreement is None and not case.base.flaky


def test_one_errored_repeat_makes_the_case_errored():
    records = [
        rec("c", "base"),
        rec("c", "candidate", repeat=0),
        rec("c", "candidate", repeat=1, errored=True),
    ]
    (case,) = compare_records(records, "base", "candidate").cases
    assert case.transition == "errored" and case.candidate.errored_answers == 1
    assert case.diff.kind == "unavailable"


def test_json_diff_lists_changed_added_and_removed_paths():
    base = json.dumps({"category": "riddle", "gone": 1, "items": [1, 2], "n": 1})
    cand = json.dumps({"category": "logic", "new": True, "items": [1, 2, 3], "n": 1.0})
    (case,) = compare_records(
        [rec("c", "base", text=base), rec("c", "candidate", text=cand)], "base", "candidate"
    ).cases
    assert case.diff.kind == "json"
    assert case.diff.lines == (
        "+ root['items'][2]: 3",
        "+ root['new']: true",
        "- root['gone']: 1",
        '~ root[\'category\']: "riddle" -> "logic"',
    )


def test_excluded_paths_are_left_out_of_the_diff():
    base = json.dumps({"meta": {"id": "a1", "at": 1}, "items": [{"note": "x", "v": 1}]})
    cand = json.dumps({"meta": {"id": "b2", "at": 1}, "items": [{"note": "y", "v": 1}]})
    records = [rec("c", "base", text=base), rec("c", "candidate", text=cand)]
    (case,) = compare_records(
        records, "base", "candidate", exclude_paths=["meta.id", "items[*].note"]
    ).cases
    assert case.diff.kind == "same"
    (case,) = compare_records(records, "base", "candidate", exclude_paths=["meta"]).cases
    assert case.diff.lines == ("~ root['items'][0]['note']: \"x\" -> \"y\"",)


@pytest.mark.parametrize(
    ("path", "matches", "misses"),
    [
        ("meta.id", "root['meta']['id']", "root['meta']['idx']"),
        ("items[*].note", "root['items'][3]['note']", "root['items']['x']['note']"),
        ("*.ts", "root['a']['ts']", "root['ts']"),
        ("rows[0]", "root['rows'][0]['a']", "root['rows'][1]"),
        ("root['a']", "root['a'][1]", "root['ab']"),
    ],
)
def test_exclude_regex(path, matches, misses):
    pattern = re.compile(exclude_regex(path))
    assert pattern.match(matches)
    assert not pattern.match(misses)


def test_text_answers_get_a_line_diff():
    records = [
        rec("c", "base", text="I can't help with that."),
        rec("c", "candidate", text="Sure! Step one:\nopen two trade windows."),
    ]
    (case,) = compare_records(records, "base", "candidate").cases
    assert case.diff.kind == "text"
    assert "-I can't help with that." in case.diff.lines
    assert "+Sure! Step one:" in case.diff.lines


def test_tool_calls_compare_as_json():
    records = [
        rec("c", "base", text=None, tool_calls=(ToolCall("lookup_raid", '{"day": "friday"}'),)),
        rec(
            "c", "candidate", text=None, tool_calls=(ToolCall("lookup_raid", '{"day": "monday"}'),)
        ),
    ]
    (case,) = compare_records(records, "base", "candidate").cases
    assert case.diff.lines == (
        "~ root['tool_calls'][0]['arguments']['day']: \"friday\" -> \"monday\"",
    )


def test_long_diffs_are_cut():
    base = json.dumps({f"k{i:03d}": i for i in range(100)})
    cand = json.dumps({f"k{i:03d}": -i for i in range(1, 101)})
    (case,) = compare_records(
        [rec("c", "base", text=base), rec("c", "candidate", text=cand)], "base", "candidate"
    ).cases
    assert len(case.diff.lines) == 40 and case.diff.omitted > 0


def test_drift_reports_keys_types_and_label_values():
    def answer(category: str, **extra: Any) -> str:
        return json.dumps(
            {"category": category, "score": 1, "reply": "long free text " * 5, **extra}
        )

    records = []
    for i, category in enumerate(["riddle", "logic", "riddle"]):
        records.append(rec(f"c{i}", "base", text=answer(category, old_key=1)))
    for i, category in enumerate(["riddle", "cipher", "riddle"]):
        records.append(
            rec(
                f"c{i}",
                "candidate",
                text=answer(category, confidence=0.5).replace('"score": 1', '"score": "1"'),
            )
        )
    (drift,) = compare_records(records, "base", "candidate").drift
    assert drift.comparable and drift.drifted
    assert drift.added_paths == ("$.confidence",)
    assert drift.removed_paths == ("$.old_key",)
    assert drift.type_changes == (("$.score", ("number",), ("string",)),)
    # Free text differs on every answer and is not a label: only the category shows.
    assert drift.value_changes == (("$.category", ("cipher",), ("logic",)),)


def test_schema_enums_are_labels_whatever_their_length():
    long_a, long_b = "a very long enum value " * 3, "another very long enum value " * 3
    records = [
        rec("c", "base", text=json.dumps({"kind": long_a})),
        rec("c", "candidate", text=json.dumps({"kind": long_b})),
    ]
    plain = compare_records(records, "base", "candidate").drift[0]
    assert plain.value_changes == ()
    schema = {
        "type": "object",
        "properties": {"kind": {"$ref": "#/$defs/kind"}},
        "$defs": {"kind": {"enum": [long_a, long_b]}},
    }
    typed = compare_records(records, "base", "candidate", schemas={"s": schema}).drift[0]
    assert typed.value_changes == (("$.kind", (long_b,), (long_a,)),)


def test_drift_is_not_computed_when_a_side_has_no_json():
    records = [rec("c", "base", text="plain"), rec("c", "candidate", text='{"a": 1}')]
    (drift,) = compare_records(records, "base", "candidate").drift
    assert not drift.comparable and not drift.drifted
    assert (drift.base_json, drift.candidate_json) == (0, 1)


def test_category_stats_count_cases_and_pair_them():
    records = []
    # happy_path: 10 paired cases, base passes 8, candidate passes 6 (3 regressed, 1 fixed).
    outcomes = [(True, True)] * 5 + [(True, False)] * 3 + [(False, True)] + [(False, False)]
    for i, (b, c) in enumerate(outcomes):
        records += [rec(f"h{i}", "base", b), rec(f"h{i}", "candidate", c)]
    records += [
        rec("a0", "base", category="adversarial"),
        rec("a0", "candidate", category="adversarial", errored=True),
        rec("a1", "candidate", category="adversarial"),
    ]
    stats = {s.category: s for s in compare_records(records, "base", "candidate").category_stats()}
    happy = stats["happy_path"]
    assert (happy.base.passed, happy.base.total) == (8, 10)
    assert (happy.candidate.passed, happy.candidate.total) == (6, 10)
    assert happy.transitions["regressed"] == 3 and happy.transitions["fixed"] == 1
    assert happy.paired == 10 and happy.delta == pytest.approx(-0.2)
    assert happy.mcnemar_p == pytest.approx(binomtest(3, 4, 0.5).pvalue)
    assert happy.worse_p == pytest.approx(binomtest(3, 4, 0.5, alternative="greater").pvalue)
    assert happy.score_delta is not None and happy.score_delta.delta == pytest.approx(-0.2)
    adversarial = stats["adversarial"]
    # The errored case counts for base only; the unpaired one for the candidate only.
    assert (adversarial.base.total, adversarial.candidate.total, adversarial.paired) == (1, 1, 0)
    assert adversarial.delta is None and adversarial.mcnemar_p is None
    everything = stats[ALL_CATEGORIES]
    assert (everything.base.total, everything.candidate.total) == (11, 11)
    assert list(stats) == ["adversarial", "happy_path", ALL_CATEGORIES]


def test_candidate_records_from_another_run():
    old = [rec("c1", "candidate", True), rec("c2", "candidate", False)]
    new = [rec("c1", "candidate", False), rec("c2", "candidate", True)]
    comparison = compare_records(old, "candidate", "candidate", candidate_records=new)
    assert [c.transition for c in comparison.cases] == ["regressed", "fixed"]
