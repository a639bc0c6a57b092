"""A read-only table of one measurement DataFrame (the first rows; the Parquet file has all)."""

from __future__ import annotations

import pandas as pd
from qtpy.QtWidgets import QTableWidget, QTableWidgetItem

MAX_ROWS = 1000


class MeasurementTable(QTableWidget):
    def show_frame(self, frame: pd.DataFrame | None) -> None:
        self.clear()
        if frame is None:
            self.setRowCount(0)
            self.setColumnCount(0)
            return
        shown = frame.head(MAX_ROWS)
        self.setColumnCount(len(shown.columns))
        self.setRowCount(len(shown))
        self.setHorizontalHeaderLabels([str(c) for c in shown.columns])
        for r, row in enumerate(shown.itertuples(index=False)):
            for c, value in enumerate(row):
                text = f"{value:.4g}" if isinstance(value, float) else str(value)
                self.setItem(r, c, QTableWidgetItem(text))
