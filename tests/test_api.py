"""The curated public API: ``__all__`` is exactly what the package exports, and it never imports
pytest."""

from __future__ import annotations

import subprocess
import sys

import arcanos_eval


def test_all_is_exactly_the_public_names():
    import __future__

    public = {
        name
        for name, value in vars(arcanos_eval).items()
        if not name.startswith("_")
        and not isinstance(value, type(sys))
        and not isinstance(value, __future__._Feature)
    }
    assert public | {"__version__"} == set(arcanos_eval.__all__)
    assert sorted(arcanos_eval.__all__) == arcanos_eval.__all__


def test_every_exported_name_resolves():
    for name in arcanos_eval.__all__:
        value = getattr(arcanos_eval, name)
        if name == "__version__":
            assert isinstance(value, str) and value
        else:  # the class or function of that name, not another one under its name
            assert value.__name__ == name and value.__module__.split(".")[0] == "arcanos_eval", name


def test_importing_the_package_does_not_import_pytest():
    code = "import sys, arcanos_eval, arcanos_eval.scorers; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_py_typed_is_shipped():
    from importlib.resources import files

    assert files("arcanos_eval").joinpath("py.typed").is_file()
    assert files("arcanos_eval").joinpath("suite/suite.schema.json").is_file()
