"""A bug exits 70 (never 1, HOLD's status) with one line naming a crash file that holds its
traceback, secrets masked; ``-v`` prints the traceback too.

The bug is forced through a public extension point: a suite's ``python:`` check names a module of
the project that raises while it is imported, which nothing in arcanos-eval expects.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from arcanos_eval._crash import MASK, crash_report, mask_secrets
from arcanos_eval.errors import ExitCode
from tests.conftest import KEY_ENV, TEST_KEY, write_suite

REPO = Path(__file__).resolve().parents[1]
KEY_SHAPED = "sk-proj-Zq0123456789abcdefghij"  # in no environment variable: masked by its shape
LINE = re.compile(
    r"arcanos-eval: internal error: RuntimeError: (?P<message>.*); "
    r"please report it with the file (?P<path>\S+)\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose suite's check imports ``crashing_check``, which raises on import and
    quotes the API key (from the environment) and a key-shaped text in its message."""
    (tmp_path / "pyproject.toml").write_text("[tool.arcanos_eval]\nsuites = ['suites']\n")
    (tmp_path / "crashing_check.py").write_text(
        textwrap.dedent(f"""
            import os

            secret = os.environ[{KEY_ENV!r}]
            raise RuntimeError("plugin broke with " + secret + " and {KEY_SHAPED} " + "x" * 5000)
        """)
    )
    cases = [{"id": "c", "input": "hi", "checks": [{"python": "crashing_check:check"}]}]
    write_suite(tmp_path / "suites", "s", cases)
    return tmp_path


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(project)]),
        KEY_ENV: TEST_KEY,
    }
    return subprocess.run(
        [sys.executable, "-m", "arcanos_eval.cli", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_a_bug_exits_70_with_one_line_naming_its_crash_file(project):
    done = _cli(project, "validate")
    assert done.returncode == ExitCode.INTERNAL == 70
    match = LINE.fullmatch(done.stderr)
    assert match is not None, done.stderr  # one line, and only that line
    # The message is cut to one short line, and says how long it was.
    assert match["message"].startswith(f"plugin broke with {MASK} and {MASK} xxx")
    assert match["message"].endswith(" characters)") and len(match["message"]) < 400
    crash = Path(match["path"])
    assert crash.parent == project / ".arcanos" / "crash"
    text = crash.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert 'crashing_check.py", line 5, in <module>' in text
    assert "command: arcanos-eval validate" in text
    for where in (text, done.stderr, done.stdout):
        assert TEST_KEY not in where and KEY_SHAPED not in where


def test_verbose_prints_the_traceback_before_the_line(project):
    done = _cli(project, "-v", "validate")
    assert done.returncode == 70
    assert done.stderr.startswith("Traceback (most recent call last)")
    *trace, last = done.stderr.splitlines(keepends=True)
    assert LINE.fullmatch(last) is not None
    assert any('crashing_check.py", line 5' in line for line in trace)
    assert TEST_KEY not in done.stderr and KEY_SHAPED not in done.stderr


def test_user_errors_keep_their_status(project):
    # Only what nobody raised on purpose is internal: a suite error is still one line, exit 2.
    (project / "suites" / "s.yaml").write_text("id: s\ncases: 3\n")
    done = _cli(project, "validate")
    assert done.returncode == 2 and done.stderr.startswith("arcanos-eval: error: ")


def test_without_a_writable_project_the_crash_file_goes_to_the_temporary_folder(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    blocked = tmp_path / "file"
    blocked.write_text("a file where the project's .arcanos/ would go")
    try:
        raise ValueError("broken")
    except ValueError as exc:
        line = crash_report(exc, argv=["run"], root=blocked)
    path = Path(line.rsplit(" ", 1)[1])
    assert (
        line
        == f"arcanos-eval: internal error: ValueError: broken; please report it with the file {path}"
    )
    assert path.parent == tmp_path / "tmp" / "arcanos-eval-crash"
    assert "ValueError: broken" in path.read_text(encoding="utf-8")


def test_environment_values_are_masked_but_paths_and_short_values_are_not():
    environ = {"TOKEN": "tok-1234567890", "HOME": "/home/me", "PATH": "/usr/bin:/bin", "N": "1"}
    text = (
        'File "/home/me/x.py", line 1: tok-1234567890 on /usr/bin:/bin, 1 Bearer abcdefghijklmnop'
    )
    assert mask_secrets(text, environ) == (
        f'File "/home/me/x.py", line 1: {MASK} on /usr/bin:/bin, 1 Bearer {MASK}'
    )


def test_a_reader_that_goes_away_ends_the_output_quietly(project):
    write_suite(project / "suites", "s", [{"id": "c", "input": "hi", "checks": ["refusal"]}])
    # Targets and a gate: validate then lists the suites on stdout.
    (project / "pyproject.toml").write_text(
        "[tool.arcanos_eval]\nsuites = ['suites']\n\n[tool.arcanos_eval.targets.base]\n"
        "model = 'm'\n\n[tool.arcanos_eval.targets.candidate]\nmodel = 'n'\n\n"
        "[tool.arcanos_eval.gates]\npass_rate = { all = 1.0 }\n"
    )
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout now fails with EPIPE, as after `| head`
    try:
        done = subprocess.run(
            [sys.executable, "-m", "arcanos_eval.cli", "validate"],
            cwd=project,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    finally:
        os.close(write_end)
    assert done.returncode == ExitCode.BROKEN_PIPE
    assert done.stderr == ""  # no traceback, no "Exception ignored" at exit
