"""The Results panel's Classify section: click objects into classes, train, apply, save, load.

The panel owns the objects (`frame_of()`: the chosen labels layer's features) and applies what
comes back (`apply(...)`); this box keeps the classes and clicked objects
(`results.annotations`), and runs training and prediction in a worker thread, so a forest of a
few hundred clicked objects over 100,000 objects never blocks the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QWidget,
)

from ...engine.classify import ClassifierError, ObjectClassifier
from ..results.annotations import ClassAnnotations, classify_frame
from .layer_refresh import on_main_thread

log = logging.getLogger(__name__)


class ClassifierBox(QWidget):
    """Classes, the annotate switch, and train / save / load / export buttons."""

    def __init__(self, frame_of: Callable[[], pd.DataFrame | None],
                 apply: Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame_of = frame_of
        self.apply = apply
        self.annotations = ClassAnnotations()
        self.classifier: ObjectClassifier | None = None
        self.per_object: pd.DataFrame | None = None
        self.counts: pd.DataFrame | None = None
        self.busy = False
        self.objects = "objects"  # the labels layer's name, set by the panel (file names)

        self.class_list = QListWidget()
        self.class_list.setMaximumHeight(90)
        self.new_class = QLineEdit()
        self.new_class.setPlaceholderText("new class name, Enter")
        self.new_class.returnPressed.connect(self._add_class)
        self.annotating = QCheckBox("click objects into the selected class")
        self.annotating.setToolTip("on the canvas: click an object to put it in the class "
                                   "selected above; click it again to take it out")
        self.train_button = QPushButton("Train and classify")
        self.train_button.clicked.connect(self.train)
        save, load, export = (QPushButton(t) for t in ("Save...", "Load...", "Export tables..."))
        save.clicked.connect(lambda: self._choose_file(save=True))
        load.clicked.connect(lambda: self._choose_file(save=False))
        export.clicked.connect(self._choose_folder)
        self.status = QLabel("Click objects of at least two classes, then train.")
        self.status.setWordWrap(True)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.class_list, 0, 0, 1, 3)
        grid.addWidget(self.new_class, 1, 0, 1, 3)
        grid.addWidget(self.annotating, 2, 0, 1, 3)
        grid.addWidget(self.train_button, 3, 0, 1, 3)
        for i, button in enumerate((save, load, export)):
            grid.addWidget(button, 4, i)
        grid.addWidget(self.status, 5, 0, 1, 3)
        self._show_classes()

    # -- classes and clicks --------------------------------------------------------------------
    def current_class(self) -> str | None:
        item = self.class_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _add_class(self) -> None:
        self.annotations.add_class(self.new_class.text())
        self.new_class.clear()
        self._show_classes(select=self.annotations.classes[-1])

    def _show_classes(self, select: str | None = None) -> None:
        from qtpy.QtWidgets import QListWidgetItem

        select = select or self.current_class() or self.annotations.classes[0]
        counts = self.annotations.counts()
        self.class_list.clear()
        for name in self.annotations.classes:
            item = QListWidgetItem(f"{name}  ({counts.get(name, 0)} clicked)")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.class_list.addItem(item)
            if name == select:
                self.class_list.setCurrentItem(item)

    def click(self, well: str, label: int) -> bool:
        """An object was clicked on the canvas: annotate it when annotating (True)."""
        name = self.current_class()
        if not self.annotating.isChecked() or name is None:
            return False
        key = (str(well), int(label))
        again = self.annotations.objects.get(key) == name
        self.annotations.annotate(well, label, None if again else name)
        self._show_classes()
        return True

    # -- training and applying (worker thread) -------------------------------------------------
    def train(self) -> None:
        frame = self.frame_of()
        if frame is None or self.busy:
            return
        annotations = ClassAnnotations(list(self.annotations.classes),
                                       dict(self.annotations.objects))
        self._run(lambda: self._classified(frame, annotations.train(frame)), "training...")

    def use(self, classifier: ObjectClassifier) -> None:
        """Classify the objects with a loaded classifier."""
        frame = self.frame_of()
        if frame is not None and not self.busy:
            self._run(lambda: self._classified(frame, classifier), "classifying...")

    @staticmethod
    def _classified(frame: pd.DataFrame, classifier: ObjectClassifier) -> tuple:
        return (classifier, *classify_frame(frame, classifier))

    def _run(self, work: Callable[[], Any], message: str) -> None:
        self.busy = True
        self.status.setText(message)
        done = on_main_thread(self._done)

        def target() -> None:
            try:
                result: Any = work()
            except (ClassifierError, ValueError) as exc:
                result = exc
            except Exception as exc:  # shown; the box stays usable
                log.exception("classifier: training or classifying failed")
                result = exc
            done(result)

        threading.Thread(target=target, name="napari-hcs classifier", daemon=True).start()

    def _done(self, result: Any) -> None:
        self.busy = False
        if isinstance(result, Exception):
            self.status.setText(f"Cannot classify: {result}")
            return
        self.classifier, classified, self.per_object, self.counts = result
        total = self.counts.drop(columns="well").sum().astype(int).to_dict()
        self.status.setText("Classes: " + ", ".join(
            f"{k.removeprefix('Count_')} {v}" for k, v in total.items()))
        self.apply(classified, self.per_object, self.counts)

    # -- files ---------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path | None:
        if self.classifier is None:
            self.status.setText("Train a classifier first.")
            return None
        saved = self.classifier.save(path)
        self.status.setText(f"Saved {saved.name}: use it in a classify_nuclei step.")
        return saved

    def load(self, path: str | Path) -> None:
        try:
            classifier = ObjectClassifier.load(path)
        except ClassifierError as exc:
            self.status.setText(str(exc))
            return
        for name in classifier.classes:
            self.annotations.add_class(name)
        self._show_classes()
        self.use(classifier)

    def export(self, folder: str | Path) -> list[Path]:
        """Write per-object classes and per-well counts as Parquet files (atomically)."""
        from ...engine.vfs.atomic import atomic_write

        if self.per_object is None or self.counts is None:
            self.status.setText("Classify objects first.")
            return []
        written = []
        for name, table in (("classes", self.per_object), ("class_counts", self.counts)):
            path = Path(folder) / f"{self.objects}_{name}.parquet"
            written.append(atomic_write(path, lambda tmp, t=table: t.to_parquet(tmp)))
        self.status.setText(f"Wrote {', '.join(p.name for p in written)} to {folder}")
        return written

    def _choose_file(self, save: bool) -> None:
        title, filt = "Classifier file", "napari-hcs classifier (*.json)"
        if save:
            path, _ = QFileDialog.getSaveFileName(self, title, "classifier.json", filt)
            if path:
                self.save(path)
        else:
            path, _ = QFileDialog.getOpenFileName(self, title, "", filt)
            if path:
                self.load(path)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export class tables to")
        if folder:
            self.export(folder)
