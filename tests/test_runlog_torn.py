"""Run logs a write cannot break: a last record a kill cut short at any byte is read, resumed and
reported; text UTF-8 cannot encode never fails a write.

The torn log is a real one, written by a short run against the loopback server, with answers
holding two-, three- and four-byte UTF-8 characters; every byte offset of its last record is tried.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcanos_eval._jsonl import dump_line, seal_line, seal_state
from arcanos_eval.cli import main
from arcanos_eval.errors import RunLogError
from arcanos_eval.model import CheckResult, Response, ResultRecord, RunHeader, Score
from arcanos_eval.run import execute_run
from arcanos_eval.runlog import RunLogWriter, TornRecord, read_run_log
from arcanos_eval.suite.loader import load_suites
from tests.conftest import KEY_ENV, write_suite
from tests.test_cli import PYPROJECT

# Echoed back by the loopback server: the last record's answer holds multi-byte characters.
CASES = [
    {
        "id": f"case-{i}",
        "input": f"question number {i}: café ☕ 𝄞 ok",
        "checks": [{"contains": "ok"}],
    }
    for i in range(2)
]


@dataclass(frozen=True)
class Interrupted:
    """A real log as a kill mid-write would leave it: no footer, the last result being written."""

    kept: bytes  # the header and every result but the last, whole
    last: bytes  # the last result's line, without its newline
    records: list[ResultRecord]  # every result, the last one included
    last_line: int  # the last result's line number


@pytest.fixture
def interrupted(openai_server, make_config, tmp_path, test_key) -> Interrupted:
    suites = load_suites([write_suite(tmp_path / "suites", "torn", CASES)])
    log = tmp_path / "full.jsonl"
    config = make_config(openai_server.base_url, mode="live", targets={"base": {}})
    outcome = execute_run(config, suites, log_path=log, progress=False)
    lines = log.read_bytes().splitlines(keepends=True)
    assert json.loads(lines[-1])["type"] == "footer"
    assert [json.loads(line)["type"] for line in lines[:-1]] == ["header", "result", "result"]
    return Interrupted(
        kept=b"".join(lines[:-2]),
        last=lines[-2].rstrip(b"\n"),
        records=outcome.log.records(),
        last_line=len(lines) - 1,
    )


def _cuts(record: bytes) -> list[tuple[int, bool]]:
    """Every (byte offset, newline added after the cut) a kill can leave; the whole line is not
    a cut."""
    return [
        (cut, newline)
        for cut in range(len(record) + 1)
        for newline in (False, True)
        if not (cut == len(record) and newline)
    ]


def test_the_last_record_holds_multi_byte_characters(interrupted):
    # Otherwise the offsets below would never cut a character in two.
    inside = [c for c in range(len(interrupted.last)) if (interrupted.last[c] & 0xC0) == 0x80]
    assert len(inside) >= 6


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A folder for a loop that writes and closes a log a thousand times: in memory where the
    system has one (/dev/shm), as each close's ``fsync`` costs milliseconds on a busy disk."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="arcanos-torn-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_last_record_cut_at_any_byte_is_dropped_and_resumed(interrupted, scratch):
    path = scratch / "run.jsonl"
    *earlier, last = interrupted.records
    for cut, newline in _cuts(interrupted.last):
        torn = interrupted.last[:cut] + (b"\n" if newline else b"")
        path.write_bytes(interrupted.kept + torn)
        where = f"cut at byte {cut} of {len(interrupted.last)}, newline {newline}"

        log = read_run_log(path)
        assert log.records() == earlier, where
        expected = (
            TornRecord(interrupted.last_line, len(interrupted.kept), len(torn), "cut short")
            if cut
            else None  # nothing of the record was written (or a blank line): nothing is torn
        )
        assert log.torn == expected, where
        assert log.torn_lines == (1 if cut else 0), where

        notes: list[str] = []
        writer, _ = RunLogWriter.open_for_resume(path, notify=notes.append)
        with writer:
            assert path.read_bytes() == (interrupted.kept + torn if not cut else interrupted.kept)
            writer.append(last)
        assert notes == (
            [
                f"{path}: dropped a torn last record ({len(torn)} bytes) at line "
                f"{interrupted.last_line}"
            ]
            if cut
            else []
        ), where
        again = read_run_log(path)
        assert again.records() == interrupted.records and again.torn is None, where


def test_a_cut_line_followed_by_another_is_corruption(interrupted, tmp_path):
    # Only the last line may be torn: a cut line anywhere else is never dropped silently.
    path = tmp_path / "run.jsonl"
    middle = len(interrupted.last) // 2
    path.write_bytes(
        interrupted.kept + interrupted.last[:middle] + b"\n" + interrupted.last + b"\n"
    )
    with pytest.raises(RunLogError) as info:
        read_run_log(path)
    assert str(info.value).startswith(f"{path}:{interrupted.last_line}: corrupt line in run log")
    with pytest.raises(RunLogError):
        RunLogWriter.open_for_resume(path)
    assert path.read_bytes().endswith(interrupted.last + b"\n")  # left as it was


def test_a_torn_header_says_there_is_nothing_to_resume(interrupted, tmp_path):
    path = tmp_path / "run.jsonl"
    header = interrupted.kept.splitlines()[0]
    path.write_bytes(header[: len(header) // 2])
    with pytest.raises(RunLogError, match=r"run\.jsonl:1: the run log's header is torn"):
        RunLogWriter.open_for_resume(path)


def test_a_last_result_whose_seal_does_not_match_is_torn(interrupted, tmp_path):
    # Still a JSON object, but not what was sealed: as the last line, what a torn write leaves.
    path = tmp_path / "run.jsonl"
    edited = interrupted.last.replace(b"question number 1", b"question number 9", 1)
    assert edited != interrupted.last
    path.write_bytes(interrupted.kept + edited + b"\n")
    *earlier, last = interrupted.records
    log = read_run_log(path)
    assert log.records() == earlier
    assert log.torn is not None and log.torn.reason == "content hash mismatch"
    notes: list[str] = []
    writer, _ = RunLogWriter.open_for_resume(path, notify=notes.append)
    with writer:
        writer.append(last)
    assert notes == [
        f"{path}: dropped a torn last record ({len(edited) + 1} bytes) at line "
        f"{interrupted.last_line} (content hash mismatch)"
    ]
    assert read_run_log(path).records() == interrupted.records


# --------------------------------------------------------------------------- end to end


@pytest.fixture
def project(tmp_path, openai_server, monkeypatch, test_key) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.format(url=openai_server.base_url, env=KEY_ENV)
    )
    write_suite(tmp_path / "suites", "demo", CASES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _middle_of_a_character(line: bytes) -> int:
    """An offset inside the last line's first four-byte character (𝄞)."""
    return line.index("𝄞".encode()) + 2


@pytest.mark.parametrize("newline", [True, False], ids=["newline-after-cut", "no-newline"])
def test_resume_of_a_log_torn_inside_a_character_completes_and_reports(
    project, openai_server, capsys, newline
):
    assert main(["run", "--mode", "live", "-q", "--log", "run.jsonl"]) == 0
    log = project / "run.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    last = lines[-2]  # the footer is lines[-1]: a killed run has none
    torn = last[: _middle_of_a_character(last)] + (b"\n" if newline else b"")
    log.write_bytes(b"".join(lines[:-2]) + torn)
    capsys.readouterr()
    requests = openai_server.total_requests

    assert main(["run", "--mode", "live", "-q", "--resume", "run.jsonl"]) == 0
    err = capsys.readouterr().err
    assert (
        f"run.jsonl: dropped a torn last record ({len(torn)} bytes) at line {len(lines) - 1}" in err
    )
    assert openai_server.total_requests == requests + 1  # only the torn answer is asked again

    records = [json.loads(line) for line in log.read_bytes().splitlines()]
    keys = [(r["case"], r["target"]) for r in records if r["type"] == "result"]
    assert len(keys) == 4 and len(set(keys)) == 4
    assert main(["report", "run.jsonl", "-o", "report.md"]) == 0
    assert "unreadable line" not in (project / "report.md").read_text()


# --------------------------------------------------------------------------- unencodable text

# Every code point, lone surrogates included (a "\\ud800" escape in JSON decodes to one).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=20)


def _surrogates_replaced(value: object) -> object:
    if isinstance(value, str):
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    if isinstance(value, dict):
        return {_surrogates_replaced(k): _surrogates_replaced(v) for k, v in value.items()}
    return value


@given(st.dictionaries(ANY_TEXT, ANY_TEXT, min_size=1, max_size=4))
def test_every_line_is_valid_utf8_with_u_fffd_for_what_utf8_cannot_encode(record):
    line = dump_line(record)
    line.encode("utf-8")  # strict: never a UnicodeEncodeError when written
    assert json.loads(line) == _surrogates_replaced(record)
    sealed = seal_line(line)
    assert seal_state(sealed.encode("utf-8"), json.loads(sealed)) == "sealed"


def _answer(text: str) -> ResultRecord:
    return ResultRecord(
        suite_id="s",
        case_id="c",
        target="base",
        repeat=0,
        category="happy_path",
        fingerprint="f",
        response=Response.from_text(text),
        scores=(CheckResult("contains", {}, Score(True, 1.0, details={"seen": text})),),
    )


def test_an_answer_holding_a_lone_surrogate_is_written_and_reported(tmp_path, capsys):
    path = tmp_path / "run.jsonl"
    header = RunHeader(run_id="r1", gates={"pass_rate": {"happy_path": 1.0}})
    with RunLogWriter.create(path, header) as writer:
        writer.append(_answer("ok"))
        writer.append(replace(_answer("half a pair \ud83d, then text"), case_id="d"))
        writer.footer({"finished_at": "now"})
    path.read_bytes().decode("utf-8")  # strict: the file is valid UTF-8, whole
    log = read_run_log(path)
    assert [r.response.text for r in log.records()] == ["ok", "half a pair \ufffd, then text"]
    # What the run reports from is what the file holds, not the surrogate kept in memory.
    assert writer.log is None or writer.log.records() == log.records()
    assert capsys.readouterr().err == (
        f"{path}: 1 record(s) held text that is not valid Unicode (a lone surrogate, e.g. from a "
        "JSON escape in an answer); written with U+FFFD in its place\n"
    )
    assert main(["report", str(path), "-o", str(tmp_path / "report.md")]) in (0, 1)  # a verdict
