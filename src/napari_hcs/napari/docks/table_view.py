"""A read-only view of one measurement DataFrame.

A Qt model over the frame rather than one item per cell: swapping in a table of 100,000 rows
costs the same as one of 10 (Qt asks only for the cells on screen).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from qtpy.QtCore import QAbstractTableModel, QItemSelection, QItemSelectionModel, QModelIndex, Qt
from qtpy.QtWidgets import QTableView

#: A selection holds at most this many runs of consecutive rows (Qt stores each).
MAX_RANGES = 20_000


def row_runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """Rows as sorted (first, last) runs of consecutive rows."""
    rows = np.unique(np.asarray(rows, np.int64))
    if not rows.size:
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [rows.size - 1]])
    return list(zip(rows[starts].tolist(), rows[ends].tolist(), strict=True))


class FrameModel(QAbstractTableModel):
    def __init__(self, frame: pd.DataFrame | None = None) -> None:
        super().__init__()
        self.frame = frame if frame is not None else pd.DataFrame()

    def set_frame(self, frame: pd.DataFrame | None) -> None:
        self.beginResetModel()
        self.frame = frame if frame is not None else pd.DataFrame()
        self.endResetModel()

    def rowCount(self, parent: Any = QModelIndex()) -> int:  # noqa: N802, B008 (Qt's name)
        return 0 if parent.isValid() else len(self.frame)

    def columnCount(self, parent: Any = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.frame.columns)

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        value = self.frame.iat[index.row(), index.column()]
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    def headerData(self, section: int, orientation: Any,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return str(self.frame.columns[section])
        return str(section + 1)


class MeasurementTable(QTableView):
    def __init__(self) -> None:
        super().__init__()
        self.model_ = FrameModel()
        self.setModel(self.model_)
        self.setMinimumHeight(60)

    def show_frame(self, frame: pd.DataFrame | None) -> None:
        self.model_.set_frame(frame)

    def rowCount(self) -> int:  # noqa: N802  (the old QTableWidget's name, kept for callers)
        return self.model_.rowCount()

    def select_rows(self, rows: np.ndarray, scroll: bool = True) -> None:
        """Select whole rows (one Qt range per run of consecutive rows), and show the first."""
        chosen = QItemSelection()
        last_column = max(0, self.model_.columnCount() - 1)
        for first, last in row_runs(rows)[:MAX_RANGES]:
            chosen.select(self.model_.index(first, 0), self.model_.index(last, last_column))
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        self.selectionModel().select(chosen, flags)
        if scroll and len(rows):
            self.scrollTo(self.model_.index(int(np.min(rows)), 0))
