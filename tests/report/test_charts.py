"""Charts: written when matplotlib is installed (the ``charts`` extra), reported as skipped when not."""

from __future__ import annotations

import pytest

from arcanos_eval.cli import main
from arcanos_eval.report import charts as charts_module
from arcanos_eval.report import evaluate, render_markdown, write_charts
from arcanos_eval.runlog import read_run_log
from tests.conftest import loopback_pyproject, simple_cases, write_suite
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


@pytest.fixture
def project(tmp_path, openai_server, monkeypatch, test_key):
    (tmp_path / "pyproject.toml").write_text(loopback_pyproject(openai_server.base_url))
    write_suite(tmp_path / "suites", "demo", simple_cases(2))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_writes_the_charts_asked_for_without_a_markdown_report(project, capsys):
    pytest.importorskip("matplotlib")
    assert main(["run", "-q", "--charts", "out/charts"]) == 0
    written = sorted(p.name for p in (project / "out" / "charts").iterdir())
    assert written == ["latency_cdf.png", "pass_rate_by_category.png"]
    assert all((project / "out" / "charts" / n).read_bytes()[:4] == b"\x89PNG" for n in written)
    assert capsys.readouterr().err == ""


def test_run_links_its_charts_from_its_markdown_report(project):
    pytest.importorskip("matplotlib")
    assert main(["run", "-q", "--report", "out/report.md", "--charts", "out/charts"]) == 0
    text = (project / "out" / "report.md").read_text(encoding="utf-8")
    assert "![Latency CDF per target](charts/latency_cdf.png)" in text
    assert "![Pass rate per category](charts/pass_rate_by_category.png)" in text


def test_run_says_on_stderr_when_it_cannot_draw_the_charts(project, monkeypatch, capsys):
    def missing() -> None:
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(charts_module, "_figure_class", missing)
    assert main(["run", "-q", "--report", "report.md", "--charts", "charts"]) == 0
    assert capsys.readouterr().err == (
        "arcanos-eval: no charts written to charts: matplotlib is not installed "
        "(`pip install 'arcanos-eval[charts]'`).\n"
    )
    assert not (project / "charts").exists()
    assert "Skipped: matplotlib is not installed" in (project / "report.md").read_text()
