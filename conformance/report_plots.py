"""The error/budget distributions of report.html, drawn with matplotlib as inline SVG text
(docs/report-schema.md#reporthtml).

One figure for the whole report: a row per primitive, in it one mark per test at its worst error/budget on a log
scale, a band per dtype (its own colour), the budget (error/budget = 1) as a red dashed line, failures as red
crosses. A ratio of at most 1e-6 (an exact result: 0) is drawn at 1e-6, one above 1e3 (inf, NaN) at 1e3.

Drawn on a ``matplotlib.figure.Figure`` of its own (no pyplot state), under matplotlib's default settings (a
user's matplotlibrc changes nothing) with ``svg.hashsalt`` fixed and no date, so the same report gives the same
bytes; text stays text (``svg.fonttype`` none): small, searchable, escaped by matplotlib's SVG writer.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

__all__ = ["LOWEST", "HIGHEST", "distributions_svg"]

#: The plotted range of error/budget: what lies outside is drawn at its edge.
LOWEST, HIGHEST = 1e-6, 1e3
_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2")
_FAILED = "#cc0000"
_ROW = 0.24  # inches per primitive


def _matplotlib():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - matplotlib is a dependency of nnspec (pyproject.toml)
        raise ModuleNotFoundError(
            "report.html draws its error/budget plots with matplotlib, a dependency of nnspec that is not "
            "installed here: python3 -m pip install 'matplotlib>=3.7' (the report.json is written already; "
            "`nnspec report-html DIR` renders the page afterwards)") from error
    return matplotlib, Figure


def _plain(text: str) -> str:
    """Text as matplotlib shows it literally: a ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def _placed(ratio: float) -> float:
    if math.isnan(ratio) or ratio > HIGHEST:
        return HIGHEST
    return max(ratio, LOWEST)


def distributions_svg(ratios: Mapping[tuple[str, str], Sequence[float]], dtypes: Sequence[str]) -> str:
    """An ``<svg>`` element: the worst error/budget of each test, per (primitive, dtype) in ``ratios``, the
    dtypes in the order of ``dtypes`` (others after them, sorted); "" when there is nothing to plot."""
    ratios = {key: list(values) for key, values in ratios.items() if values}
    if not ratios:
        return ""
    matplotlib, Figure = _matplotlib()
    primitives = sorted({p for p, _ in ratios})
    columns = sorted({d for _, d in ratios}, key=lambda d: (dtypes.index(d) if d in dtypes else len(dtypes), d))
    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # undone when the context ends
        matplotlib.rcParams.update({"svg.hashsalt": "nnspec-report", "svg.fonttype": "none", "font.size": 8,
                                    "font.sans-serif": ["DejaVu Sans"]})
        figure = Figure(figsize=(7.5, 0.9 + _ROW * len(primitives)), layout="constrained")
        axes = figure.add_subplot()
        spread = min(0.7 / len(columns), 0.25)
        for index, dtype in enumerate(columns):
            offset = (index - (len(columns) - 1) / 2) * spread
            good: tuple[list[float], list[float]] = ([], [])
            bad: tuple[list[float], list[float]] = ([], [])
            for row, primitive in enumerate(primitives):
                for ratio in ratios.get((primitive, dtype), ()):
                    xs, ys = good if ratio <= 1.0 else bad
                    xs.append(_placed(ratio))
                    ys.append(row + offset)
            axes.plot(*good, linestyle="none", marker="|", markersize=9, markeredgewidth=1.2, alpha=0.6,
                      color=_COLOURS[index % len(_COLOURS)], label=_plain(dtype))
            axes.plot(*bad, linestyle="none", marker="x", markersize=5, color=_FAILED)
        axes.plot([], [], linestyle="none", marker="x", color=_FAILED, label="failed (> 1)")
        axes.axvline(1.0, color=_FAILED, linestyle="--", linewidth=1)
        axes.set_xscale("log")
        axes.set_xlim(LOWEST / 2, HIGHEST * 2)
        axes.set_xticks([1e-6, 1e-4, 1e-2, 1, 1e3], ["≤1e-6", "1e-4", "0.01", "1", "≥1e3, inf, nan"])
        axes.minorticks_off()
        axes.set_yticks(range(len(primitives)), [_plain(p) for p in primitives])
        axes.set_ylim(len(primitives) - 0.5, -0.5)
        axes.grid(axis="y", color="#e5e5e5", linewidth=0.5)
        axes.set_xlabel("worst error/budget of each test (≤ 1 passes: left of the red dashed line)")
        axes.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=len(columns) + 1, frameon=False)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = out.getvalue()
    text = text[text.index("<svg"):]
    return text.replace("<svg ", '<svg id="error-budget-plot" role="img" aria-label="error/budget of each test, per '
                        'primitive and dtype" ', 1).strip()
