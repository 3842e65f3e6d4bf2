"""examples/fine-tune/: the training set, the pure parts of train.py, and the committed run.

Nothing here trains or imports torch: train.py keeps chat rendering, batching, the adapter layout
and the record free of it. The slow test at the end runs a two-step training for real.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from arcanos_eval.data import check_training_data
from arcanos_eval.data.eval_cases import read_eval_cases
from arcanos_eval.data.hygiene import ContaminationIndex

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "examples" / "fine-tune"
DATA = ROOT / "examples" / "training-data"
TRAIN = DATA / "arcanos-support.train.jsonl"
VALIDATION = DATA / "arcanos-support.validation.jsonl"
RECORD = HERE / "fine-tune-record.json"


def load(name: str) -> ModuleType:
    # The examples are standalone scripts in a folder that is not a package: load them by path.
    spec = importlib.util.spec_from_file_location(f"arcanos_fine_tune_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


train = load("train")
dataset = load("dataset")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ----------------------------------------------------------------------------- training data


def test_committed_training_set_is_what_dataset_py_writes() -> None:
    train_set, validation = dataset.split(dataset.build_examples())
    assert TRAIN.read_text(encoding="utf-8") == dataset.to_jsonl(train_set)
    assert VALIDATION.read_text(encoding="utf-8") == dataset.to_jsonl(validation)
    assert 250 <= len(train_set) <= 450
    assert len(validation) >= 25


def test_training_set_passes_the_data_check_against_the_bundled_suites() -> None:
    report = check_training_data(
        TRAIN,
        validation=VALIDATION,
        against=ROOT / "suites",
        allowlist=DATA / "allowlist.txt",
    )
    assert report.passed, report.verdict
    assert [f for f in report.findings if f.severity == "error"] == []
    assert report.against is not None and report.against["cases"] > 150
    # Not even a near-duplicate warning: every example is distinct, none repeats validation.
    assert [(f.kind, f.file, f.line) for f in report.findings] == []


def test_the_demos_data_report_is_the_data_check_of_the_committed_training_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arcanos_eval.cli import main

    # The command of examples/fine-tune/README.md, run where the demo's pyproject.toml is.
    monkeypatch.chdir(ROOT)
    fresh = tmp_path / "data-report.json"
    command = [
        "data", "check", "examples/training-data/arcanos-support.train.jsonl",
        "--validation", "examples/training-data/arcanos-support.validation.jsonl",
        "--against", "suites", "--allowlist", "examples/training-data/allowlist.txt",
        "--epochs", "4", "--json", str(fresh),
    ]  # fmt: skip
    assert main(command) == 0
    committed = json.loads((HERE / "data-report.json").read_text(encoding="utf-8"))
    assert committed["passed"] is True
    assert {**json.loads(fresh.read_text(encoding="utf-8")), "created_at": None} == {
        **committed,
        "created_at": None,
    }
    # It vouches for the files the fine-tune was trained on: the record's hashes are its hashes.
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    assert {f["sha256"] for f in committed["files"]} == {
        f["sha256"] for f in record["files"].values()
    }


def test_no_training_message_holds_half_of_any_suite_input() -> None:
    # Stricter than the data check's 80% containment: the suites measure skill, not recall.
    index = ContaminationIndex(read_eval_cases(ROOT / "suites").cases, threshold=0.5)
    assert len(index) > 150
    leaks = []
    for path in (TRAIN, VALIDATION):
        for number, example in enumerate(lines(path), 1):
            for message in example["messages"]:
                if message["role"] != "user":
                    continue
                hit = index.match(message["content"])
                if hit is not None:
                    leaks.append((path.name, number, hit[0].key, hit[1]))
    assert leaks == []


def test_every_answer_follows_its_response_schema() -> None:
    import jsonschema

    schemas = {
        name: json.loads((ROOT / "suites" / "schemas" / f"{name}.v1.json").read_text("utf-8"))
        for name in ("puzzle_classification", "multi_intent", "support_reply")
    }
    formats: dict[str, int] = {}
    actions: dict[str, int] = {}
    for example in lines(TRAIN) + lines(VALIDATION):
        system, user, assistant = example["messages"]
        assert (system["role"], user["role"], assistant["role"]) == ("system", "user", "assistant")
        assert system["content"] == dataset.system_prompt()
        answer = json.loads(assistant["content"])
        name = (
            "puzzle_classification"
            if "category" in answer
            else "multi_intent"
            if "intents" in answer
            else "support_reply"
        )
        jsonschema.validate(answer, schemas[name])
        formats[name] = formats.get(name, 0) + 1
        if name == "support_reply":
            assert answer["escalate"] == (answer["action"] == "escalate")
            actions[answer["action"]] = actions.get(answer["action"], 0) + 1
    # Every format and every support action is taught, each by a fair number of examples.
    assert min(formats.values()) >= 60, formats
    assert min(actions.values()) >= 25, actions


# ----------------------------------------------------------------------------- chat rendering


def test_render_chat_is_smollm2s_chat_template_with_only_the_answer_trained() -> None:
    segments = train.render_chat(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": '{"a": 1}'},
        ]
    )
    text = "".join(s.text for s in segments)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
        '<|im_start|>assistant\n{"a": 1}<|im_end|>\n'
    )
    assert [s.text for s in segments if s.trained] == ['{"a": 1}<|im_end|>']


def test_render_chat_adds_the_default_system_prompt_and_skips_weight_zero_turns() -> None:
    segments = train.render_chat(
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "old", "weight": 0},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": "new"},
        ]
    )
    assert segments[0].text == f"<|im_start|>system\n{train.DEFAULT_SYSTEM}<|im_end|>\n"
    assert [s.text for s in segments if s.trained] == ["new<|im_end|>"]


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "tool", "content": "x"}], "role 'tool'"),
        ([{"role": "user", "content": None}], "role 'user'"),
        ([{"role": "user", "content": "a"}], "no assistant message to train on"),
        (
            [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0}],
            "no assistant message to train on",
        ),
    ],
)
def test_render_chat_refuses_what_it_cannot_train_on(messages: Any, expected: str) -> None:
    with pytest.raises(train.TrainingError, match=expected):
        train.render_chat(messages, where="f.jsonl:3: ")


def test_read_examples_names_the_line_of_a_broken_example(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"messages": []}\n{"nope": 1}\n', encoding="utf-8")
    with pytest.raises(train.TrainingError, match=r"t\.jsonl:1: no assistant"):
        train.read_examples(path)
    path.write_text(
        '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n'
        '{"nope": 1}\n',
        encoding="utf-8",
    )
    with pytest.raises(train.TrainingError, match=r"t\.jsonl:2: not a chat example"):
        train.read_examples(path)


# ----------------------------------------------------------------------------- batches, schedule


def test_batches_cover_every_example_once_per_epoch_with_little_padding() -> None:
    rng = random.Random(5)
    lengths = [rng.randrange(20, 200) for _ in range(101)]
    epochs = [train.batches(lengths, 8, random.Random(seed)) for seed in (1, 2)]

    def padded(plan: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in batch) * len(batch) for batch in plan)

    ungrouped = padded(train.batches(lengths, 8, random.Random(1), pool=1))
    for plan in epochs:
        assert sorted(i for batch in plan for i in batch) == list(range(101))
        assert all(1 <= len(batch) <= 8 for batch in plan)
        assert padded(plan) < 0.85 * ungrouped
    assert epochs[0] != epochs[1]
    assert train.batches(lengths, 8, random.Random(1)) == epochs[0]


def test_learning_rate_warms_up_then_decays_to_a_tenth() -> None:
    rates = [train.learning_rate_at(step, 50, 1e-3, 5) for step in range(50)]
    assert rates[:5] == pytest.approx([2e-4, 4e-4, 6e-4, 8e-4, 1e-3])
    assert all(a >= b for a, b in itertools.pairwise(rates[4:]))
    assert rates[-1] == pytest.approx(1e-4)


# ----------------------------------------------------------------------------- adapter layout


def test_gguf_tensor_names_are_llama_cpps() -> None:
    assert train.gguf_tensor_name("model.layers.3.self_attn.q_proj") == "blk.3.attn_q.weight"
    assert train.gguf_tensor_name("model.layers.29.mlp.down_proj") == "blk.29.ffn_down.weight"
    assert train.gguf_tensor_name("model.layers.0.self_attn.o_proj") == "blk.0.attn_output.weight"
    with pytest.raises(train.TrainingError, match="lm_head"):
        train.gguf_tensor_name("lm_head")


def _rope_half(x: np.ndarray, pos: int, base: float = 10000.0) -> np.ndarray:
    """Hugging Face's rotary embedding of one head: rotate the two halves."""
    d = x.shape[0]
    freq = base ** (-np.arange(0, d, 2) / d) * pos
    cos, sin = np.cos(np.concatenate([freq, freq])), np.sin(np.concatenate([freq, freq]))
    rotated = np.concatenate([-x[d // 2 :], x[: d // 2]])
    return x * cos + rotated * sin


def _rope_pairs(x: np.ndarray, pos: int, base: float = 10000.0) -> np.ndarray:
    """llama.cpp's rotary embedding of one head (LLAMA_ROPE_TYPE_NORM): rotate adjacent pairs."""
    d = x.shape[0]
    freq = base ** (-np.arange(0, d, 2) / d) * pos
    even, odd = x[0::2], x[1::2]
    out = np.empty_like(x)
    out[0::2] = even * np.cos(freq) - odd * np.sin(freq)
    out[1::2] = even * np.sin(freq) + odd * np.cos(freq)
    return out


def test_rope_permute_turns_hugging_faces_rotary_layout_into_llama_cpps() -> None:
    rng = np.random.default_rng(0)
    n_head, head_dim, n_in = 3, 8, 5
    weight = rng.normal(size=(n_head * head_dim, n_in))
    x = rng.normal(size=n_in)
    permuted = train.rope_permute(weight, n_head)
    for pos in (0, 1, 7):
        for h in range(n_head):
            rows = slice(h * head_dim, (h + 1) * head_dim)
            hf = _rope_half(weight[rows] @ x, pos)
            cpp = _rope_pairs(permuted[rows] @ x, pos)
            # The same rotated vector, up to the same reordering of its components: dot
            # products between queries and keys, all attention sees, are equal.
            assert np.allclose(np.sort(hf), np.sort(cpp))
            other = _rope_half(weight[rows] @ x[::-1], pos + 3)
            cpp_other = _rope_pairs(permuted[rows] @ x[::-1], pos + 3)
            assert np.isclose(hf @ other, cpp @ cpp_other)


def test_adapter_tensors_permute_only_b_of_queries_and_keys() -> None:
    rng = np.random.default_rng(1)
    rank = 2
    pairs = {
        "model.layers.4.self_attn.q_proj": (
            rng.normal(size=(rank, 6)),
            rng.normal(size=(18, rank)),
        ),
        "model.layers.4.self_attn.k_proj": (rng.normal(size=(rank, 6)), rng.normal(size=(6, rank))),
        "model.layers.4.mlp.up_proj": (rng.normal(size=(rank, 6)), rng.normal(size=(10, rank))),
    }
    out = train.adapter_tensors(pairs, n_head=3, n_head_kv=1)
    assert sorted(out) == [
        f"blk.4.{kind}.weight.lora_{ab}" for kind in ("attn_k", "attn_q", "ffn_up") for ab in "ab"
    ]
    for module, kind, heads in (("q_proj", "attn_q", 3), ("k_proj", "attn_k", 1)):
        a, b = pairs[f"model.layers.4.self_attn.{module}"]
        delta = out[f"blk.4.{kind}.weight.lora_b"] @ out[f"blk.4.{kind}.weight.lora_a"]
        assert np.allclose(delta, train.rope_permute(b @ a, heads))
        assert not np.allclose(delta, b @ a)
    a, b = pairs["model.layers.4.mlp.up_proj"]
    assert np.array_equal(out["blk.4.ffn_up.weight.lora_b"], b)
    with pytest.raises(train.TrainingError, match="ranks differ"):
        train.adapter_tensors({"model.layers.0.mlp.up_proj": (np.zeros((2, 4)), np.zeros((4, 3)))})


def test_written_adapter_has_the_layout_llama_cpp_loads(tmp_path: Path) -> None:
    import gguf

    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4, 12)), rng.normal(size=(20, 4))
    path = tmp_path / "lora.gguf"
    train.write_adapter(
        path, {"blk.0.ffn_up.weight.lora_a": a, "blk.0.ffn_up.weight.lora_b": b}, alpha=8, name="t"
    )
    reader = gguf.GGUFReader(path)

    def value(key: str) -> Any:
        return reader.fields[key].contents()

    assert value("general.type") == "adapter"
    assert value("general.architecture") == "llama"
    assert value("adapter.type") == "lora"
    assert value("adapter.lora.alpha") == 8.0
    tensors = {t.name: t for t in reader.tensors}
    # ggml's dimension order is numpy's reversed: lora_a (n_in, rank), lora_b (rank, n_out),
    # the shapes llama.cpp checks against the base weight (n_in, n_out).
    assert list(tensors["blk.0.ffn_up.weight.lora_a"].shape) == [12, 4]
    assert list(tensors["blk.0.ffn_up.weight.lora_b"].shape) == [4, 20]
    assert tensors["blk.0.ffn_up.weight.lora_a"].tensor_type == gguf.GGMLQuantizationType.F16
    assert np.allclose(tensors["blk.0.ffn_up.weight.lora_b"].data, b, atol=2e-3)
    assert not path.with_name("lora.gguf.tmp").exists()


# ----------------------------------------------------------------------------- record

LOG_LINES = [
    {"schema_version": 1, "event": "start", "step": 0, "validation_loss": 2.0, "total_steps": 2},
    {"event": "step", "step": 1, "epoch": 1, "loss": 1.5, "learning_rate": 1e-3,
     "trained_tokens": 600, "elapsed_s": 30.0},
    {"event": "epoch", "step": 1, "epoch": 1, "train_loss": 1.5, "validation_loss": 1.2},
    {"event": "step", "step": 2, "epoch": 2, "loss": 0.9, "learning_rate": 1e-4,
     "trained_tokens": 1234, "elapsed_s": 61.0},
    {"event": "epoch", "step": 2, "epoch": 2, "train_loss": 0.9, "validation_loss": 0.5},
]  # fmt: skip


def tiny_run(tmp_path: Path) -> tuple[dict[str, Path], dict[str, Any]]:
    files = {}
    for name in ("model.gguf", "train.jsonl", "valid.jsonl", "prompt.md", "lora.gguf"):
        files[name] = tmp_path / name
        files[name].write_text(f"content of {name}\n", encoding="utf-8")
    files["log.jsonl"] = tmp_path / "log.jsonl"
    files["log.jsonl"].write_text("".join(json.dumps(e) + "\n" for e in LOG_LINES), "utf-8")
    return files, record_of(files)


def record_of(files: dict[str, Path]) -> dict[str, Any]:
    """``train.build_record`` of the tiny run's files."""
    return train.build_record(
        hyper=train.Hyperparameters(n_epochs=2, batch_size=4),
        base_model_path=files["model.gguf"],
        training_file=files["train.jsonl"],
        validation_file=files["valid.jsonl"],
        system_prompt_file=files["prompt.md"],
        adapter_file=files["lora.gguf"],
        log_file=files["log.jsonl"],
        created_at=1_700_000_000.4,
        finished_at=1_700_000_070.9,
        training_examples=20,
        trained_assistant_tokens=500,
        tool_versions={"torch": "x"},
    )


def test_build_record_names_every_file_with_its_hash_and_reads_figures_from_the_log(
    tmp_path: Path,
) -> None:
    files, record = tiny_run(tmp_path)
    job = record["job"]
    assert (record["kind"], record["version"]) == (train.RECORD_KIND, train.RECORD_VERSION)
    assert job["hyperparameters"] == {
        "n_epochs": 2,
        "batch_size": 4,
        "learning_rate_multiplier": 1.0,
    }
    assert (job["created_at"], job["finished_at"]) == (1_700_000_000, 1_700_000_070)
    assert job["trained_tokens"] == 1234
    assert job["training_file"] == str(files["train.jsonl"])
    assert job["id"] == train.job_id(sha256(files["train.jsonl"]), train.Hyperparameters(2, 4))
    assert job["id"] != train.job_id(sha256(files["train.jsonl"]), train.Hyperparameters())
    for name in ("train.jsonl", "valid.jsonl"):
        assert record["files"][str(files[name])] == {
            "filename": name,
            "bytes": files[name].stat().st_size,
            "sha256": sha256(files[name]),
        }
    assert record["artifacts"] == {
        str(files["lora.gguf"]): sha256(files["lora.gguf"]),
        str(files["log.jsonl"]): sha256(files["log.jsonl"]),
    }
    assert record["base_model"]["sha256"] == sha256(files["model.gguf"])
    assert record["system_prompt"]["sha256"] == sha256(files["prompt.md"])
    assert record["training"] == {
        "examples": 20,
        "assistant_tokens": 500,
        "steps": 2,
        "final_loss": 0.9,
        "validation_loss_before": 2.0,
        "validation_loss_after": 0.5,
        "duration_s": 70.5,
        "log": str(files["log.jsonl"]),
    }
    # Events latest first, as the API lists them; each epoch at the time of its last step.
    assert [(e["created_at"], e["message"][:13]) for e in record["events"]] == [
        (1_700_000_070, "saved the ada"),
        (1_700_000_061, "epoch 2/2 (st"),
        (1_700_000_030, "epoch 1/2 (st"),
        (1_700_000_000, "training star"),
    ]
    out = tmp_path / "record.json"
    train.write_json(out, record)
    assert json.loads(out.read_text(encoding="utf-8")) == record


def test_build_record_refuses_a_log_without_steps(tmp_path: Path) -> None:
    files, _ = tiny_run(tmp_path)
    files["log.jsonl"].write_text(json.dumps(LOG_LINES[0]) + "\n", encoding="utf-8")
    with pytest.raises(train.TrainingError, match="no step or epoch"):
        record_of(files)


def test_arcanos_eval_reads_the_record_as_a_targets_fine_tune_record(tmp_path: Path) -> None:
    import dataclasses

    from arcanos_eval import load_config
    from arcanos_eval.fine_tunes import read_fine_tune_record

    files, record = tiny_run(tmp_path)
    path = tmp_path / "record.json"
    train.write_json(path, record)
    target = load_config(ROOT / "pyproject.toml").targets["candidate"]
    found = read_fine_tune_record(path, target, tmp_path)
    assert found.job_id == record["job"]["id"]
    assert found.fine_tuned_model == train.FINE_TUNED_MODEL == target.model
    assert found.status == "succeeded"
    assert found.training_file is not None
    assert found.training_file.sha256 == sha256(files["train.jsonl"])
    assert dataclasses.asdict(found)["events"][0]["message"].startswith("saved the adapter")


# ----------------------------------------------------------------------------- the committed run


def committed() -> dict[str, Any]:
    return json.loads(RECORD.read_text(encoding="utf-8"))


def test_committed_record_matches_the_committed_files() -> None:
    record = committed()
    job = record["job"]
    assert (record["kind"], record["version"]) == (train.RECORD_KIND, train.RECORD_VERSION)
    assert job["object"] == "fine_tuning.job" and job["status"] == "succeeded"
    assert (job["model"], job["fine_tuned_model"]) == (train.BASE_MODEL, train.FINE_TUNED_MODEL)
    assert (job["training_file"], job["validation_file"]) == (
        TRAIN.relative_to(ROOT).as_posix(),
        VALIDATION.relative_to(ROOT).as_posix(),
    )
    for path, info in record["files"].items():
        assert info == {
            "filename": Path(path).name,
            "bytes": (ROOT / path).stat().st_size,
            "sha256": sha256(ROOT / path),
        }
    assert set(record["files"]) == {job["training_file"], job["validation_file"]}
    for path, digest in record["artifacts"].items():
        assert sha256(ROOT / path) == digest, path
    assert set(record["artifacts"]) == {job["result_files"][0], record["training"]["log"]}
    assert sha256(ROOT / record["system_prompt"]["file"]) == record["system_prompt"]["sha256"]
    assert (ROOT / job["result_files"][0]).stat().st_size < 20_000_000
    # The committed run is what `python examples/fine-tune/train.py` does: default settings.
    defaults = train.Hyperparameters()
    assert job["hyperparameters"] == {
        "n_epochs": defaults.n_epochs,
        "batch_size": defaults.batch_size,
        "learning_rate_multiplier": defaults.learning_rate_multiplier,
    }
    assert job["method"]["lora"]["layers"] == [defaults.first_lora_layer, train.N_LAYERS - 1]
    assert job["method"]["lora"]["rank"] == defaults.lora_rank
    assert job["id"] == train.job_id(record["files"][job["training_file"]]["sha256"], defaults)
    assert job["created_at"] < job["finished_at"]


def test_committed_training_log_agrees_with_the_record() -> None:
    record = committed()
    run = record["training"]
    log = lines(ROOT / run["log"])
    steps = [e for e in log if e["event"] == "step"]
    epochs = [e for e in log if e["event"] == "epoch"]
    assert [e["step"] for e in steps] == list(range(1, run["steps"] + 1))
    assert len(epochs) == record["job"]["hyperparameters"]["n_epochs"]
    assert steps[-1]["trained_tokens"] == record["job"]["trained_tokens"]
    assert epochs[-1]["train_loss"] == run["final_loss"]
    assert log[0]["validation_loss"] == run["validation_loss_before"]
    assert epochs[-1]["validation_loss"] == run["validation_loss_after"]
    # It learned: the held-out loss fell.
    assert run["validation_loss_after"] < run["validation_loss_before"] / 2


def test_committed_adapter_fits_smollm2_135m() -> None:
    import gguf

    lora = committed()["job"]["method"]["lora"]
    reader = gguf.GGUFReader(ROOT / committed()["job"]["result_files"][0])
    assert reader.fields["adapter.lora.alpha"].contents() == lora["alpha"]
    shapes = {t.name: list(t.shape) for t in reader.tensors}
    first, last = lora["layers"]
    rank = lora["rank"]
    # SmolLM2-135M: hidden 576, 9 query heads and 3 key/value heads of 64, MLP 1536.
    sizes = {
        "attn_q": (576, 576),
        "attn_k": (576, 192),
        "attn_v": (576, 192),
        "attn_output": (576, 576),
        "ffn_gate": (576, 1536),
        "ffn_up": (576, 1536),
        "ffn_down": (1536, 576),
    }
    expected = {}
    for layer in range(first, last + 1):
        for kind, (n_in, n_out) in sizes.items():
            expected[f"blk.{layer}.{kind}.weight.lora_a"] = [n_in, rank]
            expected[f"blk.{layer}.{kind}.weight.lora_b"] = [rank, n_out]
    assert shapes == expected


# ----------------------------------------------------------------------------- a real (tiny) run


@pytest.mark.slow
def test_train_py_runs_end_to_end_on_a_few_examples(tmp_path: Path) -> None:
    # Creates .arcanos/finetune-venv on first use (PyPI), then trains 2 steps on 8 examples.
    out = {name: tmp_path / name for name in ("lora.gguf", "log.jsonl", "record.json")}
    result = subprocess.run(
        [
            sys.executable,
            str(HERE / "train.py"),
            "--limit=8",
            "--epochs=1",
            "--batch-size=4",
            "--layers=2",
            "--rank=4",
            f"--adapter={out['lora.gguf']}",
            f"--log={out['log.jsonl']}",
            f"--record={out['record.json']}",
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(out["record.json"].read_text(encoding="utf-8"))
    assert record["training"]["steps"] == 2 and record["training"]["examples"] == 8
    assert record["artifacts"] == {
        str(out["lora.gguf"]): sha256(out["lora.gguf"]),
        str(out["log.jsonl"]): sha256(out["log.jsonl"]),
    }
    assert record["files"][record["job"]["training_file"]]["sha256"] == sha256(TRAIN)
    assert "step 2/2" in result.stderr


def test_the_demo_puts_base_and_fine_tune_on_the_same_plain_prompt() -> None:
    from arcanos_eval import load_config

    config = load_config(ROOT / "pyproject.toml")
    base, candidate = config.targets["base"], config.targets["candidate"]
    prompt_only = config.targets["prompt-only"]
    assert (base.model, candidate.model, prompt_only.model) == (
        train.BASE_MODEL,
        train.FINE_TUNED_MODEL,
        train.BASE_MODEL,
    )
    assert (base.base_url, candidate.base_url, prompt_only.base_url) == (
        "http://127.0.0.1:8765/v1",
        "http://127.0.0.1:8766/v1",
        "http://127.0.0.1:8765/v1",
    )
    # Byte for byte what every training example's system message holds (no trailing newline).
    prompt = dataset.system_prompt()
    assert base.system_prompt == candidate.system_prompt == prompt
    # The alternative weighed against fine-tuning: the same base model, the long prompt.
    assert prompt_only.system_prompt == (ROOT / "prompts" / "base.md").read_text(encoding="utf-8")
    assert base.params == candidate.params == prompt_only.params
    assert base.structured_outputs == candidate.structured_outputs == prompt_only.structured_outputs
    assert candidate.fine_tune_record is not None
    assert Path(candidate.fine_tune_record).resolve() == RECORD.resolve()
    assert base.fine_tune_record is None and prompt_only.fine_tune_record is None
    assert config.data_report == HERE / "data-report.json"


heldout = load("heldout")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            '{"category": "logic", "route_to": "logic_engine", "confidence": 0.2, "hint_allowed": true}',
            (True, True),
        ),
        (
            '{"category": "logic", "route_to": "logic_engine", "confidence": 0.9, "hint_allowed": false}',
            (True, False),
        ),
        (
            '{"category": "cipher", "route_to": "logic_engine", "confidence": 0.9, "hint_allowed": true}',
            (True, False),
        ),
        ('{"category": "logic", "route_to": "logic_engine", "confidence": 0.9}', (False, False)),
        (
            '{"action": "answer", "reply": "x", "escalate": false, "ticket_category": "other"}',
            (False, False),
        ),
        ("The logic engine will help you.", (False, False)),
        ("[1, 2]", (False, False)),
    ],
)
def test_heldout_grades_format_and_decision_not_wording(
    answer: str, expected: tuple[bool, bool]
) -> None:
    reference = (
        '{"category": "logic", "route_to": "logic_engine", "confidence": 0.9, "hint_allowed": true}'
    )
    assert heldout.grade(reference, answer) == expected


def test_heldout_grades_intents_in_order_and_support_decisions() -> None:
    reference = '{"intents": ["bug_report", "server_status"], "reply": "a"}'
    assert heldout.grade(
        reference, '{"intents": ["bug_report", "server_status"], "reply": "b"}'
    ) == (True, True)
    assert heldout.grade(
        reference, '{"intents": ["server_status", "bug_report"], "reply": "a"}'
    ) == (True, False)
    support = '{"action": "escalate", "reply": "a", "escalate": true, "ticket_category": "bug"}'
    assert heldout.grade(
        support, '{"action": "escalate", "reply": "z", "escalate": true, "ticket_category": "bug"}'
    ) == (True, True)
    assert heldout.grade(
        support, '{"action": "answer", "reply": "a", "escalate": true, "ticket_category": "bug"}'
    ) == (True, False)
    with pytest.raises(ValueError, match="not a reference answer"):
        heldout.grade("plain text", "{}")


def test_the_demo_candidates_provenance_is_the_committed_record() -> None:
    from arcanos_eval import load_config
    from arcanos_eval.fine_tunes import read_fine_tune_record

    target = load_config(ROOT / "pyproject.toml").targets["candidate"]
    assert target.fine_tune_record is not None
    found = read_fine_tune_record(Path(target.fine_tune_record), target, ROOT)
    assert found.job_id == committed()["job"]["id"]
    assert found.fine_tuned_model == target.model
    assert found.training_file is not None and found.training_file.sha256 == sha256(TRAIN)
    assert found.validation_file is not None and found.validation_file.sha256 == sha256(VALIDATION)
