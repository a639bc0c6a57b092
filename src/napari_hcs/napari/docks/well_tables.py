"""The run's measurement tables as they are (per-well profiles, QC, class counts, every
object table), one at a time: the Results tab's "Tables" page, beside the explorer's pages
(`results_panel`), which work on one labels layer's objects."""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from ..session import session_for
from .table_view import MeasurementTable


class MeasurementTables(QWidget):
    """A table picker and the chosen measurement table (one row per object)."""

    def __init__(self, viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.session = session_for(viewer)
        self.hint = QLabel("Measurements appear here as wells finish (or when a run's output "
                           "folder is opened).")
        self.hint.setWordWrap(True)
        self.table_choice = QComboBox()
        self.table_choice.currentTextChanged.connect(self._show_table)
        self.table = MeasurementTable()
        column = QVBoxLayout(self)
        column.addWidget(self.hint)
        column.addWidget(self.table_choice)
        column.addWidget(self.table, 1)
        self.session.measurements_changed.connect(self._tables_changed)
        # The session outlives a closed dock: stop calling into its deleted widgets.
        self.destroyed.connect(
            lambda *_: self.session.measurements_changed.disconnect(self._tables_changed))
        if self.session.measurements:
            self._tables_changed(None)

    def _tables_changed(self, frame: Any) -> None:
        """`frame` (one table) changed: refresh the list, and the view if it shows `frame`
        (the view is a model over the frame: swapping it costs nothing per row)."""
        current = self.table_choice.currentText()
        names = list(self.session.measurements)
        self.hint.setVisible(not names)
        if names != [self.table_choice.itemText(i) for i in range(self.table_choice.count())]:
            self.table_choice.blockSignals(True)
            self.table_choice.clear()
            self.table_choice.addItems(names)
            if names:
                self.table_choice.setCurrentText(current if current in names else names[0])
            self.table_choice.blockSignals(False)
        shown = self.table_choice.currentText()
        if shown != current or frame is None or self.session.measurements.get(shown) is frame:
            self._show_table(shown)

    def _show_table(self, name: str) -> None:
        self.table.show_frame(self.session.measurements.get(name))
