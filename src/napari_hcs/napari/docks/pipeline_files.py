"""The Pipeline dock's file row: start from a shipped pipeline, save, load.

The shipped pipelines (`napari_hcs.pipelines`, the default first) are templates: using one
puts a copy in the session, to edit and save under a name of one's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QPushButton, QWidget

from ... import pipelines


class PipelineFiles(QWidget):
    """Template choice + Use, Save..., Load...; edits the session's pipeline."""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.templates = QComboBox()
        self.templates.addItems(pipelines.names())
        self.templates.setToolTip("pipelines shipped with napari-hcs: start from one, edit it, "
                                  "save it as your own")
        use = QPushButton("Use")
        use.setToolTip("replace the pipeline being built with this template")
        use.clicked.connect(lambda: self.use_template(self.templates.currentText()))
        save, load = QPushButton("Save..."), QPushButton("Load...")
        save.clicked.connect(self._choose_save)
        load.clicked.connect(self._choose_load)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.templates, 1)
        for button in (use, save, load):
            row.addWidget(button)

    def use_template(self, name: str) -> Any:
        """Make a copy of the shipped pipeline `name` the session's pipeline."""
        return self.load(pipelines.path_of(name))

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
