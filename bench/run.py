"""Performance benchmark: what the harness adds to the model's own latency.

Starts the loopback OpenAI-protocol server with a fixed latency, generates a project of N cases x 2
targets (schema and content checks), and times the real front-ends (``arcanos-eval run`` and
``pytest --arcanos-suite``) in fresh child processes, so wall time and peak RSS belong to one run.
Prints a table of each figure against its target and ideal, and writes the figures as JSON.

    python bench/run.py                 # the full workload (a few minutes on 2 cores)
    python bench/run.py --quick         # a small workload, for a smoke test
    python bench/run.py --only replay   # one measure
    python bench/run.py --only harness --profile prof/   # pyinstrument profiles of the CLI runs
    python bench/breakdown.py prof/*.pyisession          # their time by component

See bench/README.md for the measured figures and what limits them.
"""

from __future__ import annotations

import argparse
import compileall
import heapq
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tabulate import tabulate

from arcanos_eval.runlog import read_run_log
from arcanos_eval.testing import ChatRequest, Fault, OpenAIServer, Reply

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV = "ARCANOS_BENCH_KEY"
SCHEMA = {
    "type": "object",
    "required": ["label", "echo"],
    "additionalProperties": False,
    "properties": {"label": {"enum": ["ok"]}, "echo": {"type": "string"}},
}
PYPROJECT = """
[tool.arcanos_eval]
suites = ["suites"]
golden = "golden"
cache = {cache}
concurrency = {concurrency}
max_retries = 6

[tool.arcanos_eval.batch]
poll_interval_s = 0.05

[tool.arcanos_eval.targets.base]
model = "bench-base"
system_prompt = "You are the base."
base_url = "{url}"
check_model = false  # the loopback server answers to any model name
api_key_env = "{env}"

[tool.arcanos_eval.targets.candidate]
model = "bench-candidate"
system_prompt = "You are the candidate."
base_url = "{url}"
check_model = false  # the loopback server answers to any model name
api_key_env = "{env}"

[tool.arcanos_eval.gates]
pass_rate = {{ happy_path = 0.95 }}
max_regression = 0.0
schema_violations = 0
waive = {{ data = "a benchmark of the harness: no training data", latency = "the loopback server's latency is set by the benchmark, not measured from a model" }}
"""
# Runs one command and reports its wall time and its peak RSS (the child's own high-water mark).
_MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "wall = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
    "print(json.dumps({'wall_s': wall, 'rss_mb': rss, 'rc': p.returncode,"
    " 'tail': (p.stdout + p.stderr)[-1500:]}))\n"
)


def answer(request: ChatRequest) -> Reply:
    """A valid, deterministic answer that the schema and content checks pass."""
    return Reply.json({"label": "ok", "echo": request.prompt})


@dataclass
class Figure:
    """One measured figure against its target."""

    measure: str
    value: float
    unit: str
    target: str
    ideal: float | None = None
    meets: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Workload:
    """The sizes of one benchmark run: the issue's figures, or a small one for the smoke test."""

    cases: int  # per target, for the live measures
    replay_cases: int  # per target, for replay and RSS
    latency_s: float = 0.2
    concurrency: int = 64


def measured(cwd: Path, *args: str) -> dict[str, Any]:
    """Time one command in ``cwd``, in a child process of a fresh measuring process."""
    env = {**os.environ, KEY_ENV: "bench-key-not-secret"}
    # Bytecode caches on, as on a usual machine: without them every run would recompile what
    # it imports, and pytest would rewrite the assertions of every plugin module again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("GITHUB_STEP_SUMMARY", None)
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    if result["rc"] not in (0, 1):  # 1: the gates' verdict, not a failure of the run
        raise RuntimeError(f"{' '.join(args)} exited {result['rc']}:\n{result['tail']}")
    return result


class Project:
    """A generated project folder: pyproject.toml pointing at a server, and one suite."""

    profile: Path | None = None  # when set, CLI runs are profiled (pyinstrument) into this folder

    def __init__(self, root: Path, cases: int) -> None:
        self.root = root
        suites = root / "suites"
        suites.mkdir(parents=True)
        doc = {
            "id": "bench",
            "version": 1,
            "category": "happy_path",
            "response_schema": SCHEMA,
            "defaults": {"checks": ["schema"]},
            "cases": [
                {
                    "id": f"case-{i}",
                    "input": f"question {i}: when does the raid start?",
                    "checks": [{"contains": f"question {i}:"}],
                }
                for i in range(cases)
            ],
        }
        (suites / "bench.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    def configure(self, server: OpenAIServer, *, concurrency: int, cache: bool) -> None:
        text = PYPROJECT.format(
            url=server.base_url,
            env=KEY_ENV,
            concurrency=concurrency,
            cache='".arcanos/cache"' if cache else "false",
        )
        (self.root / "pyproject.toml").write_text(text, encoding="utf-8")

    def run(self, *args: str) -> dict[str, Any]:
        return measured(self.root, *args)

    def profiled(self, label: str, command: list[str]) -> list[str]:
        """The command, run under pyinstrument when profiles were asked for."""
        if Project.profile is None:
            return command
        Project.profile.mkdir(parents=True, exist_ok=True)
        session = Project.profile / f"{self.root.name}-{label}.pyisession"
        for n in range(2, 100):  # a second run with the same arguments keeps the first profile
            if not session.exists():
                break
            session = Project.profile / f"{self.root.name}-{label}-{n}.pyisession"
        if command[0] == sys.executable:  # `python -m pytest` becomes `pyinstrument -m pytest`
            command = command[1:]
        return [sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session),
                *command]  # fmt: skip

    def cli(self, *args: str) -> dict[str, Any]:
        command = [str(Path(sys.executable).with_name("arcanos-eval")), "run", "-q", *args]
        return self.run(*self.profiled("cli-" + "-".join(args[:2]).strip("-"), command))

    def pytest(self, *args: str) -> dict[str, Any]:
        command = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-p", "no:xdist", "--arcanos-suite", "suites", "-o", "addopts=",
            "--arcanos-gc-freeze",  # the speed setting for large suites (opt-in under pytest)
            *args,
        ]  # fmt: skip
        return self.run(*self.profiled("pytest-" + "-".join(args[:2]).strip("-"), command))

    def lost(self, log: str, cases: int) -> int:
        """Cases x targets with no answer in the run log (missing or errored).

        Distinct keys are counted, so a case answered twice cannot hide one never answered.
        """
        records = read_run_log(self.root / log).records()
        expected = {(f"bench::case-{i}", t) for i in range(cases) for t in ("base", "candidate")}
        answered = {(r.key[0], r.target) for r in records if not r.errored}
        return len(expected - answered)


@contextmanager
def serving(**knobs: Any) -> Iterator[OpenAIServer]:
    knobs.setdefault("log_limit", 1000)
    with OpenAIServer(responder=answer, **knobs) as server:
        yield server


def _ratio(value: float, ideal: float) -> float:
    return value / ideal if ideal > 0 else math.inf


def measure_live(w: Workload, tmp: Path) -> list[Figure]:
    """Wall time against calls x latency / concurrency, through the CLI and through pytest."""
    calls = 2 * w.cases
    ideal = calls * w.latency_s / w.concurrency
    figures = []
    for front in ("cli", "pytest"):
        project = Project(tmp / f"live-{front}", w.cases)
        with serving(latency_s=w.latency_s) as server:
            project.configure(server, concurrency=w.concurrency, cache=False)
            if front == "cli":
                result = project.cli("--mode", "live", "--log", "run.jsonl")
            else:
                result = project.pytest("--arcanos-mode", "live", "--arcanos-log", "run.jsonl")
            requests = server.total_requests
        ratio = _ratio(result["wall_s"], ideal)
        figures.append(
            Figure(f"live wall / ideal ({front})", ratio, "x", "<= 1.05", 1.0, ratio <= 1.05,
                   {"wall_s": result["wall_s"], "ideal_s": ideal, "calls": calls,
                    "requests": requests, "lost": project.lost("run.jsonl", w.cases)})
        )  # fmt: skip
    return figures


def measure_floor(w: Workload, tmp: Path) -> list[Figure]:
    """The live and harness workloads through the bare SDK (``bench/sdk_floor.py``): what the
    official ``openai`` SDK alone costs on this machine, below which no harness built on it can go.
    """
    calls = 2 * w.cases
    ideal = calls * w.latency_s / w.concurrency
    figures = []
    for latency in (w.latency_s, 0.0):
        with serving(latency_s=latency) as server:
            out = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "sdk_floor.py"), server.base_url,
                 str(w.cases), str(w.concurrency)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            requests = server.total_requests
        result = json.loads(out.stdout)
        detail = {"wall_s": result["wall_s"], "sdk_import_s": result["import_s"],
                  "requests": requests}  # fmt: skip
        if latency:
            ratio = _ratio(result["wall_s"], ideal)
            figures.append(Figure("bare SDK: live wall / ideal", ratio, "x", "reference", 1.0,
                                  None, {**detail, "ideal_s": ideal}))  # fmt: skip
        else:
            per_call = 1000 * result["wall_s"] / calls
            figures.append(Figure(f"bare SDK: ms per call at 0 ms, concurrency {w.concurrency}",
                                  per_call, "ms", "reference", 0.0, None, detail))  # fmt: skip
    return figures


_TRIVIAL_ITEMS = """
import pytest


class Item(pytest.Item):
    def runtest(self):
        pass

    def reportinfo(self):
        return self.path, 0, self.name


class Suite(pytest.File):
    def collect(self):
        for i in range({items}):
            yield Item.from_parent(self, name=f"case-{{i}}[base]")


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".yaml":
        return Suite.from_parent(parent, path=file_path)
"""


def measure_pytest_floor(w: Workload, tmp: Path) -> list[Figure]:
    """pytest alone: as many items as a replay yields (a case item per target and a comparison
    item per case), each doing nothing, with the options the replay runs with."""
    items = 3 * w.replay_cases
    root = tmp / "pytest-floor"
    root.mkdir()
    (root / "conftest.py").write_text(_TRIVIAL_ITEMS.format(items=items), encoding="utf-8")
    (root / "suite.yaml").write_text("", encoding="utf-8")
    result = measured(
        root, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
        "-p", "no:arcanos", "-o", "addopts=", "suite.yaml",
    )  # fmt: skip
    return [Figure(f"bare pytest: {items} empty items", result["wall_s"], "s", "reference",
                   None, None, {"rss_mb": result["rss_mb"]})]  # fmt: skip


def measure_harness(w: Workload, tmp: Path) -> list[Figure]:
    """Milliseconds per call when the model answers at once: all of it is harness and HTTP.

    At concurrency 1 nothing overlaps, so the figure is the honest cost of one call (SDK, loopback
    HTTP, the server's own CPU on the same machine, engine, scoring, run log); at the workload's
    concurrency it is the throughput cost. The process start-up (imports, config, suite loading) is
    timed on its own so it can be told apart from the per-call cost.
    """
    calls = 2 * w.cases
    startup = Project(tmp / "startup", 1)
    with serving(latency_s=0.0) as server:
        startup.configure(server, concurrency=1, cache=False)
        start = startup.cli("--mode", "live", "--log", "run.jsonl")["wall_s"]
    figures = []
    for concurrency in (w.concurrency, 1):
        project = Project(tmp / f"harness-c{concurrency}", w.cases)
        with serving(latency_s=0.0) as server:
            project.configure(server, concurrency=concurrency, cache=False)
            result = project.cli("--mode", "live", "--log", "run.jsonl")
        per_call = 1000 * result["wall_s"] / calls
        figures.append(
            Figure(
                f"harness per live call at 0 ms, concurrency {concurrency} (cli)",
                per_call,
                "ms",
                "<= 1.5",
                0.0,
                per_call <= 1.5,
                {
                    "wall_s": result["wall_s"],
                    "calls": calls,
                    "startup_s": start,
                    "ms_per_call_after_startup": 1000 * (result["wall_s"] - start) / calls,
                    "lost": project.lost("run.jsonl", w.cases),
                },
            )
        )
    return figures


def measure_replay(w: Workload, tmp: Path) -> list[Figure]:
    """Record golden for many cases once, then replay + score + gate + report, CLI and pytest."""
    project = Project(tmp / "replay", w.replay_cases)
    with serving(latency_s=0.0) as server:
        project.configure(server, concurrency=w.concurrency, cache=False)
        record = project.cli("--mode", "record", "--log", "record.jsonl")
    cli = project.cli("--mode", "replay", "--report", "report.md", "--log", "cli.jsonl")
    pytest = project.pytest(
        "--arcanos-mode", "replay", "--arcanos-report", "report-pytest.md",
        "--arcanos-log", "pytest.jsonl",
    )  # fmt: skip
    n = w.replay_cases
    return [
        Figure(f"replay {n} x 2 (cli)", cli["wall_s"], "s", "<= 5", None, cli["wall_s"] <= 5,
               {"lost": project.lost("cli.jsonl", n), "record_wall_s": record["wall_s"]}),
        Figure(f"replay {n} x 2 (pytest)", pytest["wall_s"], "s", "<= 15", None,
               pytest["wall_s"] <= 15, {"lost": project.lost("pytest.jsonl", n)}),
        Figure(f"peak RSS, replay {n} x 2 (cli)", cli["rss_mb"], "MB", "<= 150", None,
               cli["rss_mb"] <= 150, {"pytest_rss_mb": pytest["rss_mb"]}),
    ]  # fmt: skip


def measure_cached(w: Workload, tmp: Path) -> list[Figure]:
    """A second identical run answered from the local cache: no request at all."""
    project = Project(tmp / "cached", w.cases)
    with serving(latency_s=0.0) as server:
        project.configure(server, concurrency=w.concurrency, cache=True)
        project.cli("--mode", "auto", "--log", "first.jsonl")
        before = server.total_requests
        again = project.cli("--mode", "auto", "--log", "again.jsonl")
        made = server.total_requests - before
    return [
        Figure(f"cached re-run of {2 * w.cases} calls (cli)", again["wall_s"], "s", "<= 1",
               None, again["wall_s"] <= 1 and made == 0,
               {"requests": made, "lost": project.lost("again.jsonl", w.cases)})
    ]  # fmt: skip


def perfect_client_s(
    server: OpenAIServer, calls: int, latency_s: float, concurrency: int, *, retry_after_s: float
) -> float:
    """The wall time of a client that costs nothing, on the server's own fault draws.

    Every request takes exactly ``latency_s`` and holds one of ``concurrency`` slots; a faulted one
    is retried exactly ``retry_after_s`` after its answer, ahead of first attempts (as the engine
    does); requests are numbered in the order they start, as the server numbers them. No client
    that waits out Retry-After, with the same scheduling, can end sooner on these faults.
    """
    in_flight: list[tuple[float, bool]] = []  # (answer time, faulted)
    retries: list[float] = []  # times the waiting retries may start
    now, number, fresh, done, free = 0.0, 0, calls, 0, concurrency
    while done < calls:
        while free and ((retries and retries[0] <= now) or fresh):
            if retries and retries[0] <= now:
                heapq.heappop(retries)
            else:
                fresh -= 1
            number += 1
            free -= 1
            heapq.heappush(in_flight, (now + latency_s, server.fault_for(number) is not None))
        events = [in_flight[0][0]] if in_flight else []
        if retries and free:
            events.append(retries[0])
        now = min(events)
        while in_flight and in_flight[0][0] <= now:
            answered, faulted = heapq.heappop(in_flight)
            free += 1
            if faulted:
                heapq.heappush(retries, answered + retry_after_s)
            else:
                done += 1
    return now


def measure_storm(w: Workload, tmp: Path) -> list[Figure]:
    """10% of requests answered 429 with Retry-After: 1; nothing may be lost."""
    project = Project(tmp / "storm", w.cases)
    calls = 2 * w.cases
    ideal = calls * w.latency_s / w.concurrency
    storm = {Fault.rate_limit(1.0): 0.10}
    with serving(latency_s=w.latency_s, fault_rates=storm, log_limit=None) as server:
        project.configure(server, concurrency=w.concurrency, cache=False)
        result = project.cli("--mode", "live", "--log", "run.jsonl")
        requests = server.total_requests
        attempts = Counter(
            (r.model, json.dumps(r.body.get("messages"))) for r in server.requests if r.body
        )
    ratio = _ratio(result["wall_s"], ideal)
    lost = project.lost("run.jsonl", w.cases)
    # What no client that waits out Retry-After can beat: the requests made (429s included, each
    # answered after the latency) at full concurrency, and the longest chain of 429s on one call.
    requests_s = requests * w.latency_s / w.concurrency
    chain_s = max(a * w.latency_s + (a - 1) * 1.0 for a in attempts.values())
    perfect_s = perfect_client_s(server, calls, w.latency_s, w.concurrency, retry_after_s=1.0)
    return [
        Figure("10% 429 storm, wall / ideal (cli)", ratio, "x", "<= 1.3, 0 lost", 1.0,
               ratio <= 1.3 and lost == 0,
               {"wall_s": result["wall_s"], "ideal_s": ideal, "requests": requests,
                "retried": requests - calls, "lost": lost, "requests_bound_s": requests_s,
                "perfect_client_s": perfect_s, "perfect_client_x": perfect_s / ideal,
                "longest_chain_s": chain_s, "most_attempts": max(attempts.values())})
    ]  # fmt: skip


def measure_batch(w: Workload, tmp: Path) -> list[Figure]:
    """The same calls through the Batch API endpoints of the loopback server."""
    project = Project(tmp / "batch", w.cases)
    with serving(latency_s=0.0, batch_polls=0) as server:
        project.configure(server, concurrency=w.concurrency, cache=False)
        result = project.cli("--batch", "--log", "run.jsonl")
        detail = {"requests": server.total_requests, "batches": server.batches_created}
    detail["lost"] = project.lost("run.jsonl", w.cases)
    return [Figure(f"batch mode, {2 * w.cases} calls (cli)", result["wall_s"], "s",
                   "reported", None, None, detail)]  # fmt: skip


MEASURES: dict[str, Callable[[Workload, Path], list[Figure]]] = {
    "floor": measure_floor,
    "pytest-floor": measure_pytest_floor,
    "live": measure_live,
    "harness": measure_harness,
    "replay": measure_replay,
    "cached": measure_cached,
    "storm": measure_storm,
    "batch": measure_batch,
}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "date": time.strftime("%Y-%m-%d", time.gmtime())}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small workload (smoke test)")
    parser.add_argument("--only", choices=sorted(MEASURES), action="append", help="measure(s)")
    parser.add_argument(
        "--json", default=str(ROOT / "bench" / "results.json"), help="where the figures go (JSON)"
    )
    parser.add_argument(
        "--profile", type=Path, help="write pyinstrument sessions of the CLI and pytest runs here"
    )
    parser.add_argument("--cases", type=int, help="cases per target for the live measures")
    parser.add_argument("--replay-cases", type=int, help="cases per target for replay and RSS")
    args = parser.parse_args(argv)
    Project.profile = args.profile.resolve() if args.profile else None
    workload = (
        Workload(cases=50, replay_cases=200, latency_s=0.05, concurrency=16)
        if args.quick
        else Workload(cases=2000, replay_cases=10_000)
    )
    if args.cases:
        workload.cases = args.cases
    if args.replay_cases:
        workload.replay_cases = args.replay_cases
    figures: list[Figure] = []
    # Byte-compile the package first, as an installed package is: otherwise the first measured
    # run of a fresh checkout would pay for compiling every module.
    compileall.compile_dir(ROOT / "arcanos_eval", quiet=1)
    with tempfile.TemporaryDirectory(prefix="arcanos-bench-") as tmp:
        for name in args.only or list(MEASURES):
            started = time.perf_counter()
            figures.extend(MEASURES[name](workload, Path(tmp)))
            print(f"{name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rows = [
        (f.measure, f"{f.value:.3f} {f.unit}", f.target,
         "" if f.ideal is None else f"{f.ideal:g}",
         {True: "yes", False: "no", None: ""}[f.meets],
         ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in f.detail.items()))
        for f in figures
    ]  # fmt: skip
    print(tabulate(rows, headers=["measure", "value", "target", "ideal", "meets", "detail"],
                   tablefmt="github"))  # fmt: skip
    data = {
        "machine": machine(),
        "workload": asdict(workload),
        "figures": [asdict(f) for f in figures],
    }
    Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
