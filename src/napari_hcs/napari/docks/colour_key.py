"""The key of an object colouring: a colour bar (a number) or a legend (classes, categories)."""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from qtpy.QtWidgets import QVBoxLayout, QWidget

from ..results.object_colours import ColourKey


class ColourKeyView(QWidget):
    """Shows one `ColourKey`; empty until objects are coloured."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=(3.2, 0.6), layout="constrained")
        self.figure.set_facecolor("#262930")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setFixedHeight(64)
        self.key: ColourKey | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.setVisible(False)

    def show_key(self, key: ColourKey | None) -> None:
        self.key = key
        self.figure.clear()
        self.setVisible(key is not None)
        if key is None:
            return
        ax = self.figure.add_subplot()
        ax.set_facecolor("#262930")
        if key.categorical:
            ax.axis("off")
            handles = [Patch(color=c, label=name) for name, c in key.categories[:20]]
            ax.legend(handles=handles, loc="center", ncols=min(4, max(1, len(handles))),
                      fontsize=7, frameon=False, labelcolor="#d0d0d0", title=key.title,
                      title_fontsize=7)
        else:
            from matplotlib import colormaps

            bar = Colorbar(ax, cmap=colormaps[key.colormap], norm=Normalize(*key.limits),
                           orientation="horizontal")
            bar.set_label(key.title, color="#d0d0d0", fontsize=7)
            ax.tick_params(colors="#d0d0d0", labelsize=7)
        self.canvas.draw_idle()
