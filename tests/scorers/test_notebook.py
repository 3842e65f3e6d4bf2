"""The scorers notebook runs top to bottom and prints its results table."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "examples" / "notebooks" / "scorers.ipynb"


def test_notebook_executes_and_prints_the_table() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    # Executing raises CellExecutionError on any failing cell.
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "stream"
    )
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "error"
    ]
    assert errors == []
    assert "| check      | answer" in printed
    assert "| refusal    | I can't grant admin rights.                | pass     |" in printed
    assert (
        '| schema     | {"category": "sudoku"}                     | FAIL     | '
        "1 violation: $.category: 'sudoku' is not one of"
    ) in printed
    assert "| latency_ms | (no latency measured)                      | FAIL     |" in printed
    assert "partial    rules      I can't share the admin password" in printed
    assert "| riddle                 |        1 |            0 |        1 |" in printed
