"""The Run dock: compile, run in a thread worker, stream results in as layers, cancel; preview
one site; receive a stream from a run elsewhere; run on a remote execution server.

Engine calls only: `compile_pipeline`, `run_plans` (in a napari `thread_worker`, so the GUI
never waits), `StreamReceiver`, and `remote_run` for a server (submit and follow its events in
a thread worker; results come back over this dock's stream receiver). Callbacks from worker
threads reach the GUI thread through a Qt signal (queued connection); every layer change
happens there.
"""

from __future__ import annotations

import threading
from typing import Any

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...engine.compiler import CompiledPipeline, CompileError, compile_pipeline
from ...engine.memory.devices import available_devices
from ...engine.pipeline import resolve
from ...engine.plate.model import PlateError
from ...engine.plate.wells import normalize_well
from ..plate_layers import well_site_layers
from ..preview import SiteSubset
from ..result_layers import well_result_layers
from ..session import session_for
from ..stream_sink import ResultSink
from .run_dock_remote import LOCAL, REMOTE, RemoteRunMixin
from .table_view import MeasurementTable

__all__ = ["LOCAL", "REMOTE", "RunDock"]


def _well(text: str) -> str:
    """A typed well name in the plate's spelling (`b3` -> `B03`); a name that is not one is
    kept, for the compiler to report as unknown."""
    try:
        return normalize_well(text)
    except PlateError:
        return text.strip().upper()


class _Relay(QObject):
    """Carries callbacks from worker threads to the GUI thread."""

    result = Signal(object)  # WellResult
    event = Signal(object)  # ProgressEvent
    message = Signal(object)  # wire Message


class RunDock(RemoteRunMixin, QWidget):
    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.setObjectName("napari-hcs run")
        self.sink = ResultSink(napari_viewer, self.session)
        self.relay = _Relay()
        self._result_handler = self._on_result  # the preview swaps in its own
        self.relay.result.connect(lambda result: self._result_handler(result))
        self.relay.event.connect(self._on_event)
        self.relay.message.connect(self.sink.add_message)
        self.worker: Any = None
        self.cancel_event: threading.Event | None = None
        self.report: Any = None
        self.receiver: Any = None
        self._progress: Any = None

        self.wells = QLineEdit()
        self.wells.setPlaceholderText("all wells (or e.g. A01, B02)")
        self.workers = QSpinBox()
        self.workers.setRange(1, 64)
        self.workers.setValue(int(resolve("workers")))
        self.device = QComboBox()
        self.device.addItems(available_devices())
        self.output = QLineEdit()
        self.output.setPlaceholderText("output folder (empty: results only to the viewer)")
        self.compile_button = QPushButton("Compile")
        self.compile_button.clicked.connect(lambda: self.compile())
        self.run_button = QPushButton("Run")
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
        self.problems.setMaximumHeight(110)
        self.table_choice = QComboBox()
        self.table_choice.currentTextChanged.connect(self._show_table)
        self.table = MeasurementTable()
        self.stream = QCheckBox("Receive stream")
        self.stream_address = QLineEdit("tcp://127.0.0.1:0")
        self.stream_address.setToolTip(
            "where results stream in; for a remote server, an address of this machine that the "
            "server can reach (e.g. tcp://192.168.1.20:5757); port 0 picks a free one")
        self.stream.toggled.connect(self.set_receiving)
        self._init_remote()

        form = QFormLayout()
        form.addRow("server", self.server)
        form.addRow("address", self.server_address)
        form.addRow("token", self.server_token)
        form.addRow("wells", self.wells)
        form.addRow("workers", self.workers)
        form.addRow("device", self.device)
        form.addRow("output", self.output)
        buttons = QHBoxLayout()
        for b in (self.compile_button, self.run_button, self.cancel_button, self.preview_button):
            buttons.addWidget(b)
        stream = QHBoxLayout()
        stream.addWidget(self.stream)
        stream.addWidget(self.stream_address, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.problems)
        layout.addWidget(QLabel("Measurements"))
        layout.addWidget(self.table_choice)
        layout.addWidget(self.table, 1)
        layout.addLayout(stream)

        links = [(self.session.measurements_changed, lambda frame: self._tables_changed(frame)),
                 (self.session.config_changed, lambda _: self._config_changed())]
        for signal, slot in links:
            signal.connect(slot)
        # The session outlives a closed dock: stop calling into its deleted widgets.
        self.destroyed.connect(lambda *_: [signal.disconnect(slot) for signal, slot in links])
        self._server_changed(self.server.currentText())

    # -- compile ------------------------------------------------------------------------------
    def chosen_wells(self) -> list[str] | None:
        text = self.wells.text().replace(";", ",").replace(" ", ",")
        wells = [_well(w) for w in text.split(",") if w.strip()]
        return wells or None

    def compile(
        self, reader: Any = None, wells: list[str] | None = None
    ) -> CompiledPipeline | None:
        """Compile the session's pipeline; problems are listed here and marked on the steps."""
        reader = reader or self._plate()
        self.problems.clear()
        if reader is None:
            self._say("Open a plate first (Plate dock or File > Open).")
            return None
        pipeline = self.session.ensure_pipeline()
        try:
            compiled = compile_pipeline(pipeline, reader, wells=wells or self.chosen_wells(),
                                        config=self._config())
        except CompileError as exc:
            self._show_problems(exc.problems)
            return None
        self.session.set_problems([])
        self._say(f"Compiled {len(pipeline.steps)} steps for {len(compiled.plans)} wells.")
        return compiled

    def _plate(self) -> Any:
        if self.session.reader is None:
            for layer in self.viewer.layers:  # a plate opened before any Plate dock existed
                self.session.adopt_layer(layer)
        return self.session.reader

    def _config(self) -> Any:
        # The dock's workers/device are the run's global settings (like the CLI's flags).
        return self.session.global_config.merged(workers=self.workers.value(),
                                                 device=self.device.currentText())

    def _config_changed(self) -> None:
        config = self.session.global_config
        if config.workers is not None:
            self.workers.setValue(config.workers)
        if config.device is not None and self.device.findText(config.device) >= 0:
            self.device.setCurrentText(config.device)

    # -- run ----------------------------------------------------------------------------------
    def start(self) -> Any:
        """Compile, then run the chosen wells in a thread worker; returns the worker (or None)."""
        if self.worker is not None:
            self._say("A run is in progress; cancel it first.")
            return None
        if self.is_remote():
            return self.start_remote()
        compiled = self.compile()
        if compiled is None:
            return None
        for well in compiled.plans:
            self.session.set_well_state(well, "queued")
        output = self.output.text().strip() or None
        self._result_handler = self._on_result
        return self._launch(compiled, output, self._on_run_done, len(compiled.plans))

    def _launch(self, compiled: CompiledPipeline, output: str | None, done: Any,
                total: int) -> Any:
        from napari.qt.threading import create_worker
        from napari.utils import progress

        from ...engine.executor import run_plans

        cancel = self.cancel_event = threading.Event()
        relay = self.relay

        def work() -> Any:
            return run_plans(compiled.plans, output, workers=self.workers.value(),
                             device=self.device.currentText(), on_event=relay.event.emit,
                             on_result=relay.result.emit, cancel=cancel)

        self._progress = progress(total=total, desc="napari-hcs run")
        self.worker = create_worker(work, _start_thread=False, _ignore_errors=True)
        self.worker.returned.connect(done)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self._set_running(True)
        self.worker.start()
        return self.worker

    def cancel(self) -> None:
        """Stop the run: wells not started are skipped, running ones stop between steps."""
        if self._remote_stop is not None and self.worker is not None:
            self._cancel_remote()
        elif self.cancel_event is not None:
            self.cancel_event.set()
            self._say("Cancelling: running wells stop after their current step...")

    def _on_event(self, event: Any) -> None:
        if event.state in ("started", "running") and (
                self.session.well_states.get(event.well) != "running"):
            self.session.set_well_state(event.well, "running")
        if event.step:
            self._say(f"{event.well}: step {event.index}/{event.total} {event.step} "
                      f"{event.state}")

    def _on_result(self, result: Any) -> None:
        self.sink.add_result(result)
        if self._progress is not None:
            self._progress.update(1)
        if result.status != "ok":
            self.problems.addItem(f"{result.well}: {result.error}")

    def _on_run_done(self, report: Any) -> None:
        self.report = report
        for well in report.not_run:
            self.session.set_well_state(well, "cancelled")
        verdict = "cancelled" if report.cancelled else ("done" if report.all_ok else "failed")
        self._say(f"Run {verdict}: {len(report.ok)} ok, {len(report.failed)} failed, "
                  f"{len(report.not_run)} not run, {report.seconds:.1f} s.")

    def _on_error(self, exc: Exception) -> None:
        if isinstance(exc, CompileError):  # from a server: shown like a local compile's
            self._show_problems(exc.problems, "reported by the server")
            return
        self._say(f"Run stopped: {exc}")

    def _show_problems(self, problems: list[Any], source: str = "") -> None:
        self.session.set_problems(problems)
        self.problems.addItems([str(p) for p in problems])
        self._say(f"{len(problems)} problem(s) {source}{' ' if source else ''}- fix them in the "
                  "Pipeline dock (the steps at fault are red).")

    def _on_finished(self) -> None:
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        self.worker = None
        self._remote_stop = None
        self._cancel_requested = False
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        for b in (self.compile_button, self.run_button, self.preview_button):
            b.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    # -- preview ------------------------------------------------------------------------------
    def preview(self) -> Any:
        """Run the pipeline on the selected site only; show its raw images and the result."""
        reader, well = self.session.reader, self.session.well
        if reader is None or well is None:
            self._say("Select a well in the Plate dock to preview.")
            return None
        site = self.session.site or reader.layout.sites[0]
        subset = SiteSubset(reader, well, site)
        compiled = self.compile(subset, [well])
        if compiled is None or self.worker is not None:
            return None
        for data, kwargs, layer_type in well_site_layers(subset, well):
            kwargs["name"] = f"preview before {kwargs['name']}"
            self._replace_layer(data, kwargs, layer_type)
        self._result_handler = self.show_preview_result
        return self._launch(compiled, None, lambda report: self._say(
            f"Preview of {well} site {site}: {'done' if report.all_ok else 'failed'}."), 1)

    def _replace_layer(self, data: Any, kwargs: dict, layer_type: str) -> None:
        from napari.layers import Layer

        if kwargs["name"] in self.viewer.layers:
            self.viewer.layers.remove(kwargs["name"])
        self.viewer.add_layer(Layer.create(data, kwargs, layer_type))

    def show_preview_result(self, result: Any) -> None:
        if result.status != "ok":
            self.problems.addItem(f"preview {result.well}: {result.error}")
        for data, kwargs, layer_type in well_result_layers(result):
            kwargs["name"] = f"preview after {kwargs['name']}"
            self._replace_layer(data, kwargs, layer_type)

    # -- stream -------------------------------------------------------------------------------
    def set_receiving(self, on: bool) -> None:
        """Start or stop a StreamReceiver; its messages become layers on the GUI thread."""
        from ...bridge.stream import StreamReceiver

        if on and self.receiver is None:
            try:
                self.receiver = StreamReceiver(self.stream_address.text().strip(),
                                               on_message=self.relay.message.emit).start()
            except OSError as exc:
                self._say(str(exc))
                self.stream.setChecked(False)
                return
            self.stream_address.setText(self.receiver.address)
            self._say(f"Receiving: run with --stream {self.receiver.address}")
        elif not on and self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
            self._say("Stream receiver stopped.")

    # -- tables -------------------------------------------------------------------------------
    def _tables_changed(self, frame: Any) -> None:
        """`frame` (one table) changed: refresh the list, and the view if it shows `frame`.

        Why not always redraw: rows arrive per well and table, and drawing 1000 rows costs ~50 ms
        of GUI time, which a run would pay for every table of every well."""
        current = self.table_choice.currentText()
        names = list(self.session.measurements)
        self.table_choice.blockSignals(True)
        self.table_choice.clear()
        self.table_choice.addItems(names)
        self.table_choice.setCurrentText(current if current in names else names[0])
        self.table_choice.blockSignals(False)
        shown = self.table_choice.currentText()
        if shown != current or self.session.measurements.get(shown) is frame:
            self._show_table(shown)

    def _show_table(self, name: str) -> None:
        self.table.show_frame(self.session.measurements.get(name))

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def closeEvent(self, event: Any) -> None:  # noqa: N802  (Qt's name)
        if not self._let_go_of_remote() and self.cancel_event is not None:
            self.cancel_event.set()
        self.set_receiving(False)
        super().closeEvent(event)
