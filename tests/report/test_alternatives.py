"""The candidate against targets the gates do not compare it with (a prompt-only alternative, the
previous release): figures in every report, never in the verdict."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from arcanos_eval.report import evaluate, render_html, render_markdown, summary_json
from arcanos_eval.runlog import read_run_log
from tests.report.fixtures import build


def _log(tmp_path: Path) -> Path:
    """The release fixture's answers, plus `prompt-only` answering exactly as base did and
    `previous` exactly as the candidate did."""
    records = build._run(1, errored=False)
    copies = [
        replace(r, target=name)
        for source, name in (("base", "prompt-only"), ("candidate", "previous"))
        for r in records
        if r.target == source
    ]
    header = build._header("20250602T093000Z-a1b2c3", build.RELEASE_GATES)
    header["targets"]["prompt-only"] = dict(header["targets"]["base"])
    return build._write(tmp_path / "run.jsonl", header, records + copies, None)


def test_each_other_target_is_compared_with_the_candidate(tmp_path):
    ev = evaluate(read_run_log(_log(tmp_path)))
    assert [a.target for a in ev.alternatives] == ["previous", "prompt-only"]
    previous, prompt_only = ev.alternatives
    # prompt-only answered as base did: the same figures as the gated comparison.
    assert [(c.category, c.base.passed, c.candidate.passed) for c in prompt_only.categories] == [
        (c.category, c.base.passed, c.candidate.passed) for c in ev.categories
    ]
    assert [dict(c.transitions) for c in prompt_only.categories] == [
        dict(c.transitions) for c in ev.categories
    ]
    assert any(c.transitions["regressed"] for c in ev.categories)
    # previous answered as the candidate did: nothing fixed, nothing regressed.
    assert all(
        c.transitions["fixed"] == c.transitions["regressed"] == 0 for c in previous.categories
    )
    assert all(c.delta == 0 for c in previous.categories if c.paired)


def test_the_reports_show_the_alternatives_beside_the_gated_comparison(tmp_path):
    ev = evaluate(read_run_log(_log(tmp_path)))
    markdown = render_markdown(ev)
    section = markdown.split("## `candidate` against the other targets", 1)[1].split("\n## ", 1)[0]
    assert "### `candidate` vs `prompt-only`" in section
    assert "### `candidate` vs `previous`" in section
    regressed = sorted(c.key for c in ev.comparison.with_transition("regressed"))
    line = next(x for x in section.splitlines() if "pass on `prompt-only` and fail" in x)
    assert line.startswith(f"{len(regressed)} case(s)")
    assert all(f"`{key}`" in line for key in regressed)
    assert "pass on `previous`" not in section  # nothing to list where nothing changed
    # The verdict and its gates are base against candidate only.
    gated = evaluate(read_run_log(build.HERE / "release.jsonl"))
    assert [g.name for g in ev.gates] == [g.name for g in gated.gates]

    page = render_html(ev)
    assert '<section id="alternatives">' in page and "candidate vs prompt-only" in page
    summary = json.loads(json.dumps(summary_json(ev)))
    assert [a["target"] for a in summary["alternatives"]] == ["previous", "prompt-only"]
    assert summary["alternatives"][1]["categories"] == summary["categories"]


def test_a_run_of_base_and_candidate_only_has_no_such_section():
    ev = evaluate(read_run_log(build.HERE / "release.jsonl"))
    assert ev.alternatives == ()
    assert "against the other targets" not in render_markdown(ev)
    assert 'id="alternatives"' not in render_html(ev)
