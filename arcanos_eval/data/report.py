"""The data report: findings, per-file figures, the gate result and its one-line verdict.

:class:`DataReport` is what the release report's "data is sanitized" checklist item reads, as
JSON (:meth:`DataReport.to_dict`, versioned by :data:`SCHEMA_VERSION`) or markdown
(:meth:`DataReport.to_markdown`). :meth:`DataReport.from_dict` reads a saved report back, so a
past check can be re-rendered without re-reading the training data.

Severity policy: an ``error`` fails the gate (format problems the fine-tuning API rejects or
mis-trains on, examples over the context limit, PII, secrets, eval-case leakage); a ``warning``
is reported and does not (duplicates, train/validation overlap, ignored fields, blank lines).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tabulate import tabulate

from arcanos_eval._bounded import DocumentError, load_json, read_text
from arcanos_eval.data.tokens import TokenStats
from arcanos_eval.errors import UsageError

__all__ = [
    "CHECKS",
    "SCHEMA_VERSION",
    "Check",
    "DataFinding",
    "DataReport",
    "FileSummary",
    "Tally",
    "read_evidence",
    "verdict_for",
]

SCHEMA_VERSION = 1
REPORT_KIND = "arcanos-eval/data-check"
GATE_NAME = "data_sanitized"

Check = Literal["format", "tokens", "pii", "secret", "hygiene"]
CHECKS: tuple[Check, ...] = ("format", "tokens", "pii", "secret", "hygiene")
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class DataFinding:
    """One problem at one place.

    Attributes:
        check: the family: ``format``, ``tokens``, ``pii``, ``secret`` or ``hygiene``.
        kind: stable identifier within the family (``invalid_json``, ``email``, ...).
        severity: ``error`` fails the gate, ``warning`` does not.
        file: the file, as given.
        line: 1-based line, or ``None`` for the file as a whole.
        field: JSON field path such as ``messages[2].content``, when known.
        message: one sentence; never contains a sensitive value.
        masked: for PII and secrets, the masked value.
    """

    check: Check
    kind: str
    severity: Severity
    file: str
    line: int | None
    field: str | None
    message: str
    masked: str | None = None

    @property
    def location(self) -> str:
        """``file:line`` (or the file alone)."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Tally:
    """How many findings of one kind one file has (exact, even when the list was capped)."""

    file: str
    check: Check
    kind: str
    severity: Severity
    count: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FileSummary:
    """Figures of one checked file.

    Attributes:
        path: as given.
        role: ``train`` or ``validation``.
        sha256: digest of the bytes checked, so the report names exactly one file version.
        format: ``chat``, ``preference``, or ``None`` when no line was recognisable.
        lines: physical lines read.
        examples: lines that are valid examples.
        invalid_lines: lines with at least one format error.
        tokens: token figures over the valid examples.
    """

    path: str
    role: str
    sha256: str
    format: str | None
    lines: int
    examples: int
    invalid_lines: int
    tokens: TokenStats

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tokens"] = self.tokens.to_dict()
        return data


@dataclass(frozen=True)
class DataReport:
    """The outcome of :func:`~arcanos_eval.data.check_training_data`.

    Attributes:
        passed: no finding of severity ``error``: the gate "data is sanitized" passes.
        verdict: one line for logs and the release checklist, starting with PASS or FAIL.
        files: one summary per checked file (training first).
        findings: the findings, in file and line order; at most ``findings_cap`` per file and
            kind are listed (``tallies`` has the exact counts).
        tallies: exact counts per file, check, kind and severity.
        settings: model, encoding, limits, epochs and thresholds the check used.
        against: the eval suites compared for contamination, or ``None`` if not checked.
        redaction: where a redacted copy was written and how many values it replaced.
        allowlisted: values the allowlist exempted.
        created_at: ISO 8601 UTC time of the check.
    """

    passed: bool
    verdict: str
    files: tuple[FileSummary, ...]
    findings: tuple[DataFinding, ...]
    tallies: tuple[Tally, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    against: Mapping[str, Any] | None = None
    redaction: Mapping[str, Any] | None = None
    allowlisted: int = 0
    created_at: str = ""
    tool_version: str = ""
    schema_version: int = SCHEMA_VERSION

    # -- figures -------------------------------------------------------------------------------

    def count(self, check: Check | None = None, severity: Severity | None = None) -> int:
        """Findings of one check and/or severity, from the exact tallies."""
        return sum(
            tally.count
            for tally in self.tallies
            if (check is None or tally.check == check)
            and (severity is None or tally.severity == severity)
        )

    @property
    def errors(self) -> int:
        return self.count(severity="error")

    @property
    def warnings(self) -> int:
        return self.count(severity="warning")

    @property
    def omitted(self) -> int:
        """Findings counted in the tallies but not listed."""
        return sum(tally.count for tally in self.tallies) - len(self.findings)

    def gate(self) -> dict[str, Any]:
        """The gate result in the shape every arcanos-eval gate reports."""
        return {
            "name": GATE_NAME,
            "invariant": "data is sanitized",
            "passed": self.passed,
            "measured": {check: self.count(check, "error") for check in CHECKS},
            "threshold": {check: 0 for check in CHECKS},
            "warnings": self.warnings,
            "evidence": self.verdict,
        }

    # -- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready, self-describing dict (``schema_version``, ``report`` kind)."""
        return {
            "schema_version": self.schema_version,
            "report": REPORT_KIND,
            "created_at": self.created_at,
            "tool": {"name": "arcanos-eval", "version": self.tool_version},
            "passed": self.passed,
            "verdict": self.verdict,
            "gate": self.gate(),
            "settings": dict(self.settings),
            "files": [summary.to_dict() for summary in self.files],
            "against": dict(self.against) if self.against is not None else None,
            "redaction": dict(self.redaction) if self.redaction is not None else None,
            "allowlisted": self.allowlisted,
            "tallies": [tally.to_dict() for tally in self.tallies],
            "findings": [finding.to_dict() for finding in self.findings],
            "findings_omitted": self.omitted,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataReport:
        """Rebuild a report saved with :meth:`to_dict`.

        Raises:
            UsageError: the dict is not a data report of a schema version this code reads.
        """
        if data.get("report") != REPORT_KIND or data.get("schema_version") != SCHEMA_VERSION:
            raise UsageError(
                f"expected a {REPORT_KIND} report with schema_version {SCHEMA_VERSION}, found "
                f"report={data.get('report')!r} schema_version={data.get('schema_version')!r}"
            )
        files = tuple(
            FileSummary(**{**item, "tokens": TokenStats(**item["tokens"])})
            for item in data["files"]
        )
        return cls(
            passed=bool(data["passed"]),
            verdict=str(data["verdict"]),
            files=files,
            findings=tuple(DataFinding(**item) for item in data["findings"]),
            tallies=tuple(Tally(**item) for item in data["tallies"]),
            settings=dict(data.get("settings") or {}),
            against=data.get("against"),
            redaction=data.get("redaction"),
            allowlisted=int(data.get("allowlisted", 0)),
            created_at=str(data.get("created_at", "")),
            tool_version=str((data.get("tool") or {}).get("version", "")),
        )

    def summary_rows(self) -> list[list[Any]]:
        """One row per check: errors and warnings (the CLI prints this table)."""
        return [
            [check, self.count(check, "error"), self.count(check, "warning")] for check in CHECKS
        ]

    def to_markdown(self, *, max_findings: int = 200) -> str:
        """The report as GitHub-flavoured markdown."""
        out = ["# Training data check", "", f"**{self.verdict}**", ""]
        out += [
            tabulate(
                [
                    [
                        s.path,
                        s.role,
                        s.format or "-",
                        s.lines,
                        s.examples,
                        s.invalid_lines,
                        f"{s.tokens.total:,}",
                        s.sha256[:12],
                    ]
                    for s in self.files
                ],
                headers=[
                    "file",
                    "role",
                    "format",
                    "lines",
                    "examples",
                    "invalid",
                    "tokens",
                    "sha256",
                ],
                tablefmt="github",
            ),
            "",
            "## Gate: data is sanitized",
            "",
            tabulate(
                self.summary_rows(), headers=["check", "errors", "warnings"], tablefmt="github"
            ),
            "",
            "## Tokens",
            "",
            _token_table(self.files, self.settings),
            "",
        ]
        if self.against is not None:
            out += [
                "## Eval contamination",
                "",
                f"Compared against {self.against.get('cases', 0)} cases in "
                f"{len(self.against.get('files', []))} suite files "
                f"({', '.join(self.against.get('paths', []))}); "
                f"{self.against.get('skipped_short', 0)} inputs shorter than "
                f"{self.settings.get('min_case_chars', '?')} characters were not compared.",
                "",
            ]
        else:
            out += ["## Eval contamination", "", "Not checked (no eval suites given).", ""]
        if self.redaction is not None:
            out += [
                "## Redaction",
                "",
                f"Redacted copy: `{self.redaction['path']}` "
                f"({self.redaction['replacements']} values replaced on "
                f"{self.redaction['lines_changed']} lines).",
                "",
            ]
        out += ["## Findings", ""]
        if not self.findings:
            out += ["No findings.", ""]
        else:
            rows = [
                [
                    f.severity,
                    f.location,
                    f.field or "",
                    f"{f.check}/{f.kind}",
                    f.masked or "",
                    f.message.replace("|", "\\|"),
                ]
                for f in self.findings[:max_findings]
            ]
            out.append(
                tabulate(
                    rows,
                    headers=["severity", "where", "field", "finding", "value (masked)", "detail"],
                    tablefmt="github",
                )
            )
            hidden = self.omitted + max(0, len(self.findings) - max_findings)
            if hidden:
                out += ["", f"... and {hidden} more (see the counts above and the JSON report)."]
            out.append("")
        if self.allowlisted:
            noun = "value was" if self.allowlisted == 1 else "values were"
            out += [f"{self.allowlisted} {noun} exempted by the allowlist.", ""]
        return "\n".join(out)


def _token_table(files: Sequence[FileSummary], settings: Mapping[str, Any]) -> str:
    labels = [
        ("examples counted", "examples"),
        ("tokens per example: min", "min"),
        ("mean", "mean"),
        ("p50", "p50"),
        ("p90", "p90"),
        ("p95", "p95"),
        ("max", "max"),
        ("over the context limit", "over_limit"),
        ("billed tokens per epoch", "billed_per_epoch"),
        ("epochs", "epochs"),
        ("billed tokens in total", "billed_total"),
    ]
    rows = [
        [label, *(_number(getattr(s.tokens, attribute)) for s in files)]
        for label, attribute in labels
    ]
    caption = (
        f"Model `{settings.get('model', '?')}`: encoding `{settings.get('encoding', '?')}`, "
        f"context limit {settings.get('context_limit', 0):,} tokens per example."
    )
    table = tabulate(
        rows, headers=["", *(s.role for s in files)], tablefmt="github", disable_numparse=True
    )
    return f"{caption}\n\n{table}"


def _number(value: float) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


_ERROR_NOUNS: tuple[tuple[Check, str, str], ...] = (
    ("pii", "PII finding", "PII findings"),
    ("secret", "secret", "secrets"),
    ("format", "format error", "format errors"),
    ("tokens", "example over the context limit", "examples over the context limit"),
    ("hygiene", "eval-contaminated message", "eval-contaminated messages"),
)


def verdict_for(report: DataReport) -> str:
    """The one-line verdict: PASS with the figures that back it, or FAIL with what failed."""
    train = report.files[0]
    if report.passed:
        contamination = (
            "no eval contamination"
            if report.against is not None
            else "eval contamination not checked"
        )
        parts = [
            f"PASS data is sanitized: {train.path} {train.examples} examples, format valid, "
            f"no PII or secrets, {contamination}",
            f"{train.tokens.billed_total:,} billed tokens over {train.tokens.epochs} epochs",
        ]
        if report.warnings:
            parts.append(f"{report.warnings} warning{'s' if report.warnings != 1 else ''}")
        return "; ".join(parts)
    counts = []
    for check, singular, plural in _ERROR_NOUNS:
        count = report.count(check, "error")
        if count:
            counts.append(f"{count} {singular if count == 1 else plural}")
    failing = [
        summary.path
        for summary in report.files
        if any(t.file == summary.path and t.severity == "error" for t in report.tallies)
    ]
    return f"FAIL data is not sanitized: {', '.join(counts)} in {' and '.join(failing)}"


# A data report lists at most 500 findings: a few hundred KB. A larger file is not one.
_EVIDENCE_LIMIT = 16 * 1024 * 1024


def read_evidence(path: str | Path, shown: str | None = None) -> dict[str, Any]:
    """What a release decision reads of the training-data report (``data check --json``) at
    ``path``: its ``passed`` and ``verdict``, and each checked file's ``path``, ``role`` and
    ``sha256`` (which the fine-tune gate matches against the training job's files), with the
    report's own ``source`` (``shown``, else ``path``) and ``sha256``. A run header keeps it, so
    re-rendering a run log judges the data as the run did.

    Raises:
        UsageError: one line naming the file: missing, unreadable, too large, not a JSON object.
    """
    where = str(path)
    try:
        data = load_json(read_text(path, limit=_EVIDENCE_LIMIT))
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except DocumentError as exc:
        raise UsageError(f"{where}: training-data report: {exc}") from None
    except OSError as exc:  # gone since it was read
        raise UsageError(
            f"{where}: training-data report: cannot read file: {exc.strerror}"
        ) from None
    if not isinstance(data, Mapping):
        raise UsageError(
            f"{where}: expected a JSON object as training-data report, found {type(data).__name__}"
        )
    files = data.get("files")
    return {
        "source": shown or where,
        "sha256": digest,
        "passed": data.get("passed"),
        "verdict": data.get("verdict"),
        "files": [
            {key: item.get(key) for key in ("path", "role", "sha256")}
            for item in (files if isinstance(files, list) else [])
            if isinstance(item, Mapping)
        ],
    }
