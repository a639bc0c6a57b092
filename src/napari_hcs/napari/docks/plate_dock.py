"""The Plate dock: the plate as a well grid; clicking a well takes the camera there.

The plate itself is on the canvas (the plate view, `plate_layers`): clicking a well adds or
removes no layer, it moves the camera (`plate_view.go_to_well`) and makes the well the
session's selection (the Run dock previews it). Wells are coloured by run state or by any
colouring source (`well_colours`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..plate_view.navigation import PlateNavigator, frame_wells, go_to_well
from ..plate_view.well_colours import RUN_STATUS, colourings, values_of
from ..results.output_arrival import settle
from ..session import session_for
from .scrolling import scrolling, searchable
from .well_grid import WellGrid
from .well_prefetch import move_when_read


class PlateDock(QWidget):
    """Shows the session's plate as a well grid; a click selects the well and goes there."""

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.setObjectName("napari-hcs plate")

        self.title = QLabel("No plate open: File > Open a plate folder, or Open plate...")
        self.title.setWordWrap(True)
        open_button = QPushButton("Open plate...")
        open_button.clicked.connect(self._choose_plate)
        self.grid = WellGrid()
        self.grid.well_clicked.connect(self.load_well)
        scroll = scrolling(self.grid)  # a 1536-well grid is wider than any dock
        scroll.setMinimumHeight(150)  # 8 rows of a 96-well plate without scrolling

        self.site = QSpinBox()
        self.site.setPrefix("site ")
        self.site.setMinimum(1)
        self.site.setToolTip("the site Preview runs on (double-click a site on the canvas)")
        self.site.valueChanged.connect(lambda s: self.session.select(self.session.well, s))
        self.colour_by = QComboBox()
        self.colour_by.addItem(RUN_STATUS)
        searchable(self.colour_by)  # a profile offers thousands of choices
        self.colour_by.currentTextChanged.connect(lambda _: self.recolour())

        self.legend = QLabel(self.grid.legend())
        self.legend.setWordWrap(True)
        self.legend.setToolTip("well colours while colouring by run status")

        top = QHBoxLayout()
        top.addWidget(open_button)
        top.addWidget(self.site)
        options = QHBoxLayout()
        options.addWidget(QLabel("colour by"))
        options.addWidget(self.colour_by, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addLayout(options)
        layout.addWidget(self.legend)

        links = [(self.session.plate_changed, self._plate_changed),
                 (self.session.selection_changed, self._selection_changed),
                 (self.session.well_state_changed, self._state_changed),
                 (self.session.measurements_changed, lambda _: self._measurements_changed())]
        for signal, slot in links:
            signal.connect(slot)
        # The session outlives a closed dock: stop calling into its deleted widgets.
        self.destroyed.connect(lambda *_: [signal.disconnect(slot) for signal, slot in links])
        self.viewer.layers.events.inserted.connect(self._layer_inserted)
        PlateNavigator.install(napari_viewer, self.session)
        for layer in list(self.viewer.layers):  # opened before the dock: as if just inserted
            self.session.adopt_layer(layer)
            self.features_worker = settle(self.viewer, layer,
                                          lambda fn: QTimer.singleShot(0, fn),
                                          self.session.set_table)
        if self.session.reader is not None:
            self._plate_changed(self.session.reader, frame=False)

    # -- plate --------------------------------------------------------------------------------
    def open_plate(self, path: str | Path) -> None:
        """Open a plate folder as the plate view (napari-hcs's reader, no reader choice)."""
        self.viewer.open(str(path), plugin="napari-hcs")

    def _choose_plate(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a plate folder")
        if path:
            try:
                self.open_plate(path)
            except Exception as exc:  # the reader's message names the folder
                from napari.utils.notifications import show_error

                show_error(f"Cannot open {path} as a plate: {exc}")

    def _layer_inserted(self, event: Any) -> None:
        self.session.adopt_layer(event.value)
        # A reopened output's layer: hidden over the raw plate, one wells layer, its tables
        # read in thread workers (`output_arrival`).
        worker = settle(self.viewer, event.value, lambda fn: QTimer.singleShot(0, fn),
                        self.session.set_table)
        if worker is not None:
            self.features_worker = worker

    def _plate_changed(self, reader: Any, frame: bool = True) -> None:
        if reader is None:
            self.grid.set_plate(0, 0, [])
            return
        layout, geometry = reader.layout, self.session.geometry
        self.grid.set_plate(geometry.rows, geometry.columns, layout.wells)
        self.site.blockSignals(True)
        self.site.setMaximum(max(layout.sites))
        self.site.setValue(min(layout.sites))
        self.site.blockSignals(False)
        px = f"{layout.pixel_size_um:g} µm/px" if layout.pixel_size_um else "pixel size unknown"
        self.title.setText(
            f"{Path(layout.root).name} ({layout.format}): {len(layout.wells)} of "
            f"{geometry.rows * geometry.columns} wells, {len(layout.sites)} sites, "
            f"{len(layout.channels)} channels, {px}")
        self._measurements_changed()
        if layout.pixel_size_um:  # the layers carry µm: a scale bar means something
            self.viewer.scale_bar.visible = True
        if frame:  # once the plate's layers are in: show the acquired wells
            QTimer.singleShot(0, lambda: frame_wells(self.viewer, geometry, layout.wells))

    # -- wells --------------------------------------------------------------------------------
    def load_well(self, well: str) -> None:
        """Select `well` and move the camera to it (the plate view already holds it)."""
        if self.session.reader is None:
            return
        self.session.select(well, self.site.value())
        self._go_to(well)

    def _go_to(self, well: str) -> None:
        self.grid.select(well)
        geometry = self.session.geometry
        if geometry is not None:  # its pixels read first: one repaint, not two
            move_when_read(self.viewer, geometry, well,
                           lambda: go_to_well(self.viewer, geometry, well))

    def _selection_changed(self, well: str | None, site: int | None) -> None:
        if well is not None and well != self.grid.selected:
            self._go_to(well)  # chosen elsewhere, e.g. a double-click on the canvas
        if site is not None and site != self.site.value():
            self.site.blockSignals(True)
            self.site.setValue(site)
            self.site.blockSignals(False)

    # -- colours ------------------------------------------------------------------------------
    def _measurements_changed(self) -> None:
        """List every colouring choice (run status, then each colouring source's)."""
        current = self.colour_by.currentText()
        items = [RUN_STATUS, *colourings(self.session)]
        if items == [self.colour_by.itemText(i) for i in range(self.colour_by.count())]:
            if current != RUN_STATUS:
                self.recolour()
            return
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        self.colour_by.addItems(items)
        self.colour_by.setCurrentText(current if current in items else RUN_STATUS)
        self.colour_by.blockSignals(False)
        self.recolour()

    def _state_changed(self, well: str, state: str) -> None:
        if self.colour_by.currentText() == RUN_STATUS:  # one button, not the whole plate
            self.grid.set_state(well, state, self.session.well_errors.get(well))

    def recolour(self) -> None:
        choice = self.colour_by.currentText()
        self.legend.setVisible(choice == RUN_STATUS or not choice)
        if choice == RUN_STATUS or not choice:
            self.grid.reset_colours()
            self.grid.colour_by_state(self.session.well_states, self.session.well_errors)
            return
        source = colourings(self.session).get(choice)
        if source is None:  # a name being typed (the list is searchable): keep the colours
            return
        self.grid.colour_by_values(values_of(source))
