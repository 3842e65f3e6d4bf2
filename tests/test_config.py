"""Configuration: pyproject parsing, overrides, and one-line errors naming file, table and field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from arcanos_eval.config import MODES, RunConfig, config_schema, load_config
from arcanos_eval.errors import ConfigError

GOOD = """
[tool.arcanos_eval]
suites = ["suites", "more"]
golden = "recordings"
mode = "replay"
concurrency = 8
rollback = "previous"

[tool.arcanos_eval.targets.base]
model = "gpt-4.1-2025-04-14"
system_prompt = "prompts/base.md"
params = { temperature = 0, max_tokens = 400, seed = 7 }
prices = { input_per_mtok = 2.0, output_per_mtok = 8.0 }

[tool.arcanos_eval.targets.candidate]
model = "ft:gpt-4.1-2025-04-14:personal:arca"
system_prompt = "Answer briefly."
base_url = "http://127.0.0.1:8080/v1"
api = "responses"
stream = true
structured_outputs = "json_object"
transport = "httpx"
api_key_env = "ARCA_KEY"
rpm = 600

[tool.arcanos_eval.targets.previous]
model = "ft:gpt-4.1-2025-04-14:personal:arca-v1"

[tool.arcanos_eval.gates]
pass_rate = { happy_path = 0.95 }
"""


def _project(tmp_path: Path, text: str, prompt: bool = True) -> Path:
    (tmp_path / "pyproject.toml").write_text(text)
    if prompt:
        (tmp_path / "prompts").mkdir(exist_ok=True)
        (tmp_path / "prompts" / "base.md").write_text("You are the Arcanos assistant.")
    return tmp_path / "pyproject.toml"


def test_a_full_configuration_is_resolved_once(tmp_path):
    config = load_config(_project(tmp_path, GOOD))
    assert config.suites == (tmp_path / "suites", tmp_path / "more")
    assert config.golden == tmp_path / "recordings" and config.mode == "replay"
    assert config.concurrency == 8 and config.rollback == "previous"
    base, candidate = config.targets["base"], config.targets["candidate"]
    assert base.system_prompt == "You are the Arcanos assistant."
    assert base.system_prompt_source == "prompts/base.md"
    assert base.params == {"temperature": 0, "max_tokens": 400, "seed": 7}
    assert base.prices == {"input_per_mtok": 2.0, "output_per_mtok": 8.0}
    assert (
        candidate.system_prompt == "Answer briefly." and candidate.system_prompt_source == "inline"
    )
    assert (candidate.api, candidate.stream, candidate.structured_outputs) == (
        "responses",
        True,
        "json_object",
    )
    assert (base.transport, candidate.transport) == ("aiohttp", "httpx")
    assert candidate.rpm == 600 and config.gates == {"pass_rate": {"happy_path": 0.95}}
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.mode = "live"  # type: ignore[misc]


def test_overrides_apply_and_are_checked(tmp_path):
    path = _project(tmp_path, GOOD)
    config = load_config(
        path, mode="live", targets="base,candidate", concurrency=3, suites=["x.yaml"], repeats=None
    )
    assert config.mode == "live" and config.concurrency == 3 and config.suites == (Path("x.yaml"),)
    assert [t.name for t in config.active_targets] == ["base", "candidate"]
    with pytest.raises(
        ConfigError,
        match=r"--targets: unknown target 'candidat' \(did you mean "
        r"'candidate'\?\)",
    ):
        load_config(path, targets="candidat")
    with pytest.raises(ConfigError, match="--mode: expected a mode among"):
        load_config(path, mode="fast")
    with pytest.raises(ConfigError, match="--concurrency: expected a positive integer, found 0"):
        load_config(path, concurrency=0)


def test_the_key_is_read_from_the_environment_at_call_time(tmp_path, monkeypatch):
    config = load_config(_project(tmp_path, GOOD))
    candidate = config.targets["candidate"]
    monkeypatch.delenv("ARCA_KEY", raising=False)
    assert candidate.api_key() is None
    monkeypatch.setenv("ARCA_KEY", "sk-live-value")
    assert candidate.api_key() == "sk-live-value"
    assert "sk-live-value" not in repr(config)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('mode = "replay"', 'mode = "fast"'),
            "[tool.arcanos_eval] field 'mode': expected a mode among replay, record, refresh, live, auto,"
            " batch, found 'fast'",
        ),
        (
            ("concurrency = 8", "concurrency = -1"),
            "[tool.arcanos_eval] field 'concurrency': expected a positive integer, found -1",
        ),
        (
            ("concurrency = 8", "concurrency = true"),
            "[tool.arcanos_eval] field 'concurrency': expected a positive integer, found True",
        ),
        (
            ('golden = "recordings"', 'goldn = "recordings"'),
            "[tool.arcanos_eval] field 'goldn': unknown field 'goldn' (did you mean 'golden'?)",
        ),
        (
            ('model = "gpt-4.1-2025-04-14"', 'modle = "gpt-4.1-2025-04-14"'),
            "[tool.arcanos_eval.targets.base] field 'modle': unknown field 'modle' (did you mean "
            "'model'?)",
        ),
        (
            ('api = "responses"', 'api = "completions"'),
            "[tool.arcanos_eval.targets.candidate] field 'api': expected 'chat' or 'responses', found "
            "'completions'",
        ),
        (
            ('transport = "httpx"', 'transport = "requests"'),
            "[tool.arcanos_eval.targets.candidate] field 'transport': expected 'aiohttp' or 'httpx', "
            "found 'requests'",
        ),
        (
            ('api_key_env = "ARCA_KEY"', 'api_key_env = "sk-abc123"'),
            "[tool.arcanos_eval.targets.candidate] field 'api_key_env': expected the NAME of an "
            "environment variable holding the key, found what looks like a key itself",
        ),
        (
            ('structured_outputs = "json_object"', 'structured_outputs = "yes"'),
            "[tool.arcanos_eval.targets.candidate] field 'structured_outputs': expected true, false, "
            "'json_schema' or 'json_object', found 'yes'",
        ),
        (
            ('rollback = "previous"', 'rollback = "prev"'),
            "[tool.arcanos_eval] field 'rollback': unknown target 'prev' (did you mean 'previous'?)",
        ),
        (
            ("input_per_mtok = 2.0", 'input_per_mtok = "2"'),
            "[tool.arcanos_eval.targets.base.prices] field 'input_per_mtok': expected a number (USD per "
            "million tokens), found '2'",
        ),
        (
            ('system_prompt = "prompts/base.md"', 'system_prompt = "prompts/missing.md"'),
            "[tool.arcanos_eval.targets.base] field 'system_prompt': prompt file '{root}/prompts/"
            "missing.md' not found",
        ),
    ],
)
def test_bad_configuration_names_file_table_and_field(tmp_path, edit, message):
    old, new = edit
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    line = text[: text.index(new)].count("\n") + 1  # the message points at the edited line
    path = _project(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:{line}: " + message.replace("{root}", str(tmp_path))


def test_invalid_toml_is_reported(tmp_path):
    path = _project(tmp_path, "[tool.arcanos_eval\nmode = 1")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(path)


def test_without_a_pyproject_defaults_apply(tmp_path):
    config = load_config(start=tmp_path)
    assert isinstance(config, RunConfig) and config.targets == {} and config.mode == "auto"


def test_the_nearest_pyproject_with_a_section_is_found(tmp_path):
    _project(tmp_path, GOOD)
    nested = tmp_path / "sub" / "dir"
    nested.mkdir(parents=True)
    (tmp_path / "sub" / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    assert load_config(start=nested).source == tmp_path / "pyproject.toml"


LINES = '''[project]
name = "x"

[tool.arcanos_eval]
mode = "replay"
targets.base.model = "gpt-4.1"
targets.base.system_prompt = """
model = "not a key: this is the prompt"
[tool.arcanos_eval.batch]
"""
concurrency = 8

[tool.arcanos_eval.targets.candidate]
model = "ft:gpt-4.1"
prices = { input_per_mtok = 2.0, "output_per_mtok" = 8.0 }

[tool.arcanos_eval.gates]
pass_rate = { happy_path = 0.95, adversarial = 1.0 }

[tool.arcanos_eval.gates.suites.puzzle]
latency_p95_ms = 2500
'''


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        (
            ('targets.base.model = "gpt-4.1"', "targets.base.model = 4"),
            6,
            "[tool.arcanos_eval.targets.base] field 'model': expected the model id to call "
            "(non-empty text), found 4",
        ),
        (
            ('model = "ft:gpt-4.1"', 'model = "ft:gpt-4.1"\ntransport = "requests"'),
            15,
            "[tool.arcanos_eval.targets.candidate] field 'transport': expected 'aiohttp' or "
            "'httpx', found 'requests'",
        ),
        (
            ('"output_per_mtok" = 8.0', '"output_per_mtk" = 8.0'),
            15,
            "[tool.arcanos_eval.targets.candidate.prices] field 'output_per_mtk': unknown field "
            "'output_per_mtk' (did you mean 'output_per_mtok' or 'input_per_mtok' or "
            "'cached_input_per_mtok'?)",
        ),
        (
            ("adversarial = 1.0", "adversarial = 1.5"),
            18,
            "[tool.arcanos_eval.gates] field 'pass_rate.adversarial': expected a number >= 0 and "
            "<= 1 (a pass rate between 0 and 1), found 1.5",
        ),
        (
            ("latency_p95_ms = 2500", "latency_p95_ms = 0"),
            21,
            "[tool.arcanos_eval.gates.suites.puzzle] field 'latency_p95_ms': expected a number > 0 "
            "(milliseconds), found 0",
        ),
        (
            ("latency_p95_ms = 2500", "data = true"),
            21,
            "[tool.arcanos_eval.gates.suites.puzzle] field 'data': applies to the whole run, set "
            "it in [tool.arcanos_eval.gates]",
        ),
        (
            ('model = "ft:gpt-4.1"\n', ""),
            13,
            "[tool.arcanos_eval.targets.candidate] field 'model': missing required field 'model'",
        ),
        (
            ('mode = "replay"', "repeats = 2.0"),
            5,
            "[tool.arcanos_eval] field 'repeats': expected a positive integer, found 2.0",
        ),
        (
            ("concurrency = 8", "concurrency = 0"),
            11,
            "[tool.arcanos_eval] field 'concurrency': expected a positive integer, found 0",
        ),
    ],
)
def test_errors_point_at_the_line_of_the_key(tmp_path, edit, line, message):
    old, new = edit
    assert old in LINES
    path = _project(tmp_path, LINES.replace(old, new, 1), prompt=False)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:{line}: {message}"


def test_the_line_example_is_valid_and_keeps_its_prompt(tmp_path):
    config = load_config(_project(tmp_path, LINES, prompt=False))
    assert config.targets["base"].system_prompt == (
        'model = "not a key: this is the prompt"\n[tool.arcanos_eval.batch]\n'
    )
    assert config.gates["suites"] == {"puzzle": {"latency_p95_ms": 2500}}


def test_the_schema_lists_every_mode():
    assert tuple(config_schema()["properties"]["mode"]["enum"]) == MODES
