"""The napari HCS dock: Plate, Pipeline, Run and Results as tabs of one narrow dock.

Four docks stacked in one column left the canvas a third of a 1366 px screen and scrolled the
Run buttons out of sight. One dock, as wide as a fifth of the screen at most, keeps the canvas
at 60 % or more of a 1366 px screen; each tab scrolls on its own. The settings (global,
pipeline, step) are a tab of the Run page, beside the remote/stream options. Under the tabs a
line names the well and site under the cursor.

The tabs are the existing docks' widgets (`PlateDock`, `PipelineDock`, `RunDock`,
`ConfigDock`, `ResultsPanel`): they share the viewer's `HcsSession` and know nothing of each
other or of this container.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from ..plate_view.navigation import PlateFramer, cursor_text
from ..session import session_for
from .config_dock import ConfigDock
from .pipeline_dock import PipelineDock
from .plate_dock import PlateDock
from .results_panel import ResultsPanel
from .run_dock import RunDock
from .scrolling import scrolling
from .well_tables import MeasurementTables

#: The dock's widest, as a fraction of the screen's width, and never narrower than what a
#: 12-column well grid and a form need.
WIDTH_FRACTION = 0.2
MIN_WIDTH = 240
MAX_WIDTH = 420
#: The least share of the window's width the canvas keeps (else the dock moves left).
CANVAS_SHARE = 0.6


def dock_width(screen_width: int) -> int:
    """The widest the dock may be on a screen `screen_width` px wide."""
    return max(MIN_WIDTH, min(MAX_WIDTH, int(screen_width * WIDTH_FRACTION)))


class HcsDock(QWidget):
    """Plate, Pipeline, Run (with Settings and Remote) and Results, as tabs."""

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.setObjectName("napari-hcs")
        self.plate = PlateDock(napari_viewer)
        self.pipeline = PipelineDock(napari_viewer)
        self.run = RunDock(napari_viewer)
        self.config = ConfigDock(napari_viewer)
        self.results = ResultsPanel(napari_viewer)
        self.run.tabs.insertTab(1, self.config, "Settings")  # it scrolls itself
        self.tables = MeasurementTables(napari_viewer)
        self.results.tabs.addTab(self.tables, "Tables")

        self.tabs = QTabWidget()
        self.tabs.setUsesScrollButtons(True)
        for page, title in ((self.plate, "Plate"), (self.pipeline, "Pipeline"),
                            (self.run, "Run"), (self.results, "Results")):
            self.tabs.addTab(_sideways_scrolling(page), title)
        self.cursor = QLabel(" ")
        self.cursor.setToolTip("the well and site under the cursor (double-click to go there)")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.cursor)

        screen = self.screen() if hasattr(self, "screen") else None
        width = screen.availableGeometry().width() if screen is not None else 1366
        self.setMaximumWidth(dock_width(width))
        self._placed = False
        self.framer = PlateFramer.install(napari_viewer, self.session)
        napari_viewer.mouse_move_callbacks.append(self._cursor_moved)
        self.destroyed.connect(lambda *_: self._forget_viewer(napari_viewer))

    def _cursor_moved(self, viewer: Any, event: Any) -> None:
        text = cursor_text(self.session, *(float(v) for v in event.position[-2:]))
        if text != self.cursor.text():
            self.cursor.setText(text)

    def _forget_viewer(self, viewer: Any) -> None:
        try:
            viewer.mouse_move_callbacks.remove(self._cursor_moved)
        except ValueError:
            pass

    def showEvent(self, event: Any) -> None:  # noqa: N802  (Qt's name)
        """The dock took its width from the canvas: make room if the canvas got too narrow,
        then frame the plate again for the new size."""
        super().showEvent(event)
        from qtpy.QtCore import QTimer

        first = self.framer.box is None  # nothing framed yet: frame the acquired wells
        QTimer.singleShot(0, lambda: (self.make_room(), self.framer.reframe(moved_ok=first)))

    def make_room(self) -> bool:
        """Where this dock beside napari's own leaves the canvas under `CANVAS_SHARE` of the
        window (napari's layer controls alone take 340 px), share the left column instead:
        a tab beside napari's layer controls, above the layer list. Returns whether it moved.

        Found through Qt, not the viewer: napari hands a plugin widget a proxy of the viewer
        whose private attributes (`window._qt_window`) are proxies Qt refuses. Whatever is not
        found (another napari, a floating dock) leaves the dock where it is."""
        if self._placed:
            return False
        self._placed = True
        from qtpy.QtCore import Qt
        from qtpy.QtWidgets import QDockWidget, QMainWindow

        dock, window = self.parent(), self.window()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parent()
        if dock is None or not isinstance(window, QMainWindow) or dock.isFloating():
            return False
        napari_docks = {d.objectName(): d for d in window.findChildren(QDockWidget)}
        controls, layer_list = (napari_docks.get(n) for n in ("layer controls", "layer list"))
        canvas = window.centralWidget()
        if controls is None or controls is dock or canvas is None or \
                canvas.width() >= CANVAS_SHARE * window.width():
            return False
        self.setMaximumWidth(MAX_WIDTH)  # the column's width: napari's controls set it
        window.tabifyDockWidget(controls, dock)
        dock.show()
        dock.raise_()
        if layer_list is not None:
            height = window.height()
            window.resizeDocks([dock, layer_list], [int(height * 0.65), int(height * 0.25)],
                               Qt.Orientation.Vertical)
        return True


def _sideways_scrolling(page: QWidget) -> QScrollArea:
    """`page` in a scroll area that scrolls sideways only when the page cannot be narrower
    (the pages scroll up and down themselves)."""
    scroll = scrolling(page)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroll
