"""examples/notebooks/compare.ipynb runs top to bottom in a Jupyter kernel on this environment's
Python: it replays the bundled suites, prints the per-category table (the same counts as the
report's) and draws the bar chart. (scorers.ipynb runs in tests/scorers/test_notebook.py.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from arcanos_eval.compare import ALL_CATEGORIES, compare_records
from arcanos_eval.config import load_config
from arcanos_eval.runlog import read_run_log
from arcanos_eval.suite.loader import load_suites

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "notebooks" / "compare.ipynb"


def _execute(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra_cells: str) -> Any:
    """Run the notebook (with ``extra_cells`` appended) in a kernel started by this Python."""
    kernels = tmp_path / "jupyter" / "kernels" / "arcanos-test"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "arcanos-eval tests",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's run log lands here
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws PNGs
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    assert all(not cell.get("outputs") for cell in notebook.cells), "stored with outputs"
    notebook.cells.extend(nbformat.v4.new_code_cell(code) for code in extra_cells)  # type: ignore[no-untyped-call]
    # Executing raises CellExecutionError on any failing cell.
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="arcanos-test",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return notebook


def _outputs(notebook: Any) -> list[dict[str, Any]]:
    return [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]


def _printed(notebook: Any) -> str:
    return "".join(o.get("text", "") for o in _outputs(notebook) if o["output_type"] == "stream")


# The table as the notebook computed it, and where its run log is: read by the test, not shown.
DUMP = """
import json, sys
print("DUMP" + json.dumps({"python": sys.executable, "log": str(log_path),
                           "table": by_category.to_dict("index")}))
"""


@pytest.mark.slow  # a kernel start, a replay of 500 answers and a chart: about 5-8 s
def test_compare_notebook_prints_the_reports_counts_per_category_and_plots_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = _execute(NOTEBOOK, tmp_path, monkeypatch, DUMP)
    outputs = _outputs(notebook)
    assert [o for o in outputs if o["output_type"] == "error"] == []
    printed, _, dumped = _printed(notebook).partition("DUMP")
    data = json.loads(dumped)
    assert data["python"] == sys.executable
    log_path = Path(data["log"])
    assert log_path.parent.parent == tmp_path  # a log of its own making, in a temporary folder

    # Every category of the bundled suites shows in the printed table, beside the header.
    config = load_config(ROOT / "pyproject.toml")
    categories = {case.category for suite in load_suites(config.suites) for case in suite.cases}
    assert len(categories) == 5
    table_lines = printed[printed.index("base rate") :].splitlines()
    assert "fixed" in table_lines[0] and "regressed" in table_lines[0]
    assert {line.split()[0] for line in table_lines[2:] if line} == categories | {ALL_CATEGORIES}

    # The notebook's counts are the report's: compare_records over the log it wrote.
    log = read_run_log(log_path)
    assert len(log.results) == 750 and {r.response.origin for r in log.records()} == {"replayed"}
    stats = compare_records(log.records(), "base", "candidate").category_stats()
    table = data["table"]
    assert set(table) == {s.category for s in stats}
    for s in stats:
        row = table[s.category]
        assert row["base rate"] == pytest.approx(s.base.rate)
        assert row["candidate rate"] == pytest.approx(s.candidate.rate)
        assert row["fixed"] == s.transitions["fixed"]
        assert row["regressed"] == s.transitions["regressed"]
        assert row["paired"] == s.paired
        assert row["delta (pp)"] == pytest.approx(100 * (s.delta or 0.0))
    assert sum(table[c]["fixed"] + table[c]["regressed"] for c in categories) > 0

    # The bar chart was drawn.
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1 and len(images[0]["data"]["image/png"]) > 1000
