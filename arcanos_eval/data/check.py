"""``check_training_data``: one streaming pass per file through every check, then the report.

Each line is read, parsed, validated, counted, scanned and fingerprinted before the next one is
read, so memory grows only by a few hundred bytes per example (token count, duplicate hash,
MinHash signature) and by the listed findings, which are capped per file and kind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from arcanos_eval._version import __version__
from arcanos_eval.data.eval_cases import EvalSet, read_eval_cases
from arcanos_eval.data.fields import iter_text_fields
from arcanos_eval.data.format import (
    MIN_TRAINING_EXAMPLES,
    ExampleFormat,
    Line,
    parse_line,
    read_lines,
    validate_example,
)
from arcanos_eval.data.hygiene import (
    CONTAINMENT_THRESHOLD,
    MIN_CASE_CHARS,
    NEAR_DUPLICATE_THRESHOLD,
    ContaminationIndex,
    DuplicateIndex,
    ExampleTexts,
    example_texts,
)
from arcanos_eval.data.pii import Allowlist, Scanner
from arcanos_eval.data.report import (
    Check,
    DataFinding,
    DataReport,
    FileSummary,
    Severity,
    Tally,
    verdict_for,
)
from arcanos_eval.data.tokens import ModelSpec, TokenCounter, TokenTally, model_spec
from arcanos_eval.errors import ConfigError, UsageError

__all__ = ["DEFAULT_FINDINGS_CAP", "check_training_data"]

DEFAULT_FINDINGS_CAP = 500
"""Findings listed per file and kind; the tallies always hold the exact counts."""

_LINE_BITS = 40  # refs pack (file index, line) into one int for the duplicate index


def check_training_data(
    train_path: str | os.PathLike[str],
    *,
    validation: str | os.PathLike[str] | None = None,
    against: str | os.PathLike[str] | None = None,
    redact_to: str | os.PathLike[str] | None = None,
    model: str = "gpt-4.1",
    epochs: int = 3,
    allowlist: str | os.PathLike[str] | Allowlist | None = None,
    context_limit: int | None = None,
    findings_cap: int = DEFAULT_FINDINGS_CAP,
) -> DataReport:
    """Check a fine-tuning file: format, tokens, PII and secrets, duplicates, eval leakage.

    Args:
        train_path: the training JSONL file.
        validation: an optional validation JSONL file, checked the same way and for overlap
            with the training file.
        against: eval suites (a file or folder) whose inputs must not appear in the data.
        redact_to: write a copy of the training file with PII and secrets replaced by typed
            placeholders (``[EMAIL]``, ``[CARD]``, ...). Never the input itself.
        model: the model to fine-tune; selects tokenizer and context limit.
        epochs: epochs the fine-tuning job will run, for billed tokens.
        allowlist: an allowlist file (or a parsed :class:`Allowlist`) of values that are not
            findings.
        context_limit: override the model's tokens-per-example limit.
        findings_cap: findings listed per file and kind (all are counted).

    Returns:
        The report. A malformed training file is not an error: its problems are findings.

    Raises:
        UsageError: a file is missing or unreadable, ``redact_to`` is an input file, or a
            setting is invalid (``ConfigError``) or a suite unreadable (``SuiteError``).

    Example:
        >>> report = check_training_data("train.jsonl", against="suites")  # doctest: +SKIP
        >>> report.passed, report.verdict  # doctest: +SKIP
        (False, 'FAIL data is not sanitized: 2 PII findings in train.jsonl')
    """
    train = _input_file(train_path, "training file")
    valid = _input_file(validation, "validation file") if validation is not None else None
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs must be a positive whole number, got {epochs!r}")
    spec = model_spec(model, context_limit=context_limit)
    output = _output_file(redact_to, [p for p in (train, valid) if p is not None])
    if allowlist is None or isinstance(allowlist, Allowlist):
        rules = allowlist
    else:
        rules = Allowlist.from_file(_input_file(allowlist, "allowlist"))
    eval_set = read_eval_cases(against) if against is not None else None

    run = _Run(
        spec=spec,
        epochs=epochs,
        counter=TokenCounter(spec.encoding),
        scanner=Scanner(rules),
        contamination=ContaminationIndex(eval_set.cases) if eval_set is not None else None,
        cap=findings_cap,
    )
    redaction: dict[str, Any] | None = None
    summaries = []
    if output is not None:
        with _atomic_writer(output) as sink:
            summaries.append(run.check_file(train, str(train_path), "train", 0, sink))
        redaction = {
            "path": str(redact_to),
            "replacements": run.replacements,
            "lines_changed": run.lines_redacted,
        }
    else:
        summaries.append(run.check_file(train, str(train_path), "train", 0, None))
    names = [str(train_path)]
    if valid is not None:
        summaries.append(run.check_file(valid, str(validation), "validation", 1, None))
        names.append(str(validation))
    run.report_near_duplicates(names)
    return _build_report(run, summaries, eval_set, against, redaction, rules)


def _input_file(path: str | os.PathLike[str], what: str) -> Path:
    resolved = Path(path)
    if not resolved.exists():
        raise UsageError(f"{resolved}: no such {what}")
    if not resolved.is_file():
        raise UsageError(f"{resolved}: expected a file for the {what}, found a folder")
    if not os.access(resolved, os.R_OK):
        raise UsageError(f"{resolved}: the {what} is not readable")
    return resolved


def _output_file(path: str | os.PathLike[str] | None, inputs: list[Path]) -> Path | None:
    if path is None:
        return None
    output = Path(path)
    for source in inputs:
        if output.resolve() == source.resolve():
            raise UsageError(
                f"{output}: refusing to write the redacted copy over an input file; "
                "choose another --redact-to path"
            )
    if not output.parent.is_dir():
        raise UsageError(f"{output}: the folder for the redacted copy does not exist")
    if output.is_dir():
        raise UsageError(f"{output}: expected a file path for the redacted copy, found a folder")
    return output


@contextmanager
def _atomic_writer(path: Path) -> Iterator[IO[str]]:
    """Write to a temporary file beside ``path`` and rename it into place only on success, so a
    failed or interrupted check never leaves a half-redacted file behind."""
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with open(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class _Run:
    """State shared by the files of one check."""

    spec: ModelSpec
    epochs: int
    counter: TokenCounter
    scanner: Scanner
    contamination: ContaminationIndex | None
    cap: int
    duplicates: DuplicateIndex = field(default_factory=DuplicateIndex)
    findings: list[DataFinding] = field(default_factory=list)
    tallies: Counter[tuple[str, Check, str, Severity]] = field(default_factory=Counter)
    allowlisted: int = 0
    replacements: int = 0
    lines_redacted: int = 0

    def add(
        self,
        file: str,
        line: int | None,
        check: Check,
        kind: str,
        message: str,
        *,
        field: str | None = None,
        severity: Severity = "error",
        masked: str | None = None,
    ) -> None:
        """Count a finding, and list it while its kind is under the cap."""
        key = (file, check, kind, severity)
        self.tallies[key] += 1
        if self.tallies[key] <= self.cap:
            self.findings.append(
                DataFinding(check, kind, severity, file, line, field, message, masked)
            )

    def check_file(
        self, path: Path, name: str, role: str, index: int, redacted: IO[str] | None
    ) -> FileSummary:
        """Stream one file through every check; ``redacted`` receives the redacted lines."""
        digest = hashlib.sha256()
        tally = TokenTally(self.spec, self.epochs)
        expected: ExampleFormat | None = None
        lines = examples = invalid = non_blank = 0
        try:
            handle = path.open("rb")
        except OSError as error:
            raise UsageError(f"{path}: cannot open: {error.strerror}") from None
        with handle:
            for line in read_lines(_hashing(handle, digest)):
                lines = line.number
                if not line.text.strip():
                    if redacted is not None:
                        redacted.write(line.text + "\n")
                    self.add(
                        name,
                        line.number,
                        "format",
                        "blank_line",
                        "blank line; the fine-tuning API expects one example per line",
                        severity="warning",
                    )
                    continue
                non_blank += 1
                example, fmt, valid = self._check_format(line, name, expected)
                expected = expected or fmt
                self._scan(line, name, example)
                texts = example_texts(example) if isinstance(example, dict) else None
                if texts is not None and self.contamination is not None:
                    self._check_contamination(self.contamination, texts, name, line.number)
                if redacted is not None:
                    redacted.write(self._redact(line, example) + "\n")
                if not valid or texts is None:
                    invalid += 1
                    continue
                examples += 1
                count = self.counter.example(example)
                if tally.add(count):
                    self.add(
                        name,
                        line.number,
                        "tokens",
                        "over_context_limit",
                        f"{count:,} tokens, over the {self.spec.context_limit:,}-token limit "
                        f"of {self.spec.family}; the fine-tuning job would truncate it",
                    )
                self._check_duplicate(texts, name, line.number, index)
        if non_blank == 0:
            self.add(name, None, "format", "empty_file", "the file has no examples")
        elif role == "train" and examples < MIN_TRAINING_EXAMPLES:
            self.add(
                name,
                None,
                "format",
                "too_few_examples",
                f"{examples} valid examples; fine-tuning needs at least {MIN_TRAINING_EXAMPLES}",
            )
        return FileSummary(
            path=name,
            role=role,
            sha256=digest.hexdigest(),
            format=expected,
            lines=lines,
            examples=examples,
            invalid_lines=invalid,
            tokens=tally.stats(),
        )

    def _check_format(
        self, line: Line, name: str, expected: ExampleFormat | None
    ) -> tuple[Any, ExampleFormat | None, bool]:
        """Parse and validate one line; returns (parsed or None, format, valid)."""
        valid = line.utf8
        if not line.utf8:
            self.add(name, line.number, "format", "invalid_utf8", "the line is not valid UTF-8")
        example, problem = parse_line(line.text)
        problems = [problem] if problem is not None else []
        fmt = None
        if problem is None:
            fmt, problems = validate_example(example, expected)
        for item in problems:
            valid = valid and item.severity != "error"
            self.add(
                name,
                line.number,
                "format",
                item.kind,
                item.message,
                field=item.field,
                severity=item.severity,
            )
        return example, fmt, valid and fmt is not None

    def _scan(self, line: Line, name: str, example: Any) -> None:
        # Parsed lines are scanned string by string (decoded, with field paths); a line that is
        # not JSON is scanned as raw text, so a broken line cannot hide a secret.
        fields = iter_text_fields(example) if example is not None else [(None, line.text)]
        for field_path, text in fields:
            for match in self.scanner.scan(text):
                if match.allowlisted:
                    self.allowlisted += 1
                    continue
                self.add(
                    name,
                    line.number,
                    match.category,
                    match.kind,
                    f"{match.label}; redact it ({match.placeholder}) or allowlist it",
                    field=field_path,
                    masked=match.masked,
                )

    def _check_contamination(
        self, index: ContaminationIndex, texts: ExampleTexts, name: str, line: int
    ) -> None:
        for field_path, text in texts.user_messages:
            found = index.match(text)
            if found is not None:
                case, containment = found
                self.add(
                    name,
                    line,
                    "hygiene",
                    "eval_contamination",
                    f"contains eval case {case.key} ({case.path}), {containment:.0%} of its "
                    "input: the case would test recall, not skill",
                    field=field_path,
                )

    def _redact(self, line: Line, example: Any) -> str:
        if example is None:
            text, count = self.scanner.redact(line.text)
        else:
            value, count = self.scanner.redact_json(example)
            # Unchanged lines are copied byte for byte; changed ones are re-serialised.
            text = json.dumps(value, ensure_ascii=False) if count else line.text
        self.replacements += count
        self.lines_redacted += count > 0
        return text

    def _check_duplicate(self, texts: ExampleTexts, name: str, line: int, index: int) -> None:
        original = self.duplicates.add(_ref(index, line), texts)
        if original is None:
            return
        other_index, other_line = _unref(original)
        if other_index == index:
            kind, message = "exact_duplicate", f"same conversation as line {other_line}"
        else:
            kind = "train_validation_overlap"
            message = f"same conversation as line {other_line} of the training file"
        self.add(name, line, "hygiene", kind, message, severity="warning")

    def report_near_duplicates(self, names: list[str]) -> None:
        """Near duplicates are known only once every file has been read."""
        for pair in self.duplicates.near_duplicates():
            index, line = _unref(pair.ref)
            other_index, other_line = _unref(pair.original)
            if other_index == index:
                kind, where = "near_duplicate", f"line {other_line}"
            else:
                kind, where = (
                    "train_validation_overlap",
                    f"line {other_line} of {names[other_index]}",
                )
            self.add(
                names[index],
                line,
                "hygiene",
                kind,
                f"nearly the same conversation as {where} (similarity {pair.similarity:.2f})",
                severity="warning",
            )


def _ref(index: int, line: int) -> int:
    """Pack (file index, line) into the one integer the duplicate index stores."""
    return (index << _LINE_BITS) | line


def _unref(ref: int) -> tuple[int, int]:
    return ref >> _LINE_BITS, ref & ((1 << _LINE_BITS) - 1)


def _hashing(handle: IO[bytes], digest: Any) -> Iterator[bytes]:
    for chunk in handle:
        digest.update(chunk)
        yield chunk


def _build_report(
    run: _Run,
    summaries: list[FileSummary],
    eval_set: EvalSet | None,
    against: str | os.PathLike[str] | None,
    redaction: dict[str, Any] | None,
    allowlist: Allowlist | None,
) -> DataReport:
    order = {summary.path: position for position, summary in enumerate(summaries)}
    findings = sorted(
        run.findings,
        key=lambda f: (order.get(f.file, 0), f.line if f.line is not None else -1),
    )
    tallies = tuple(
        Tally(file, check, kind, severity, count)
        for (file, check, kind, severity), count in sorted(
            run.tallies.items(), key=lambda item: (order.get(item[0][0], 0), item[0][1:])
        )
    )
    settings = {
        "model": run.spec.model,
        "model_family": run.spec.family,
        "encoding": run.spec.encoding,
        "context_limit": run.spec.context_limit,
        "epochs": run.epochs,
        "near_duplicate_threshold": NEAR_DUPLICATE_THRESHOLD,
        "containment_threshold": CONTAINMENT_THRESHOLD,
        "min_case_chars": MIN_CASE_CHARS,
        "allowlist_entries": len(allowlist) if allowlist is not None else 0,
        "findings_cap": run.cap,
    }
    against_info = None
    if eval_set is not None and run.contamination is not None:
        against_info = {
            "paths": [str(against)],
            "files": list(eval_set.files),
            "cases": eval_set.case_count,
            "texts_compared": len(run.contamination),
            "skipped_short": run.contamination.skipped,
        }
    errors = sum(count for (_, _, _, severity), count in run.tallies.items() if severity == "error")
    report = DataReport(
        passed=errors == 0,
        verdict="",
        files=tuple(summaries),
        findings=tuple(findings),
        tallies=tallies,
        settings=settings,
        against=against_info,
        redaction=redaction,
        allowlisted=run.allowlisted,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        tool_version=__version__,
    )
    return replace(report, verdict=verdict_for(report))
