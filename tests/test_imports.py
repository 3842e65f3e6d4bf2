"""Imports point one way: down the flow load -> execute -> compare -> gate -> report, front-ends on
top, and never in a circle.

The check reads every module of the package with ``ast``, not by importing it: the imports that
count are those run when the module loads (not those under ``if TYPE_CHECKING:``, nor those inside
functions, which run on first use). A package counts with its submodules: ``arcanos_eval.report``
and ``arcanos_eval.report.cli`` share a layer. ``arcanos_eval/__init__.py`` is the public facade:
it may import anything (it does so lazily, see ``tests/test_api.py``), and nothing inside the
package may import it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import arcanos_eval

PACKAGE = "arcanos_eval"

# Low to high; a module may import its own layer or a lower one.
LAYERS: dict[str, tuple[str, ...]] = {
    "core": (
        "errors",
        "_crash",
        "_gc",
        "_bounded",
        "_bounded_yaml",
        "_fastcheck",
        "_jsonl",
        "_redact",
        "_schema_errors",
        "_paths",
        "model",
        "_version",
        "modes",
        "_progress",
    ),
    "load": ("config", "suite", "scorers", "contracts", "strategies", "data", "stats"),
    "targets": ("targets",),
    "execute": ("engine", "batch", "backends", "cost", "_preflight"),
    "run": (
        "runlog",
        "_dataframe",
        "run",
        "golden",
        "adhoc",
        "pairing",
        "calibration",
        "_interrupt",
        "fine_tunes",
    ),
    "compare": ("compare",),
    "gate": ("gates",),
    "report": ("report",),
    "session": ("session", "startup"),
    "front": (
        "cli",
        "_entry",
        "options",
        "pytest_plugin",
        "_items",
        "_xdist",
        "_fixtures",
        "testing",
    ),
}
FACADE = "facade"  # the package root: above every layer


def _rank(module: str) -> tuple[int, str]:
    if module == PACKAGE:
        return len(LAYERS), FACADE
    top = module.split(".")[1]
    for rank, (layer, members) in enumerate(LAYERS.items()):
        if top in members:
            return rank, layer
    raise LookupError(f"{module}: no layer; add {top!r} to LAYERS in tests/test_imports.py")


def package_modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root`` (the package folder), by dotted name."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _load_time_imports(body: Iterable[ast.stmt]) -> Iterable[ast.Import | ast.ImportFrom]:
    """Import statements run when the module loads: skips function bodies and the body of
    ``if TYPE_CHECKING:`` (its ``else`` runs); enters classes, ``try``, ``with`` and other ``if``."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _load_time_imports(node.orelse)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None) or ()
                for child in children:
                    if isinstance(child, (ast.excepthandler, ast.match_case)):
                        yield from _load_time_imports(child.body)
                yield from _load_time_imports(c for c in children if isinstance(c, ast.stmt))


def _existing(name: str, modules: Mapping[str, Path]) -> str:
    """The longest prefix of ``name`` that is a module (``a.b.func`` -> ``a.b``)."""
    while name not in modules and "." in name:
        name = name.rpartition(".")[0]
    return name


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports at load time.

    ``from pkg import name`` depends on ``pkg`` itself (its ``__init__`` must have run) and, when
    ``name`` is a submodule, on that submodule too; ``from pkg.mod import name`` on ``pkg.mod``.
    """
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _load_time_imports(tree.body):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            for name in names:
                if name == PACKAGE or name.startswith(PACKAGE + "."):
                    targets.add(_existing(name, modules))
        targets.discard(module)
        graph[module] = targets
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Each import cycle once, as a path ``[a, b, ..., a]`` (Tarjan's strongly connected parts)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                parts.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_path(graph, set(part)) for part in parts]


def _cycle_path(graph: Mapping[str, Iterable[str]], part: set[str]) -> list[str]:
    """A shortest way round a strongly connected part, from its first module back to it."""
    start = min(part)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    return [*paths[node], start]
                if nxt in part and nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError("not a cycle")  # pragma: no cover


def back_edges(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """``a -> b (layer x -> layer y)`` for every import of a higher layer."""
    found = []
    for module in sorted(graph):
        if module == PACKAGE:
            continue  # the facade may import anything
        rank, layer = _rank(module)
        for target in sorted(graph[module]):
            target_rank, target_layer = _rank(target)
            if target_rank > rank:
                found.append(
                    f"{module} -> {target} (layer {rank} {layer} -> layer {target_rank} "
                    f"{target_layer})"
                )
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(package_modules(Path(arcanos_eval.__file__).parent))


def test_every_module_has_a_layer(graph: dict[str, set[str]]) -> None:
    for module in graph:
        _rank(module)


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    found = [" -> ".join(cycle) for cycle in cycles(graph)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_imports_point_down_the_layers(graph: dict[str, set[str]]) -> None:
    found = back_edges(graph)
    assert not found, "imports against the layer order:\n" + "\n".join(found)


# The checks themselves, on synthetic packages.


def _write(root: Path, files: Mapping[str, str]) -> dict[str, set[str]]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return import_graph(package_modules(root / PACKAGE))


def test_a_cycle_is_reported_with_its_path(tmp_path: Path) -> None:
    graph = _write(
        tmp_path,
        {
            "arcanos_eval/__init__.py": "",
            "arcanos_eval/engine.py": "from arcanos_eval.batch import x\n",
            "arcanos_eval/batch.py": "import arcanos_eval.backends\n",
            "arcanos_eval/backends.py": "from arcanos_eval import engine\n",
            "arcanos_eval/errors.py": "",
        },
    )
    assert cycles(graph) == [
        [
            "arcanos_eval.backends",
            "arcanos_eval.engine",
            "arcanos_eval.batch",
            "arcanos_eval.backends",
        ]
    ]


def test_a_package_imported_by_its_own_submodule_is_a_cycle(tmp_path: Path) -> None:
    # ``from pkg import _mod`` inside pkg runs pkg's __init__: testing -> server -> _wire user.
    graph = _write(
        tmp_path,
        {
            "arcanos_eval/__init__.py": "",
            "arcanos_eval/testing/__init__.py": "from arcanos_eval.testing.server import S\n",
            "arcanos_eval/testing/server.py": "from arcanos_eval.testing import _wire\n",
            "arcanos_eval/testing/_wire.py": "",
        },
    )
    assert cycles(graph) == [
        ["arcanos_eval.testing", "arcanos_eval.testing.server", "arcanos_eval.testing"]
    ]


def test_a_back_edge_is_reported_and_deferred_imports_are_not(tmp_path: Path) -> None:
    graph = _write(
        tmp_path,
        {
            "arcanos_eval/__init__.py": "from arcanos_eval.cli import main\n",
            "arcanos_eval/cli.py": "import arcanos_eval.engine\n",
            "arcanos_eval/engine.py": (
                "from typing import TYPE_CHECKING\n"
                "from arcanos_eval import errors\n"
                "from arcanos_eval.report.markdown import render\n"
                "if TYPE_CHECKING:\n"
                "    from arcanos_eval.gates import Verdict\n"
                "else:\n"
                "    from arcanos_eval.compare import compare\n"
                "def later():\n"
                "    from arcanos_eval.session import Session\n"
                "class Holder:\n"
                "    from arcanos_eval.run import run\n"
            ),
            **dict.fromkeys(
                [
                    f"arcanos_eval/{name}.py"
                    for name in ("errors", "gates", "compare", "session", "run")
                ],
                "",
            ),
            "arcanos_eval/report/__init__.py": "",
            "arcanos_eval/report/markdown.py": "from ..errors import X\n",
        },
    )
    assert back_edges(graph) == [
        "arcanos_eval.engine -> arcanos_eval (layer 3 execute -> layer 10 facade)",
        "arcanos_eval.engine -> arcanos_eval.compare (layer 3 execute -> layer 5 compare)",
        "arcanos_eval.engine -> arcanos_eval.report.markdown (layer 3 execute -> layer 7 report)",
        "arcanos_eval.engine -> arcanos_eval.run (layer 3 execute -> layer 4 run)",
    ]
    assert graph["arcanos_eval.report.markdown"] == {"arcanos_eval.errors"}
    # engine reads ``errors`` through the facade, which imports cli, which imports engine.
    assert cycles(graph) == [
        ["arcanos_eval", "arcanos_eval.cli", "arcanos_eval.engine", "arcanos_eval"]
    ]


def test_a_module_without_a_layer_is_reported(tmp_path: Path) -> None:
    graph = _write(tmp_path, {"arcanos_eval/__init__.py": "", "arcanos_eval/utils.py": ""})
    with pytest.raises(LookupError, match="add 'utils' to LAYERS"):
        back_edges(graph)


def test_the_plugin_costs_an_unrelated_pytest_run_no_heavy_import(tmp_path: Path) -> None:
    # pytest loads the plugin (and the fixtures it registers) in every run of an environment that
    # has the package: none of the engine, the targets, the SDK or the test server may come with it.
    import subprocess
    import sys

    (tmp_path / "test_x.py").write_text("def test_ok():\n    assert True\n")
    script = (
        "import sys, pytest\n"
        "code = pytest.main(['-q', '-p', 'no:cacheprovider', sys.argv[1]])\n"
        "print(sorted(m for m in sys.modules if m.startswith('arcanos_eval')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(ast.literal_eval(out.strip().splitlines()[-1]))
    assert "arcanos_eval.pytest_plugin" in loaded  # the plugin did load
    heavy = {"engine", "run", "session", "targets", "config", "testing.server", "scorers"}
    assert not {f"arcanos_eval.{m}" for m in heavy} & loaded, sorted(loaded)
