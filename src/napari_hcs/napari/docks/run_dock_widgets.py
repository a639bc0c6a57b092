"""The Run dock's widgets and how they are laid out: narrow and short enough for the HCS dock
on a 1366 x 768 screen.

Two tabs (run; elsewhere: a stream or a server) inside scroll areas, so the dock asks for
about 300 px of height whatever it shows; the buttons come first (two to a row), long problems
wrap and the problem list scrolls. The measurement tables are the Results tab's.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...engine.memory.devices import available_devices
from .scrolling import scrolling_tabs


class RunDockWidgets:
    """Mixed into `RunDock`: creates its fields (`_build_widgets`) and places them
    (`_lay_out`, after the remote and preview parts made theirs)."""

    def _build_widgets(self: Any) -> None:
        self.wells = QLineEdit()
        self.wells.setPlaceholderText("all wells (or e.g. A01, B02)")
        self.workers = QSpinBox()
        self.workers.setRange(1, 1024)
        self.workers.setToolTip("wells processed in parallel: the global setting of the Config "
                                "dock (a pipeline's own setting there wins)")
        self.workers.valueChanged.connect(lambda v: self._setting_edited("workers", int(v)))
        self.device = QComboBox()
        self.device.addItems(available_devices())
        self.device.setToolTip("where GPU functions run: the global setting of the Config dock")
        self.device.currentTextChanged.connect(
            lambda d: d and self._setting_edited("device", d))
        self.output = QLineEdit()
        self.output.setPlaceholderText("output folder (empty: results only to the viewer)")
        self.compile_button = QPushButton("Compile")
        self.compile_button.clicked.connect(lambda: self.compile())
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("run the pipeline (the shipped default when none is built)")
        self.run_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.preview_button = QPushButton("Preview site")
        self.preview_button.setToolTip("run the pipeline on the selected well's selected site")
        self.preview_button.clicked.connect(lambda: self.preview())
        self.status = QLabel("Compile checks the pipeline against the plate before running.")
        self.status.setWordWrap(True)
        self.problems = QListWidget()
        self.problems.setWordWrap(True)  # a compile problem is read in full, never elided
        self.problems.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.problems.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.problems.setMinimumHeight(40)
        self.stream = QCheckBox("Receive stream")
        self.stream_address = QLineEdit("tcp://127.0.0.1:0")
        self.stream_address.setToolTip(
            "where results stream in; for a remote server, an address of this machine that the "
            "server can reach (e.g. tcp://192.168.1.20:5757); port 0 picks a free one")
        self.stream.toggled.connect(self.set_receiving)

    def _lay_out(self: Any) -> None:
        run = QWidget()
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("wells", self.wells)
        form.addRow("workers", self.workers)
        form.addRow("device", self.device)
        form.addRow("output", self.output)
        buttons = QGridLayout()
        for i, b in enumerate((self.compile_button, self.run_button, self.cancel_button,
                               self.preview_button)):
            buttons.addWidget(b, i // 2, i % 2)
        column = QVBoxLayout(run)
        column.addLayout(buttons)
        column.addWidget(self.status)
        column.addLayout(form)
        column.addWidget(self.problems, 1)

        elsewhere = QWidget()
        form = QFormLayout(elsewhere)
        form.addRow("run on", self.server)
        form.addRow("server", self.server_address)
        form.addRow("token", self.server_token)
        stream = QHBoxLayout()
        stream.addWidget(self.stream)
        stream.addWidget(self.stream_address, 1)
        form.addRow(stream)

        self.tabs = scrolling_tabs([(run, "Run"), (elsewhere, "Remote")])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
