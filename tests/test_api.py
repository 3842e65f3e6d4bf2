"""The curated public API: ``__all__`` is exactly what the package exports, and it never imports
pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import arcanos_eval


def test_all_is_exactly_the_public_names():
    import __future__

    # Names resolve on first use: read them all, then nothing else public may be in the module
    # but its submodules.
    for name in arcanos_eval.__all__:
        getattr(arcanos_eval, name)
    public = {
        name
        for name, value in vars(arcanos_eval).items()
        if not name.startswith("_")
        and not isinstance(value, type(sys))
        and not isinstance(value, __future__._Feature)
    }
    assert public | {"__version__"} == set(arcanos_eval.__all__)
    assert sorted(arcanos_eval.__all__) == arcanos_eval.__all__
    assert set(arcanos_eval.__all__) <= set(dir(arcanos_eval))


def test_every_exported_name_resolves():
    for name in arcanos_eval.__all__:
        value = getattr(arcanos_eval, name)
        if name == "__version__":
            assert isinstance(value, str) and value
        else:  # the class or function of that name, not another one under its name
            assert value.__name__ == name and value.__module__.split(".")[0] == "arcanos_eval", name


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="no attribute 'execute'"):
        _ = arcanos_eval.execute
    assert not hasattr(arcanos_eval, "Verdict")


def test_lazy_sources_match_the_imports_type_checkers_read():
    import ast

    tree = ast.parse(Path(arcanos_eval.__file__).read_text(encoding="utf-8"))
    declared = {
        alias.asname or alias.name: node.module
        for block in tree.body
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert declared == arcanos_eval._SOURCES
    assert set(declared) | {"__version__"} == set(arcanos_eval.__all__)


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


HEAVY = ("openai", "deepdiff", "hypothesis", "pytest", "jsonschema", "yaml")


def test_importing_the_package_loads_nothing_but_its_version():
    loaded = _loaded_after("import arcanos_eval")
    ours = {name for name in loaded if name.partition(".")[0] == "arcanos_eval"}
    assert ours == {"arcanos_eval", "arcanos_eval._version"}
    assert not {name.partition(".")[0] for name in loaded} & set(HEAVY)


def test_importing_the_scorers_loads_no_engine_target_batch_or_run_code():
    loaded = _loaded_after("import arcanos_eval.scorers")
    ours = {name for name in loaded if name.partition(".")[0] == "arcanos_eval"}
    layers_above = ("targets", "engine", "batch", "backends", "run", "runlog", "golden", "session")
    assert not {
        name for name in ours if name.split(".")[1:2] and name.split(".")[1] in layers_above
    }
    assert not {name.partition(".")[0] for name in loaded} & {"openai", "pytest", "hypothesis"}


def test_reading_a_name_loads_only_its_module_chain():
    loaded = _loaded_after("import arcanos_eval; arcanos_eval.SuiteError")
    assert "arcanos_eval.errors" in loaded
    assert not {"arcanos_eval.run", "arcanos_eval.engine", "openai"} & loaded


def test_py_typed_is_shipped():
    from importlib.resources import files

    assert files("arcanos_eval").joinpath("py.typed").is_file()
    assert files("arcanos_eval").joinpath("suite/suite.schema.json").is_file()


def test_every_error_class_is_in_the_tree_and_keeps_its_builtin_twin():
    from arcanos_eval import errors

    exported = {name: getattr(errors, name) for name in errors.__all__}
    classes = {
        name: obj
        for name, obj in exported.items()
        if isinstance(obj, type) and issubclass(obj, BaseException)
    }
    # Besides the errors: their exit statuses and the phrasing of an unknown name.
    assert set(exported) - set(classes) == {"ExitCode", "quote", "shorten", "unknown_name_message"}
    assert all(issubclass(cls, errors.ArcanosError) for cls in classes.values())
    # ``except ValueError`` (or TypeError, LookupError...) written before the tree keeps working.
    twins = {
        "UsageError": (ValueError,),
        "ArgumentError": (ValueError, TypeError),
        "ScorerArgumentError": (ValueError, TypeError, errors.ArgumentError),
        "UnknownNameError": (ValueError, LookupError),
        "UnsupportedError": (ValueError, NotImplementedError),
        "MissingExtraError": (ImportError,),
        "ModelCallError": (RuntimeError,),
        "ModelAnswerError": (ValueError,),
        "GoldenStoreError": (RuntimeError,),
        "LoopbackServerError": (RuntimeError,),
    }
    for name, bases in twins.items():
        assert all(issubclass(classes[name], base) for base in bases), name
    # A missing extra is no bad argument: ``bind_check`` rewraps ValueError as one.
    assert not issubclass(errors.MissingExtraError, ValueError)
    # Each class is drawn in the module docstring's tree.
    doc = errors.__doc__ or ""
    assert all(f"── {name}" in doc for name in classes if name != "ArcanosError")


# Raises of built-in exception types that stay: signals raised and caught inside the package.
# (module, enclosing function, exception)
INTERNAL_RAISES = {
    # _fastcheck refuses a schema it cannot compile; scorers/_schema.py catches it and falls back
    # to jsonschema.
    ("arcanos_eval/_fastcheck.py", "*", "NotImplementedError"),
    ("arcanos_eval/batch.py", "_TargetJob._retrying", "AssertionError"),  # unreachable
    ("arcanos_eval/strategies.py", "_json_decode", "ValueError"),  # caught by _Template.unwrap
    # json's parse_constant hook: json.loads raises it, as for any invalid JSON, to its caller
    ("arcanos_eval/model/_response.py", "_not_a_number", "ValueError"),
    ("arcanos_eval/__init__.py", "__getattr__", "AttributeError"),  # PEP 562 asks for this one
    ("arcanos_eval/testing/__init__.py", "__getattr__", "AttributeError"),  # and here
}


def _builtin_raises():
    import ast
    import builtins
    from pathlib import Path

    root = Path(arcanos_eval.__file__).parent
    found = []

    def visit(node, scope):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, (*scope, child.name))
                continue
            if isinstance(child, ast.Raise) and child.exc is not None:
                exc = child.exc.func if isinstance(child.exc, ast.Call) else child.exc
                kind = getattr(builtins, exc.id, None) if isinstance(exc, ast.Name) else None
                if isinstance(kind, type) and issubclass(kind, BaseException):
                    found.append((path, ".".join(scope), exc.id, child.lineno))
            visit(child, scope)

    for file in sorted(root.rglob("*.py")):
        path = f"arcanos_eval/{file.relative_to(root).as_posix()}"
        visit(ast.parse(file.read_text(encoding="utf-8")), ())
    return found


def test_deliberate_errors_derive_from_arcanos_error():
    allowed = INTERNAL_RAISES
    stray = [
        f"{path}:{line} {scope}: raise {name}"
        for path, scope, name, line in _builtin_raises()
        if (path, scope, name) not in allowed and (path, "*", name) not in allowed
    ]
    assert not stray, "raise a class of arcanos_eval.errors instead:\n" + "\n".join(stray)


def test_public_class_names_are_unique_across_the_package():
    # One Verdict (the release's), one ToolCall (the answer's): a second class of the same name is
    # a trap for anyone who imports the wrong one.
    import ast
    from collections import defaultdict
    from pathlib import Path

    root = Path(arcanos_eval.__file__).parent
    where = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where[node.name].append(f"{path.relative_to(root)}:{node.lineno}")
    shared = {name: places for name, places in where.items() if len(places) > 1}
    assert not shared, shared
