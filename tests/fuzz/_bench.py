"""``bench/hostile.py`` as a module: the fuzz lane uses its mutations and checks its plan."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
NAME = "arcanos_bench_hostile"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(NAME, ROOT / "bench" / "hostile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


hostile = sys.modules.get(NAME) or _load()
