"""The HTML release report: one self-contained file to read a run and browse its cases offline.

Rendered from the same :class:`~arcanos_eval.report.evaluation.Evaluation` as the markdown report,
so the verdict, gates and counts are the same: the verdict, release checklist, gates, pass rates
per category, latency per target, two inline SVG charts, the fine-tune provenance when the run
recorded some, then a case browser (filter by suite,
category and outcome, search the text; a case opens on both answers, the diff of them and every
check's reason for each target).

Everything from the log is hostile text. Text in the page is escaped with :func:`html.escape`; the
cases travel as JSON in a ``<script type="application/json">`` block with ``<``, ``>`` and ``&``
written as ``\\u003c``, ``\\u003e`` and ``\\u0026`` (so an answer holding ``</script>`` cannot end
the block), and the page's script builds the case browser with ``textContent`` only. A
Content-Security-Policy forbids every request (no network, no CDN, no font or image fetched); the
one script and the one stylesheet of the page (``report.js`` and ``report.css`` beside this module)
are allowed by their hashes. Long text is cut in the embedded data, so a runaway answer cannot
make a runaway page.

The bytes depend only on the log: no time of rendering, cases in the comparison's sorted order,
fixed number formats, and no optional package involved.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from arcanos_eval.compare import (
    ALL_CATEGORIES,
    CaseComparison,
    CategoryStats,
    OutputDiff,
    TargetOutcome,
)
from arcanos_eval.model import ResultRecord
from arcanos_eval.report.evaluation import Evaluation
from arcanos_eval.report.fine_tune import fine_tune_views
from arcanos_eval.report.graders import (
    CALIBRATION_HEADERS,
    CALIBRATION_NOTE,
    LABEL_HEADERS,
    LABELS_NOTE,
    calibration_rows,
    label_rows,
)
from arcanos_eval.report.markdown import category_cells
from arcanos_eval.stats import (
    TargetStats,
    format_ms,
    format_percent,
    format_usd,
)

__all__ = ["render_html"]

# Bounds on the text embedded per case: enough to read an answer, never a page the size of a log.
_ANSWER_CHARS = 4000
_INPUT_CHARS = 2000
_REASON_CHARS = 1000
_LINE_CHARS = 300

OUTCOME_LABELS: Mapping[str, str] = {
    "regressed": "regressed",
    "fixed": "fixed",
    "both_fail": "failed both",
    "both_pass": "passed both",
    "errored": "errored",
    "unpaired": "unpaired",
    "changed": "changed",
}


# ------------------------------------------------------------------------------ text


class _Markup(str):
    """Text already escaped (a badge, a chart): placed in the page as it is."""


def _e(value: object) -> str:
    return value if isinstance(value, _Markup) else html.escape(str(value), quote=True)


def _cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"… {len(text) - limit} more characters"


def _badge(status: str, text: str | None = None) -> _Markup:
    kind = status.replace(" ", "-")
    return _Markup(f'<span class="badge st-{_e(kind)}">{_e(text or status)}</span>')


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], css: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    attr = f' class="{css}"' if css else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>"


# ------------------------------------------------------------------------------ sections


def _model(ev: Evaluation, target: str) -> str:
    return ev.header.target(target).model or "?"


def _verdict(ev: Evaluation) -> str:
    v = ev.verdict
    cand = f"{ev.candidate} ({_model(ev, ev.candidate)})"
    lines: list[str] = []
    if v.promote:
        lines.append(
            f"All {v.gates} gate(s) passed."
            if v.gates
            else "No gate is configured, so nothing was checked."
        )
    else:
        if ev.incomplete is not None:
            lines.append("No release verdict: the run is partial (see above).")
        if v.failing:
            lines.append(f"{len(v.failing)} of {v.gates} gate(s) failed: {', '.join(v.failing)}.")
        lines.extend(f"{text}." for text in v.unmet)
        lines.append(f"Action: {ev.fallback.describe()}.")
    lines.extend(f"Waived: {name}: {reason}." for name, reason in v.waived)
    if ev.errored:
        lines.append(
            f"{len(ev.errored)} answer(s) errored after retries and are left out of every figure."
        )
    if ev.torn_lines:
        lines.append(f"The run log ends with {ev.torn_lines} unreadable line(s).")
    items = "".join(f"<li>{_e(line)}</li>" for line in lines)
    return (
        f'<section class="verdict {"promote" if v.promote else "hold"}" id="verdict">'
        f'<p class="decision"><span class="word">{_e(v.decision)}</span> {_e(cand)}</p>'
        f"<ul>{items}</ul></section>"
    )


def _partial_banner(ev: Evaluation) -> str:
    """First in the page, before the verdict: the run lacks answers, and how to get them."""
    if ev.incomplete is None:
        return ""
    if ev.partial is not None:
        what = f"{_e(ev.partial.counts)}; resume with: <code>{_e(ev.partial.resume_command)}</code>"
    else:
        what = _e(ev.incomplete.removeprefix("partial run: "))
    return (
        '<section class="partial" id="partial" role="alert"><p><strong>Partial run:</strong> '
        f"{what}. No release verdict: the gates judged only what ran, and the verdict is HOLD."
        "</p></section>"
    )


def _facts(ev: Evaluation) -> str:
    header = ev.header
    finished = header.footer.finished_at if header.footer else None
    facts = [
        ("run", ev.run_id or "?"),
        ("mode", header.mode or "?"),
        ("started", header.started_at or "?"),
        ("finished", finished or "n/a"),
        ("answers", str(ev.answers)),
        ("cases", str(len(ev.comparison.cases))),
        *((("log", ev.log_name),) if ev.log_name else ()),
        ("base", f"{ev.baseline} ({_model(ev, ev.baseline)})"),
        ("candidate", f"{ev.candidate} ({_model(ev, ev.candidate)})"),
    ]
    return (
        '<dl class="facts">'
        + "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
        + "</dl>"
    )


def _checklist(ev: Evaluation) -> str:
    rows = [(i.title, _badge(i.status), i.evidence) for i in ev.checklist]
    return _section(
        "checklist", "Release checklist", _table(["invariant", "status", "evidence"], rows)
    )


def _gates(ev: Evaluation) -> str:
    if not ev.gates:
        return _section("gates", "Gates", "<p>No gate configured.</p>")
    rows = [
        (
            r.name,
            r.scope,
            r.measured_text,
            r.threshold_text,
            _badge("pass" if r.passed else "fail"),
            r.evidence,
        )
        for r in ev.gates
    ]
    headers = ["gate", "scope", "measured", "threshold", "result", "evidence"]
    return _section("gates", "Gates", _table(headers, rows, "gates"))


def _category_table(categories: Sequence[CategoryStats], base: str, cand: str) -> str:
    rows = [(c.category, *category_cells(c)) for c in categories]
    headers = [
        "category",
        f"{base} passed",
        f"{base} rate",
        f"{base} 95% CI",
        f"{cand} passed",
        f"{cand} rate",
        f"{cand} 95% CI",
        "delta (paired)",
        "fixed",
        "regressed",
        "McNemar p",
    ]
    return _table(headers, rows, "numbers")


def _alternatives(ev: Evaluation) -> str:
    if not ev.alternatives:
        return ""
    cand = ev.candidate
    body = [
        f"<p>Not gated: the gates compare {_e(cand)} with {_e(ev.baseline)} only. Each table "
        f"reads like the pass rates above, with the other target in {_e(ev.baseline)}'s "
        "place.</p>"
    ]
    for alt in ev.alternatives:
        body.append(f"<h3>{_e(cand)} vs {_e(alt.target)}</h3>")
        body.append(_category_table(alt.categories, alt.target, cand))
    return _section("alternatives", f"{cand} against the other targets", "\n".join(body))


def _categories(ev: Evaluation) -> str:
    note = (
        "<p>A case passes when its repeats pass every check (under its reducer); the delta is "
        "over cases judged on both sides. Intervals are Wilson 95%; McNemar is exact and "
        "two-sided.</p>"
    )
    chart = _figure(_pass_rate_svg(ev), "Pass rate per category, with Wilson 95% intervals")
    table = _category_table(ev.categories, ev.baseline, ev.candidate)
    return _section("categories", "Pass rates by category", note + table + chart)


def _targets(ev: Evaluation) -> str:
    roles = {ev.baseline: "base", ev.candidate: "candidate"}
    rows = [
        (
            s.target
            if roles.get(s.target, s.target) == s.target
            else f"{s.target} ({roles[s.target]})",
            s.answers,
            s.errored,
            format_ms(s.latency(50)),
            format_ms(s.latency(95)),
            format_ms(s.latency(99)),
            format_ms(s.ttft(50)),
            "n/a" if s.tokens_per_answer is None else f"{s.tokens_per_answer:.1f}",
            format_usd(s.cost_usd),
        )
        for s in ev.targets
    ]
    headers = ["target", "answers", "errored", "p50", "p95", "p99", "TTFT p50"]
    note = (
        "<p>Over non-errored answers; replayed and cached answers keep the latency recorded "
        "when they were first answered.</p>"
    )
    chart = _figure(_latency_svg(ev.targets), "Latency p50 and p95 per target")
    table = _table([*headers, "tokens/answer", "cost"], rows, "numbers")
    return _section("latency", "Latency, tokens and cost", note + table + chart)


def _fine_tunes(ev: Evaluation) -> str:
    """Each recorded fine-tune: verified or its problems, the job's facts, checkpoints, events."""
    parts = []
    for view in fine_tune_views(ev):
        role = f" ({view.role})" if view.role else ""
        status = "pass" if view.assessment.verified else "fail"
        problems = "".join(f"<li>{_e(p)}</li>" for p in view.assessment.problems)
        parts.append(
            f"<h3>{_e(view.target)}{_e(role)}, {_e(view.model)} "
            f"{_badge(status, view.verdict)}</h3>"
            + (f'<ul class="problems">{problems}</ul>' if problems else "")
            + _table(["", ""], view.facts)
            + (
                _table(["checkpoint step", "model", "metrics"], view.checkpoints)
                if view.checkpoints
                else ""
            )
            + (_table(["event time", "level", "message"], view.events) if view.events else "")
        )
    if not parts:
        return ""
    note = (
        "<p>The fine-tuning job behind each target, as this run read it (the candidate's "
        "problems fail the fine_tune gate).</p>"
    )
    return _section("fine-tune", "Fine-tune provenance", note + "\n".join(parts))


def _graders(ev: Evaluation) -> str:
    """Each grader's calibration and agreement with human labels (empty when no check graded
    through a model)."""
    if not ev.calibration and not ev.labels:
        return ""
    body = f"<p>{_e(CALIBRATION_NOTE)}</p>" + _table(
        CALIBRATION_HEADERS, calibration_rows(ev.calibration)
    )
    if ev.labels:
        body += f"<h3>Agreement with human labels</h3><p>{_e(LABELS_NOTE)}</p>"
        body += _table(LABEL_HEADERS, label_rows(ev.labels))
    return _section("graders", "Graders", body)


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>\n{body}\n</section>'


def _figure(svg: str | None, caption: str) -> str:
    if svg is None:
        return ""
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


# ------------------------------------------------------------------------------ SVG charts

_WIDTH = 720
_LABEL_W = 170
_VALUE_W = 90
_BAR_H = 14
_GAP = 10


def _n(x: float) -> str:
    return f"{x:.1f}"


def _svg(height: float, body: list[str], label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_n(height)}" width="{_WIDTH}" '
        f'height="{_n(height)}" role="img" aria-label="{_e(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>"
    )


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    out, x = [], float(_LABEL_W)
    for css, text in entries:
        out.append(f'<rect class="{css}" x="{_n(x)}" y="4" width="12" height="12"/>')
        out.append(f'<text x="{_n(x + 16)}" y="14">{_e(text)}</text>')
        x += 28 + 7.5 * len(text)
    return out


def _pass_rate_svg(ev: Evaluation) -> str | None:
    rows = [c for c in ev.categories if c.base.total or c.candidate.total]
    if not rows:
        return None
    span = _WIDTH - _LABEL_W - _VALUE_W
    body = _legend([("bar-base", ev.baseline), ("bar-cand", ev.candidate)])
    y = 28.0
    for c in rows:
        weight = ' font-weight="bold"' if c.category == ALL_CATEGORIES else ""
        body.append(
            f'<text class="label" x="{_LABEL_W - 8}" y="{_n(y + _BAR_H + 4)}" '
            f'text-anchor="end"{weight}>{_e(c.category)}</text>'
        )
        for css, rate, name in (
            ("bar-base", c.base, ev.baseline),
            ("bar-cand", c.candidate, ev.candidate),
        ):
            value = rate.rate
            width = 0.0 if value is None else span * value
            text = f"{format_percent(value)} ({rate.passed_text}/{rate.total})"
            body.append(
                f'<rect class="{css}" x="{_LABEL_W}" y="{_n(y)}" width="{_n(width)}" '
                f'height="{_BAR_H}"><title>{_e(f"{name}, {c.category}: {text}")}</title></rect>'
            )
            if value is not None and rate.total:
                low = _LABEL_W + span * rate.interval.low
                high = _LABEL_W + span * rate.interval.high
                mid = y + _BAR_H / 2
                body.append(
                    f'<path class="whisker" d="M{_n(low)} {_n(mid)}H{_n(high)}'
                    f"M{_n(low)} {_n(mid - 4)}V{_n(mid + 4)}M{_n(high)} {_n(mid - 4)}"
                    f'V{_n(mid + 4)}"/>'
                )
            body.append(
                f'<text class="value" x="{_WIDTH - _VALUE_W + 6}" y="{_n(y + _BAR_H - 3)}">'
                f"{_e(format_percent(value))}</text>"
            )
            y += _BAR_H + 2
        y += _GAP
    for tick in (0.0, 0.5, 1.0):
        x = _LABEL_W + span * tick
        body.append(f'<path class="axis" d="M{_n(x)} 24V{_n(y - _GAP + 2)}"/>')
        body.append(
            f'<text class="tick" x="{_n(x)}" y="{_n(y + 6)}" text-anchor="middle">{tick:.0%}</text>'
        )
    return _svg(y + 12, body, "Pass rate per category")


def _latency_svg(targets: Sequence[TargetStats]) -> str | None:
    rows = [s for s in targets if s.latencies]
    if not rows:
        return None
    top = max(s.latency(95) or 0.0 for s in rows) or 1.0
    span = _WIDTH - _LABEL_W - _VALUE_W
    body = _legend([("bar-p50", "p50"), ("bar-p95", "p95")])
    y = 28.0
    for s in rows:
        body.append(
            f'<text class="label" x="{_LABEL_W - 8}" y="{_n(y + _BAR_H + 4)}" '
            f'text-anchor="end">{_e(s.target)}</text>'
        )
        for css, q in (("bar-p50", 50), ("bar-p95", 95)):
            value = s.latency(q) or 0.0
            text = format_ms(value)
            body.append(
                f'<rect class="{css}" x="{_LABEL_W}" y="{_n(y)}" '
                f'width="{_n(span * value / top)}" height="{_BAR_H}">'
                f"<title>{_e(f'{s.target} p{q}: {text} over {len(s.latencies)} answers')}</title>"
                "</rect>"
            )
            body.append(
                f'<text class="value" x="{_WIDTH - _VALUE_W + 6}" y="{_n(y + _BAR_H - 3)}">'
                f"{_e(text)}</text>"
            )
            y += _BAR_H + 2
        y += _GAP
    return _svg(y, body, "Latency p50 and p95 per target")


# ------------------------------------------------------------------------------ case data


def _answer_text(record: ResultRecord) -> str:
    response = record.response
    if record.errored:
        return f"errored: {response.error_type or 'error'}: {response.error or ''}"
    parts = [] if response.text is None else [response.text]
    parts += [f"tool call: {call.name}({call.arguments})" for call in response.tool_calls]
    return "\n".join(parts) if parts else "(no text)"


def _answer(record: ResultRecord) -> dict[str, Any]:
    latency = record.response.latency_ms
    return {
        "repeat": record.repeat,
        "status": "errored" if record.errored else ("pass" if record.passed else "fail"),
        "latency": None if latency is None or record.errored else format_ms(latency),
        "text": _cut(_answer_text(record), _ANSWER_CHARS),
        "checks": [
            {
                "check": _cut(s.check, _LINE_CHARS),
                "passed": s.passed,
                "value": f"{float(s.value or 0.0):.2f}",
                "reason": _cut(s.reason or ("passed" if s.passed else "failed"), _REASON_CHARS),
            }
            for s in record.scores
        ],
    }


def _status(outcome: TargetOutcome) -> tuple[str, str]:
    """(status, one-line summary) of one side, as the markdown report counts it."""
    if outcome.errored:
        return "errored", f"errored ({outcome.errored_answers}/{outcome.repeats})"
    status = "pass" if outcome.passed else "fail"
    if outcome.repeats == 1:
        return status, status
    passed = sum(r.passed for r in outcome.records)
    return status, f"{status} ({passed}/{outcome.repeats} repeats)"


def _side(role: str, target: str, outcome: TargetOutcome | None) -> dict[str, Any]:
    if outcome is None:
        return {"role": role, "target": target, "status": "missing", "summary": "no answer"}
    status, summary = _status(outcome)
    return {
        "role": role,
        "target": target,
        "status": status,
        "summary": summary,
        "why": [_cut(f, _REASON_CHARS) for f in outcome.failures],
        "answers": [_answer(r) for r in outcome.records],
    }


def _diff(diff: OutputDiff) -> dict[str, Any]:
    return {
        "kind": diff.kind,
        "repeats": [diff.base_repeat, diff.candidate_repeat],
        "lines": [_cut(line, _LINE_CHARS) for line in diff.lines],
        "more": diff.omitted,
    }


def _case(ev: Evaluation, case: CaseComparison) -> dict[str, Any]:
    text = ev.header.suite(case.suite_id).case_inputs.get(case.case_id)
    return {
        "key": _cut(case.key, _LINE_CHARS),
        "suite": case.suite_id,
        "category": case.category,
        "outcome": case.transition,
        "input": None if text is None else _cut(text, _INPUT_CHARS),
        "sides": [
            _side("base", ev.baseline, case.base),
            _side("candidate", ev.candidate, case.candidate),
        ],
        "diff": _diff(case.diff),
    }


def case_data(evaluation: Evaluation) -> dict[str, Any]:
    """What the case browser shows, one entry per case in the comparison's order."""
    return {
        "baseline": evaluation.baseline,
        "candidate": evaluation.candidate,
        "outcomes": dict(OUTCOME_LABELS),
        "cases": [_case(evaluation, c) for c in evaluation.comparison.cases],
    }


def embed_json(data: Any) -> str:
    """``data`` as JSON safe inside a ``<script>`` element: nothing in it can close the element or
    start a comment, whatever the strings hold."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _options(label: str, values: Iterable[tuple[str, str]], counts: Counter[str]) -> str:
    total = sum(counts.values())
    out = [f'<option value="">{_e(label)} ({total})</option>']
    out += [
        f'<option value="{_e(value)}">{_e(text)} ({counts[value]})</option>'
        for value, text in values
        if counts[value]
    ]
    return "".join(out)


def _browser(ev: Evaluation) -> str:
    cases = ev.comparison.cases
    suites = Counter(c.suite_id for c in cases)
    categories = Counter(c.category for c in cases)
    outcomes: Counter[str] = Counter(str(c.transition) for c in cases)
    controls = (
        '<div class="browser-bar" id="browser-bar"><div class="filters">'
        '<label>Suite <select id="filter-suite">'
        + _options("all suites", ((s, s) for s in sorted(suites)), suites)
        + "</select></label>"
        '<label>Category <select id="filter-category">'
        + _options("all categories", ((c, c) for c in sorted(categories)), categories)
        + "</select></label>"
        '<label>Outcome <select id="filter-outcome">'
        + _options("all outcomes", OUTCOME_LABELS.items(), outcomes)
        + "</select></label>"
        '<label class="search">Search <input id="filter-search" type="search" '
        'placeholder="id, input or answer text" title="Search (press /)" '
        'autocomplete="off"></label>'
        '<button type="button" id="filter-reset">Reset</button>'
        '<span id="case-count" class="count" aria-live="polite"></span>'
        "</div></div>"
    )
    note = (
        f"<p>Every case of the run: the outcome of {_e(ev.candidate)} against "
        f"{_e(ev.baseline)}. Open a case for both answers, the diff and each check's reason. "
        f"Long text is cut at {_ANSWER_CHARS} characters.</p>"
    )
    body = (
        note
        + controls
        + '<div id="case-list"></div>'
        + '<button type="button" id="case-more" hidden></button>'
        + "<noscript><p>The case browser needs JavaScript.</p></noscript>"
    )
    return _section("cases", f"Cases ({len(cases)})", body)


# ------------------------------------------------------------------------------ page


@cache
def _asset(name: str) -> str:
    text = resources.files("arcanos_eval.report").joinpath(name).read_text(encoding="utf-8")
    return text.replace("\r\n", "\n")  # the same bytes from a checkout with any line endings


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def _policy(script: str, style: str) -> str:
    return (
        f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def render_html(evaluation: Evaluation) -> str:
    """The release report as one HTML page that needs nothing else: no network, no other file.

    Args:
        evaluation: from :func:`~arcanos_eval.report.evaluate`.

    Returns:
        The page; the same log always renders the same bytes.
    """
    ev = evaluation
    script, style = _asset("report.js"), _asset("report.css")
    title = f"Release report: {ev.candidate} vs {ev.baseline} ({ev.verdict.decision})"
    nav = "".join(
        f'<a href="#{anchor}">{_e(text)}</a>'
        for anchor, text in (
            ("verdict", "Verdict"),
            ("checklist", "Checklist"),
            ("gates", "Gates"),
            ("categories", "Pass rates"),
            *((("alternatives", "Other targets"),) if ev.alternatives else ()),
            ("latency", "Latency"),
            *((("fine-tune", "Fine-tune"),) if ev.header.fine_tunes else ()),
            ("cases", "Cases"),
        )
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_policy(script, style)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        '<link rel="icon" href="data:,">',
        f"<title>{_e(title)}</title>",
        f"<style>{style}</style>",
        "</head>",
        "<body>",
        f"<header><h1>Release report: {_e(ev.candidate)} vs {_e(ev.baseline)}</h1>"
        f"<nav>{nav}</nav></header>",
        "<main>",
        _partial_banner(ev),
        _verdict(ev),
        _facts(ev),
        _checklist(ev),
        _gates(ev),
        _categories(ev),
        _alternatives(ev),
        _targets(ev),
        *filter(None, [_graders(ev)]),
        *filter(None, [_fine_tunes(ev)]),
        _browser(ev),
        "</main>",
        f'<script type="application/json" id="case-data">{embed_json(case_data(ev))}</script>',
        f"<script>{script}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"
