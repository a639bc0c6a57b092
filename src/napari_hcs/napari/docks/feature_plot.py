"""Histogram of one feature, scatter plot of two, with selection linked to the objects.

matplotlib in Qt (`backend_qtagg`): its `LassoSelector` and `SpanSelector` are the selection
tools, so none is hand-written. A lasso on the scatter plot, or a span on the histogram, selects
the objects inside; a click on the scatter plot selects the nearest object. `selected(rows)`
carries the objects' row numbers in the panel's table; `show_selection(rows)` marks rows chosen
elsewhere (the canvas, the table). Which rows lie inside a lasso is computed with
`Path.contains_points` (C code; 100,000 points in milliseconds).
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.path import Path
from matplotlib.widgets import LassoSelector, SpanSelector
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QVBoxLayout, QWidget

#: Points drawn in the scatter plot (a random subset beyond: drawing stays interactive;
#: selection still uses every point).
DRAWN_POINTS = 50_000


def _styled(figure: Figure) -> None:
    figure.set_facecolor("#262930")  # napari's dark theme
    for ax in figure.axes:
        ax.set_facecolor("#262930")
        ax.tick_params(colors="#d0d0d0", labelsize=7)
        for spine in ax.spines.values():
            spine.set_color("#808080")
        ax.xaxis.label.set_color("#d0d0d0")
        ax.yaxis.label.set_color("#d0d0d0")


class FeaturePlot(QWidget):
    """One axes: a histogram (`show_histogram`) or a scatter plot (`show_scatter`)."""

    selected = Signal(object)  # np.ndarray of row numbers

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=(3.2, 2.4), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(180)
        self.ax = self.figure.add_subplot()
        self.mode = "none"
        self.x = self.y = np.zeros(0)
        self._marks = None
        self._selector = None
        self.canvas.mpl_connect("button_press_event", self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        _styled(self.figure)

    # -- drawing -------------------------------------------------------------------------------
    def _reset(self, xlabel: str, ylabel: str) -> None:
        if self._selector is not None:
            self._selector.disconnect_events()
            self._selector = None
        self.ax.clear()
        self._marks = None
        self.ax.set_xlabel(xlabel, fontsize=8)
        self.ax.set_ylabel(ylabel, fontsize=8)
        _styled(self.figure)

    def show_histogram(self, values: np.ndarray, name: str) -> None:
        self.mode, self.x, self.y = "histogram", np.asarray(values, np.float64), np.zeros(0)
        self._reset(name, "objects")
        finite = self.x[np.isfinite(self.x)]
        if finite.size:
            self.ax.hist(finite, bins=min(100, max(10, int(np.sqrt(finite.size)))),
                         color="#5b9bd5")
        self._selector = SpanSelector(self.ax, self._spanned, "horizontal", useblit=True,
                                      props={"alpha": 0.3, "facecolor": "#ffd700"})
        self.canvas.draw_idle()

    def show_scatter(self, x: np.ndarray, y: np.ndarray, xname: str, yname: str) -> None:
        self.mode = "scatter"
        self.x, self.y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        self._reset(xname, yname)
        drawn = np.arange(len(self.x))
        if len(drawn) > DRAWN_POINTS:
            drawn = np.sort(np.random.default_rng(0).choice(drawn, DRAWN_POINTS, replace=False))
        # Markers of one line (Agg's draw_markers), not a scatter collection: 50,000 points
        # draw several times faster.
        self.ax.plot(self.x[drawn], self.y[drawn], linestyle="none", marker=".",
                     markersize=2, color="#5b9bd5", rasterized=True)
        self._selector = LassoSelector(self.ax, self._lassoed, useblit=True,
                                       props={"color": "#ffd700"})
        self.canvas.draw_idle()

    def show_selection(self, rows: np.ndarray) -> None:
        """Mark `rows` (chosen here or elsewhere) in yellow."""
        if self._marks is not None:
            self._marks.remove()
            self._marks = None
        rows = np.asarray(rows, np.int64)
        rows = rows[(rows >= 0) & (rows < len(self.x))]
        if self.mode == "scatter" and rows.size:
            self._marks = self.ax.scatter(self.x[rows], self.y[rows], s=12, c="#ffd700",
                                          linewidths=0)
        elif self.mode == "histogram" and rows.size:
            values = self.x[rows][np.isfinite(self.x[rows])]
            if values.size:
                self._marks = self.ax.vlines(values[:200], 0, 1, colors="#ffd700",
                                             transform=self.ax.get_xaxis_transform(),
                                             linewidth=0.8)
        self.canvas.draw_idle()

    # -- selecting -----------------------------------------------------------------------------
    def rows_in_lasso(self, vertices: np.ndarray) -> np.ndarray:
        points = np.column_stack([self.x, self.y])
        ok = np.isfinite(points).all(axis=1)
        inside = np.zeros(len(points), bool)
        inside[ok] = Path(vertices).contains_points(points[ok])
        return np.flatnonzero(inside)

    def rows_in_span(self, low: float, high: float) -> np.ndarray:
        return np.flatnonzero((self.x >= low) & (self.x <= high))

    def nearest_row(self, x: float, y: float) -> int | None:
        """The point nearest (x, y) in screen distance, if within 10 screen pixels."""
        points = np.column_stack([self.x, self.y])
        ok = np.flatnonzero(np.isfinite(points).all(axis=1))
        if not ok.size:
            return None
        screen = self.ax.transData.transform(points[ok])
        target = self.ax.transData.transform((x, y))
        distance = np.hypot(*(screen - target).T)
        best = int(np.argmin(distance))
        return int(ok[best]) if distance[best] <= 10 else None

    def _lassoed(self, vertices: list) -> None:
        if len(vertices) >= 3:
            rows = self.rows_in_lasso(np.asarray(vertices))
            self.show_selection(rows)
            self.selected.emit(rows)

    def _spanned(self, low: float, high: float) -> None:
        if high > low:
            rows = self.rows_in_span(low, high)
            self.show_selection(rows)
            self.selected.emit(rows)

    def _clicked(self, event) -> None:  # noqa: ANN001 (matplotlib's MouseEvent)
        if self.mode != "scatter" or event.inaxes is not self.ax or event.dblclick:
            return
        row = self.nearest_row(event.xdata, event.ydata)
        if row is not None:
            rows = np.asarray([row])
            self.show_selection(rows)
            self.selected.emit(rows)
