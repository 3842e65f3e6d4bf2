"""The mode tables say what the code does: the README's, row by row against a real run, and the one
in ``arcanos_eval/modes.py``'s docstring against :class:`~arcanos_eval.modes.Mode`.

Each README row is read for what it promises (golden recordings used or ignored, the local cache
used or ignored, which model calls are made, what is written) and then run through the CLI on a
project whose golden store holds case ``a``, whose cache holds ``b`` besides, and where ``c`` was
never answered. The loopback server answers ``fresh: ...`` in the run under test, so an answer
tells whether it was called for or taken from golden or the cache.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from arcanos_eval.cli import main
from arcanos_eval.modes import Mode
from arcanos_eval.runlog import read_run_log
from arcanos_eval.testing import Reply
from tests.conftest import KEY_ENV, loopback_pyproject, write_suite

README = Path(__file__).resolve().parents[1] / "README.md"
HEADER = "| mode | golden recordings | local cache | model calls | writes |"
TARGETS = ("base", "candidate")
# What the first words of a "model calls" cell promise: no call, a call for every case, or a call
# for what golden and the cache (as far as the mode reads them) lack.
CALLS = {
    "never": "none",
    "every case": "all",
    "only for what neither golden nor the cache holds": "missing",
    "for the rest": "missing",
}


@dataclass(frozen=True)
class Row:
    """One row of the README's mode table, read for what it promises."""

    mode: str
    golden_used: bool
    cache_used: bool
    calls: str  # none, all or missing
    batch_api: bool
    replay_error_without_credentials: bool
    writes_golden: bool
    overwrites_golden: bool
    writes_cache: bool
    writes_log: bool


def _used(cell: str) -> bool:
    assert cell in ("used", "ignored"), f"a cell of the golden or cache column: {cell!r}"
    return cell == "used"


def readme_rows() -> list[Row]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index(HEADER) :].split("\n\n", 1)[0].splitlines()[2:]
    rows = []
    for line in table:
        mode, golden, cache, calls, writes = (c.strip() for c in line.strip("|").split(" | "))
        name = re.fullmatch(r"`(\w+)`( \(default\))?", mode)
        assert name is not None, mode
        (promise,) = [v for k, v in CALLS.items() if calls.startswith(k)]
        written = {
            item.strip().removesuffix(" only")
            for item in re.sub(r"\([^()]*(\([^()]*\)[^()]*)*\)", "", writes).split(",")
        }
        assert written <= {"golden", "cache", "run log"}, writes
        rows.append(
            Row(
                mode=name.group(1),
                golden_used=_used(golden),
                cache_used=_used(cache),
                calls=promise,
                batch_api="through the Batch API" in calls,
                replay_error_without_credentials=calls.endswith("else the replay error"),
                writes_golden="golden" in written,
                overwrites_golden="golden (overwritten)" in writes,
                writes_cache="cache" in written,
                writes_log="run log" in written,
            )
        )
    return rows


def docstring_rows() -> dict[str, dict[str, str]]:
    import arcanos_eval.modes

    lines = (arcanos_eval.modes.__doc__ or "").splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("====")]
    columns = [m.span() for m in re.finditer(r"=+", lines[rules[0]])]

    def cells(line: str) -> list[str]:
        # The last column runs to the end of the line.
        spans = [*columns[:-1], (columns[-1][0], len(line))]
        return [line[a:b].strip() for a, b in spans]

    header = cells(lines[rules[0] + 1])
    return {
        cells(line)[0]: dict(zip(header, cells(line), strict=True))
        for line in lines[rules[1] + 1 : rules[2]]
    }


def test_the_readme_table_has_one_row_per_mode() -> None:
    assert [row.mode for row in readme_rows()] == [m.value for m in Mode]


def test_the_docstring_table_is_what_each_mode_answers() -> None:
    table = docstring_rows()
    assert list(table) == [m.value for m in Mode]
    for mode in Mode:
        row = table[mode.value]
        yes = {column: value == "yes" for column, value in row.items()}
        assert yes["reads golden"] == mode.reads_golden, mode
        assert yes["writes golden"] == mode.writes_golden, mode
        assert yes["reads cache"] == mode.reads_cache, mode
        assert yes["writes cache"] == mode.writes_cache, mode
        assert (row["calls a model"] == "never") == (not mode.may_call), mode


@pytest.mark.parametrize("row", readme_rows(), ids=lambda row: row.mode)
def test_the_readme_row_is_what_each_mode_answers(row: Row) -> None:
    mode = Mode(row.mode)
    assert row.golden_used == mode.reads_golden
    assert row.cache_used == mode.reads_cache
    assert row.writes_golden == mode.writes_golden
    assert row.writes_cache == mode.writes_cache
    assert (row.calls == "none") == (not mode.may_call)
    assert row.replay_error_without_credentials == mode.needs_credentials_to_call


# ----------------------------------------------------------------------------- each row, run


CASES = {
    "a": {"id": "a", "input": "question a", "checks": [{"contains": "question"}]},
    "b": {"id": "b", "input": "question b", "checks": [{"contains": "question"}]},
    "c": {"id": "c", "input": "question c", "checks": [{"contains": "question"}]},
}


def _suite(project: Path, *names: str) -> None:
    write_suite(project / "suites", "demo", [CASES[n] for n in names])


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["run", "-q", *args])
    out, err = capsys.readouterr()
    return status, out, err


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _golden(project: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(case, target) -> its golden record."""
    return {
        (record["case"], target): record
        for target in TARGETS
        if (path := project / "golden" / "demo" / f"{target}.jsonl").is_file()
        for record in map(json.loads, path.read_text().splitlines())
    }


@pytest.fixture
def project(tmp_path, openai_server, monkeypatch, test_key):  # type: ignore[no-untyped-def]
    """Golden holds ``a``; the cache holds ``a`` and ``b``; ``c`` was never answered."""
    pyproject = loopback_pyproject(
        openai_server.base_url,
        settings="[tool.arcanos_eval.batch]\npoll_interval_s = 0.01\n",
    ).replace("cache = false\n", "")
    (tmp_path / "pyproject.toml").write_text(pyproject)
    monkeypatch.chdir(tmp_path)
    _suite(tmp_path, "a")
    assert main(["run", "-q", "--mode", "record"]) == 0
    _suite(tmp_path, "a", "b")
    assert main(["run", "-q", "--mode", "auto"]) == 0
    openai_server.reset()
    openai_server.responder = lambda chat: Reply(text=f"fresh: {chat.prompt}")
    _suite(tmp_path, "a", "b", "c")
    return tmp_path


@pytest.mark.parametrize("row", readme_rows(), ids=lambda row: row.mode)
def test_each_mode_does_what_its_readme_row_says(  # type: ignore[no-untyped-def]
    row, project, openai_server, capsys
):
    golden_before = _golden(project)
    assert {case for case, _ in golden_before} == {"a"}
    cache = project / ".arcanos" / "cache" / "responses.jsonl"
    cache_before = cache.read_text().splitlines()
    assert len(cache_before) == 4  # a and b, for both targets
    files_before = {p: _digest(p) for p in (project / "golden").glob("*/*")}
    capsys.readouterr()

    if row.calls == "none":
        # What neither golden (when used) nor anything else answers is listed, and nothing called.
        status, out, err = _run(capsys, "--mode", row.mode)
        assert status == 2 and openai_server.total_requests == 0
        listed = set(re.findall(r"demo::(\w)\[(\w+)\]", err))
        unanswered = {"b", "c"} | (set() if row.golden_used else {"a"})
        if row.cache_used:
            unanswered.discard("b")
        assert listed == {(case, t) for case in unanswered for t in TARGETS}, err
        _suite(project, "a")  # what golden holds: the run completes
        cases = ["a"]
        status, out, err = _run(capsys, "--mode", row.mode, "--log", "run.jsonl")
    else:
        cases = ["a", "b", "c"]
        status, out, err = _run(capsys, "--mode", row.mode, "--log", "run.jsonl")
    assert status == 0, err

    # Where each answer came from: golden, the cache, or a call made in this run.
    assert row.writes_log
    log = read_run_log(project / "run.jsonl")
    assert len(log.records()) == 2 * len(cases)
    source = {}
    for record in log.records():
        fresh = (record.response.text or "").startswith("fresh: ")
        origin = record.response.origin
        source[(record.case_id, record.target)] = "call" if fresh else origin
    expected = {
        "a": "replayed" if row.golden_used else "call",
        "b": "cached" if row.cache_used else "call",
        "c": "call",
    }
    assert source == {(case, t): expected[case] for case in cases for t in TARGETS}
    called = sum(s == "call" for s in source.values())
    if row.calls == "none":
        assert called == 0
    elif row.calls == "all":
        assert called == 2 * len(cases)
    else:  # only c, which neither golden nor the cache holds
        assert called == 2 and row.golden_used and row.cache_used
    completions = openai_server.path_counts.get("/v1/chat/completions", 0)
    if row.batch_api:
        assert completions == 0 and openai_server.batches_created == 2  # one batch per target
    else:
        assert completions == called

    # What golden got.
    golden_after = _golden(project)
    if not row.writes_golden:
        assert {p: _digest(p) for p in (project / "golden").glob("*/*")} == files_before
        assert "golden:" not in out
    else:
        assert set(golden_after) == {(case, t) for case in cases for t in TARGETS}
        for (case, target), record in golden_after.items():
            text = record["response"]["text"]
            if case == "a" and not row.overwrites_golden:
                assert record == golden_before[(case, target)], "kept as it was recorded"
            else:
                assert text.startswith("fresh: ") == (source[(case, target)] == "call")
                taken = record["provenance"].get("source")
                assert taken == ("cache" if source[(case, target)] == "cached" else None)
        from_cache = sum(s == "cached" for s in source.values())
        total = from_cache + called
        new = "new " if row.mode == "record" else ""
        line = (
            f"golden: wrote {total} {new}recordings ({from_cache} from the cache, "
            f"{called} from live calls) into golden/"
        )
        assert line in out.splitlines(), out

    # What the cache got: the answers of this run's calls, or nothing.
    cache_after = cache.read_text().splitlines()
    assert cache_after[: len(cache_before)] == cache_before
    added = [json.loads(line) for line in cache_after[len(cache_before) :]]
    if row.writes_cache:
        assert len(added) == called
        assert all(e["response"]["text"].startswith("fresh: ") for e in added)
        assert all(e["provenance"]["recorded_at"] for e in added)
    else:
        assert added == []


@pytest.mark.parametrize(
    "row", [r for r in readme_rows() if r.replay_error_without_credentials], ids=lambda r: r.mode
)
def test_without_a_key_or_base_url_the_mode_is_the_replay_error(  # type: ignore[no-untyped-def]
    row, project, openai_server, monkeypatch, capsys
):
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(re.sub(r'base_url = "[^"]*"\n', "", text))
    monkeypatch.delenv(KEY_ENV)
    status, _, err = _run(capsys, "--mode", row.mode)
    assert status == 2 and openai_server.total_requests == 0
    assert "set the target's API key variable" in err
    listed = set(re.findall(r"demo::(\w)\[", err))
    assert "c" in listed and "a" not in listed, "golden answers a; c is listed, not called"
