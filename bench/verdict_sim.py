"""How often the release verdict is wrong: simulated base/candidate pairs through the real CLI.

Each repetition writes a project (one suite of N cases, a ``contains: PASS`` check per case, and
``max_regression`` as the only gate) whose two targets point at the loopback OpenAI-protocol
server (``arcanos_eval.testing.OpenAIServer``). Before the run, every case draws whether base and
candidate pass it, with known pass rates: half the cases share one difficulty draw between the two
targets (a case hard for one is hard for the other), the other half draw independently. The server
answers ``PASS`` or ``FAIL`` accordingly, ``arcanos-eval run`` decides, and its exit status is the
verdict (0 PROMOTE, 1 HOLD).

Two error rates are measured, with Wilson 95% intervals:

* false PROMOTE: the candidate is truly worse than base by more than the margin, and is promoted;
* false HOLD: the candidate is unchanged (same pass rate), run at the number of cases the report
  recommends, and is held.

    python bench/verdict_sim.py                 # the figures in bench/README.md (about 8 minutes)
    python bench/verdict_sim.py --quick         # a smoke run: a few repetitions, small N
    python bench/verdict_sim.py --json out.json

See bench/README.md for the measured figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median, quantiles
from typing import Any

import yaml
from tabulate import tabulate

from arcanos_eval.stats import noninferiority_cases_needed, wilson_interval
from arcanos_eval.testing import ChatRequest, OpenAIServer, Reply

KEY_ENV = "ARCANOS_SIM_KEY"
MODE = os.environ.get("SIM_MODE", "batch")
CLI = str(Path(sys.executable).with_name("arcanos-eval"))
PYPROJECT = """
[tool.arcanos_eval]
suites = ["suites"]
golden = "golden"
cache = false
concurrency = 32

[tool.arcanos_eval.batch]
poll_interval_s = 0.05

[tool.arcanos_eval.targets.base]
model = "{prefix}-base"
base_url = "{url}"
check_model = false  # the loopback server answers to any model name
api_key_env = "{env}"

[tool.arcanos_eval.targets.candidate]
model = "{prefix}-candidate"
base_url = "{url}"
check_model = false  # the loopback server answers to any model name
api_key_env = "{env}"

[tool.arcanos_eval.gates]
# Only the regression is simulated: the other audit invariants are waived, so the exit status is
# the replicates' gates alone.
waive = {{ schema = "no response schema", data = "no training data", latency = "simulated" }}
{gates}
"""
_RUN_IDS = itertools.count()  # model ids per CLI run: r0-base, r0-candidate, r1-base...
_CASE = re.compile(r"replicate (\d+) case (\d+)")
_NEEDED = re.compile(r"^\| max_regression\[happy_path\] .*\| (\d+) more \((\d+) in all\)", re.M)


@dataclass(frozen=True)
class Pair:
    """True pass rates of base and candidate, and the share of cases with a shared difficulty."""

    base: float
    candidate: float
    shared: float = 0.5

    def draw(self, cases: int, rng: random.Random) -> list[tuple[bool, bool]]:
        """Per case, whether base and candidate pass it."""
        outcomes = []
        for _ in range(cases):
            if rng.random() < self.shared:
                u = rng.random()
                outcomes.append((u < self.base, u < self.candidate))
            else:
                outcomes.append((rng.random() < self.base, rng.random() < self.candidate))
        return outcomes

    def cells(self) -> tuple[int, int, int, int]:
        """Expected shares of (both pass, base only, candidate only, neither), in 1e-6 units."""
        b, c, s = self.base, self.candidate, self.shared
        both = s * min(b, c) + (1 - s) * b * c
        base_only = s * max(0.0, b - c) + (1 - s) * b * (1 - c)
        cand_only = s * max(0.0, c - b) + (1 - s) * (1 - b) * c
        neither = 1.0 - both - base_only - cand_only
        return tuple(round(x * 1_000_000) for x in (both, base_only, cand_only, neither))  # type: ignore[return-value]


class Answers:
    """The server's script: per model id, which cases pass. Each CLI run has its own model ids.

    A run's table lists, replicate by replicate, the base outcomes of its cases and then the
    candidate's; the prompt names the replicate and the case.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[int, list[bool]]] = {}

    def set(self, prefix: str, cases: int, table: Sequence[bool]) -> None:
        with self._lock:
            self._runs[prefix] = (cases, list(table))

    def drop(self, prefix: str) -> None:
        with self._lock:
            self._runs.pop(prefix, None)

    def __call__(self, request: ChatRequest) -> Reply:
        prefix, _, target = request.model.rpartition("-")
        match = _CASE.search(request.prompt)
        with self._lock:
            run = self._runs.get(prefix)
        if match is None or run is None or target not in ("base", "candidate"):
            return Reply(text="unscripted request")
        cases, table = run
        replicate, case = int(match.group(1)), int(match.group(2))
        index = 2 * replicate * cases + (cases if target == "candidate" else 0) + case
        return Reply(text="PASS" if table[index] else "FAIL")


@dataclass
class Setting:
    """One measured setting and its outcome."""

    label: str
    pair: Pair
    cases: int
    gates: str
    repetitions: int
    wrong_when: str  # "promote" or "hold": which verdict is the error
    recommend: bool = False  # read the report's recommended number of cases
    promoted: int = 0
    held: int = 0
    runs: int = 0
    recommended: list[int] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.promoted if self.wrong_when == "promote" else self.held

    def row(self) -> list[Any]:
        runs = self.promoted + self.held
        interval = wilson_interval(self.errors, runs) if runs else None
        rate = f"{self.errors / runs:.1%}" if runs else "n/a"
        ci = f"[{interval.low:.1%}, {interval.high:.1%}]" if interval else "n/a"
        return [
            self.label,
            f"{self.pair.base:.0%} -> {self.pair.candidate:.0%}",
            self.cases,
            runs,
            self.runs,
            f"false {self.wrong_when.upper()}",
            rate,
            ci,
        ]


def write_project(root: Path, cases: int, replicates: int) -> None:
    """One suite of ``cases`` cases per replicate, ``sim-0``, ``sim-1``..."""
    suites = root / "suites"
    if suites.exists():
        for old in suites.iterdir():
            old.unlink()
    suites.mkdir(parents=True, exist_ok=True)
    for k in range(replicates):
        doc = {
            "id": f"sim-{k}",
            "version": 1,
            "category": "happy_path",
            "cases": [
                {"id": f"case-{i}", "input": f"replicate {k} case {i}", "checks": ["pass_word"]}
                for i in range(cases)
            ],
        }
        text = yaml.safe_dump(doc, sort_keys=False).replace("- pass_word", "- contains: PASS")
        (suites / f"sim-{k}.yaml").write_text(text, encoding="utf-8")


def run_batch(
    root: Path,
    server: OpenAIServer,
    answers: Answers,
    setting: Setting,
    batch: int,
    replicates: int,
    seed: int,
) -> tuple[int, list[bool], list[int]]:
    """One CLI run holding ``replicates`` independent replicates of ``setting``.

    Each replicate is a suite judged by its own per-suite ``max_regression`` (the only gate), so
    its gate result is the verdict a run of that suite alone reaches; the run's exit status must
    agree (0 exactly when every replicate passes). Returns the exit status, each replicate's
    decision (True: PROMOTE), and the cases the report recommends where a gate could still pass.
    """
    write_project(root, setting.cases, replicates)
    prefix = f"r{next(_RUN_IDS)}"
    table: list[bool] = []
    for k in range(replicates):
        rng = random.Random(f"{seed}:{setting.label}:{setting.cases}:{batch}:{k}")
        outcomes = setting.pair.draw(setting.cases, rng)
        table.extend(b for b, _ in outcomes)
        table.extend(c for _, c in outcomes)
    # Base answers first, then the candidate's, replicate by replicate: see Answers.__call__.
    answers.set(prefix, setting.cases, table)
    per_suite = "\n".join(
        f'[tool.arcanos_eval.gates.suites."sim-{k}"]\n{setting.gates}' for k in range(replicates)
    )
    text = PYPROJECT.format(prefix=prefix, url=server.base_url, env=KEY_ENV, gates=per_suite)
    (root / "pyproject.toml").write_text(text, encoding="utf-8")
    env = {**os.environ, KEY_ENV: "sk-sim"}
    command = [CLI, "run", "-q", "--mode", MODE, "--log", "run.jsonl", "--json", "summary.json"]
    if setting.recommend:
        command += ["--report", "report.md"]
    try:
        result = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=1800
        )
    finally:
        answers.drop(prefix)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"arcanos-eval exited {result.returncode}:\n{result.stderr[-2000:]}")
    gates = json.loads((root / "summary.json").read_text(encoding="utf-8"))["gates"]
    decided = {g["scope"]: g["passed"] for g in gates if g["key"] == "max_regression"}
    decisions = [decided[f"suite sim-{k}"] for k in range(replicates)]
    if (result.returncode == 0) != all(decisions) or len(gates) != replicates:
        raise RuntimeError(f"exit status {result.returncode} disagrees with the gates: {gates}")
    recommended = []
    if setting.recommend:
        report = (root / "report.md").read_text(encoding="utf-8")
        recommended = [int(m.group(2)) for m in _NEEDED.finditer(report)]
    return result.returncode, decisions, recommended


def measure(
    settings: Sequence[Setting],
    server: OpenAIServer,
    answers: Answers,
    workers: int,
    seed: int,
    cases_per_run: int,
) -> None:
    """Run every repetition of every setting, ``workers`` CLI processes at a time."""
    with tempfile.TemporaryDirectory(prefix="arcanos-verdict-sim-") as tmp:
        free = [Path(tmp) / f"w{i}" for i in range(workers)]
        lock = threading.Lock()

        def job(setting: Setting, batch: int, replicates: int) -> None:
            with lock:
                root = free.pop()
            try:
                _, decisions, recommended = run_batch(
                    root, server, answers, setting, batch, replicates, seed
                )
            finally:
                with lock:
                    free.append(root)
            with lock:
                setting.promoted += sum(decisions)
                setting.held += len(decisions) - sum(decisions)
                setting.recommended.extend(recommended)
                setting.runs += 1

        jobs = []
        for s in settings:
            per_run = max(1, min(s.repetitions, cases_per_run // s.cases))
            left, batch = s.repetitions, 0
            while left > 0:
                jobs.append((s, batch, min(per_run, left)))
                left -= per_run
                batch += 1
        # Biggest runs first, so the last ones to finish are short.
        jobs.sort(key=lambda j: -j[0].cases * j[2])
        with ThreadPoolExecutor(workers) as pool:
            for future in [pool.submit(job, *j) for j in jobs]:
                future.result()


def gates_table(margin: float, test: str | None = None) -> str:
    lines = [f"max_regression = {margin}"]
    if test is not None:
        lines.append(f'regression_test = "{test}"')
    return "\n".join(lines)


def plan(args: argparse.Namespace) -> tuple[list[Setting], int]:
    """The settings to measure, and the recommended N for the unchanged candidate."""
    margin, base = args.margin, args.base
    unchanged = Pair(base, base)
    recommended = noninferiority_cases_needed(*unchanged.cells(), margin)
    if recommended is None:
        raise SystemExit(f"an unchanged candidate cannot pass margin {margin}")
    default = gates_table(margin)
    settings = []
    for drop, sizes in args.worse:
        worse = Pair(base, round(base - drop, 4))
        for n in sizes:
            # Half the repetitions of the longest runs: their error rates are the smallest.
            reps = args.reps if n < 1000 else max(1, args.reps // 2)
            settings.append(Setting(f"{drop:.0%} worse", worse, n, default, reps, "promote"))
    held_n = args.held_n or recommended
    settings.append(Setting("unchanged", unchanged, held_n, default, args.reps, "hold"))
    half = max(1, args.reps // 2)
    if not args.quick:
        # The configurations the issue measured at N = 100, for comparison.
        worse = Pair(base, round(base - 0.10, 4))
        for test in ("observed", "mcnemar"):
            table = gates_table(margin, test)
            settings.append(Setting(f"{test}: 10% worse", worse, 100, table, half, "promote"))
            settings.append(Setting(f"{test}: unchanged", unchanged, 100, table, half, "hold"))
    # What the report recommends from the observed rates of 100-case runs.
    settings.append(
        Setting("unchanged, pilot", unchanged, 100, default, half, "hold", recommend=True)
    )
    return settings, recommended


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: a few repetitions")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per setting")
    parser.add_argument("--margin", type=float, default=0.05, help="max_regression")
    parser.add_argument("--base", type=float, default=0.85, help="base pass rate")
    parser.add_argument("--workers", type=int, default=2, help="CLI runs at a time")
    parser.add_argument(
        "--cases-per-run", type=int, default=6000, help="replicates packed into one CLI run"
    )
    parser.add_argument("--held-n", type=int, default=None, help="N for the unchanged candidate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps = args.reps or 4
        args.worse = [(0.10, [30, 100])]
        # The recommended N is a long run: a smoke run only checks the wiring.
        args.held_n = args.held_n or 100
    else:
        args.reps = args.reps or 300
        # Just past the margin, where a wrong PROMOTE is likeliest, and the 10 points.
        args.worse = [(0.06, [100, 300, 1000]), (0.10, [30, 100, 300])]
    settings, recommended = plan(args)
    started = time.perf_counter()
    answers = Answers()
    with OpenAIServer(responder=answers) as server:
        measure(settings, server, answers, args.workers, args.seed, args.cases_per_run)
    elapsed = time.perf_counter() - started
    headers = [
        "setting",
        "pass rates",
        "N",
        "replicates",
        "CLI runs",
        "error",
        "rate",
        "Wilson 95%",
    ]
    print(tabulate([s.row() for s in settings], headers=headers, tablefmt="github"))
    pilots = [r for s in settings if s.recommend for r in s.recommended]
    print(
        f"\nmargin {args.margin:g}, base pass rate {args.base:.0%}, half the cases share a "
        f"difficulty draw; recommended N at the true rates: {recommended}"
        + (
            f"; from 100-case runs the report recommends a median of {median(pilots):.0f} "
            f"(quartiles {quantiles(pilots, n=4)[0]:.0f}-{quantiles(pilots, n=4)[2]:.0f}, "
            f"{len(pilots)} runs that could still pass)"
            if len(pilots) >= 2
            else ""
        )
        + f"; {elapsed:.0f} s"
    )
    if args.json:
        data = {
            "margin": args.margin,
            "base": args.base,
            "recommended": recommended,
            "pilot_recommendations": pilots,
            "seconds": elapsed,
            "settings": [
                {**asdict(s), "pair": asdict(s.pair), "errors": s.errors} for s in settings
            ],
        }
        Path(args.json).write_text(json.dumps(data, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
