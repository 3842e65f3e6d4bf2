"""The live lane's handle on ``examples/local-model/local_model.py`` and the server it starts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "local-model" / "local_model.py"


def load_script(path: Path = SCRIPT, name: str = "arcanos_local_model") -> ModuleType:
    # The examples are standalone scripts in folders that are not packages: load them by path.
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


class LiveServer:
    """A server of the session (the base model, or with ``adapter`` the fine-tune): its
    address, and a restart that empties its prompt cache."""

    def __init__(
        self, script: ModuleType, installation: Any, state_dir: Path, adapter: Path | None = None
    ) -> None:
        self._script = script
        self._installation = installation
        self._state_dir = state_dir
        self._adapter = adapter
        self.server: Any = None

    @property
    def base_url(self) -> str:
        return str(self.server.base_url)

    @property
    def model(self) -> str:
        return str(self.server.model)

    def start(self) -> None:
        try:
            # Port 0: a free port, so a developer's own server on the default port is untouched.
            self.server = self._script.start_server(
                self._installation, port=0, state_dir=self._state_dir, adapter=self._adapter
            )
        except self._script.LocalModelError as exc:
            pytest.fail(
                f"the live lane could not start the local model server: {exc}", pytrace=False
            )

    def stop(self) -> None:
        self._script.stop_server(self._state_dir)
        self.server = None

    def restart(self) -> None:
        self.stop()
        self.start()
