"""Charts: written when matplotlib is installed (the ``charts`` extra), reported as skipped when not."""

from __future__ import annotations

import pytest

from arcanos_eval.report import charts as charts_module
from arcanos_eval.report import evaluate, render_markdown, write_charts
from arcanos_eval.runlog import read_run_log
from tests.report.conftest import FIXTURES


def _evaluation():  # type: ignore[no-untyped-def]
    return evaluate(read_run_log(FIXTURES / "release.jsonl"))


def test_without_matplotlib_charts_are_skipped_and_the_report_says_how_to_get_them(
    tmp_path, monkeypatch
):
    def missing() -> None:
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(charts_module, "_figure_class", missing)
    result = write_charts(_evaluation(), tmp_path / "charts")
    assert result.files == () and not (tmp_path / "charts").exists()
    assert result.skipped == ("matplotlib is not installed (`pip install 'arcanos-eval[charts]'`).")
    text = render_markdown(_evaluation(), charts=result)
    assert "Skipped: matplotlib is not installed" in text


def test_charts_are_written_and_linked_relative_to_the_report(tmp_path):
    pytest.importorskip("matplotlib")
    report_dir = tmp_path / "out"
    result = write_charts(_evaluation(), report_dir / "charts", relative_to=report_dir)
    assert result.skipped is None
    assert [c.link for c in result.files] == [
        "charts/latency_cdf.png",
        "charts/pass_rate_by_category.png",
    ]
    for chart in result.files:
        assert chart.path.read_bytes().startswith(b"\x89PNG")
    text = render_markdown(_evaluation(), charts=result)
    assert "![Latency CDF per target](charts/latency_cdf.png)" in text
