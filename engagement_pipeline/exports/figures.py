"""The charts' shared drawing machinery: matplotlib setup, figure to PNG, and input checks.

`render` draws on a fresh figure of the fixed size under matplotlib's default style plus
`_STYLE` (whatever style the process set is ignored) through an explicit Agg canvas - no
pyplot, no global figure state - and saves a PNG without timestamp or software version,
so the same drawing gives the same bytes. `no_data_chart` is the chart every function in
`exports/charts.py` returns when its input cannot be charted.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib as mpl
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

FIGSIZE = (8.0, 4.5)
DPI = 100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The category's score bands, low to high, with a colour each (red .. green).
BANDS: tuple[tuple[str, float, float, str], ...] = (
    ("<25", 0.0, 25.0, "#d62728"),
    ("25-49", 25.0, 50.0, "#ff7f0e"),
    ("50-74", 50.0, 75.0, "#bcbd22"),
    ("75+", 75.0, 100.0, "#2ca02c"),
)
BLUE, GREY, DARK = "#1f77b4", "#c7c7c7", "#333333"

_STYLE: dict[RcKeyType, Any] = {
    "font.size": 9.0,
    "axes.titlesize": 11.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "text.parse_math": False,  # a cohort called "$1M ARR" is text, not TeX
    "svg.hashsalt": "engagement",
}


def render(draw: Callable[[Figure], None]) -> bytes:
    """Draw on a fresh figure under the default style and return its PNG bytes."""
    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams.update(_STYLE)
        fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def no_data_chart(title: str, detail: str = "") -> bytes:
    """A chart that says there is nothing to show yet (and why, when `detail` says it)."""

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.set_title(title)
        ax.text(
            0.5, 0.55, "No data yet", ha="center", va="center", fontsize=16, color="#777777", transform=ax.transAxes
        )
        if detail:
            ax.text(
                0.5,
                0.4,
                detail,
                ha="center",
                va="center",
                fontsize=9,
                color="#777777",
                transform=ax.transAxes,
                wrap=True,
            )

    return render(draw)


def missing(frame: pl.DataFrame | None, columns: Sequence[str]) -> str | None:
    """Why a frame cannot be charted (None when it can)."""
    if frame is None or frame.height == 0:
        return "the table is empty"
    absent = [c for c in columns if c not in frame.columns]
    return f"missing columns: {', '.join(absent)}" if absent else None


def latest(frame: pl.DataFrame, column: str) -> tuple[pl.DataFrame, dt.date | None]:
    """The rows of the newest day when the frame holds several days."""
    if column not in frame.columns or frame[column].null_count() == frame.height:
        return frame, None
    day = frame[column].max()
    return frame.filter(pl.col(column) == day), day  # type: ignore[return-value]


def date_axis(ax: Axes) -> None:
    locator = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def floats(series: pl.Series) -> list[float]:
    """Plain floats, nulls as NaN (a gap in a line)."""
    return [float("nan") if v is None else float(v) for v in series.cast(pl.Float64).to_list()]


def pct(value: float) -> str:
    return f"{value:.0f}%" if value >= 10 or value == 0 else f"{value:.1f}%"
