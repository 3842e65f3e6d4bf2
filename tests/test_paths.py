"""Paths written in suites and in [tool.arcanos_eval] stay inside the project root (the folder of the
pyproject.toml) unless `allowed_roots` names another folder; paths typed on the command line are
the user's own choice. Every refusal is one line naming the file, line, field and the setting."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from arcanos_eval._paths import ProjectRoots
from arcanos_eval.cli import main
from arcanos_eval.config import load_config
from arcanos_eval.errors import ConfigError, SuiteError
from arcanos_eval.suite.loader import load_suite, load_suites
from tests.conftest import KEY_ENV, simple_cases, write_suite

SECRET = "TOP-SECRET-0b1c"  # in every file outside the project: never quoted, never sent
SCHEMA = {"type": "object", "description": SECRET}

PYPROJECT = """
[tool.arcanos_eval]
suites = ["suites"]
golden = "golden"
cache = false
{extra}

[tool.arcanos_eval.targets.base]
model = "model-base"
system_prompt = "You are the base."
base_url = "{url}"
api_key_env = "{env}"
structured_outputs = true

[tool.arcanos_eval.targets.candidate]
model = "model-candidate"
system_prompt = "You are the candidate."
base_url = "{url}"
api_key_env = "{env}"
structured_outputs = true

[tool.arcanos_eval.gates]
pass_rate = {{ happy_path = 1.0 }}
min_cases = 1
waive = {{ schema = "test", data = "test", latency = "test" }}
"""


def make_project(tmp_path: Path, url: str = "http://127.0.0.1:9/v1", extra: str = "") -> Path:
    """``tmp_path/project`` (the root) beside ``tmp_path/outside``, which holds a valid schema,
    a prompt and a non-JSON file, each carrying SECRET."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (outside / "schema.json").write_text(json.dumps(SCHEMA))
    (outside / "prompt.md").write_text(f"You are {SECRET}.")
    (outside / "notes.json").write_text(f"{SECRET} is not JSON")
    (project / "pyproject.toml").write_text(PYPROJECT.format(url=url, env=KEY_ENV, extra=extra))
    return project


def suite_with_schema(project: Path, schema: object) -> Path:
    return write_suite(project / "suites", "bound", simple_cases(1), response_schema=schema)


def line_of(pyproject: Path, start: str) -> int:
    """The line number of the first line of ``pyproject`` starting with ``start``."""
    lines = pyproject.read_text().splitlines()
    return next(n for n, raw in enumerate(lines, start=1) if raw.startswith(start))


def climb_to_root(folder: Path) -> str:
    """A relative path from ``folder`` up to ``/``: ``../../../..``."""
    return "/".join([".."] * len(folder.resolve().parts))


# ----------------------------------------------------------------------------- suites


def test_a_response_schema_above_the_project_is_refused_unread(tmp_path):
    project = make_project(tmp_path)
    suites = project / "suites"
    for value in (f"{climb_to_root(suites)}/etc/passwd", "../../outside/schema.json"):
        path = suite_with_schema(project, value)
        with pytest.raises(SuiteError) as caught:
            load_suites([path], roots=ProjectRoots.of(project))
        message = str(caught.value)
        assert message.startswith(f"{path}:4, field 'response_schema': referenced file ")
        assert f"is outside the project root {project.resolve()}" in message
        assert "add its folder to [tool.arcanos_eval] allowed_roots to allow it" in message
        assert "root:" not in message and SECRET not in message and "\n" not in message


def test_an_absolute_response_schema_is_refused_and_never_reaches_the_server(
    tmp_path, openai_server, monkeypatch, test_key
):
    project = make_project(tmp_path, openai_server.base_url)
    monkeypatch.chdir(project)
    suite_with_schema(project, "/etc/shadow")
    with pytest.raises(
        SuiteError, match=r"'/etc/shadow' is outside the project root .*allowed_roots"
    ):
        load_suites([project / "suites"], roots=load_config().roots)
    # The same with a readable, valid schema: the run stops before any call.
    suite_with_schema(project, str(tmp_path / "outside" / "schema.json"))
    assert main(["run", "--mode", "live", "-q", "--log", "run.jsonl"]) == 2
    assert openai_server.total_requests == 0


def test_a_suite_loaded_without_roots_is_confined_to_its_project(tmp_path):
    """``load_suite(path)`` in a notebook: the project is found from the file, with its
    allowed_roots."""
    project = make_project(tmp_path)
    path = suite_with_schema(project, "../../outside/schema.json")
    with pytest.raises(SuiteError, match="outside the project root"):
        load_suite(path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "cache = false", 'cache = false\nallowed_roots = ["../outside"]'
        )
    )
    assert load_suite(path).response_schema == SCHEMA


def test_allowed_roots_admit_a_shared_folder(tmp_path):
    project = make_project(tmp_path, extra='allowed_roots = ["../outside"]')
    path = suite_with_schema(project, "../../outside/schema.json")
    config = load_config(project / "pyproject.toml")
    assert config.allowed_roots == ((tmp_path / "outside").resolve(),)
    assert load_suites([path], roots=config.roots)[0].response_schema == SCHEMA
    # An absolute entry works as well; a sibling folder it does not name stays outside.
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "schema.json").write_text(json.dumps(SCHEMA))
    roots = ProjectRoots.of(project, [str(tmp_path / "outside")])
    assert load_suites([path], roots=roots)[0].response_schema == SCHEMA
    other = suite_with_schema(project, "../../elsewhere/schema.json")
    with pytest.raises(SuiteError, match=r"and the allowed roots .*outside; add its folder"):
        load_suites([other], roots=roots)


def test_a_symlinked_schema_pointing_out_is_refused(tmp_path):
    project = make_project(tmp_path)
    (project / "suites").mkdir()
    (project / "suites" / "link.json").symlink_to(tmp_path / "outside" / "schema.json")
    path = suite_with_schema(project, "link.json")
    with pytest.raises(
        SuiteError, match=r"'link.json' \(resolves to .*outside/schema.json'\) is outside"
    ):
        load_suites([path], roots=ProjectRoots.of(project))


def test_a_suite_file_linked_out_of_a_suite_folder_is_refused_unread(tmp_path):
    project = make_project(tmp_path)
    write_suite(tmp_path / "outside", "stray", simple_cases(1))
    write_suite(project / "shared", "shared", simple_cases(1))
    (project / "suites").mkdir()
    (project / "suites" / "linked.yaml").symlink_to(tmp_path / "outside" / "stray.yaml")
    (project / "suites" / "passwd.yaml").symlink_to("/etc/passwd")
    for name in ("linked.yaml", "passwd.yaml"):
        for roots in (ProjectRoots.of(project), None):  # as configured, and found from the folder
            with pytest.raises(SuiteError) as caught:
                load_suites([project / "suites"], roots=roots)
            message = str(caught.value)
            assert "is outside the project root" in message and "allowed_roots" in message
            assert "root:x:0" not in message and "question number" not in message
            with pytest.raises(SuiteError, match="is outside the project root"):
                load_suites([project / "suites" / name])  # named, yet the project's own link
        (project / "suites" / name).unlink()
    # A link to another folder of the project is fine; so is a file named on the command line.
    (project / "suites" / "shared.yaml").symlink_to(project / "shared" / "shared.yaml")
    assert [s.id for s in load_suites([project / "suites"])] == ["shared"]
    outside_file = tmp_path / "outside" / "stray.yaml"
    assert [s.id for s in load_suites([outside_file], roots=ProjectRoots.of(project))] == ["stray"]


# ----------------------------------------------------------------------------- $ref


def test_a_remote_ref_is_never_fetched(tmp_path, openai_server):
    """The loopback server counts every request it reads: loading, validating and running a suite
    whose schema refers to it sends none."""
    project = make_project(tmp_path)
    url = f"{openai_server.url}/schemas/common.json"
    schema = {"type": "object", "properties": {"category": {"$ref": f"{url}#/$defs/label"}}}
    path = suite_with_schema(project, schema)
    with pytest.raises(SuiteError) as caught:
        load_suites([path], roots=ProjectRoots.of(project))
    assert str(caught.value) == (
        f"{path}:4, field 'response_schema': $ref '{url}#/$defs/label' at #/properties/category "
        "is not fetched: a response schema is used as written, without network access; copy the "
        "referenced definition under $defs"
    )
    assert openai_server.total_requests == 0
    # The server does count such a request: the zero above is not for want of counting.
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=10)
    assert openai_server.path_counts == {"/schemas/common.json": 1}


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("../../outside/schema.json", "points outside the project root"),
        ("file:///etc/passwd#/x", "points outside the project root"),
        ("other.json#/$defs/x", "refers to another file, which is never read"),
        ("#/$defs/missing", "points to nothing in the schema"),
    ],
)
def test_a_ref_nothing_inside_resolves_is_a_load_error(tmp_path, ref, problem):
    project = make_project(tmp_path)
    (project / "suites").mkdir()
    (project / "suites" / "other.json").write_text('{"$defs": {"x": {"type": "string"}}}')
    path = suite_with_schema(project, {"type": "array", "prefixItems": [{"$ref": ref}]})
    with pytest.raises(SuiteError) as caught:
        load_suites([path], roots=ProjectRoots.of(project))
    message = str(caught.value)
    assert message.startswith(
        f"{path}:4, field 'response_schema': $ref {ref!r} at #/prefixItems/0 "
    )
    assert problem in message and SECRET not in message and "root:" not in message


def test_refs_inside_the_schema_still_resolve(tmp_path):
    project = make_project(tmp_path)
    schema = {
        "$id": "https://arcanos.example/reply.json",
        "type": "object",
        "properties": {
            "a": {"$ref": "#/$defs/label"},
            "b": {"$ref": "#tag"},
            "c": {"$ref": "common.json#/$defs/x"},  # the embedded $id below, not a file
        },
        "$defs": {
            "label": {"type": "string", "$anchor": "tag"},
            "common": {"$id": "common.json", "$defs": {"x": {"type": "integer"}}},
        },
    }
    path = suite_with_schema(project, schema)
    assert load_suites([path], roots=ProjectRoots.of(project))[0].response_schema == schema


# ----------------------------------------------------------------------------- configuration


def set_keys(project: Path, **keys: object) -> Path:
    """Rewrite the first lines of [tool.arcanos_eval] of ``project`` with ``keys``."""
    pyproject = project / "pyproject.toml"
    head = '[tool.arcanos_eval]\nsuites = ["suites"]\ngolden = "golden"\ncache = false\n'
    settings = {"suites": ["suites"], "golden": "golden", "cache": False, **keys}
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
    pyproject.write_text(pyproject.read_text().replace(head, f"[tool.arcanos_eval]\n{lines}"))
    return pyproject


@pytest.mark.parametrize("key", ["suites", "golden", "cache", "log", "report"])
@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_a_configured_path_outside_the_project_is_refused(tmp_path, key, absolute):
    project = make_project(tmp_path)
    value = str(tmp_path / "outside" / "x") if absolute else "../outside/x"
    pyproject = set_keys(project, **{key: [value] if key == "suites" else value})
    line = line_of(pyproject, f"{key} =")
    with pytest.raises(ConfigError) as caught:
        load_config(pyproject)
    resolved = tmp_path.resolve() / "outside" / "x"
    assert str(caught.value) == (
        f"{pyproject}:{line}: [tool.arcanos_eval] field {key!r}: {value!r}"
        + ("" if absolute else f" (resolves to {str(resolved)!r})")
        + f" is outside the project root {project.resolve()}; add its folder to "
        "[tool.arcanos_eval] allowed_roots to allow it"
    )


@pytest.mark.parametrize("how", ["relative", "absolute", "symlink"])
def test_a_prompt_file_outside_the_project_is_refused_unread(tmp_path, how):
    project = make_project(tmp_path)
    outside = tmp_path / "outside" / "prompt.md"
    value = {"relative": "../outside/prompt.md", "absolute": str(outside)}.get(how, "prompts/p.md")
    if how == "symlink":
        (project / "prompts").mkdir()
        (project / "prompts" / "p.md").symlink_to(outside)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('"You are the base."', json.dumps(value))
    pyproject.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(pyproject)
    message = str(caught.value)
    assert message.startswith(
        f"{pyproject}:{line_of(pyproject, 'system_prompt')}: "
        "[tool.arcanos_eval.targets.base] field 'system_prompt': "
        f"prompt file {value!r}"
    )
    assert f"is outside the project root {project.resolve()}; add its folder to " in message
    assert "allowed_roots" in message and SECRET not in message
    if how != "absolute":
        assert f"(resolves to {str(outside.resolve())!r})" in message


def test_a_prompt_in_a_symlink_loop_is_a_config_error(tmp_path):
    project = make_project(tmp_path)
    (project / "a").symlink_to(project / "b")
    (project / "b").symlink_to(project / "a")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"You are the base."', '"a/p.md"'))
    with pytest.raises(ConfigError, match=r"field 'system_prompt': prompt file 'a/p.md' cannot be"):
        load_config(pyproject)


def test_allowed_roots_admit_configured_paths_and_prompts(tmp_path):
    project = make_project(tmp_path)
    pyproject = set_keys(project, golden="../outside/golden", allowed_roots=["../outside"])
    text = pyproject.read_text().replace('"You are the base."', '"../outside/prompt.md"')
    pyproject.write_text(text)
    config = load_config(pyproject)
    assert config.golden.resolve() == (tmp_path / "outside" / "golden").resolve()
    assert config.targets["base"].system_prompt == f"You are {SECRET}."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"../outside"', "expected a list of folder paths, found '../outside'"),
        ('[""]', "expected a folder path (relative to the project root, or absolute), found ''"),
    ],
)
def test_allowed_roots_is_checked_by_the_config_schema(tmp_path, value, expected):
    pyproject = make_project(tmp_path) / "pyproject.toml"
    text = pyproject.read_text().replace("cache = false", f"cache = false\nallowed_roots = {value}")
    pyproject.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(pyproject)
    line = line_of(pyproject, "allowed_roots")
    assert str(caught.value).startswith(f"{pyproject}:{line}: [tool.arcanos_eval] field 'allowed")
    assert str(caught.value).endswith(expected)


def test_paths_typed_on_the_command_line_are_the_users_choice(tmp_path):
    """``--log /tmp/x.jsonl``, ``--golden``, a suite argument: not confined."""
    project = make_project(tmp_path)
    outside = tmp_path / "outside"
    config = load_config(
        project / "pyproject.toml",
        suites=[str(outside)],
        golden=str(outside / "golden"),
        log=str(outside / "run.jsonl"),
        report=str(outside / "report.md"),
        cache=str(outside / "cache"),
    )
    assert config.suites == (outside,) and config.log == outside / "run.jsonl"
    assert config.golden == outside / "golden" and config.report == outside / "report.md"


def test_a_target_name_cannot_leave_the_golden_store(tmp_path):
    pyproject = make_project(tmp_path) / "pyproject.toml"
    text = pyproject.read_text() + '\n[tool.arcanos_eval.targets."../../x"]\nmodel = "m"\n'
    pyproject.write_text(text)
    line = line_of(pyproject, '[tool.arcanos_eval.targets."../../x"]')
    with pytest.raises(ConfigError) as caught:
        load_config(pyproject)
    assert str(caught.value).startswith(f"{pyproject}:{line}: [tool.arcanos_eval] field 'targets'")
    assert str(caught.value).endswith("it names its golden file, found '../../x'")
    from arcanos_eval.targets.replay import GoldenStore

    with pytest.raises(ConfigError, match="cannot name a golden file"):
        GoldenStore(tmp_path / "golden").path("suite", "../../x")


# ----------------------------------------------------------------------------- the golden folder


@pytest.fixture
def cli_project(tmp_path, openai_server, monkeypatch, test_key):
    project = make_project(tmp_path, openai_server.base_url)
    write_suite(project / "suites", "demo", simple_cases(2))
    monkeypatch.chdir(project)
    return project


@pytest.mark.parametrize("mode", ["replay", "record", "refresh", "live"])
def test_a_golden_file_is_one_config_error_in_every_mode(cli_project, openai_server, capsys, mode):
    (cli_project / "golden").write_text("not a folder\n")
    assert main(["run", "--mode", mode, "-q", "--log", "run.jsonl"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "arcanos-eval: error: golden store golden is a file, expected a folder: set "
        "[tool.arcanos_eval] golden (or --golden) to a folder\n"
    )
    assert openai_server.total_requests == 0


def test_golden_maintenance_and_a_folder_under_a_file_say_the_same(cli_project, capsys):
    (cli_project / "golden").write_text("not a folder\n")
    for argv in (["golden", "verify"], ["golden", "prune"], ["golden", "seal"]):
        assert main(argv) == 2
        assert "golden store golden is a file, expected a folder" in capsys.readouterr().err
    assert main(["run", "--mode", "replay", "-q", "--golden", "golden/inner"]) == 2
    assert "golden store golden/inner lies under golden, a file, expected a folder" in (
        capsys.readouterr().err
    )


def test_a_cache_file_is_a_config_error(cli_project, capsys):
    set_keys(cli_project, cache=".cache")
    (cli_project / ".cache").write_text("not a folder\n")
    assert main(["run", "--mode", "live", "-q", "--log", "run.jsonl"]) == 2
    assert capsys.readouterr().err == (
        "arcanos-eval: error: response cache .cache is a file, expected a folder: set "
        "[tool.arcanos_eval] cache (or --cache) to a folder\n"
    )


def test_a_fifo_named_like_a_suite_in_a_suite_folder_is_refused_not_skipped(tmp_path):
    project = make_project(tmp_path)
    (project / "suites").mkdir()
    os.mkfifo(project / "suites" / "pipe.yaml")
    with pytest.raises(SuiteError, match=r"pipe\.yaml.*FIFO"):
        load_suites([project / "suites"], roots=ProjectRoots.of(project))
