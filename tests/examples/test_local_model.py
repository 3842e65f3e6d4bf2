"""examples/local-model/local_model.py serves the fine-tune beside the base model.

Only what needs no server here: the command line it builds, the state it keeps, the refusals;
the live lane starts real servers.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


local_model = load(ROOT / "examples" / "local-model" / "local_model.py", "arcanos_local_model_ft")
train = load(ROOT / "examples" / "fine-tune" / "train.py", "arcanos_fine_tune_train_lm")


@pytest.fixture
def installation(tmp_path: Path):
    return local_model.Installation(tmp_path, tmp_path / "python", tmp_path / "model.gguf")


def test_the_served_fine_tune_answers_to_the_id_its_training_record_names() -> None:
    assert local_model.FINE_TUNED_ALIAS == train.FINE_TUNED_MODEL
    assert local_model.DEFAULT_ADAPTER == train.ADAPTER_FILE
    assert train.BASE_MODEL == local_model.MODEL_ALIAS


def test_server_command_applies_the_adapter_only_when_given(installation, tmp_path: Path) -> None:
    base = local_model.server_command(installation, 8765)
    assert "--lora_path" not in base
    assert base[base.index("--model_alias") + 1] == local_model.MODEL_ALIAS
    adapter = tmp_path / "lora.gguf"
    tuned = local_model.server_command(installation, 8766, adapter=adapter)
    assert tuned[tuned.index("--lora_path") + 1] == str(adapter)
    assert tuned[tuned.index("--model_alias") + 1] == local_model.FINE_TUNED_ALIAS
    # No prompt cache there: its plain prompt is short, and the cache grows without bound.
    cache = base.index("--cache") + 1
    assert (base[cache], tuned[tuned.index("--cache") + 1]) == ("true", "false")
    # The same base model file and flags otherwise.
    expected = [*base]
    expected[cache] = "false"
    expected[base.index("--model_alias") + 1] = local_model.FINE_TUNED_ALIAS
    expected[base.index("--port") + 1] = "8766"
    assert [a for a in tuned if a not in ("--lora_path", str(adapter))] == expected


def test_a_missing_adapter_is_refused_before_anything_starts(installation, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with pytest.raises(local_model.LocalModelError, match=r"no LoRA adapter at .*train\.py"):
        local_model.start_server(
            installation, port=0, state_dir=state, adapter=tmp_path / "missing.gguf"
        )
    assert not state.exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["start"], ("", 8765, None)),
        (["start", "--port", "0"], ("", 0, None)),
        (["start", "--fine-tune"], ("fine-tune", 8766, "default")),
        (["serve", "--fine-tune", "--port", "9000"], ("fine-tune", 9000, "default")),
        (["start", "--fine-tune", "--adapter", "x.gguf"], ("fine-tune", 8766, "x.gguf")),
        (["status", "--fine-tune"], ("fine-tune", 8766, "default")),
    ],
)
def test_fine_tune_selects_its_own_state_folder_port_and_adapter(
    argv: list[str], expected: tuple[str, int, str | None], tmp_path: Path
) -> None:
    args = local_model.build_parser().parse_args(["--state-dir", str(tmp_path), *argv])
    state_dir, port, adapter = local_model._selected(args)
    sub, want_port, want_adapter = expected
    assert state_dir == (tmp_path / sub if sub else tmp_path)
    assert port == want_port
    if want_adapter == "default":
        assert adapter == local_model.DEFAULT_ADAPTER
    else:
        assert adapter == (None if want_adapter is None else Path(want_adapter))


def test_stop_with_nothing_running_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert local_model.main(["--state-dir", str(tmp_path), "stop"]) == 0
    assert capsys.readouterr().out == "no server running\n"


def test_state_files_written_before_adapters_existed_still_read() -> None:
    server = local_model.Server(
        pid=1, host="127.0.0.1", port=8765, model="m", model_path="p", log="l", started_at="t"
    )
    assert server.adapter is None
