"""Hostile suite files and pyproject.toml: each is one ArcanosError line, at once, in little memory.

Every test here breaks one guard of ``arcanos_eval/_bounded.py`` or of the suite loader: remove the
guard and the test fails (a traceback, a silent acceptance, a hang or a memory blow-up). What could
hang or exhaust memory without its guard runs in a child process with a memory limit and a
generous timeout, so a broken guard fails one test instead of the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from arcanos_eval import _bounded
from arcanos_eval._bounded import DocumentError, load_json, read_text
from arcanos_eval._bounded_yaml import load_yaml
from arcanos_eval.cli import main
from arcanos_eval.config import MAX_PYPROJECT_BYTES, load_config
from arcanos_eval.errors import ArcanosError, ConfigError, SuiteError
from arcanos_eval.suite.loader import MAX_SUITE_BYTES, load_suite

HANG = 30  # seconds: only a hang (a blocked FIFO, reading /dev/zero) takes this long
CASE = "  - id: a\n    input: hi\n    checks: [refusal]\n"


def suite_error(path: Path) -> SuiteError:
    """The error ``load_suite(path)`` raises; it must be one line of readable size."""
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert len(message) < 1000 + len(str(path)) + 500
    assert message.startswith(str(path))
    return info.value


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# The child process: load each path, report its error line and the peak of traced memory. Its
# address space is capped, so a guard that is gone shows as a failed test, not a swapping machine.
ISOLATED = textwrap.dedent(
    """
    import json, resource, sys, tracemalloc
    cap = 1536 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from arcanos_eval.errors import ArcanosError
    from arcanos_eval.config import load_config
    from arcanos_eval.suite.loader import load_suite
    # Warm up: the first load imports the scorers and compiles the suite schema.
    with open("warm.yaml", "w") as warm:
        warm.write("id: warm\\ncases:\\n  - {id: a, input: hi, checks: [refusal]}\\n")
    load_suite("warm.yaml")
    results = []
    for path in sys.argv[1:]:
        load = load_config if path.endswith("pyproject.toml") else load_suite
        tracemalloc.start()
        try:
            load(path)
            error = None
        except ArcanosError as exc:
            error = str(exc)
        results.append({"error": error, "peak": tracemalloc.get_traced_memory()[1]})
        tracemalloc.stop()
    print(json.dumps(results))
    """
)


def isolated(*paths: Path, timeout: float = HANG) -> list[dict[str, Any]]:
    """Load each path (a suite, or a pyproject.toml) in a child process: its error and peak."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", ISOLATED, *map(str, paths)],
            cwd=paths[0].parent,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"loading {[p.name for p in paths]} hung for {timeout} s")
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


# --------------------------------------------------------------------------- files by type and size


posix = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The files that hang or exhaust memory when a guard is gone, loaded in one child process:
    their folder, and by name {"error": the error line, "peak": bytes of traced memory}."""
    folder = tmp_path_factory.mktemp("hostile")
    os.mkfifo(folder / "fifo.yaml")
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "null.json").symlink_to("/dev/null")
    (folder / "folder.yaml").mkdir()
    with (folder / "big.yaml").open("wb") as file:
        file.truncate(MAX_SUITE_BYTES + 1)  # sparse: no disk used
    write(folder, "bomb.yaml", alias_bomb())
    (folder / "config").mkdir()
    os.mkfifo(folder / "config" / "pyproject.toml")
    names = ["fifo.yaml", "zero.yaml", "null.json", "folder.yaml", "big.yaml", "bomb.yaml"]
    names.append("config/pyproject.toml")
    results = isolated(*(folder / name for name in names))
    return folder, dict(zip(names, results, strict=True))


@posix
def test_a_fifo_a_device_or_a_folder_is_refused_without_blocking(hostile):
    folder, hostile = hostile
    assert hostile["fifo.yaml"]["error"] == (
        f"{folder}/fifo.yaml: a named pipe (FIFO), not a regular file: refused without reading it"
    )
    assert hostile["zero.yaml"]["error"] == (
        f"{folder}/zero.yaml: a character device (through a symlink to /dev/zero), not a "
        "regular file: refused without reading it"
    )
    assert "a character device (through a symlink to /dev/null)" in hostile["null.json"]["error"]
    assert "a folder, not a regular file" in hostile["folder.yaml"]["error"]
    for name in ("fifo.yaml", "zero.yaml", "null.json", "folder.yaml"):
        assert hostile[name]["peak"] < 2**20


@posix
def test_a_file_that_is_not_regular_is_never_opened(tmp_path, monkeypatch):
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    opened = []

    def spy(path: Any, *args: Any, **kwargs: Any) -> int:
        opened.append(path)
        raise OSError(5, "the test refuses every open")

    monkeypatch.setattr(_bounded.os, "open", spy)
    for name in ("fifo.yaml", "zero.yaml"):
        with pytest.raises(DocumentError, match="not a regular file"):
            read_text(tmp_path / name, limit=100)
    assert opened == []


@posix
def test_a_fifo_swapped_in_after_the_check_is_refused_by_what_was_opened(tmp_path):
    # The path is checked, then opened: a FIFO put there in between must neither block the open
    # (O_NONBLOCK) nor be read (fstat of the opened file).
    os.mkfifo(tmp_path / "fifo.yaml")
    regular = tmp_path / "regular.yaml"
    regular.write_text("id: x\n")
    script = textwrap.dedent(
        f"""
        import os
        from arcanos_eval import _bounded
        real_stat = os.stat
        _bounded.os.stat = lambda path, *a, **k: real_stat({str(regular)!r})
        try:
            _bounded.read_text({str(tmp_path / "fifo.yaml")!r}, limit=1000)
        except _bounded.DocumentError as exc:
            print(exc.problem)
        """
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG
        )
    except subprocess.TimeoutExpired:
        pytest.fail("opening a FIFO swapped in after the check blocked")
    assert (
        done.stdout.strip() == "a named pipe (FIFO), not a regular file: refused without reading it"
    )


@posix
def test_a_file_over_the_size_limit_is_refused_with_its_size_before_reading(hostile):
    folder, hostile = hostile
    assert hostile["big.yaml"]["error"] == (
        f"{folder}/big.yaml: file too large: 10,485,761 bytes, over the limit of 10,485,760 bytes "
        "(10 MiB)"
    )
    assert hostile["big.yaml"]["peak"] < 2**20  # refused by its size, not read


def test_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"id: s\ncases:\n  - id: caf\xe9\n")
    error = suite_error(path)
    assert (error.line, error.problem) == (
        3,
        "not UTF-8 text (invalid continuation byte at byte 24)",
    )


# --------------------------------------------------------------------------- YAML aliases


def alias_bomb(levels: int = 9) -> str:
    """About 1 KB of YAML whose aliases expand to 9**levels strings (the billion laughs)."""
    lines = ['      a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"      a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "id: bomb\ncases:\n" + CASE + "    metadata:\n" + "\n".join(lines) + "\n"


@posix
def test_a_yaml_alias_bomb_is_one_error_at_once_in_little_memory(hostile):
    folder, hostile = hostile
    path = folder / "bomb.yaml"
    assert path.stat().st_size < 1200
    assert hostile["bomb.yaml"]["error"] == (
        f"{path}:12, case 'a', field 'metadata.a5[0]': aliases expand the document by more than "
        "100,000 values (an alias bomb?): write the values out, or refer to smaller anchors"
    )
    assert hostile["bomb.yaml"]["peak"] < 10 * 2**20


def test_a_recursive_alias_is_an_error_not_a_recursion(tmp_path):
    error = suite_error(write(tmp_path, "loop.yaml", "id: s\ncases:\n  - &c [*c]\n"))
    assert (error.line, error.problem) == (
        3,
        "alias *c is inside its own anchor (a recursive alias)",
    )


def test_aliases_and_merge_keys_within_bounds_read_as_pyyaml_reads_them(tmp_path):
    text = (
        "id: shared\n"
        "defaults: {latency_ms: 900, tags: [x]}\n"
        "cases:\n"
        "  - &first {id: a, input: hi, checks: &std [refusal, {contains: nope}], tags: [t]}\n"
        "  - {<<: *first, id: b, checks: *std}\n"
        "  - id: c\n"
        "    <<: {input: one, tags: [u]}\n"
        "    checks: *std\n"
    )
    assert load_yaml(text)[0] == yaml.load(text, Loader=yaml.SafeLoader)
    a, b, c = load_suite(write(tmp_path, "shared.yaml", text)).cases
    assert (b.input, [x.name for x in b.checks]) == ("hi", ["refusal", "contains"])
    assert (c.input, c.tags, c.latency_ms) == ("one", ("x", "u"), 900)
    assert (a.line, b.line, c.line) == (4, 5, 6)


def test_a_merge_of_several_mappings_lets_the_first_win_as_the_yaml_spec_says():
    # https://yaml.org/type/merge.html: "Keys in mapping nodes earlier in the sequence override
    # keys specified in later mapping nodes" (PyYAML 6.0.4 lets the later one win).
    text = "a: {<<: [{x: 1, y: 1}, {x: 2, z: 2}], y: 0}\n"
    assert load_yaml(text)[0] == {"a": {"x": 1, "y": 0, "z": 2}}


# --------------------------------------------------------------------------- nesting


def nested(depth: int, suffix: str) -> str:
    """A suite whose first case's ``metadata.x`` makes the whole document ``depth`` levels deep
    (the suite, its cases, the case and its metadata are the first 4)."""
    lists = "[" * (depth - 4) + "]" * (depth - 4)
    if suffix == ".jsonl":
        return f'{{"id": "s"}}\n{{"id": "a", "input": "hi", "checks": ["refusal"], "metadata": {{"x": {lists}}}}}\n'
    if suffix == ".json":
        return f'{{"id": "s", "cases": [\n{{"id": "a", "input": "hi", "checks": ["refusal"],\n"metadata": {{"x": {lists}}}}}]}}'
    return f"id: s\ncases:\n{CASE}    metadata: {{x: {lists}}}\n"


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".jsonl"])
def test_nesting_past_the_limit_is_an_error_naming_the_line(tmp_path, suffix):
    deep = write(tmp_path, f"deep{suffix}", nested(10_000, suffix))
    error = suite_error(deep)
    assert error.problem == "nesting deeper than 64 levels of lists and mappings"
    assert error.line == {".yaml": 6, ".json": 3, ".jsonl": 2}[suffix]
    assert "\n" not in str(error)


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".jsonl"])
def test_nesting_64_levels_loads_and_65_does_not(tmp_path, suffix):
    suite = load_suite(write(tmp_path, f"ok{suffix}", nested(64, suffix)))
    value = suite.cases[0].metadata["x"]
    for _ in range(64 - 5):  # root, cases, case, metadata, x's list
        value = value[0]
    assert value == []
    error = suite_error(write(tmp_path, f"deep{suffix}", nested(65, suffix)))
    assert error.problem.startswith("nesting deeper than 64 levels")


def test_an_alias_cannot_nest_a_document_deeper_than_the_limit(tmp_path):
    anchor = "[" * 60 + "]" * 60  # 61 levels where it is written, 72 where it is used
    text = f"id: s\nx: &deep {anchor}\ncases:\n{CASE}    metadata: {{a: [[[[[[[[*deep]]]]]]]]}}\n"
    with pytest.raises(SuiteError, match="nesting deeper than 64 levels"):
        load_suite(write(tmp_path, "alias.yaml", text))


def test_too_many_lists_and_mappings_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_bounded, "MAX_CONTAINERS", 100)
    many = ", ".join(["{}"] * 100)
    for name, text in {
        "many.yaml": f"id: s\ncases:\n{CASE}    metadata: {{x: [{many}]}}\n",
        "many.json": f'{{"id": "s", "cases": [{{"id": "a", "metadata": {{"x": [{many}]}}}}]}}',
        # JSONL: each line is within the limit, the file is not.
        "many.jsonl": '{"id": "s"}\n' + "".join(f'{{"id": "c{n}"}}\n' for n in range(100)),
    }.items():
        error = suite_error(write(tmp_path, name, text))
        assert error.problem == "more than 100 lists and mappings in one file: split it"


# --------------------------------------------------------------------------- numbers and text

BIG = "9" * 5000


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("big.yaml", f"id: s\ncases:\n{CASE}    latency_ms: {BIG}\n", 6),
        ("big.json", f'{{"id": "s",\n"cases": [{{"id": "a", "latency_ms": {BIG}}}]}}', 2),
        ("big.jsonl", f'{{"id": "s"}}\n{{"id": "a", "latency_ms": -{BIG}}}\n', 2),
    ],
)
def test_an_integer_over_4300_digits_is_an_error(tmp_path, name, text, line):
    error = suite_error(write(tmp_path, name, text))
    assert (error.line, error.problem) == (
        line,
        "expected a number of at most 4,300 digits, found one of 5,000 digits",
    )


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        ("nan.json", '{"id": "s", "cases": [\n{"id": "a", "latency_ms": NaN}]}', "NaN"),
        ("inf.json", '{"id": "s", "cases": [\n{"id": "a", "latency_ms": Infinity}]}', "Infinity"),
        (
            "ninf.json",
            '{"id": "s", "cases": [\n{"id": "a", "metadata": [-Infinity]}]}',
            "-Infinity",
        ),
        ("huge.json", '{"id": "s", "cases": [\n{"id": "a", "latency_ms": 1e999}]}', "1e999"),
        ("nan.jsonl", '{"id": "s"}\n{"id": "a", "latency_ms": NaN}\n', "NaN"),
        ("nan.yaml", f"id: s\ncases:\n{CASE}    latency_ms: .nan\n", ".nan"),
        ("inf.yaml", f"id: s\ncases:\n{CASE}    latency_ms: .inf\n", ".inf"),
        ("ninf.yaml", f"id: s\ncases:\n{CASE}    latency_ms: -.Inf\n", "-.Inf"),
        ("huge.yaml", f"id: s\ncases:\n{CASE}    latency_ms: 1.0e+999\n", "1.0e+999"),
    ],
)
def test_nan_and_infinity_are_errors(tmp_path, name, text, found):
    error = suite_error(write(tmp_path, name, text))
    assert (error.line, error.problem) == (
        2 if "json" in name else 6,
        f"expected a finite number, found {found}",
    )
    if name.endswith(".yaml"):  # YAML knows the path of every value
        assert (error.case_id, error.field) == ("a", "latency_ms")


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("lone.json", '{"id": "s", "cases": [\n{"id": "a", "input": "hi \\ud800"}]}', 2),
        ("lone.jsonl", '{"id": "s"}\n{"id": "a", "input": "\\udfff!"}\n', 2),
        ("lone.yaml", f'id: s\ncases:\n{CASE}    metadata: {{x: "\\ud800"}}\n', 6),
    ],
)
def test_a_lone_surrogate_is_an_error_at_load(tmp_path, name, text, line):
    error = suite_error(write(tmp_path, name, text))
    assert error.line == line and error.problem.startswith("invalid Unicode: lone surrogate \\u")


def test_an_escaped_surrogate_pair_is_the_character_it_encodes(tmp_path):
    text = '{"id": "s", "cases": [{"id": "a", "input": "\\ud83d\\ude00", "checks": ["refusal"]}]}'
    assert load_suite(write(tmp_path, "pair.json", text)).cases[0].input == "\U0001f600"


def test_a_bom_crlf_and_a_raw_line_separator_read_as_text_editors_write_them(tmp_path):
    case = {"id": "a", "input": "one\u2028two", "checks": ["refusal"]}  # U+2028: valid raw JSON
    jsonl = tmp_path / "s.jsonl"
    jsonl.write_text('{"id": "s"}\n' + json.dumps(case, ensure_ascii=False) + "\n", "utf-8")
    assert load_suite(jsonl).cases[0].input == "one\u2028two"
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "s", "cases": [case]}).encode())
    assert load_suite(bom).cases[0].id == "a"
    crlf = tmp_path / "crlf.yaml"
    crlf.write_bytes(
        f"id: s\ncases:\n{CASE}  - id: b\n    input: x\n    checks: [refusal]\n".encode().replace(
            b"\n", b"\r\n"
        )
    )
    assert [c.line for c in load_suite(crlf).cases] == [3, 6]


def test_validate_refuses_what_run_could_not_log(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text('[tool.arcanos_eval]\nsuites = ["suites"]\n')
    (tmp_path / "suites").mkdir()
    write(tmp_path / "suites", "s.json", '{"id": "s", "cases": [{"id": "a", "input": "\\ud800"}]}')
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 2
    # One line for the suite (the project also lacks gates and targets: a line each).
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "s.json" in line]
    assert line.startswith("arcanos-eval: error: ")
    assert "s.json:1: invalid Unicode: lone surrogate \\ud800" in line


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("dup.yaml", "id: s\ncases:\n  - id: a\n    input: hi\n    checks: []\n    input: x\n", 6),
        ("dup.json", '{"id": "s", "cases": [{"id": "a",\n"input": "hi",\n\n"input": "x"}]}', 4),
        ("dup.jsonl", '{"id": "s"}\n{"id": "a", "input": "hi", "input": "x"}\n', 2),
    ],
)
def test_a_duplicate_key_names_both_lines(tmp_path, name, text, where):
    error = suite_error(write(tmp_path, name, text))
    first = {"dup.yaml": 4, "dup.json": 2, "dup.jsonl": 2}[name]
    assert (error.line, error.problem) == (
        where,
        f"key 'input' defined on line {first} and again on line {where}",
    )


def test_control_characters_are_one_line_without_a_position(tmp_path):
    error = suite_error(write(tmp_path, "bell.yaml", f"id: s\ncases:\n{CASE}    tags: [a\x07]\n"))
    assert (error.line, error.problem) == (
        6,
        "invalid YAML: control characters are not allowed (found U+0007)",
    )


# --------------------------------------------------------------------------- long values

MEGA = "x" * 1_000_000


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("id.yaml", f"id: s\ncases:\n  - id: {MEGA}\n    input: hi\n"),
        ("id.json", json.dumps({"id": "s", "cases": [{"id": MEGA, "input": "hi"}]})),
        ("key.json", json.dumps({"id": "s", "cases": [{"id": "a", "input": "hi", MEGA: 1}]})),
        ("key.yaml", f"id: s\ncases:\n{CASE}    ? {MEGA}\n    : 1\n"),
    ],
)
def test_a_huge_id_or_key_is_cut_in_the_message(tmp_path, name, text):
    message = str(suite_error(write(tmp_path, name, text)))
    assert len(message) < 600 + len(str(tmp_path)) and "…' (1,000,000 characters)" in message
    assert "x" * 201 not in message


@pytest.mark.parametrize(
    "check",
    [
        {"regex": "a" * 10_001},
        {"regex": {"pattern": "a" * 10_001, "flags": "i"}},
        {"field": {"path": "answer", "matches": "a" * 10_001}},
    ],
)
def test_a_regex_pattern_has_a_length_limit(tmp_path, check):
    name = next(iter(check))
    path = write(tmp_path, "re.json", json.dumps({"id": "s", "cases": [
        {"id": "a", "input": "hi", "checks": [check]}]}))  # fmt: skip
    error = suite_error(path)
    assert error.case_id == "a" and error.field.startswith(f"checks[0].{name}")
    assert error.problem.startswith("expected text of at most 10,000 characters, found text")
    inner = check[name]
    if isinstance(inner, str):
        check[name] = inner[:10_000]
    else:
        inner["matches" if name == "field" else "pattern"] = "a" * 10_000
    path.write_text(
        json.dumps({"id": "s", "cases": [{"id": "a", "input": "hi", "checks": [check]}]})
    )
    assert load_suite(path).cases[0].checks[0].name == name


@pytest.mark.parametrize(("field", "value"), [("category", "c" * 101), ("tags", ["t" * 201])])
def test_a_category_and_a_tag_have_a_length_limit(tmp_path, field, value):
    path = write(tmp_path, "s.json", json.dumps({"id": "s", "cases": [
        {"id": "a", "input": "hi", "checks": ["refusal"], field: value}]}))  # fmt: skip
    assert "characters" in suite_error(path).problem


@settings(max_examples=200, deadline=None)
@given(
    problem=st.text(max_size=2000),
    case_id=st.none() | st.text(max_size=500),
    field=st.none() | st.text(max_size=500),
)
def test_a_suite_error_is_one_line_of_bounded_length(problem, case_id, field):
    message = str(SuiteError(problem, path="s.yaml", line=3, case_id=case_id, field=field))
    assert len(message.splitlines()) <= 1
    assert len(message) <= 1000 + 2 * (200 + 30) + 60


# --------------------------------------------------------------------------- pyproject.toml


@posix
def test_a_pyproject_that_is_a_fifo_is_refused_without_blocking(hostile):
    folder, hostile = hostile
    assert hostile["config/pyproject.toml"]["error"] == (
        f"{folder}/config/pyproject.toml: a named pipe (FIFO), not a regular file: refused "
        "without reading it"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[tool.arcanos_eval.gates]\n\nlatency_p95_ms = nan\n", ":3: [tool.arcanos_eval.gates] "
         "field 'latency_p95_ms': expected a finite number, found nan"),
        ("[tool.arcanos_eval]\ntimeout_s = -inf\n", ":2: [tool.arcanos_eval] field 'timeout_s': "
         "expected a finite number, found -inf"),
        (f"[tool.arcanos_eval]\nconcurrency = {BIG}\n", ": invalid TOML: an integer of more "
         "than 4,300 digits"),
        ("x = " + "[" * 5000 + "]" * 5000, ": invalid TOML: arrays or tables nested too deep"),
    ],
)  # fmt: skip
def test_a_hostile_pyproject_is_one_config_error(tmp_path, text, problem):
    path = write(tmp_path, "pyproject.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}{problem}"


@pytest.mark.parametrize(
    "text",
    [
        f"[tool.arcanos_eval]\n{'k' * 100_000} = 1\n",
        f'[tool.arcanos_eval]\nmode = "{MEGA[:100_000]}"\n',
    ],
)
def test_a_huge_key_or_value_in_pyproject_is_cut_in_the_message(tmp_path, text):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "pyproject.toml", text))
    message = str(info.value)
    assert len(message) < 600 + len(str(tmp_path)) and "…' (100,000 characters)" in message


def test_a_pyproject_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "pyproject.toml"
    with path.open("wb") as file:
        file.truncate(MAX_PYPROJECT_BYTES + 1)
    with pytest.raises(ConfigError, match=r"file too large: 1,048,577 bytes"):
        load_config(path)


# --------------------------------------------------------------------------- properties

# JSON-like values; `shared` sub-values appear more than once, so safe_dump writes anchors and
# aliases for them.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)


@st.composite
def documents_with_aliases(draw: st.DrawFn) -> Any:
    shared = draw(st.lists(values, max_size=3))
    items = draw(st.lists(values | st.sampled_from(shared or [None]), max_size=6))
    return {"items": items, "again": shared}


def reference_lines(text: str) -> dict[tuple[Any, ...], int]:
    """The line of each mapping key and list item, from PyYAML's node graph.

    An alias is the anchor's own node there, with the anchor's line: the line of a list item that
    is an alias is left out (``load_yaml`` gives the alias's line, the better one).
    """
    out: dict[tuple[Any, ...], int] = {}
    seen: set[int] = set()

    def visit(node: yaml.Node, path: tuple[Any, ...]) -> None:  # in document order
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                out[(*path, key_node.value)] = key_node.start_mark.line + 1
                visit(value_node, (*path, key_node.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                if id(item) not in seen:
                    out[(*path, index)] = item.start_mark.line + 1
                visit(item, (*path, index))

    visit(yaml.compose(text), ())
    return out


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents_with_aliases(), flow=st.booleans())
def test_yaml_reads_as_pyyaml_does_with_the_same_lines(document, flow):
    text = yaml.safe_dump(document, default_flow_style=flow, sort_keys=False)
    data, lines = load_yaml(text)
    assert data == yaml.safe_load(text)
    for path, line in reference_lines(text).items():
        assert lines.line(path) == line, path


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@settings(max_examples=150, deadline=None)
@given(document=values, indent=st.none() | st.integers(0, 2))
def test_json_reads_as_the_json_module_does(document, indent):
    assume(depth(document) <= 64)
    text = json.dumps(document, indent=indent)
    assert load_json(text) == json.loads(text)


BUNDLED = sorted((Path(__file__).parents[2] / "suites").glob("*.yaml"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(BUNDLED),
    cuts=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.integers(0, 40),
            st.sampled_from(["", "\x07", "\ud800", "&a ", "*a", "[" * 70, "- ", ": x\n", "9" * 4400, ".nan", "\\ud800", "<<: *a\n", "\n  "]),
        ),
        min_size=1,
        max_size=4,
    ),
)  # fmt: skip
def test_mutated_bundled_suites_give_one_error_line_or_load(tmp_path_factory, source, cuts):
    text = source.read_text(encoding="utf-8")
    for where, length, insert in cuts:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + length :]
    folder = tmp_path_factory.mktemp("mutated")
    shutil.copytree(source.parent / "schemas", folder / "schemas")
    path = folder / source.name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_suite(path)
    except ArcanosError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and len(message.splitlines()) == 1


# --------------------------------------------------------------------------- 10 MB files


def ten_mb_suites(folder: Path) -> list[Path]:
    """Realistic suites just under the size limit, in each format, and hostile ones as large."""
    budget = MAX_SUITE_BYTES - 200_000
    words = "lorem ipsum dolor sit amet " * 8
    yaml_cases, json_cases = [], []
    size, index = 0, 0
    while size < budget:
        case = {
            "id": f"case-{index}",
            "input": f"Which puzzle type is question {index}? {words}",
            "checks": [{"json": {"category": "riddle", "route_to": "solver"}}, {"contains": "rid"}],
            "tags": ["riddle", "big"],
            "latency_ms": 4000,
            "metadata": {"source": "ticket", "n": index},
        }
        json_cases.append(json.dumps(case))
        yaml_cases.append(
            f"  - id: case-{index}\n    input: {case['input']}\n    checks:\n"
            "      - json: {category: riddle, route_to: solver}\n      - contains: rid\n"
            f"    tags: [riddle, big]\n    latency_ms: 4000\n"
            f"    metadata: {{source: ticket, n: {index}}}\n"
        )
        size += len(json_cases[-1]) + 30
        index += 1
    files = {
        "real.yaml": "id: real\nversion: 1\ncases:\n" + "".join(yaml_cases),
        "real.json": '{"id": "real", "cases": [\n' + ",\n".join(json_cases) + "\n]}\n",
        "real.jsonl": '{"id": "real"}\n' + "\n".join(json_cases) + "\n",
        "empties.json": '{"id": "s", "cases": [' + ",".join(["{}"] * (budget // 3)) + "]}",
        "empties.yaml": "id: s\ncases:\n" + "- {}\n" * (budget // 5),
        "empties.jsonl": '{"id": "s"}\n' + "{}\n" * (budget // 3),
        "id.json": json.dumps({"id": "s", "cases": [{"id": "x" * budget, "input": "hi"}]}),
        "key.yaml": f"id: s\ncases:\n{CASE}    ? {'k' * budget}\n    : 1\n",
        "regex.yaml": f"id: s\ncases:\n  - id: a\n    input: hi\n    checks: [regex: '{'(a+)+' * (budget // 5)}']\n",
    }
    for name, text in files.items():
        assert len(text.encode()) <= MAX_SUITE_BYTES, name
        write(folder, name, text)
    return [folder / name for name in files]


@pytest.mark.slow
def test_a_10_mb_suite_loads_or_fails_within_200_mb(tmp_path):
    paths = ten_mb_suites(tmp_path)
    results = dict(zip((p.name for p in paths), isolated(*paths, timeout=300), strict=True))
    for name in ("real.yaml", "real.json", "real.jsonl"):
        assert results[name]["error"] is None, results[name]["error"]
    for name in ("empties.json", "empties.yaml", "empties.jsonl"):
        assert "more than 500,000 lists and mappings in one file" in results[name]["error"]
    assert "expected text of at most 200 characters" in results["id.json"]["error"]
    assert "unknown field 'kkk" in results["key.yaml"]["error"]
    assert "expected text of at most 10,000 characters" in results["regex.yaml"]["error"]
    for name, result in results.items():
        assert result["error"] is None or len(result["error"]) < 1000, name
        assert result["peak"] < 200 * 2**20, (name, result["peak"] / 2**20)
