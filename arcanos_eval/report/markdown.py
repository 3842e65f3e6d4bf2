"""The markdown release report (GitHub-flavoured tables via tabulate), rendered from an evaluation.

Sections, in order: verdict; release checklist; gates; pass rates per category; latency, tokens and
cost; regressions; improvements; pairwise preference (when a pairwise check ran); graders (when a
check consulted a model to grade: calibration, agreement with human labels); schema drift; flaky
cases; errored calls; unpaired cases; charts; fine-tune provenance (when the run recorded some);
provenance; how the numbers are counted. The output depends only on the run log (and the data
report): orders are sorted, floats have fixed formats and the bootstrap is seeded, so the same log
renders byte-identical markdown.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import tabulate as tabulate_module
from tabulate import tabulate

from arcanos_eval.compare import (
    ALL_CATEGORIES,
    CaseComparison,
    CategoryStats,
    Comparison,
    DriftSummary,
    TargetOutcome,
)
from arcanos_eval.gates import GateResult
from arcanos_eval.model import PairwiseRecord, PairwiseTally, ResultRecord, RunHeader
from arcanos_eval.report.charts import ChartSet
from arcanos_eval.report.evaluation import Evaluation, RunDiff
from arcanos_eval.report.fine_tune import fine_tune_views
from arcanos_eval.report.graders import (
    CALIBRATION_HEADERS,
    CALIBRATION_NOTE,
    LABEL_HEADERS,
    LABELS_NOTE,
    calibration_rows,
    label_rows,
)
from arcanos_eval.stats import (
    TargetStats,
    format_interval,
    format_ms,
    format_p,
    format_percent,
    format_points,
    format_ratio,
    format_usd,
)

__all__ = ["render_diff_markdown", "render_markdown", "render_summary_sections"]

_STATUS = {
    "pass": "✅ pass",
    "fail": "❌ fail",
    "waived": "⚪ waived",
    "not evaluated": "❌ not evaluated",
}
_CELL_CHARS = 300
_REASON_CHARS = 240
_DETAIL_CASES = 25
_DIFF_EXCERPT = 15
_INPUT_CHARS = 240


# ------------------------------------------------------------------------------ helpers


def _clip(value: Any, limit: int = _CELL_CHARS) -> str:
    """One line of text, long text cut."""
    text = " ".join(str(value if value is not None else "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cell(value: Any, limit: int = _CELL_CHARS) -> str:
    """A table cell: one line, pipes escaped (a pipe would end the cell), long text cut."""
    return _clip(value, limit).replace("|", "\\|")


def _table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    body = [[_cell(v) for v in row] for row in rows]
    # tabulate pads by display width (emoji and CJK count two) only when the optional `wcwidth`
    # is installed, and by code points otherwise; padding by code points always renders a log to
    # the same bytes on every machine.
    wide, tabulate_module.WIDE_CHARS_MODE = tabulate_module.WIDE_CHARS_MODE, False
    try:
        return str(tabulate(body, headers=list(headers), tablefmt="github", disable_numparse=True))
    finally:
        tabulate_module.WIDE_CHARS_MODE = wide


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _failures(outcome: TargetOutcome | None, limit: int = _REASON_CHARS) -> str:
    if outcome is None:
        return "no answer"
    return "; ".join(_clip(f, limit) for f in outcome.failures) or "all checks passed"


def _case_input(header: RunHeader, case: CaseComparison) -> str | None:
    text = header.suite(case.suite_id).case_inputs.get(case.case_id)
    return None if text is None else _clip(text, _INPUT_CHARS)


def _model(header: RunHeader, target: str) -> str:
    return header.target(target).model or "?"


def _known(value: str | None, unknown: str = "?") -> str:
    return unknown if value is None else value


def _counts(outcome: TargetOutcome | None) -> str:
    if outcome is None:
        return "no answer"
    if outcome.errored:
        return f"errored ({outcome.errored_answers}/{outcome.repeats})"
    if outcome.repeats == 1:
        return "pass" if outcome.passed else "fail"
    passed = sum(r.passed for r in outcome.records)
    return f"{'pass' if outcome.passed else 'fail'} ({passed}/{outcome.repeats} repeats)"


# ------------------------------------------------------------------------------ sections


def _partial_banner(ev: Evaluation) -> list[str]:
    """First after the title, before the verdict: the run lacks answers, and how to get them."""
    if ev.incomplete is None:
        return []
    if ev.partial is not None:
        what = f"{ev.partial.counts}; resume with: {_code(ev.partial.resume_command)}"
    else:
        what = ev.incomplete.removeprefix("partial run: ")
    return [
        f"> **Partial run: {what}.** No release verdict: the gates judged only what ran, and "
        "the verdict is HOLD.",
        "",
    ]


def _verdict(ev: Evaluation) -> list[str]:
    v = ev.verdict
    lines = [f"# Release report: `{ev.candidate}` vs `{ev.baseline}`", "", *_partial_banner(ev)]
    if v.promote:
        lines.append(
            f"## Verdict: ✅ PROMOTE `{ev.candidate}` ({_code(_model(ev.header, ev.candidate))})"
        )
        lines.append("")
        lines.append(
            f"All {v.gates} gate(s) passed."
            if v.gates
            else "**No gate is configured, so nothing was checked**: add "
            "`[tool.arcanos_eval.gates]` to pyproject.toml before relying on this "
            "verdict."
        )
    else:
        fallback = ev.fallback.describe(_code)
        lines.append(
            f"## Verdict: ❌ HOLD `{ev.candidate}` ({_code(_model(ev.header, ev.candidate))})"
        )
        lines.append("")
        reasons = _hold_reasons(ev)
        lines.append(("; ".join(reasons) + ". " if reasons else "") + f"Action: {fallback}.")
    lines += _waivers(ev)
    if ev.errored:
        lines += [
            "",
            f"> **{len(ev.errored)} answer(s) errored** after retries and are left out "
            "of every figure (see *Errored calls*); the evidence is incomplete, so the CLI "
            "exits with status 3 unless the verdict is HOLD. Resume the run "
            "(`arcanos-eval run --resume RUN.jsonl`) to retry them.",
        ]
    if ev.torn_lines:
        lines += [
            "",
            f"> The run log ends with {ev.torn_lines} unreadable line(s): the run was interrupted.",
        ]
    header = ev.header
    finished = header.footer.finished_at if header.footer else None
    lines += [
        "",
        f"Run `{ev.run_id}` ({_known(header.mode)} mode), started "
        f"{_known(header.started_at)}, finished {_known(finished, 'n/a')}: "
        f"{ev.answers} answers over {len(ev.comparison.cases)} cases"
        + (f" from `{ev.log_name}`" if ev.log_name else "")
        + ".",
    ]
    return lines


def _hold_reasons(ev: Evaluation) -> list[str]:
    """Why the release is held: the failing gates, then each invariant neither evaluated nor
    waived."""
    v = ev.verdict
    reasons = ["**Partial run**: no release verdict (see above)"] if ev.incomplete else []
    if v.failing:
        reasons.append(
            f"{len(v.failing)} of {v.gates} gate(s) failed: "
            + ", ".join(f"**{name}**" for name in v.failing)
        )
    for item in ev.checklist:
        if item.status == "not evaluated":
            reasons.append(f"**{item.name}**: not evaluated and not waived")
    return reasons


def _waivers(ev: Evaluation) -> list[str]:
    """The waived invariants with their reasons, beside the decision they allowed."""
    waived = [i for i in ev.checklist if i.waiver is not None]
    if not waived:
        return []
    return [
        "",
        "Waived in `[tool.arcanos_eval.gates] waive` (not evaluated, accepted with a reason): "
        + "; ".join(f"**{i.name}**: {i.waiver}" for i in waived)
        + ".",
    ]


def _checklist(ev: Evaluation) -> list[str]:
    rows = [(item.title, _STATUS[item.status], item.evidence) for item in ev.checklist]
    return ["## Release checklist", "", _table(rows, ["invariant", "status", "evidence"])]


def _gates(ev: Evaluation) -> list[str]:
    lines = ["## Gates", ""]
    if not ev.gates:
        return [*lines, "No gate configured."]
    rows = [
        (
            r.name,
            r.scope,
            r.measured_text,
            r.threshold_text,
            "✅ pass" if r.passed else "❌ fail",
            r.evidence,
        )
        for r in ev.gates
    ]
    return [*lines, _table(rows, ["gate", "scope", "measured", "threshold", "result", "evidence"])]


def category_cells(c: CategoryStats) -> tuple[str, ...]:
    """A category's pass counts, rates and intervals of both targets, its paired delta, fixed and
    regressed counts and McNemar p: the cells every report's category table shows."""
    return (
        f"{c.base.passed_text}/{c.base.total}",
        format_percent(c.base.rate),
        format_interval(c.base.interval) if c.base.total else "n/a",
        f"{c.candidate.passed_text}/{c.candidate.total}",
        format_percent(c.candidate.rate),
        format_interval(c.candidate.interval) if c.candidate.total else "n/a",
        f"{format_points(c.delta)} (n={c.paired})",
        str(c.transitions["fixed"]),
        str(c.transitions["regressed"]),
        format_p(c.mcnemar_p),
    )


def _category_rows(categories: Sequence[CategoryStats]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for c in categories:
        score = c.score_delta
        rows.append(
            (
                f"**{c.category}**" if c.category == ALL_CATEGORIES else c.category,
                *category_cells(c),
                "n/a"
                if score is None
                else f"{score.delta:+.3f} {format_interval(score.interval, percent=False)}",
            )
        )
    return rows


_CATEGORY_HEADERS = (
    "category",
    "{a} passed",
    "{a} rate",
    "{a} 95% CI",
    "{b} passed",
    "{b} rate",
    "{b} 95% CI",
    "delta (paired)",
    "fixed",
    "regressed",
    "McNemar p",
    "score delta [95% CI]",
)


def _pass_rates(categories: Sequence[CategoryStats], base: str, cand: str) -> list[str]:
    headers = [h.format(a=base, b=cand) for h in _CATEGORY_HEADERS]
    return [
        "## Pass rates by category",
        "",
        f"A case passes when every repeat of it passed every check; *delta* is over cases "
        f"judged on both sides, `(fixed - regressed) / n`. 95% intervals are Wilson; the "
        f"McNemar test is exact and two-sided; the score delta is the mean check value of "
        f"`{cand}` minus `{base}`, with a seeded paired-bootstrap interval.",
        "",
        _table(_category_rows(categories), headers),
    ]


_KEYS_SHOWN = 20


def _case_keys(cases: Sequence[CaseComparison]) -> str:
    keys = ", ".join(_code(c.key) for c in cases[:_KEYS_SHOWN])
    more = len(cases) - _KEYS_SHOWN
    return keys + (f" and {more} more" if more > 0 else "")


def _alternatives(ev: Evaluation) -> list[str]:
    """The candidate beside every target the gates do not compare it with."""
    cand = ev.candidate
    lines = [
        f"## `{cand}` against the other targets",
        "",
        f"Not gated: the gates compare `{cand}` with `{ev.baseline}` only. Each table reads like "
        f"the pass rates above, with the other target in `{ev.baseline}`'s place.",
    ]
    for alt in ev.alternatives:
        headers = [h.format(a=alt.target, b=cand) for h in _CATEGORY_HEADERS]
        lines += [
            "",
            f"### `{cand}` vs `{alt.target}`",
            "",
            _table(_category_rows(alt.categories), headers),
        ]
        for cases, text in (
            (alt.comparison.with_transition("regressed"), f"pass on `{alt.target}` and fail"),
            (alt.comparison.with_transition("fixed"), f"fail on `{alt.target}` and pass"),
        ):
            if cases:
                lines += ["", f"{len(cases)} case(s) {text} on `{cand}`: {_case_keys(cases)}."]
    return lines


def _cases_needed(ev: Evaluation) -> list[str]:
    """Per gated category, the cases it measured and the cases its gate needs at these rates."""
    rows = []
    for r in ev.gates:
        if r.sufficiency is None:
            continue
        needed, more = r.sufficiency.needed, r.sufficiency.more
        if needed is None or more is None:
            verdict = "cannot pass at these rates"
        elif more == 0:
            verdict = "none"
        else:
            verdict = f"{more} more ({needed} in all)"
        rows.append((r.name, r.scope, str(r.sufficiency.cases), verdict))
    if not rows:
        return []
    return [
        "### Cases needed",
        "",
        "How many more cases each gated category needs for its gate to pass if the rates "
        "observed here held: at least `min_cases` in all, and for a failing non-inferiority "
        "test enough for the bound of the drop to fall within the margin 19 times in 20. "
        "*Cannot pass at these rates*: the observed rate misses the bar (or the observed drop "
        "reaches the margin), so more cases alone will not pass the gate.",
        "",
        _table(rows, ["gate", "scope", "cases", "cases needed"]),
    ]


def _origins(stats: TargetStats) -> str:
    return ", ".join(f"{n} {origin}" for origin, n in stats.origins.items()) or "none"


def _targets(
    entries: Sequence[tuple[str, TargetStats]],
    pair: tuple[str, TargetStats, str, TargetStats] | None,
) -> list[str]:
    rows = []
    for label, s in entries:
        rows.append(
            (
                label,
                s.answers,
                s.errored,
                format_ms(s.latency(50)),
                format_ms(s.latency(95)),
                format_ms(s.latency(99)),
                format_ms(s.ttft(50)),
                format_ms(s.ttft(95)),
                "n/a" if s.tokens_per_answer is None else f"{s.tokens_per_answer:.1f}",
                f"{s.prompt_tokens} + {s.completion_tokens}",
                format_usd(s.cost_usd),
                _origins(s),
            )
        )
    lines = [
        "## Latency, tokens and cost",
        "",
        "Over non-errored answers; replayed and cached answers keep the latency recorded "
        "when they were first answered. Cost uses each target's configured prices "
        "(USD per million tokens).",
        "",
        _table(
            rows,
            [
                "target",
                "answers",
                "errored",
                "p50",
                "p95",
                "p99",
                "TTFT p50",
                "TTFT p95",
                "tokens/answer",
                "prompt + completion tokens",
                "cost",
                "origin",
            ],
        ),
    ]
    if pair is not None:
        base, b, cand, c = pair
        ratios = []
        for label, top, bottom in (
            ("p95 latency", c.latency(95), b.latency(95)),
            ("tokens per answer", c.tokens_per_answer, b.tokens_per_answer),
            ("cost per answer", c.cost_per_answer, b.cost_per_answer),
        ):
            ratio = top / bottom if top is not None and bottom else None
            ratios.append(f"{label} {format_ratio(ratio)}")
        lines += ["", f"`{cand}` / `{base}`: " + ", ".join(ratios) + "."]
    return lines


def _evaluation_targets(ev: Evaluation) -> list[str]:
    roles = {ev.baseline: "base", ev.candidate: "candidate"}
    entries = [
        (
            f"{s.target} ({roles[s.target]})"
            if roles.get(s.target, s.target) != s.target
            else s.target,
            s,
        )
        for s in ev.targets
    ]
    by_name = {s.target: s for s in ev.targets}
    pair = None
    if ev.baseline in by_name and ev.candidate in by_name:
        pair = (ev.baseline, by_name[ev.baseline], ev.candidate, by_name[ev.candidate])
    return _targets(entries, pair)


def _diff_block(case: CaseComparison) -> list[str]:
    diff = case.diff
    repeats = f"base repeat {diff.base_repeat}, candidate repeat {diff.candidate_repeat}"
    if diff.kind == "same":
        return [f"Answers are identical ({repeats})."]
    if diff.kind == "unavailable":
        return ["No diff: one side has no usable answer."]
    shown = list(diff.lines[:_DIFF_EXCERPT])
    cut = len(diff.lines) - len(shown) + diff.omitted
    label = "JSON diff" if diff.kind == "json" else "text diff"
    block = [
        f"{label} ({repeats}; `-` base, `+` candidate):",
        "",
        "```diff",
        *(line.replace("```", "'''") for line in shown),
        "```",
    ]
    if cut:
        block.append(f"({cut} more line(s) not shown)")
    window = _diff_window(diff.skipped, diff.uncompared)
    if window:
        block.append(window)
    return block


def _diff_window(skipped: int, uncompared: tuple[int, int]) -> str | None:
    """What a text diff over a window of two long answers left out, or ``None``."""
    parts = [f"the first {skipped:,} characters of both answers are the same"] if skipped else []
    for side, count in zip(("base", "candidate"), uncompared, strict=True):
        if count:
            parts.append(f"… {count:,} more characters of the {side} answer not compared")
    return f"({'; '.join(parts)})" if parts else None


def _case_details(
    cases: Sequence[CaseComparison], header: RunHeader, base: str, cand: str, failing: str
) -> list[str]:
    lines: list[str] = []
    for case in cases[:_DETAIL_CASES]:
        text = _case_input(header, case)
        outcome = case.candidate if failing == "candidate" else case.base
        lines += [
            "",
            f"<details><summary><code>{html.escape(case.key)}</code> "
            f"({html.escape(case.category)})</summary>",
            "",
        ]
        # Inside an HTML block, model and user text is escaped so it cannot close the block.
        if text is not None:
            lines += [f"Input: {html.escape(text, quote=False)}", ""]
        lines += [
            f"- `{base}`: {_counts(case.base)}",
            f"- `{cand}`: {_counts(case.candidate)}",
            f"- failed checks ({failing}): {html.escape(_failures(outcome), quote=False)}",
            "",
            *_diff_block(case),
            "",
            "</details>",
        ]
    if len(cases) > _DETAIL_CASES:
        lines += ["", f"({len(cases) - _DETAIL_CASES} more case(s) listed in the table only)"]
    return lines


def _regressions(
    comparison: Comparison,
    header: RunHeader,
    base: str,
    cand: str,
    title: str = "Regressions",
) -> list[str]:
    cases = comparison.with_transition("regressed")
    lines = [f"## {title} ({len(cases)})", ""]
    if not cases:
        return [*lines, f"No case passes on `{base}` and fails on `{cand}`."]
    rows = [(case.key, case.category, _failures(case.candidate)) for case in cases]
    lines.append(_table(rows, ["case", "category", f"why {cand} fails"]))
    return lines + _case_details(cases, header, base, cand, "candidate")


def _improvements(comparison: Comparison, base: str, cand: str) -> list[str]:
    cases = comparison.with_transition("fixed")
    lines = [f"## Improvements ({len(cases)})", ""]
    if not cases:
        return [*lines, f"No case fails on `{base}` and passes on `{cand}`."]
    rows = [(case.key, case.category, _failures(case.base)) for case in cases]
    return [*lines, _table(rows, ["case", "category", f"why {base} failed"])]


def _tally_row(label: str, tally: PairwiseTally) -> tuple[Any, ...]:
    return (
        label,
        tally.comparisons,
        tally.wins,
        tally.ties,
        tally.losses,
        tally.undecided,
        tally.flipped,
        format_percent(tally.win_rate),
        format_percent(tally.loss_rate),
    )


def _pairwise(compared: Sequence[PairwiseRecord], base: str, cand: str) -> list[str]:
    """Win/tie/loss of the candidate per suite and overall, then the comparisons it lost."""
    lines = [
        f"## Pairwise preference (`{cand}` vs `{base}`)",
        "",
        "A judge compared both answers to each case and repeat, once in each order; a preference "
        "that changed with the order counts as a tie. The win rate counts a tie as half; the loss "
        "rate counts an undecided comparison (an answer errored, or the judge gave no verdict) as "
        "lost.",
        "",
    ]
    suites = sorted({p.suite_id for p in compared})
    rows = [_tally_row(s, PairwiseTally.of(p for p in compared if p.suite_id == s)) for s in suites]
    rows.append(_tally_row(ALL_CATEGORIES, PairwiseTally.of(compared)))
    headers = ["suite", "comparisons", "won", "tied", "lost", "undecided", "order flips"]
    lines.append(_table(rows, [*headers, "win rate", "loss rate"]))
    order = sorted(compared, key=lambda p: (p.case_key, p.repeat, p.index))
    lost = [p for p in order if p.outcome == "loss"]
    lines += ["", f"### Cases `{cand}` lost ({len(lost)})", ""]
    if not lost:
        lines.append(f"No comparison went to `{base}` in both orders.")
    else:
        rows = [(p.case_key, p.repeat, p.judge, p.rubric, p.reason) for p in lost]
        lines.append(_table(rows, ["case", "repeat", "judge", "rubric", "judge's reasons"]))
    undecided = [p for p in order if p.outcome == "undecided"]
    if undecided:
        rows = [(p.case_key, p.repeat, p.judge, p.reason) for p in undecided]
        lines += [
            "",
            f"### Undecided comparisons ({len(undecided)})",
            "",
            _table(rows, ["case", "repeat", "judge", "why"]),
        ]
    return lines


def _graders(ev: Evaluation) -> list[str]:
    """Each grader's calibration, and its agreement with the cases' human labels."""
    lines = ["## Graders", "", CALIBRATION_NOTE, ""]
    if ev.calibration:
        lines.append(_table(calibration_rows(ev.calibration), CALIBRATION_HEADERS))
    else:
        lines.append("No grader was calibrated in this run.")
    if ev.labels:
        lines += ["", "### Agreement with human labels", "", LABELS_NOTE, ""]
        lines.append(_table(label_rows(ev.labels), LABEL_HEADERS))
    return lines


def _drift_lines(drift: DriftSummary, base: str, cand: str) -> list[str]:
    out = [
        f"- JSON answers: {base} {drift.base_json}/{drift.base_answers}, {cand} "
        f"{drift.candidate_json}/{drift.candidate_answers}"
    ]
    if drift.added_paths:
        out.append(f"- keys only {cand} writes: " + ", ".join(_code(p) for p in drift.added_paths))
    if drift.removed_paths:
        out.append(
            f"- keys {cand} no longer writes: " + ", ".join(_code(p) for p in drift.removed_paths)
        )
    for path, old, new in drift.type_changes:
        out.append(f"- type of {_code(path)}: {', '.join(old)} -> {', '.join(new)}")
    for path, added, removed in drift.value_changes:
        parts = []
        if added:
            parts.append("new " + ", ".join(_code(v) for v in added))
        if removed:
            parts.append("gone " + ", ".join(_code(v) for v in removed))
        out.append(f"- values of {_code(path)}: {'; '.join(parts)}")
    return out


def _drift(comparison: Comparison, base: str, cand: str) -> list[str]:
    lines = [
        "## Schema drift",
        "",
        f"Shape of the JSON answers per suite, `{cand}` against `{base}` (all non-errored "
        "answers; `$` is the answer, `[]` any array item).",
    ]
    for drift in comparison.drift:
        if drift.drifted:
            lines += ["", f"**{drift.suite_id}**", "", *_drift_lines(drift, base, cand)]
    steady = [d.suite_id for d in comparison.drift if d.comparable and not d.drifted]
    if steady:
        lines += ["", "No drift in: " + ", ".join(f"`{s}`" for s in steady) + "."]
    apart = [d for d in comparison.drift if not d.comparable]
    if apart:
        lines += [
            "",
            "Not compared (a side has no JSON answer): "
            + ", ".join(
                f"`{d.suite_id}` (JSON answers: {base} {d.base_json}/{d.base_answers}, {cand} "
                f"{d.candidate_json}/{d.candidate_answers})"
                for d in apart
            )
            + ".",
        ]
    return lines


def _counted_as(outcome: TargetOutcome) -> str:
    """What a case's repeats count as under its reducer (``pass (majority)``, ``0.67 (mean)``)."""
    value = "pass" if outcome.passed else "fail"
    if outcome.reducer == "mean" and not outcome.passed:
        value = f"{outcome.pass_value:.2f}"
    return f"{value} ({outcome.reducer})"


def _flaky_gates(gates: Sequence[GateResult]) -> list[str]:
    """The ``max_flaky`` gate results, one line each (nothing when the gate is not configured)."""
    return [
        f"Gate `{r.label}`: {r.measured_text} of repeated cases flaky, needs "
        f"{r.threshold_text}: {'✅ pass' if r.passed else '❌ fail'} ({r.evidence})."
        if r.measured is not None
        else f"Gate `{r.label}`: ❌ fail ({r.evidence})."
        for r in gates
        if r.key == "max_flaky"
    ]


def _flaky(
    comparison: Comparison, base: str, cand: str, gates: Sequence[GateResult] = ()
) -> list[str]:
    flaky = comparison.flaky()
    lines = [f"## Flaky cases ({len(flaky)})", ""]
    gate_lines = _flaky_gates(gates)
    repeated = any(o.repeats > 1 for c in comparison.cases for o in (c.base, c.candidate) if o)
    if not repeated:
        return [
            *lines,
            "Each case was answered once per target: run with `--repeats N` to "
            "measure flakiness and consistency.",
            *(["", *gate_lines] if gate_lines else []),
        ]
    if not flaky:
        lines.append("Every repeated case passed or failed consistently.")
    else:
        # A reducer other than `all` changes what a flaky case counts as: say so per case.
        reduced = any(outcome.reducer != "all" for _, outcome in flaky)
        rows = [
            (
                case.key,
                base if outcome is case.base else cand,
                f"{sum(r.passed for r in outcome.records)}/{outcome.repeats}",
                format_percent(outcome.pass_rate),
                format_percent(outcome.agreement),
                *((_counted_as(outcome),) if reduced else ()),
            )
            for case, outcome in flaky
        ]
        headers = ["case", "target", "passed repeats", "pass rate", "answer agreement"]
        lines.append(_table(rows, [*headers, *(["counts as"] if reduced else [])]))
    agreements = [
        o.agreement
        for c in comparison.cases
        for o in (c.base, c.candidate)
        if o is not None and o.agreement is not None
    ]
    if agreements:
        lines += [
            "",
            f"Answer agreement (share of repeats giving the most common answer), mean "
            f"over {len(agreements)} repeated case outcomes: "
            f"{format_percent(sum(agreements) / len(agreements))}.",
        ]
    reducers = _reducers(comparison)
    if reducers:
        lines += [
            "",
            "Repeats reduced otherwise than `all` in this run: "
            + ", ".join(f"`{name}` ({count} case outcomes)" for name, count in reducers.items())
            + ". Pass rates, deltas and transitions use each case's reduced value (`mean`: the "
            "share of its repeats that passed).",
        ]
    if gate_lines:
        lines += ["", *gate_lines]
    return lines


def _reducers(comparison: Comparison) -> dict[str, int]:
    """Case outcomes per reducer other than ``all``, by name."""
    counts: dict[str, int] = {}
    for case in comparison.cases:
        for outcome in (case.base, case.candidate):
            if outcome is not None and outcome.reducer != "all":
                counts[outcome.reducer] = counts.get(outcome.reducer, 0) + 1
    return dict(sorted(counts.items()))


def _errored(errored: Sequence[tuple[str, ResultRecord]]) -> list[str]:
    lines = [f"## Errored calls ({len(errored)})", ""]
    if not errored:
        return [*lines, "None: every call produced an answer."]
    rows = [
        (
            f"{r.suite_id}::{r.case_id}",
            label,
            r.repeat,
            r.response.error_type,
            r.response.attempts,
            r.response.error,
        )
        for label, r in errored
    ]
    return [
        *lines,
        "Left out of pass rates, latency, tokens and cost.",
        "",
        _table(rows, ["case", "target", "repeat", "error type", "attempts", "error"]),
    ]


def _unpaired(comparison: Comparison, base: str, cand: str) -> list[str]:
    cases = comparison.with_transition("unpaired")
    lines = [f"## Unpaired cases ({len(cases)})", ""]
    if not cases:
        return [*lines, f"Every case has answers from both `{base}` and `{cand}`."]
    rows = [
        (
            c.key,
            c.category,
            "answered" if c.base else "**missing**",
            "answered" if c.candidate else "**missing**",
        )
        for c in cases
    ]
    return [
        *lines,
        "Counted in the pass rate of the side that answered, never in paired "
        "statistics or gates comparing the two.",
        "",
        _table(rows, ["case", "category", base, cand]),
    ]


def _charts(charts: ChartSet | None) -> list[str]:
    lines = ["## Charts", ""]
    if charts is None:
        return [*lines, "Not requested (`--charts DIR` on `arcanos-eval run` or `report`)."]
    if charts.skipped:
        return [*lines, f"Skipped: {charts.skipped}"]
    for chart in charts.files:
        lines += [f"![{chart.title}]({chart.link})", ""]
    return lines[:-1]


def _provenance_rows(
    header: RunHeader, roles: Mapping[str, str], stats: Mapping[str, TargetStats]
) -> list[tuple[Any, ...]]:
    rows = []
    for name, info in sorted(header.targets.items()):
        s = stats.get(name)
        rows.append(
            (
                name,
                roles.get(name, ""),
                info.model,
                info.api,
                info.endpoint,
                "yes" if info.stream else "no",
                info.structured_outputs,
                info.system_prompt_sha256 or "none",
                _origins(s) if s else "none",
            )
        )
    return rows


def _fine_tunes(ev: Evaluation) -> list[str]:
    """Each recorded fine-tune: verified or its problems, the job's facts, checkpoints, events."""
    views = fine_tune_views(ev)
    if not views:
        return []
    lines = [
        "## Fine-tune provenance",
        "",
        "The fine-tuning job behind each target, as this run read it (the candidate's problems "
        "fail the `fine_tune` gate).",
    ]
    for view in views:
        mark = "✅" if view.assessment.verified else "❌"
        role = f" ({view.role})" if view.role else ""
        lines += ["", f"### `{view.target}`{role}, {_code(view.model)}: {mark} {view.verdict}", ""]
        lines += [f"- ❌ {_clip(problem, 600)}" for problem in view.assessment.problems]
        if view.assessment.problems:
            lines.append("")
        lines.append(_table(view.facts, ["", ""]))
        if view.checkpoints:
            lines += ["", _table(view.checkpoints, ["checkpoint step", "model", "metrics"])]
        if view.events:
            lines += ["", _table(view.events, ["event time", "level", "message"])]
    return lines


def _provenance(ev: Evaluation) -> list[str]:
    header = ev.header
    roles = {ev.baseline: "base", ev.candidate: "candidate"}
    if ev.rollback:
        roles[ev.rollback] = roles.get(ev.rollback, "rollback")
    rows = _provenance_rows(header, roles, {s.target: s for s in ev.targets})
    prov = header.provenance
    suite_rows = [
        (
            sid,
            info.version,
            info.path,
            info.cases,
            ", ".join(info.categories),
            "yes" if info.response_schema else "no",
        )
        for sid, info in sorted(header.suites.items())
    ]
    footer = header.footer
    stats = footer.stats if footer else {}
    finished = footer.finished_at if footer else None
    facts = [
        ("run id", header.run_id),
        ("started", header.started_at),
        ("finished", _known(finished, "n/a (interrupted?)")),
        ("mode", header.mode),
        ("planned answers", header.planned),
        ("answers in log", ev.answers),
        (
            "engine",
            ", ".join(f"{k} {stats[k]}" for k in sorted(stats) if isinstance(stats[k], int))
            or "n/a",
        ),
        ("arcanos-eval", prov.arcanos_eval),
        ("SDK", prov.sdk),
        ("Python", prov.python),
        ("platform", prov.platform),
        ("git commit", prov.git_commit or "unknown"),
    ]
    return [
        "## Provenance",
        "",
        _table(
            rows,
            [
                "target",
                "role",
                "model",
                "api",
                "endpoint",
                "stream",
                "structured outputs",
                "system prompt sha256",
                "answers by origin",
            ],
        ),
        "",
        _table(suite_rows, ["suite", "version", "file", "cases", "categories", "response schema"]),
        "",
        _table(facts, ["", ""]),
    ]


_COUNTING = """## How the numbers are counted

- The run log holds the latest record per case, target and repeat; everything here is computed from
  those records (`arcanos-eval report` re-renders any saved log identically).
- A case passes for a target when every repeat passed every check. A case with an errored answer is
  left out of that target's pass rate and of paired statistics, and listed under *Errored calls*.
- Pass rates, deltas, McNemar and the regression gates count cases; latency, tokens, cost, schema
  violations and moderation count answers (every repeat).
- Transitions: `regressed` passes on base and fails on candidate, `fixed` the reverse; `unpaired`
  means one target has no answer in the log.
- Diffs compare one answer per target (the first failing repeat, else repeat 0): a deepdiff of
  parsed JSON (or tool calls), a line diff of the text otherwise.
- Release checklist: each audit invariant must be evaluated by a configured gate or *waived* with a
  reason (`waive` in `[tool.arcanos_eval.gates]`, printed above); one neither evaluated nor waived
  is a HOLD. A configured gate that cannot be measured fails. The verdict is HOLD when a gate
  fails, an invariant is neither evaluated nor waived, or the run is incomplete (not every case
  answered by both targets, or the log never finished)."""


def render_markdown(evaluation: Evaluation, *, charts: ChartSet | None = None) -> str:
    """The full release report.

    Args:
        evaluation: from :func:`~arcanos_eval.report.evaluate`.
        charts: the charts written beside the report (or why they were skipped); ``None`` when
            none were requested.
    """
    ev = evaluation
    sections = [
        _verdict(ev),
        _checklist(ev),
        _gates(ev),
        _pass_rates(ev.categories, ev.baseline, ev.candidate),
        *filter(None, [_cases_needed(ev)]),
        *([_alternatives(ev)] if ev.alternatives else []),
        _evaluation_targets(ev),
        _regressions(ev.comparison, ev.header, ev.baseline, ev.candidate),
        _improvements(ev.comparison, ev.baseline, ev.candidate),
        *([_pairwise(ev.pairwise, ev.baseline, ev.candidate)] if ev.pairwise else []),
        *([_graders(ev)] if ev.calibration or ev.labels else []),
        _drift(ev.comparison, ev.baseline, ev.candidate),
        _flaky(ev.comparison, ev.baseline, ev.candidate, ev.gates),
        _errored([(r.target, r) for r in ev.errored]),
        _unpaired(ev.comparison, ev.baseline, ev.candidate),
        _charts(charts),
        *filter(None, [_fine_tunes(ev)]),
        _provenance(ev),
        [_COUNTING],
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def render_summary_sections(evaluation: Evaluation) -> str:
    """The verdict, checklist, gates and pass rates only (for a CI step summary)."""
    ev = evaluation
    sections = [
        _verdict(ev),
        _checklist(ev),
        _gates(ev),
        _pass_rates(ev.categories, ev.baseline, ev.candidate),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


# ------------------------------------------------------------------------------ run diff


def _changed(comparison: Comparison, old: str, new: str) -> list[str]:
    """Cases asked differently in the two runs: shown, never counted as fixed or regressed."""
    cases = comparison.with_transition("changed")
    if not cases:
        return []
    rows = [(c.key, c.category, _counts(c.base), _counts(c.candidate)) for c in cases]
    return [
        f"## Changed cases ({len(cases)})",
        "",
        f"The request changed between {old} and {new} (the case's input, or its messages, tools "
        "or schema): the two answers answer different questions, so these cases are neither "
        "fixed nor regressed and stay out of the paired statistics.",
        "",
        _table(rows, ["case", "category", old, new]),
    ]


def render_diff_markdown(diff: RunDiff) -> str:
    """This release's run against the last one: transitions and the same statistics.

    The older run's answers are labelled ``A`` and the newer run's ``B``, as on the command line.
    """
    old, new = "A", "B"
    counts = diff.categories[-1].transitions
    regressed = counts["regressed"]

    def describe(header: RunHeader, target: str, name: str | None) -> str:
        return f"`{target}` ({_code(_model(header, target))}) of run `{_known(header.run_id)}`" + (
            f" (`{name}`)" if name else ""
        )

    head = [
        f"# Run diff: B `{_known(diff.new_header.run_id)}` vs A `{_known(diff.old_header.run_id)}`",
        "",
        f"- A (the last release): {describe(diff.old_header, diff.old_target, diff.old_name)}",
        f"- B (this release): {describe(diff.new_header, diff.new_target, diff.new_name)}",
        "",
        "Cases: " + ", ".join(f"{counts[t]} {t}" for t in counts) + ".",
        "",
        f"**{regressed} case(s) regressed from A to B.**"
        if regressed
        else "**No case regressed from A to B.**",
    ]
    errored = [*((old, r) for r in diff.old_errored), *((new, r) for r in diff.new_errored)]
    sections = [
        head,
        _pass_rates(diff.categories, old, new),
        _targets(
            [(old, diff.targets[0]), (new, diff.targets[1])],
            (old, diff.targets[0], new, diff.targets[1]),
        ),
        _regressions(diff.comparison, diff.new_header, old, new),
        _improvements(diff.comparison, old, new),
        _changed(diff.comparison, old, new),
        _drift(diff.comparison, old, new),
        _flaky(diff.comparison, old, new),
        _errored(errored),
        _unpaired(diff.comparison, old, new),
    ]
    return "\n\n".join("\n".join(section) for section in sections if section) + "\n"
