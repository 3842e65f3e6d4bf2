"""Golden recordings are evidence: sealed when written, checked by ``golden verify`` and by replay.

Each test edits a recorded file the way a hand (or a bad merge) would, and expects the edit to be
named with its file and line, never replayed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arcanos_eval._jsonl import HASH_KEY, dump_line, seal_line
from arcanos_eval.cli import main
from arcanos_eval.errors import GoldenIntegrityError
from arcanos_eval.targets.replay import GoldenStore
from tests.conftest import KEY_ENV, simple_cases, write_suite
from tests.test_cli import PYPROJECT  # the same two-target project

BASE = Path("golden/demo/base.jsonl")


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


def _lines(path: Path = BASE) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _edit(index: int, change: Callable[[dict[str, Any]], object], path: Path = BASE) -> None:
    """Change one record in place, written back in the store's own form, its hash untouched."""
    lines = _lines(path)
    record = json.loads(lines[index])
    change(record)
    lines[index] = dump_line(record)
    path.write_text("".join(lines), encoding="utf-8")


def _set(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        record = record[key]
    record[leaf] = value


def test_recording_seals_every_record_and_verify_passes(recorded, capsys):
    for line in _lines():
        record = json.loads(line)
        assert len(record[HASH_KEY]) == 64
        assert line.endswith(f',"{HASH_KEY}":"{record[HASH_KEY]}"}}\n')  # the last key
    assert main(["golden", "verify"]) == 0
    assert "intact" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("response.text", "an answer nobody recorded"),
        ("response.latency_ms", 1.0),
        ("response.usage.completion_tokens", 1),
        ("request.messages", [{"role": "user", "content": "another question"}]),
    ],
)
def test_an_edited_record_is_named_by_verify_and_refused_by_replay(recorded, capsys, field, value):
    _edit(1, lambda r: _set(r, field, value))

    assert main(["golden", "verify"]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| edited"))
    assert f"{BASE}:2 case 'case-1' repeat 0" in row
    assert "content hash mismatch" in row
    assert sum(line.startswith("| edited") for line in out.splitlines()) == 1

    assert main(["run", "--mode", "replay", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"arcanos-eval: error: {BASE}:2: recorded answer was edited after recording "
        "(content hash mismatch), case 'case-1' repeat 0;"
    )
    assert len(err.strip().splitlines()) == 1


def test_replay_refuses_an_edited_record_at_lookup(recorded):
    _edit(0, lambda r: _set(r, "response.text", "edited"))
    store = GoldenStore(recorded / "golden", answers_only=True)
    (case_id, repeat, fingerprint), *others = store.records("demo", "base")
    with pytest.raises(GoldenIntegrityError, match=r"base\.jsonl:1: recorded answer was edited"):
        store.lookup("demo", "base", case_id, fingerprint, repeat)
    for case_id, repeat, fingerprint in others:  # the intact ones still replay
        assert store.lookup("demo", "base", case_id, fingerprint, repeat) is not None


def test_a_record_rewritten_with_other_spacing_is_still_intact(recorded, capsys):
    lines = _lines()
    lines[0] = json.dumps(json.loads(lines[0]), indent=None) + "\n"  # ", " and ": " separators
    BASE.write_text("".join(lines), encoding="utf-8")
    assert main(["golden", "verify"]) == 0
    assert main(["run", "--mode", "replay", "-q"]) == 0


def test_duplicates_are_named_with_both_lines(recorded, capsys):
    lines = _lines()
    BASE.write_text("".join([*lines, lines[0]]), encoding="utf-8")  # a merge that kept both
    assert main(["golden", "verify"]) == 1
    row = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("| duplicate"))
    assert f"{BASE}:1,4 case 'case-0' repeat 0" in row
    assert "recorded twice, on lines 1 and 4" in row
    # The same answer twice replays; two different answers, each sealed, do not.
    assert main(["run", "--mode", "replay", "-q"]) == 0
    capsys.readouterr()
    other = json.loads(lines[0])
    other["response"]["text"] = "a second answer"
    del other[HASH_KEY]
    BASE.write_text("".join([*lines, seal_line(dump_line(other))]), encoding="utf-8")
    assert main(["run", "--mode", "replay", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{BASE}:4: case 'case-0' repeat 0 is recorded more than once with different" in err


def test_unsealed_records_are_listed_refused_and_sealed_by_golden_seal(recorded, capsys):
    sealed = _lines()
    _edit(0, lambda r: r.pop(HASH_KEY))
    _edit(2, lambda r: r.pop(HASH_KEY))

    assert main(["golden", "verify"]) == 1
    out = capsys.readouterr().out
    assert [r.split("|")[1].strip() for r in out.splitlines() if "| unsealed" in r] == [
        "unsealed",
        "unsealed",
    ]
    assert main(["run", "--mode", "replay", "-q"]) == 2
    assert "run arcanos-eval golden seal" in capsys.readouterr().err

    assert main(["golden", "seal", "--dry-run"]) == 0
    assert "would seal 2 record(s) that had no content hash (4 already sealed)" in (
        capsys.readouterr().out
    )
    assert main(["golden", "seal"]) == 0
    assert "sealed 2 record(s) that had no content hash (4 already sealed)" in (
        capsys.readouterr().out
    )
    assert _lines() == sealed  # byte for byte: the hash is all that came back
    assert main(["golden", "verify"]) == 0
    assert main(["run", "--mode", "replay", "-q"]) == 0


def test_seal_never_blesses_an_edited_record(recorded, capsys):
    _edit(1, lambda r: _set(r, "response.text", "edited"))
    before = _lines()
    assert main(["golden", "seal"]) == 1
    out = capsys.readouterr().out
    assert f"{BASE}:2: content hash mismatch, left as it is" in out
    assert _lines() == before
    assert main(["golden", "verify"]) == 1


def test_rewriting_a_file_keeps_missing_and_broken_hashes(recorded, capsys):
    _edit(0, lambda r: r.pop(HASH_KEY))
    _edit(1, lambda r: _set(r, "response.text", "edited"))
    write_suite(recorded / "suites", "demo", simple_cases(2))  # case-2 is stale now
    assert main(["golden", "prune"]) == 0
    assert "removed 2 stale recording(s)" in capsys.readouterr().out
    first, second = (json.loads(line) for line in _lines())
    assert HASH_KEY not in first  # pruning is no seal
    assert second["response"]["text"] == "edited" and HASH_KEY in second
    assert main(["golden", "verify"]) == 1
    out = capsys.readouterr().out
    assert "| unsealed" in out and "| edited" in out
