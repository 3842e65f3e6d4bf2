"""Tamper evidence, byte by byte: one byte edited anywhere in a sealed golden record or in a run
log's middle result is never replayed or reported as it was recorded.

``tests/test_golden.py`` and ``tests/test_runlog.py`` edit whole fields (an answer, a latency) and
check the one-line errors; here every byte of a record is changed in turn, the way a stray
keystroke or a bad merge would, including the bytes of keys, of the hash and of the structure.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from arcanos_eval.cli import main
from arcanos_eval.errors import GoldenIntegrityError, RunLogError
from arcanos_eval.runlog import read_run_log
from arcanos_eval.targets.replay import GoldenStore
from tests.conftest import KEY_ENV, simple_cases, write_suite
from tests.test_cli import PYPROJECT

RUN_LOG = Path(__file__).parent / "report" / "fixtures" / "release.jsonl"  # sealed, 52 results


def _rewrite(path: Path, data: bytes) -> None:
    """``path`` holding ``data``, as a new file: truncating a file in place makes ext4 flush it to
    disk on close (``auto_da_alloc``), which costs a loop over every byte offset seconds."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def _other(byte: int) -> bytes:
    """A different byte of the same kind where there is one: a digit for a digit (a latency or
    a token count changed), a letter for a letter, else ``x``."""
    if 0x30 <= byte <= 0x39:
        return bytes([0x30 + (byte - 0x30 + 1) % 10])
    for low in (0x61, 0x41):  # a-z, A-Z
        if low <= byte < low + 26:
            return bytes([low + (byte - low + 1) % 26])
    return b"x"


def _edits(line: bytes) -> list[tuple[int, bytes]]:
    """(offset, replacement) for every byte of ``line`` but its newline: another byte of the same
    kind, and a newline (one record split in two)."""
    body = line.rstrip(b"\n")
    return [(i, new) for i in range(len(body)) for new in (_other(body[i]), b"\n")]


def _edited(line: bytes, offset: int, new: bytes) -> bytes:
    return line[:offset] + new + line[offset + 1 :]


def _same_content(edited: bytes, original: bytes) -> bool:
    """Whether an edit left the record's content as it was: a float's 17th digit can change and
    the number read stay the same, and so does its seal (which covers content, not bytes)."""
    try:
        return bool(json.loads(edited) == json.loads(original))
    except ValueError:
        return False


def _line_of(number: int, offset: int, new: bytes) -> int:
    """The line an edit of line ``number`` is found on: the next one when a newline replaced its
    first byte (the line is then blank, and what is left of the record follows)."""
    return number + 1 if new == b"\n" and offset == 0 else number


# --------------------------------------------------------------------------- run logs


def test_every_one_byte_edit_of_a_middle_result_is_an_error_naming_its_line(tmp_path):
    lines = RUN_LOG.read_bytes().splitlines(keepends=True)
    number = 3  # a result, with results before and after it
    assert json.loads(lines[number - 1])["type"] == "result"
    path = tmp_path / "run.jsonl"
    seen: Counter[str] = Counter()
    for offset, new in _edits(lines[number - 1]):
        edited = _edited(lines[number - 1], offset, new)
        _rewrite(path, b"".join([*lines[: number - 1], edited, *lines[number:]]))
        if _same_content(edited, lines[number - 1]):
            assert read_run_log(path).records() == read_run_log(RUN_LOG).records()
            seen["same content"] += 1
            continue
        with pytest.raises(RunLogError) as info:
            read_run_log(path)
        message = str(info.value)
        assert message.startswith(f"{path}:{_line_of(number, offset, new)}: "), (offset, new)
        assert "\n" not in message
        seen[message.split(": ", 2)[1].split(" (")[0]] += 1
    # Every way a byte can break a record was met: the test is not passing on one kind only.
    assert {
        "corrupt line in run log",
        "result was edited after the run",
        "result has no content hash, and an unknown field 'sha257'",
    } <= set(seen), seen


def test_report_names_a_removed_hash_key_in_one_line(tmp_path, capsys):
    lines = RUN_LOG.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"sha256":', b'"sha257":')
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"".join(lines))
    assert main(["report", str(path), "-o", str(tmp_path / "report.md")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"arcanos-eval: error: {path}:3: result has no content hash, and an unknown field "
        "'sha257' (its hash key renamed?); case puzzle-classification::riddle-footsteps [base]"
    )
    assert err.count("\n") == 1 and not (tmp_path / "report.md").exists()


def test_a_result_whose_hash_was_removed_after_sealed_ones_is_refused(tmp_path):
    lines = RUN_LOG.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[3])
    del record["sha256"]
    lines[3] = json.dumps(record, sort_keys=True, ensure_ascii=False).encode() + b"\n"
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"".join(lines))
    with pytest.raises(RunLogError, match=r"run\.jsonl:4: result has no content hash, though an"):
        read_run_log(path)


def test_a_line_of_an_unknown_type_is_an_error(tmp_path):
    lines = RUN_LOG.read_bytes().splitlines(keepends=True)
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"".join([*lines[:5], b'{"type":"header","schema_version":1}\n', *lines[5:]]))
    with pytest.raises(RunLogError, match=r"run\.jsonl:6: unexpected 'header' line in run log"):
        read_run_log(path)


# --------------------------------------------------------------------------- golden recordings

BASE = "golden/demo/base.jsonl"


@pytest.fixture
def recorded(tmp_path, openai_server, monkeypatch, test_key) -> Path:
    """A project whose three cases are recorded for base and candidate."""
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.format(url=openai_server.base_url, env=KEY_ENV)
    )
    write_suite(tmp_path / "suites", "demo", simple_cases(3))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--mode", "record", "-q"]) == 0
    return tmp_path


def test_every_one_byte_edit_of_a_golden_record_is_never_replayed(recorded):
    path = recorded / BASE
    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    intact = GoldenStore(recorded / "golden", answers_only=True).records("demo", "base")
    assert len(lines) == len(intact) == 3
    second = json.loads(lines[1])
    edited_key = (second["case"], second.get("repeat", 0), second["fingerprint"])
    assert edited_key in intact
    seen: Counter[str] = Counter()
    for offset, new in _edits(lines[1]):
        edited = _edited(lines[1], offset, new)
        _rewrite(path, lines[0] + edited + lines[2])
        store = GoldenStore(recorded / "golden", answers_only=True)
        if _same_content(edited, lines[1]):  # e.g. a float's 17th digit: the same number
            assert store.records("demo", "base") == intact
            assert not store.problems("demo", "base")
            seen["same content"] += 1
            continue
        try:
            replayed = {key: store.lookup("demo", "base", key[0], key[2], key[1]) for key in intact}
        except RunLogError as exc:  # not a record at all: the file is refused as a whole
            assert f"{BASE}:{_line_of(2, offset, new)}: not a golden record" in str(exc), (
                offset,
                new,
                exc,
            )
            seen["refused when read"] += 1
            continue
        except GoldenIntegrityError as exc:  # the edited record, asked for, is refused
            assert "base.jsonl:2: " in str(exc), (offset, new, exc)
            seen["refused when asked for"] += 1
            continue
        # The edit hit the record's key (case, repeat, fingerprint): the request it answered
        # finds no recording (replay stops, naming it missing) and `golden verify` names it.
        assert replayed[edited_key] is None, (offset, new)
        assert all(replayed[k] == intact[k] for k in intact if k != edited_key)
        problems = store.problems("demo", "base")
        assert [(p.kind, p.line) for p in problems][:1] in ([("edited", 2)], [("unsealed", 2)])
        seen["key edited, named by verify"] += 1
    assert set(seen) - {"same content"} == {
        "refused when read",
        "refused when asked for",
        "key edited, named by verify",
    }, seen
    path.write_bytes(original)
