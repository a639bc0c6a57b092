"""The Pipeline dock's file row: start from a shipped pipeline, save, load.

The shipped pipelines (`napari_hcs.pipelines`, the default first) are templates: using one
puts a copy in the session, to edit and save under a name of one's own. The template list is
only a choice (it starts blank and goes blank again after *Use*); the line under it names the
pipeline in use, so choosing a template never looks like running it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ... import pipelines

#: What the template list shows while no template is chosen.
CHOOSE = "choose a template..."


class PipelineFiles(QWidget):
    """Template choice + Use, Save..., Load..., and the pipeline in use; edits the session's
    pipeline."""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.templates = QComboBox()
        self.templates.addItems(pipelines.names())
        self.templates.setPlaceholderText(CHOOSE)
        self.templates.setCurrentIndex(-1)
        self.templates.setToolTip("pipelines shipped with napari-hcs: start from one, edit it, "
                                  "save it as your own (Use puts it in the dock)")
        self.use = QPushButton("Use")
        self.use.setToolTip("replace the pipeline being built with the chosen template")
        self.use.setEnabled(False)
        self.use.clicked.connect(lambda: self.use_template(self.templates.currentText()))
        self.templates.currentIndexChanged.connect(
            lambda index: self.use.setEnabled(index >= 0))
        save, load = QPushButton("Save..."), QPushButton("Load...")
        save.clicked.connect(self._choose_save)
        load.clicked.connect(self._choose_load)
        self.in_use = QLabel()
        self.in_use.setWordWrap(True)
        self.in_use.setToolTip("the pipeline that Compile and Run use: a template once you "
                               "press Use, a loaded file, or the steps you add")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.templates, 1)
        for button in (self.use, save, load):
            row.addWidget(button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        column.addWidget(self.in_use)
        session.pipeline_changed.connect(lambda _: self.show_in_use())
        self.show_in_use()

    def show_in_use(self) -> None:
        """Name the session's pipeline (and its size) on the line under the templates."""
        self.in_use.setText(in_use_text(self.session.pipeline))

    def use_template(self, name: str) -> Any:
        """Make a copy of the shipped pipeline `name` the session's pipeline; the list goes
        back to blank (the line under it now names the template)."""
        pipeline = self.load(pipelines.path_of(name))
        self.templates.setCurrentIndex(-1)
        return pipeline

    def save(self, path: str | Path) -> Path:
        from ...engine.codegen import save_pipeline

        return Path(save_pipeline(self.session.ensure_pipeline(), path))

    def load(self, path: str | Path) -> Any:
        from ...engine.codegen import load_pipeline

        self.session.set_pipeline(load_pipeline(path))
        return self.session.pipeline

    def _choose_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save pipeline", "pipeline.py", "*.py")
        if path:
            self.save(path)

    def _choose_load(self) -> None:
        from napari.utils.notifications import show_error

        path, _ = QFileDialog.getOpenFileName(self, "Load pipeline", "", "*.py")
        if path:
            try:
                self.load(path)
            except Exception as exc:  # the message names the file and line; show it, go on
                show_error(f"Cannot load pipeline {path}: {exc}")


def in_use_text(pipeline: Any) -> str:
    """`in use: stitch_segment (6 steps)`; for no or an empty pipeline, what Run does then
    (`RunDock` starts the default template)."""
    if pipeline is None or not pipeline.steps:
        return f"in use: no steps yet (Run would use {pipelines.DEFAULT})"
    count = len(pipeline.steps)
    return f"in use: {pipeline.name} ({count} step{'s' if count != 1 else ''})"
