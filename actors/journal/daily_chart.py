"""The daily report's chart: the day's equity and its drawdown, as PNG bytes (headless Agg)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure

from actors.journal.daily import DailyReport, drawdowns

EQUITY_LABEL = "equity"
"""Legend label of the equity series."""
DRAWDOWN_LABEL = "drawdown from peak (%)"
"""Legend label of the drawdown series."""
SIZE_IN = (8.0, 4.5)
DPI = 100


def figure(report: DailyReport) -> Figure:
    """The chart as a matplotlib figure (no pyplot: no global state, no display needed)."""
    fig = Figure(figsize=SIZE_IN, dpi=DPI)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    times = [datetime.fromtimestamp(t, tz=UTC) for t, _ in report.equity_series]
    equity = [e for _, e in report.equity_series]
    top.plot(times, equity, color="tab:blue", label=EQUITY_LABEL)
    top.set_ylabel("equity")
    top.set_title(f"Quantfund {report.day} (UTC): equity and drawdown")
    top.grid(alpha=0.3)
    top.legend(loc="upper left")
    dd = [-d for d in drawdowns(report.equity_series)]
    bottom.fill_between(times, dd, 0.0, color="tab:red", alpha=0.3)
    bottom.plot(times, dd, color="tab:red", label=DRAWDOWN_LABEL)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)
    bottom.legend(loc="lower left")
    # matplotlib ships DateFormatter's __init__ without annotations.
    bottom.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=UTC))  # type: ignore[no-untyped-call]
    if not times:
        top.text(0.5, 0.5, "no equity recorded", transform=top.transAxes, ha="center")
    anchor = (report.anchor or "none")[:16]
    fig.text(0.99, 0.005, f"anchor {anchor}...", ha="right", va="bottom", fontsize=7)
    fig.tight_layout()
    return fig


def legend_labels(fig: Figure) -> list[str]:
    """Every legend label of the figure's axes, top to bottom (tests and docs read them)."""
    labels: list[str] = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            labels.extend(t.get_text() for t in legend.get_texts())
    return labels


def render_png(report: DailyReport) -> bytes:
    """The chart as PNG bytes."""
    buffer = io.BytesIO()
    figure(report).savefig(buffer, format="png")
    return buffer.getvalue()
