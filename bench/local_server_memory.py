"""How much memory the demo's base-model server holds over a run: its resident set size after
each call, with the prompt cache as ``examples/local-model/local_model.py`` configures it.

The demo sends the base model's server three kinds of conversation, interleaved: the prompt-only
target's (the ~4,100-token ``prompts/base.md``), the base target's (the one-sentence plain prompt)
and the judge's. This script sends that mix for the bundled suites' first inputs and prints the
server's RSS after every call (Linux: ``/proc/<pid>/status``)::

    .venv/bin/python bench/local_server_memory.py --calls 60
    .venv/bin/python bench/local_server_memory.py --calls 60 --cache-bytes 2147483648  # the old default

It installs the server like the live lane does (``.arcanos/llama-venv``) and starts its own on a
free port. The figures go to stdout as one JSON line per call, then a summary line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arcanos_eval import load_config, load_suites  # noqa: E402

SCRIPT = ROOT / "examples" / "local-model" / "local_model.py"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("arcanos_local_model", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ask(url: str, model: str, system: str, user: str) -> None:
    body = json.dumps(
        {
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0,
            "seed": 7,
            "max_tokens": 16,
        }
    ).encode()
    request = urllib.request.Request(
        f"{url}/chat/completions", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=900) as answer:
        answer.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--cache-bytes", type=int, default=None, help="override CACHE_BYTES")
    args = parser.parse_args()
    script = _script()
    if args.cache_bytes is not None:
        script.CACHE_BYTES = args.cache_bytes
    config = load_config(ROOT / "pyproject.toml")
    long_prompt = config.targets["prompt-only"].system_prompt or ""
    plain = config.targets["base"].system_prompt or ""
    judge = "You grade answers. Reply with one JSON object."
    inputs = [
        c.messages[-1]["content"]
        for s in load_suites(config.suites)
        for c in s.cases
        if isinstance(c.messages[-1].get("content"), str) and c.messages[-1]["content"].strip()
    ]
    installation = script.install(script.DEFAULT_VENV)
    with tempfile.TemporaryDirectory() as state:
        server = script.start_server(installation, port=0, state_dir=Path(state))
        try:
            start = rss_mb(server.pid)
            peak = start
            began = time.monotonic()
            for i in range(args.calls):
                system = (long_prompt, plain, judge)[i % 3]
                ask(server.base_url, server.model, system, inputs[i % len(inputs)][:2000])
                now = rss_mb(server.pid)
                peak = max(peak, now)
                print(json.dumps({"call": i + 1, "kind": ("long", "plain", "judge")[i % 3],
                                  "rss_mb": round(now, 1)}))  # fmt: skip
            print(
                json.dumps(
                    {
                        "cache_bytes": script.CACHE_BYTES,
                        "calls": args.calls,
                        "rss_start_mb": round(start, 1),
                        "rss_end_mb": round(now, 1),
                        "rss_peak_mb": round(peak, 1),
                        "seconds": round(time.monotonic() - began, 1),
                    }
                )
            )
        finally:
            script.stop_server(Path(state))
    return 0


if __name__ == "__main__":
    sys.exit(main())
