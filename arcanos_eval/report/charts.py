"""Charts beside the report: latency CDF per target and pass rate per category, base vs candidate.

Plotting is optional (``pip install 'arcanos-eval[charts]'`` installs matplotlib). Without it,
:func:`write_charts` writes nothing and says so, and the report stays complete: every number the
charts show is also in its tables.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arcanos_eval.compare import ALL_CATEGORIES

if TYPE_CHECKING:
    from arcanos_eval.report.evaluation import Evaluation

__all__ = ["CHARTS_EXTRA", "Chart", "ChartSet", "write_charts"]

CHARTS_EXTRA = "charts"
_DPI = 100
# PNG metadata that would differ between machines or library versions is left out.
_METADATA: dict[str, Any] = {"Software": None}


@dataclass(frozen=True)
class Chart:
    """One image file: its title, where it was written, and the link the report uses."""

    title: str
    path: Path
    link: str


@dataclass(frozen=True)
class ChartSet:
    """The charts written for a report, or why none were (``skipped``)."""

    files: tuple[Chart, ...] = ()
    skipped: str | None = None


def _figure_class() -> Any:
    """matplotlib's ``Figure``, without pyplot: no global state and no GUI backend."""
    module = importlib.import_module("matplotlib.figure")
    return module.Figure


def _latency_cdf(ev: Evaluation, path: Path) -> bool:
    series = [(s.target, s.latencies) for s in ev.targets if s.latencies]
    if not series:
        return False
    figure = _figure_class()(figsize=(7, 4), dpi=_DPI)
    axes = figure.add_subplot()
    for target, latencies in series:
        n = len(latencies)
        axes.step(
            list(latencies),
            [(i + 1) / n for i in range(n)],
            where="post",
            label=f"{target} (n={n})",
        )
    axes.set_xlabel("latency (ms)")
    axes.set_ylabel("share of answers at or below")
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    axes.set_title("Latency CDF per target (non-errored answers)")
    figure.tight_layout()
    figure.savefig(path, format="png", metadata=_METADATA)
    return True


def _pass_rates(ev: Evaluation, path: Path) -> bool:
    rows = [c for c in ev.categories if c.category != ALL_CATEGORIES]
    if not rows:
        return False
    figure = _figure_class()(figsize=(max(5, 1.6 * len(rows) + 2), 4), dpi=_DPI)
    axes = figure.add_subplot()
    width = 0.38
    for offset, side, name in (
        (-width / 2, "base", ev.baseline),
        (width / 2, "candidate", ev.candidate),
    ):
        xs, heights, low, high = [], [], [], []
        for i, c in enumerate(rows):
            rate = getattr(c, side)
            if rate.rate is None:
                continue
            xs.append(i + offset)
            heights.append(rate.rate)
            low.append(rate.rate - rate.interval.low)
            high.append(rate.interval.high - rate.rate)
        axes.bar(xs, heights, width, yerr=[low, high], capsize=3, label=name)
    axes.set_xticks(range(len(rows)), [c.category for c in rows])
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("pass rate (Wilson 95% interval)")
    axes.set_title("Pass rate per category")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, format="png", metadata=_METADATA)
    return True


def write_charts(
    evaluation: Evaluation, directory: str | Path, *, relative_to: str | Path | None = None
) -> ChartSet:
    """Write the charts as PNG files in ``directory``.

    Args:
        evaluation: the evaluated run.
        directory: created if missing.
        relative_to: the folder of the report, so links are relative to it (default: the
            current folder).

    Returns:
        The files written, or a :class:`ChartSet` whose ``skipped`` says why there are none
        (matplotlib missing, nothing to plot).
    """
    try:
        _figure_class()
    except ImportError:
        return ChartSet(
            skipped=f"matplotlib is not installed (`pip install 'arcanos-eval[{CHARTS_EXTRA}]'`)."
        )
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    base = Path(relative_to) if relative_to is not None else Path.cwd()
    written = []
    for title, name, draw in (
        ("Latency CDF per target", "latency_cdf.png", _latency_cdf),
        ("Pass rate per category", "pass_rate_by_category.png", _pass_rates),
    ):
        path = folder / name
        if draw(evaluation, path):
            link = Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
            written.append(Chart(title, path, link))
    if not written:
        return ChartSet(skipped="nothing to plot (no latency and no category).")
    return ChartSet(tuple(written))
