"""The Plate dock: the well grid; clicking a well loads its sites and channels as layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..plate_layers import META_KEY, well_grid, well_mosaic_layers, well_site_layers
from ..session import session_for
from .well_grid import WellGrid

_STATUS = "run status"


class PlateDock(QWidget):
    """Shows the session's plate as a well grid and loads a clicked well's images lazily."""

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

        self.site = QSpinBox()
        self.site.setPrefix("site ")
        self.site.setMinimum(1)
        self.site.valueChanged.connect(lambda s: self.session.select(self.session.well, s))
        self.stitched = QCheckBox("stitched (one layer per channel)")
        self.colour_by = QComboBox()
        self.colour_by.addItem(_STATUS)
        self.colour_by.currentTextChanged.connect(lambda _: self.recolour())

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(open_button)
        options = QHBoxLayout()
        options.addWidget(self.site)
        options.addWidget(self.stitched)
        colour = QHBoxLayout()
        colour.addWidget(QLabel("colour wells by"))
        colour.addWidget(self.colour_by, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.grid)
        layout.addLayout(options)
        layout.addLayout(colour)
        layout.addStretch(1)

        self.session.plate_changed.connect(self._plate_changed)
        self.session.well_state_changed.connect(lambda *_: self.recolour())
        self.session.measurements_changed.connect(lambda _: self._measurements_changed())
        self.viewer.layers.events.inserted.connect(self._layer_inserted)
        for layer in self.viewer.layers:
            self.session.adopt_layer(layer)
        if self.session.reader is not None:
            self._plate_changed(self.session.reader)

    # -- plate --------------------------------------------------------------------------------
    def open_plate(self, path: str | Path) -> None:
        self.session.open_plate(path)

    def _choose_plate(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a plate folder")
        if path:
            self.open_plate(path)

    def _layer_inserted(self, event: Any) -> None:
        self.session.adopt_layer(event.value)

    def _plate_changed(self, reader: Any) -> None:
        if reader is None:
            self.grid.set_plate(0, 0, [])
            return
        layout = reader.layout
        rows, cols = well_grid(layout)
        self.grid.set_plate(rows, cols, layout.wells)
        self.site.setMaximum(max(layout.sites))
        self.site.setValue(min(layout.sites))
        self.title.setText(
            f"{Path(layout.root).name} ({layout.format}): {len(layout.wells)} wells, "
            f"{len(layout.sites)} sites, channels {', '.join(layout.channels)}"
        )
        self._measurements_changed()

    # -- wells --------------------------------------------------------------------------------
    def load_well(self, well: str) -> list[Any]:
        """Replace the previously loaded well's layers with `well`'s (lazy dask) layers."""
        from napari.layers import Layer

        reader = self.session.reader
        if reader is None:
            return []
        self.grid.select(well)
        self.session.select(well, self.site.value())
        for layer in [ly for ly in self.viewer.layers if self._is_well_layer(ly)]:
            self.viewer.layers.remove(layer)
        data = (well_mosaic_layers(reader, well) if self.stitched.isChecked()
                else well_site_layers(reader, well))
        added = []
        for array, kwargs, layer_type in data:
            kwargs["metadata"][META_KEY]["well"] = well  # marks layers this dock replaces
            added.append(self.viewer.add_layer(Layer.create(array, kwargs, layer_type)))
        return added

    @staticmethod
    def _is_well_layer(layer: Any) -> bool:
        info = layer.metadata.get(META_KEY, {})
        return "well" in info and "result" not in info

    # -- colours ------------------------------------------------------------------------------
    def _measurements_changed(self) -> None:
        """Offer every numeric column of every measurement table in the colour-by list."""
        current = self.colour_by.currentText()
        items = [_STATUS]
        for name, table in self.session.measurements.items():
            items.append(f"{name}: count")
            numeric = table.select_dtypes("number").columns
            items += [f"{name}: {c} (mean)" for c in numeric if c not in ("label",)]
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        self.colour_by.addItems(items)
        self.colour_by.setCurrentText(current if current in items else _STATUS)
        self.colour_by.blockSignals(False)
        self.recolour()

    def recolour(self) -> None:
        choice = self.colour_by.currentText()
        if choice == _STATUS or ": " not in choice:
            self.grid.reset_colours()
            self.grid.colour_by_state(self.session.well_states)
            return
        table, column = choice.split(": ", 1)
        if column == "count":
            values = self.session.well_values(table, "label", "count")
        else:
            values = self.session.well_values(table, column.removesuffix(" (mean)"))
        self.grid.colour_by_values(values)
