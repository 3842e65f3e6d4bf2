"""The run log: append-only JSONL, a versioned header then one record per case x target x repeat.

Each result is written as one complete line with a single ``write`` and flushed, so a run killed at
any moment leaves every finished result on disk and at most one torn last line: cut at any byte,
inside a multi-byte character or not, with or without a newline after the cut. Readers skip it
(:attr:`RunLog.torn`) and :meth:`RunLogWriter.open_for_resume` cuts it off before appending, saying
so in one line; a line that cannot be read anywhere else is corruption, and an error. Reports are
rendered from what this file holds: the writer keeps the same records in memory, exactly as
reading the file back gives them.
Batch mode also writes ``batch`` lines (a batch created, a batch finished), so a resumed run picks
up a batch in flight instead of paying for it twice. A ``pairwise`` check compares two answers, so
its ``pairwise`` lines follow the answers they compare (see :mod:`arcanos_eval.pairing`). Each
grader a run consults gets a sealed ``calibration`` line, its verdicts on the built-in items with
known answers (see :mod:`arcanos_eval.calibration`), before the answers it grades.

A result line is sealed (see :mod:`arcanos_eval._jsonl`): its last key, ``sha256``, hashes the rest
of the line, so the answer, latency, usage, request fingerprint or scores edited after the run no
longer match, and :func:`read_run_log` refuses the log naming the line. Results written before
results were sealed carry no hash and read as before, but a result without one after a sealed
result, or with an unknown field (``sha257``: a hash key renamed), is refused the same way: one
edited byte never passes a result off as unsealed. The one exception is the last line of a log:
a write cut short there is what a kill leaves, so a last result whose hash does not match is torn
like any other cut line (dropped, never used: the run then lacks that answer, and a resume asks
for it again).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from arcanos_eval._jsonl import dump_line, dump_line_counted, seal_line, seal_state, write_atomic
from arcanos_eval.errors import RunLogError
from arcanos_eval.model import (
    SUPPORTED_VERSIONS,
    CalibrationRecord,
    CheckResult,
    GraderKey,
    PairKey,
    PairwiseRecord,
    ResultKey,
    ResultRecord,
    RunFooter,
    RunHeader,
)

if TYPE_CHECKING:
    import pandas

__all__ = [
    "RunLog",
    "RunLogWriter",
    "TornRecord",
    "merge_run_logs",
    "read_run_log",
]


@dataclass(frozen=True)
class TornRecord:
    """The last line of a log, left unusable by a write cut short.

    Attributes:
        line: its line number (1-based).
        offset: the byte offset where it starts: the log's length once it is cut off.
        size: its length in bytes, newline included.
        reason: what is wrong with it: ``cut short`` (not a whole JSON object, or no newline) or
            ``content hash mismatch`` (a result that does not match its seal).
    """

    line: int
    offset: int
    size: int
    reason: str

    def describe(self, path: Path | str | None) -> str:
        """``run.jsonl: dropped a torn last record (812 bytes) at line 7``."""
        why = "" if self.reason == _CUT_SHORT else f" ({self.reason})"
        return f"{path}: dropped a torn last record ({self.size} bytes) at line {self.line}{why}"


_CUT_SHORT = "cut short"


@dataclass
class RunLog:
    """A parsed run log: its header and the latest result per key, in first-seen order."""

    path: Path | None
    header: RunHeader
    results: dict[ResultKey, ResultRecord] = field(default_factory=dict)
    torn_lines: int = 0
    batches: list[dict[str, Any]] = field(default_factory=list)  # ``batch`` lines, in order
    # ``pairwise`` lines: the latest comparison per (case, repeat, check), in first-seen order.
    pairwise: dict[PairKey, PairwiseRecord] = field(default_factory=dict)
    torn: TornRecord | None = None  # the unusable last line of a killed run, if any
    # ``calibration`` lines: the latest calibration per (grader, role), in first-seen order.
    calibration: dict[GraderKey, CalibrationRecord] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.header.run_id or ""

    def finish(self, footer: RunFooter) -> None:
        """Record the run's footer; the first one a log holds is the one that counts."""
        if self.header.footer is None:
            self.header = replace(self.header, footer=footer)

    def __repr__(self) -> str:
        # Short: a log holds thousands of records, and a full repr of it is tens of megabytes
        # (asyncio builds one of the value a finished ``asyncio.run`` returned, for example).
        return (
            f"RunLog(path={str(self.path)!r}, run_id={self.run_id!r}, "
            f"results={len(self.results)}, batches={len(self.batches)})"
        )

    def records(self) -> list[ResultRecord]:
        return list(self.results.values())

    def to_pandas(self) -> pandas.DataFrame:
        """The answers as a pandas DataFrame, one row per result, in log order.

        Columns: ``suite``, ``case``, ``category``, ``target``, ``origin``, ``answer``, ``error``
        (``string``); ``repeat``, ``prompt_tokens``, ``completion_tokens``, ``tokens`` (``int64``);
        ``passed``, ``errored`` (``bool``); ``latency_ms``, ``cost_usd`` (``float64``, NaN when
        not measured or priced); ``checks`` (a dict, check name -> passed). The README's "Run logs
        in pandas" says what each holds.

        Raises:
            MissingExtraError: pandas is not installed (``pip install 'arcanos-eval[notebook]'``).
        """
        from arcanos_eval._dataframe import results_frame  # pandas is optional

        return results_frame(self)


def _iter_lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, bytes) of each line; the last one may lack its newline.

    Bytes, not text: a line cut inside a multi-byte character must be a torn line, not a decoding
    error of the whole file.
    """
    offset = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            yield number, offset, line
            offset += len(line)


def _parse(line: bytes) -> dict[str, Any] | None:
    """The JSON object a line holds; ``None`` when it holds none (cut short, not UTF-8, not an
    object)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return record if isinstance(record, dict) else None


def _describe_result(record: Mapping[str, Any]) -> str:
    """``case s::c [base] repeat 0``, from a result line's fields, whatever their shape."""
    if record.get("type") == "calibration":
        return f"calibration of {record.get('role')} grader {record.get('grader')!r}"
    return (
        f"case {record.get('suite')}::{record.get('case')} [{record.get('target')}] repeat "
        f"{record.get('repeat', 0)}"
    )


_EVIDENCE = "a run log is evidence: run again rather than edit it"
# The fields of a result line (``ResultRecord.to_dict``) written before results were sealed; a
# sealed line may hold more, its hash vouching that a writer wrote them.
_UNSEALED_FIELDS = frozenset(
    (
        "type", "suite", "case", "target", "repeat", "category", "fingerprint", "response",
        "scores", "tags", "xfail", "seed", "reduce",
    )
)  # fmt: skip


def _unsealed_problem(record: Mapping[str, Any], first_sealed: int | None) -> str | None:
    """Why a result line without a hash cannot be one written before results were sealed: a
    one-byte edit of its hash key (``sha257``) must not pass it off as such."""
    unknown = sorted(set(record) - _UNSEALED_FIELDS)
    if unknown:
        return f"and an unknown field {unknown[0]!r} (its hash key renamed?)"
    if first_sealed is not None:
        return f"though an earlier result is sealed (line {first_sealed}): its hash was removed"
    return None


def read_run_log(path: str | Path) -> RunLog:
    """Read a run log written by :class:`RunLogWriter`.

    A later record for the same (case, target, repeat) replaces an earlier one: a resumed run
    retries errored calls and appends their new answers. A torn last line (see the module
    docstring) is skipped and described in :attr:`RunLog.torn`.

    Raises:
        RunLogError: missing file, no header, an unknown schema version, a line of an unknown
            type, a corrupt line that is not the last, or a result that is not the last line
            and whose content hash does not match (edited after the run) or is missing where
            only an edit can have removed it (after a sealed result, or an unknown field in its
            place).
    """
    path = Path(path)
    if not path.is_file():
        raise RunLogError(f"{path}: run log not found")
    log: RunLog | None = None
    first_sealed: int | None = None  # the line of the first sealed result
    # An unusable line: torn if it turns out to be the last one, this error if any line follows.
    unusable: tuple[TornRecord, str] | None = None
    for number, offset, line in _iter_lines(path):
        if not line.strip():
            continue
        if unusable is not None:
            raise RunLogError(unusable[1])
        record = _parse(line)
        if record is None:
            unusable = (
                TornRecord(number, offset, len(line), _CUT_SHORT),
                f"{path}:{number}: corrupt line in run log (not a JSON object; only the last "
                "line may be cut short)",
            )
            continue
        if not line.endswith(b"\n"):  # the last line, its write cut short before the newline
            unusable = (TornRecord(number, offset, len(line), _CUT_SHORT), "")
            continue
        kind = record.get("type")
        state = seal_state(line, record)
        if state == "edited":
            unusable = (
                TornRecord(number, offset, len(line), "content hash mismatch"),
                f"{path}:{number}: {_noun(kind)} was edited after the run (content hash mismatch), "
                f"{_describe_result(record)}; {_EVIDENCE}",
            )
            continue
        if log is None:
            if kind != "header":
                raise RunLogError(f"{path}:{number}: expected a run log header, found {kind!r}")
            version = record.get("schema_version")
            if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
                raise RunLogError(
                    f"{path}: run log schema_version {version!r} is not supported "
                    f"(expected {' or '.join(map(str, SUPPORTED_VERSIONS))})"
                )
            try:
                header = RunHeader.from_dict(record)
            except (TypeError, ValueError) as exc:
                raise RunLogError(f"{path}:{number}: malformed run log header ({exc})") from None
            log = RunLog(path, header)
        elif kind == "result":
            if state == "sealed":
                first_sealed = first_sealed or number
            else:
                problem = _unsealed_problem(record, first_sealed)
                if problem is not None:
                    unusable = (
                        TornRecord(number, offset, len(line), "content hash missing"),
                        f"{path}:{number}: result has no content hash, {problem}; "
                        f"{_describe_result(record)}; {_EVIDENCE}",
                    )
                    continue
            try:
                result = ResultRecord.from_dict(record)
            except (KeyError, TypeError, ValueError) as exc:
                raise RunLogError(f"{path}:{number}: malformed result record ({exc})") from None
            log.results.pop(result.key, None)
            log.results[result.key] = result
        elif kind == "calibration":
            if state != "sealed":
                raise RunLogError(
                    f"{path}:{number}: calibration has no content hash, "
                    f"{_describe_result(record)}; {_EVIDENCE}"
                )
            try:
                calibrated = CalibrationRecord.from_dict(record)
            except (KeyError, TypeError, ValueError) as exc:
                raise RunLogError(
                    f"{path}:{number}: malformed calibration record ({exc})"
                ) from None
            log.calibration.pop(calibrated.key, None)
            log.calibration[calibrated.key] = calibrated
        elif kind == "batch":
            log.batches.append(record)
        elif kind == "pairwise":
            try:
                compared = PairwiseRecord.from_dict(record)
            except (KeyError, TypeError, ValueError) as exc:
                raise RunLogError(f"{path}:{number}: malformed pairwise record ({exc})") from None
            log.pairwise.pop(compared.key, None)
            log.pairwise[compared.key] = compared
        elif kind == "footer":
            try:
                footer = RunFooter.from_dict(record)
            except (TypeError, ValueError) as exc:
                raise RunLogError(f"{path}:{number}: malformed run log footer ({exc})") from None
            log.finish(footer)
        else:
            raise RunLogError(
                f"{path}:{number}: unexpected {kind!r} line in run log (expected a result, batch, "
                "pairwise, calibration or footer line)"
            )
    if log is None:
        if unusable is not None:
            torn = unusable[0]
            raise RunLogError(
                f"{path}:{torn.line}: the run log's header is torn ({torn.size} bytes): the run "
                "stopped before its first answer; run it again without --resume"
            )
        raise RunLogError(f"{path}: empty run log (no header)")
    if unusable is not None:
        log.torn, log.torn_lines = unusable[0], 1
    return log


def _noun(kind: Any) -> str:
    return "calibration" if kind == "calibration" else "result"


def _plain(value: Any) -> bool:
    """Whether ``value`` reads back from JSON as itself: only dicts with text keys, lists, text,
    finite numbers, booleans and ``None`` (a tuple would come back a list, a number key as text,
    ``NaN`` as ``null``)."""
    kind = type(value)
    if kind in (str, int, bool) or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(_plain(item) for item in value)
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    return False


def _reads_back(result: CheckResult) -> bool:
    """Whether a check result reads back from the log as an equal one."""
    score = result.score
    return (
        type(score.passed) is bool
        and type(score.value) in (int, float)
        and math.isfinite(score.value)
        and type(score.reason) is str
        and _plain_mapping(result.args)
        and _plain_mapping(score.details)
    )


def _plain_mapping(value: Mapping[str, Any]) -> bool:
    # Any mapping is written as a JSON object, and a dict read back compares equal to it.
    return all(type(key) is str and _plain(item) for key, item in value.items())


class RunLogWriter:
    """Append results to a run log as they complete.

    The writer also keeps :attr:`log`, the :class:`RunLog` that reading the file back would give,
    so a run can report without parsing its whole log again; it is ``None`` when a record would
    not read back as itself (a check's details holding a tuple, say), and the file is then read.
    """

    def __init__(self, path: Path, handle: TextIO, log: RunLog | None = None) -> None:
        self.path = path
        self._handle = handle
        self.log = log
        # Records that held text UTF-8 cannot encode, written with U+FFFD in its place.
        self.replaced_records = 0

    @classmethod
    def create(cls, path: str | Path, header: RunHeader) -> RunLogWriter:
        """Start a log at ``path`` with ``header`` (written at the lowest schema version that holds
        it, footer-less)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("w", encoding="utf-8", newline="\n")
        # The lowest version that holds it: older readers still read a log that needs no more.
        header = replace(header, schema_version=header.required_version, footer=None)
        first = header.to_dict()
        writer = cls(path, handle, RunLog(path, header) if _plain(first) else None)
        writer._write(first)
        return writer

    @classmethod
    def open_for_resume(
        cls, path: str | Path, *, notify: Callable[[str], object] | None = None
    ) -> tuple[RunLogWriter, RunLog]:
        """Read an existing log, cut a torn last line, and reopen it for appending.

        Args:
            path: the log to resume.
            notify: gets the one line saying a torn last record was dropped (default: printed
                on stderr).
        """
        path = Path(path)
        log = read_run_log(path)
        with path.open("rb+") as raw:
            size = raw.seek(0, os.SEEK_END)
            keep = size
            if log.torn is not None:
                keep = log.torn.offset
            elif size:
                raw.seek(size - 1)
                if raw.read(1) != b"\n":
                    # Blanks after the last newline (a hand edit): a record starts a line.
                    raw.seek(0)
                    keep = raw.read().rfind(b"\n") + 1
            if keep < size:
                raw.truncate(keep)  # made durable with the appends, by close's fsync
        if log.torn is not None:
            (notify or _to_stderr)(log.torn.describe(path))
        # A copy, as the file reads once the torn line is cut: later appends do not show in `log`.
        mirror = RunLog(
            path,
            log.header,
            dict(log.results),
            0,
            list(log.batches),
            dict(log.pairwise),
            calibration=dict(log.calibration),
        )
        return cls(path, path.open("a", encoding="utf-8", newline="\n"), mirror), log

    def _write(self, record: Mapping[str, Any], *, sealed: bool = False) -> None:
        # One write per line, flushed: a kill leaves whole lines plus at most one torn line.
        line, replaced = dump_line_counted(record)
        if replaced:
            # The file holds U+FFFD where the record holds a lone surrogate: the kept log no
            # longer reads as the file does, and the file is what reports must show.
            self.replaced_records += 1
            self.log = None
        self._handle.write(seal_line(line) if sealed else line)
        self._handle.flush()

    def append(self, result: ResultRecord) -> None:
        self._write(result.to_dict(), sealed=True)

        def keep(log: RunLog) -> None:
            log.results.pop(result.key, None)  # the reader keeps the latest, in order
            log.results[result.key] = result

        # Every other field is typed and reads back as written; a check's arguments and details
        # hold whatever the suite and the scorer put there.
        self._mirror(keep, all(_reads_back(s) for s in result.scores))

    def append_pairwise(self, compared: PairwiseRecord) -> None:
        """A comparison of two answers (a ``pairwise`` check), judged once both were in."""
        line = compared.to_dict()
        self._write(line)

        def keep(log: RunLog) -> None:
            log.pairwise.pop(compared.key, None)
            log.pairwise[compared.key] = compared

        self._mirror(keep, _plain(line))

    def append_calibration(self, calibrated: CalibrationRecord) -> None:
        """A grader's calibration (sealed: gates rest on it, so it is evidence like a result)."""
        line = calibrated.to_dict()
        self._write(line, sealed=True)

        def keep(log: RunLog) -> None:
            log.calibration.pop(calibrated.key, None)
            log.calibration[calibrated.key] = calibrated

        self._mirror(keep, _plain(line))

    def batch(self, data: Mapping[str, Any]) -> None:
        """A Batch API event (created, finished), written the moment it happens."""
        line = {"type": "batch", **data}
        self._write(line)
        self._mirror(lambda log: log.batches.append(line), _plain(line))

    def footer(self, data: Mapping[str, Any]) -> None:
        """The run's last line: when it finished and its figures (see :class:`RunFooter`)."""
        line = {"type": "footer", **data}
        self._write(line)
        self._mirror(lambda log: log.finish(RunFooter.from_dict(line)), _plain(line))

    def _mirror(self, change: Callable[[RunLog], object], reads_back: bool) -> None:
        """Apply ``change`` to :attr:`log` when what was written reads back as itself; otherwise
        the kept log is dropped and the file will be read."""
        if self.log is not None:
            if reads_back:
                change(self.log)
            else:
                self.log = None

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            if self.replaced_records:
                _to_stderr(
                    f"{self.path}: {self.replaced_records} record(s) held text that is not valid "
                    "Unicode (a lone surrogate, e.g. from a JSON escape in an answer); written "
                    "with U+FFFD in its place"
                )

    def __enter__(self) -> RunLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def merge_run_logs(
    sources: Sequence[RunLog],
    path: str | Path,
    *,
    footer: Mapping[str, Any] | None = None,
    log: str | None = None,
) -> RunLog:
    """Write one run log holding every result of ``sources`` (several processes' share of one run).

    The header is the first source's, with ``planned`` counting the merged results and ``log``
    (where the merged log is, as ``--resume`` takes it) when given. A key found in
    more than one source (workers that resumed the same log each hold a copy of it) keeps an
    answer over an errored attempt, else the last source's record. The file is replaced
    atomically, so ``path`` may be one of the sources' own files.

    Raises:
        RunLogError: no source, or sources of different targets or suites.
    """
    if not sources:
        raise RunLogError(f"{path}: nothing to merge into a run log")
    first = sources[0]
    for other in sources[1:]:
        for part, mine, theirs in (
            ("targets", first.header.targets, other.header.targets),
            ("suites", first.header.suites, other.header.suites),
        ):
            if theirs != mine:
                raise RunLogError(
                    f"{other.path}: cannot merge: its {part} differ from {first.path}"
                )
    results: dict[ResultKey, ResultRecord] = {}
    for source in sources:
        for key, record in source.results.items():
            kept = results.get(key)
            if kept is None or kept.errored or not record.errored:
                results[key] = record
    header = replace(first.header, planned=len(results), footer=None)
    if log is not None:
        header = replace(header, log=log)
    lines = [dump_line(header.to_dict())]
    lines += [dump_line({"type": "batch", **b}) for s in sources for b in s.batches]
    lines += [seal_line(dump_line(r.to_dict())) for r in results.values()]
    # Workers judge the pairs of their own cases; a pair two of them hold (both resumed the same
    # log) keeps a verdict over an undecided attempt, like the results above.
    pairwise: dict[PairKey, PairwiseRecord] = {}
    for source in sources:
        for pair, compared in source.pairwise.items():
            held = pairwise.get(pair)
            if held is None or held.outcome == "undecided" or compared.outcome != "undecided":
                pairwise[pair] = compared
    lines += [dump_line(p.to_dict()) for p in pairwise.values()]
    # Every worker calibrates the graders its cases consult: keep a grader's verdicts over an
    # attempt that could not ask it.
    calibration: dict[GraderKey, CalibrationRecord] = {}
    for source in sources:
        for grader, calibrated in source.calibration.items():
            taken = calibration.get(grader)
            if (
                taken is None
                or taken.status == "uncalibrated"
                or calibrated.status != "uncalibrated"
            ):
                calibration[grader] = calibrated
    lines += [seal_line(dump_line(c.to_dict())) for c in calibration.values()]
    if footer is not None:
        lines.append(dump_line({"type": "footer", **footer}))
    write_atomic(Path(path), lines)
    return read_run_log(path)
