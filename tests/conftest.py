"""Shared helpers: suites written to tmp_path and run configurations pointing at a loopback server."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml

from arcanos_eval.config import RunConfig, TargetConfig

TEST_KEY = "sk-test-arcanos-0123456789abcdefghijklmnop"
KEY_ENV = "ARCANOS_TEST_API_KEY"


@pytest.fixture
def test_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A key-shaped secret in the environment: tests scan every artifact for it."""
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    return TEST_KEY


@contextlib.contextmanager
def hang_guard(seconds: float = 30.0, doing: str = "running") -> Iterator[None]:
    """Fail instead of hanging (only a hang breaks the generous bound; speed is measured in
    bench/): SIGALRM raises in the main thread, also inside the ``regex`` matcher, which looks for
    signals while it backtracks."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise AssertionError(f"still {doing} after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def loopback_pyproject(
    url: str,
    *,
    key_env: str | None = KEY_ENV,
    settings: str = "",
    candidate: str = "",
    candidate_url: str | None = None,
    pass_rate: float = 1.0,
    check_model: bool = False,
) -> str:
    """The pyproject.toml of a project whose targets ``base`` and ``candidate`` answer on the
    loopback server at ``url``: one happy-path gate, the invariants a loopback run cannot evidence
    waived. ``settings`` and ``candidate`` are extra lines of [tool.arcanos_eval] and of the
    candidate; ``key_env=None`` leaves the targets on OPENAI_API_KEY. The server answers to any
    model name, so the targets skip the pre-flight model check unless ``check_model``."""
    key = f'\napi_key_env = "{key_env}"' if key_env else ""
    key += f"\ncheck_model = {str(check_model).lower()}"
    return f"""
[tool.arcanos_eval]
suites = ["suites"]
golden = "golden"
cache = false
{settings}

[tool.arcanos_eval.targets.base]
model = "model-base"
base_url = "{url}"{key}

[tool.arcanos_eval.targets.candidate]
model = "model-candidate"
base_url = "{candidate_url or url}"{key}
{candidate}

[tool.arcanos_eval.gates]
pass_rate = {{ happy_path = {pass_rate} }}
min_cases = 1
waive = {{ schema = "no schema", data = "no training data", latency = "loopback latency" }}
"""


def write_suite(folder: Path, suite_id: str, cases: list[dict[str, Any]], **fields: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{suite_id}.yaml"
    document = {"id": suite_id, "version": 1, "category": "happy_path", **fields, "cases": cases}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def simple_cases(count: int, prefix: str = "case") -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}-{i}",
            "input": f"question number {i}",
            "checks": [{"contains": f"number {i}"}],
        }
        for i in range(count)
    ]


def target(name: str, base_url: str | None, **fields: Any) -> TargetConfig:
    """A target on the loopback server, which answers to any model name: the pre-flight check
    only connects, unless ``check_model=True``."""
    return TargetConfig(
        name=name,
        model=fields.pop("model", f"model-{name}"),
        base_url=base_url,
        api_key_env=KEY_ENV,
        system_prompt=fields.pop("system_prompt", f"You are {name}."),
        check_model=fields.pop("check_model", False),
        **fields,
    )


def _without(spec: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k != key}


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., RunConfig]:
    def build(
        base_url: str | None, *, targets: Mapping[str, dict[str, Any]] | None = None, **fields: Any
    ) -> RunConfig:
        specs = targets if targets is not None else {"base": {}, "candidate": {}}
        return RunConfig(
            root=tmp_path,
            golden=tmp_path / "golden",
            cache=tmp_path / ".arcanos" / "cache",
            # A target's own base_url (a second server) overrides the run's.
            targets={
                n: target(n, spec.get("base_url", base_url), **_without(spec, "base_url"))
                for n, spec in specs.items()
            },
            **{"max_retries": 3, "timeout_s": 5.0, **fields},
        )

    return build
