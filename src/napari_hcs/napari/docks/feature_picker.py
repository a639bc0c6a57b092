"""A searchable list of features: type words, pick one of thousands.

A profile has ~650 features per object set and a plate several sets: one flat combo box of
5,855 entries cannot be read. Here every word typed narrows the list (`results.features.search`:
`dapi mean` finds `Intensity_MeanIntensity_DAPI`); Qt's list model shows only the rows on
screen, so filtering thousands of names costs a millisecond.
"""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import QStringListModel, Signal
from qtpy.QtWidgets import QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

from ..results.features import search


class FeaturePicker(QWidget):
    """Search box over a list of feature names; `picked(name)` when one is chosen."""

    picked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: list[str] = []
        self.search = QLineEdit()
        self.search.setPlaceholderText("search features (words, any order)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.count = QLabel("")
        self.model = QStringListModel()
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setUniformItemSizes(True)  # thousands of rows: no per-row size query
        self.view.setMinimumHeight(90)
        self.view.selectionModel().currentChanged.connect(
            lambda index, _: index.isValid() and self.picked.emit(index.data()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count)

    def set_names(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self._filter(self.search.text())

    def shown(self) -> list[str]:
        return self.model.stringList()

    def current(self) -> str | None:
        index = self.view.currentIndex()
        return index.data() if index.isValid() else None

    def choose(self, name: str) -> None:
        """Make `name` the current feature (clearing a search that hides it)."""
        if name not in self.shown():
            self.search.setText("")
        if name in self.shown():
            self.view.setCurrentIndex(self.model.index(self.shown().index(name)))

    def _filter(self, text: str) -> None:
        current = self.current()
        found = search(self.names, text)
        self.model.setStringList(found)
        self.count.setText(f"{len(found)} of {len(self.names)} features")
        if current in found:
            self.view.setCurrentIndex(self.model.index(found.index(current)))
