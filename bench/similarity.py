"""How well the ``similar`` check's embedders tell a paraphrase from a negation, and what ``local`` costs.

Recomputes the figures of the README's Scorers section:

    .venv/bin/python bench/similarity.py                    # accuracy, load time, time per text
    .venv/bin/python bench/similarity.py --install-size     # also: the extra's installed size
                                                            # (two fresh venvs, from the index)

The data is ``tests/data/similarity_pairs.jsonl``: 90 game-support reference answers, each with a
paraphrase in other words, a negation or contradiction of it (``negation_kind``: ``explicit``, a
negation word added or removed; ``antonym``, the opposite said without one: "enabled" for
"disabled"), and an unrelated answer. The set was written, and split by alternating lines into a
``tune`` and a ``holdout`` half, before any embedder was measured on it; the negation check of the
``local`` embedder was designed on ``tune`` only, and the threshold below is chosen on ``tune`` and
applied unchanged to ``holdout``. It is a set we wrote ourselves: it guards against regressions
and shows the kind of error each embedder makes, it is not an independent benchmark.

Measured per embedder and split:

- paraphrase > negation: how often the paraphrase scores above the negation of the same reference;
- paraphrase > unrelated: the same against the unrelated answer;
- balanced accuracy at a threshold: the mean of the paraphrases' pass rate and the negations' and
  unrelated answers' fail rate (0.5 for a threshold that passes all or none); the threshold is the
  one that maximises it on ``tune``.

"local cosine" is the local model's plain cosine, without the negation check (what ``local`` was
before it, and what an embeddings endpoint gives). Load time is ``load_local_model()`` in a fresh
process (the imports of onnxruntime, tokenizers and numpy, the sha256 checks and the ONNX session),
after and apart from the import of arcanos-eval itself, the median of five processes; time per
text is the median over the set's texts, one text a run, on one thread.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arcanos_eval.scorers._local_embedder import LOCAL_EXTRA, load_local_model  # noqa: E402
from arcanos_eval.scorers._similarity import (  # noqa: E402
    _negation_aware,
    cosine,
    lexical_similarity,
)

DATA = ROOT / "tests" / "data" / "similarity_pairs.jsonl"
SPLITS = ("tune", "holdout")
# The child times the import of arcanos-eval and the model's load apart: the first is paid by
# every run, embedder or not; the second is what choosing ``local`` costs.
_LOAD = (
    "import time; t0 = time.perf_counter(); "
    "from arcanos_eval.scorers._local_embedder import load_local_model; t1 = time.perf_counter(); "
    "load_local_model(); print(t1 - t0, time.perf_counter() - t1)"
)


@dataclass(frozen=True)
class Triple:
    id: str
    split: str
    kind: str
    reference: str
    paraphrase: str
    negation: str
    unrelated: str


@dataclass(frozen=True)
class Scored:
    triple: Triple
    paraphrase: float
    negation: float
    unrelated: float


def read_triples(path: Path = DATA) -> list[Triple]:
    triples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        triples.append(
            Triple(
                row["id"],
                row["split"],
                row["negation_kind"],
                row["reference"],
                row["paraphrase"],
                row["negation"],
                row["unrelated"],
            )
        )
    return triples


def embedders() -> dict[str, Callable[[str, str], float]]:
    model = load_local_model()

    def local_cosine(reference: str, answer: str) -> float:
        first, second = model.embed([answer, reference])
        return cosine(first, second)

    def local(reference: str, answer: str) -> float:
        return _negation_aware(model, answer, reference)[0]

    return {"lexical": lexical_similarity, "local cosine": local_cosine, "local": local}


def score(similarity: Callable[[str, str], float], triples: Sequence[Triple]) -> list[Scored]:
    return [
        Scored(
            t,
            similarity(t.reference, t.paraphrase),
            similarity(t.reference, t.negation),
            similarity(t.reference, t.unrelated),
        )
        for t in triples
    ]


def accuracy(scored: Sequence[Scored], threshold: float) -> float:
    """Balanced accuracy: the mean of the paraphrases' pass rate and the others' fail rate."""
    passed = sum(s.paraphrase >= threshold for s in scored) / len(scored)
    failed = sum(s.negation < threshold for s in scored) + sum(
        s.unrelated < threshold for s in scored
    )
    return (passed + failed / (2 * len(scored))) / 2


def best_threshold(scored: Sequence[Scored]) -> float:
    candidates = sorted(
        {round(x, 2) for s in scored for x in (s.paraphrase, s.negation, s.unrelated)}
    )
    return max(candidates, key=lambda t: (accuracy(scored, t), -t))


def fraction(hits: int, n: int) -> str:
    return f"{hits}/{n} ({hits / n:.2f})" if n else "-"


@dataclass(frozen=True)
class Row:
    embedder: str
    split: str
    n: int
    paraphrase_over_negation: int
    explicit: tuple[int, int]  # (paraphrase > negation, triples) where a negation word flips it
    antonym: tuple[int, int]  # the same where the opposite is said without a negation word
    paraphrase_over_unrelated: int
    threshold: float  # chosen on tune
    accuracy: float
    means: tuple[float, float, float]  # paraphrase, negation, unrelated


def accuracy_table(triples: Sequence[Triple]) -> list[Row]:
    rows = []
    for name, similarity in embedders().items():
        by_split = {
            split: score(similarity, [t for t in triples if t.split == split]) for split in SPLITS
        }
        threshold = best_threshold(by_split["tune"])
        for split, scored in by_split.items():

            def wins(kind: str | None, scored: Sequence[Scored] = scored) -> tuple[int, int]:
                chosen = [s for s in scored if kind is None or s.triple.kind == kind]
                return sum(s.paraphrase > s.negation for s in chosen), len(chosen)

            rows.append(
                Row(
                    name,
                    split,
                    len(scored),
                    wins(None)[0],
                    wins("explicit"),
                    wins("antonym"),
                    sum(s.paraphrase > s.unrelated for s in scored),
                    threshold,
                    round(accuracy(scored, threshold), 3),
                    (
                        round(statistics.fmean(s.paraphrase for s in scored), 3),
                        round(statistics.fmean(s.negation for s in scored), 3),
                        round(statistics.fmean(s.unrelated for s in scored), 3),
                    ),
                )
            )
    return rows


def load_seconds(runs: int = 5) -> dict[str, float]:
    """Median seconds, in fresh processes, to import arcanos-eval and then to load the model."""
    imports, loads = [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _LOAD], cwd=ROOT, capture_output=True, text=True, check=True
        )
        first, second = done.stdout.split()
        imports.append(float(first))
        loads.append(float(second))
    return {
        "import arcanos_eval": round(statistics.median(imports), 3),
        "load_local_model()": round(statistics.median(loads), 3),
    }


def ms_per_text(triples: Sequence[Triple]) -> float:
    model = load_local_model()
    texts = [x for t in triples for x in (t.reference, t.paraphrase, t.negation, t.unrelated)]
    model.embed(texts[:4])  # warm-up: the session's first run allocates
    times = []
    for text in texts:
        start = time.perf_counter()
        model.embed([text])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def install_size_mb() -> dict[str, object]:
    """Installed size of the package alone and with the extra, in two fresh venvs."""
    sizes: dict[str, object] = {}
    megabytes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, spec in (("base", str(ROOT)), ("extra", f"{ROOT}[{LOCAL_EXTRA}]")):
            venv = Path(tmp, label)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip"]
            subprocess.run([*pip, "install", "-q", spec], check=True)
            du = subprocess.run(
                ["du", "-sm", str(venv)], capture_output=True, text=True, check=True
            )
            megabytes[label] = sizes[label] = int(du.stdout.split()[0])
            listed = subprocess.run([*pip, "list"], capture_output=True, text=True, check=True)
            heavy = [
                line.split()[0]
                for line in listed.stdout.splitlines()
                if line.split() and line.split()[0].lower().startswith(("torch", "nvidia", "cuda"))
            ]
            sizes[f"{label} torch/cuda packages"] = heavy
    sizes["delta"] = megabytes["extra"] - megabytes["base"]
    return sizes


def print_table(rows: Sequence[Row]) -> None:
    print(
        "| embedder | split | paraphrase > negation | explicit negation | antonym "
        "| paraphrase > unrelated | balanced accuracy at threshold (chosen on tune) "
        "| mean paraphrase / negation / unrelated |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.embedder} | {r.split} | {fraction(r.paraphrase_over_negation, r.n)} "
            f"| {fraction(*r.explicit)} | {fraction(*r.antonym)} "
            f"| {fraction(r.paraphrase_over_unrelated, r.n)} "
            f"| {r.accuracy:.3f} at {r.threshold:.2f} "
            f"| {' / '.join(f'{x:.2f}' for x in r.means)} |"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--install-size", action="store_true", help="also measure the extra's size")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    triples = read_triples()
    rows = accuracy_table(triples)
    print_table(rows)
    figures: dict[str, object] = {
        "accuracy": [dataclasses.asdict(r) for r in rows],
        "seconds_in_a_fresh_process_median_of_5": load_seconds(),
        "ms_per_text_median": round(ms_per_text(triples), 2),
    }
    if args.install_size:
        figures["installed_mb"] = install_size_mb()
    for key, value in figures.items():
        if key != "accuracy":
            print(f"{key}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
