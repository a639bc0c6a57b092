"""The Run dock: compile, run in a thread worker, cancel; results arrive as layers on the plate
view. Preview one site (`run_preview`), receive a stream, run on a remote server
(`run_dock_remote`).

Engine calls only: `compile_pipeline` and `run_plans` (in a napari `thread_worker`, so the GUI
never waits). The run's results go from the worker thread straight to the `ResultSink`, which
prepares them off the GUI thread too; progress events reach the GUI thread through a queued
Qt signal. Workers and device are the Config dock's values (the session's configuration):
changing them here changes them there.
"""

from __future__ import annotations

import threading
from typing import Any

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QWidget

from ...engine.compiler import CompiledPipeline, CompileError, compile_pipeline
from ...engine.plate.model import PlateError
from ...engine.plate.wells import normalize_well
from ..results.stream_sink import ResultSink
from ..run_settings import run_settings
from ..session import session_for
from .run_dock_remote import LOCAL, REMOTE, RemoteRunMixin
from .run_dock_widgets import RunDockWidgets
from .run_preview import PreviewMixin

__all__ = ["LOCAL", "REMOTE", "RunDock"]

#: How much lower the priority of the run's worker processes is than the viewer's.
WORKER_NICE = 10
#: Progress lines reach the status at most this often: a text change repaints the window
#: (15-25 ms under software OpenGL, more while a run shares the cores), and a step line
#: shown for less than a second cannot be read anyway.
STATUS_MS = 1000


def _well(text: str) -> str:
    """A typed well name in the plate's spelling (`b3` -> `B03`); a name that is not one is
    kept, for the compiler to report as unknown."""
    try:
        return normalize_well(text)
    except PlateError:
        return text.strip().upper()


class _Relay(QObject):
    """Carries callbacks from worker threads to the GUI thread."""

    event = Signal(object)  # ProgressEvent
    preview = Signal(object)  # (well, site, error, layer data) of a previewed site


class RunDock(PreviewMixin, RemoteRunMixin, RunDockWidgets, QWidget):
    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.setObjectName("napari-hcs run")
        self.sink = ResultSink(napari_viewer, self.session)
        self.relay = _Relay()
        self.relay.event.connect(lambda event: self._event_handler(event))
        self.worker: Any = None
        self.cancel_event: threading.Event | None = None
        self.report: Any = None
        self.receiver: Any = None
        self._progress: Any = None
        self._planned: list[str] = []
        self._said: str | None = None  # progress text waiting to be shown
        self._event_handler = self._on_event
        self._build_widgets()  # RunDockWidgets: fields, buttons, tabs (fits a 768 px screen)
        self._init_remote()
        self._init_preview()
        self._lay_out()

        links = [(self.session.config_changed, lambda _: self._config_changed()),
                 (self.sink.shown, lambda well, _: self._well_shown(well))]
        for signal, slot in links:
            signal.connect(slot)
        # The session outlives a closed dock: stop calling into its deleted widgets.
        self.destroyed.connect(lambda *_: [signal.disconnect(slot) for signal, slot in links])
        self._server_changed(self.server.currentText())
        self._config_changed()

    # -- configuration: the session's, shared with the Config dock --------------------------------
    def _config_changed(self) -> None:
        workers, device = run_settings(self.session)
        for widget in (self.workers, self.device):
            widget.blockSignals(True)
        self.workers.setValue(int(workers))
        if self.device.findText(device) < 0:  # e.g. "cuda" on a machine without one: shown,
            self.device.addItem(device)  # and the compiler says why it cannot run
        self.device.setCurrentText(device)
        for widget in (self.workers, self.device):
            widget.blockSignals(False)

    def _setting_edited(self, field: str, value: Any) -> None:
        if getattr(self.session.global_config, field) != value:
            self.session.set_global_config(self.session.global_config.merged(**{field: value}))

    # -- compile ------------------------------------------------------------------------------
    def chosen_wells(self) -> list[str] | None:
        text = self.wells.text().replace(";", ",").replace(" ", ",")
        wells = [_well(w) for w in text.split(",") if w.strip()]
        return wells or None

    def compile(
        self, reader: Any = None, wells: list[str] | None = None
    ) -> CompiledPipeline | None:
        """Compile the session's pipeline; problems are listed here, marked on the steps and
        notified. An empty pipeline is replaced by the shipped default first."""
        reader = reader or self._plate()
        self.problems.clear()
        if reader is None:
            self._say("Open a plate first (File > Open, or Open plate... in the Plate dock).")
            return None
        pipeline = self._pipeline_or_default()
        try:
            compiled = compile_pipeline(pipeline, reader, wells=wells or self.chosen_wells(),
                                        config=self.session.global_config)
        except CompileError as exc:
            self._show_problems(exc.problems)
            return None
        self.session.set_problems([])
        self._say(f"Compiled {len(pipeline.steps)} steps for {len(compiled.plans)} wells.")
        return compiled

    def _pipeline_or_default(self) -> Any:
        pipeline = self.session.ensure_pipeline()
        if not pipeline.steps:
            from ...engine.codegen import load_pipeline
            from ...pipelines import DEFAULT, path_of

            pipeline = load_pipeline(path_of(DEFAULT))
            self.session.set_pipeline(pipeline)
            show_info(f"The pipeline was empty: using the shipped '{DEFAULT}' pipeline "
                        "(the Pipeline dock lists the others).")
        return pipeline

    def _plate(self) -> Any:
        if self.session.reader is None:
            for layer in self.viewer.layers:  # a plate opened before any Plate dock existed
                self.session.adopt_layer(layer)
        return self.session.reader

    # -- run ----------------------------------------------------------------------------------
    def start(self) -> Any:
        """Compile, then run the chosen wells in a thread worker; returns the worker (or None)."""
        if self.worker is not None:
            self._say("A run is in progress; cancel it first.")
            return None
        self.report = None
        if self.is_remote():
            return self.start_remote()
        compiled = self.compile()
        if compiled is None:
            return None
        self._planned = list(compiled.plans)
        for well in self._planned:
            self.session.set_well_state(well, "queued")
        self.sink.cancelling = False
        # The progress bar first: napari's activity dialog processes pending events while it
        # makes the bar, which would run every prepared layer creation inside this click
        # (1 s of a 1.8 s click, measured); after it, they run one per event-loop turn.
        self._new_progress(len(compiled.plans))
        self.sink.prepare(self.session.reader, compiled.steps)
        output = self.output.text().strip() or None
        self._event_handler = self._on_event
        return self._launch(compiled, output, self._on_run_done, len(compiled.plans),
                            self.sink.add_result)

    def _launch(self, compiled: CompiledPipeline, output: str | None, done: Any,
                total: int, on_result: Any) -> Any:
        from napari.qt.threading import create_worker

        from ...engine.executor import run_plans
        from ...engine.executor.backend import get_backend

        cancel = self.cancel_event = threading.Event()
        # Worker processes even for one worker: a pipeline running in this process would hold
        # the interpreter lock the GUI thread needs for every repaint. They run niced, so the
        # GUI thread gets a core first when wells and repaints share the machine's cores.
        backend = get_backend("local", in_process=False, nice=WORKER_NICE)
        relay, (workers, device) = self.relay, run_settings(self.session)
        layout = self.session.reader.layout

        def work() -> Any:
            return run_plans(compiled.plans, output, workers=workers, device=device,
                             on_event=relay.event.emit, on_result=on_result, cancel=cancel,
                             channel_names=layout.channel_names,
                             pixel_size_um=layout.pixel_size_um, backend=backend)

        if self._progress is None:
            self._new_progress(total)
        self.worker = create_worker(work, _start_thread=False, _ignore_errors=True)
        self.worker.returned.connect(done)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self._set_running(True)
        self.worker.start()
        return self.worker

    def _new_progress(self, total: int) -> None:
        from napari.utils import progress

        self._progress = progress(total=total, desc="napari-hcs run")

    def cancel(self) -> None:
        """Stop the run: wells not started are skipped, running ones stop between steps."""
        if self._remote_stop is not None and self.worker is not None:
            self._cancel_remote()
        elif self.cancel_event is not None:
            self.sink.cancelling = True
            self.cancel_event.set()
            self._say("Cancelling: running wells stop after their current step...")

    def _on_event(self, event: Any) -> None:
        if event.state in ("started", "running") and (
                self.session.well_states.get(event.well) != "running"):
            self.session.set_well_state(event.well, "running")
        if event.step:  # at most a few lines a second: each one repaints the window
            self._say_soon(f"{event.well}: step {event.index}/{event.total} {event.step} "
                           f"{event.state}")

    def _well_shown(self, well: str) -> None:
        state = self.session.well_states.get(well)
        if state == "failed":
            self.problems.addItem(f"{well}: {self.session.well_errors.get(well, 'failed')}")

    def _on_run_done(self, report: Any) -> None:
        self.report = report
        self._event_handler = lambda event: None  # progress queued before the end: stale now
        # Wells stopped between steps by a cancel are cancelled, not failed: the status line
        # counts them as the well grid colours them.
        stopped = [w for w, e in report.failed.items()
                   if report.cancelled and str(e).startswith("cancelled")]
        failed = {w: e for w, e in report.failed.items() if w not in stopped}
        for well in [*report.not_run, *stopped]:
            self.session.set_well_state(well, "cancelled")
        verdict = "cancelled" if report.cancelled else ("done" if report.all_ok else "failed")
        self._say(f"Run {verdict}: {len(report.ok)} ok, {len(failed)} failed, "
                  f"{len(report.not_run) + len(stopped)} cancelled, {report.seconds:.1f} s.")
        for well, error in failed.items():
            self.problems.addItem(f"{well}: {error}")
        if failed:
            first = next(iter(failed.items()))
            show_warning(f"{len(failed)} well(s) failed, e.g. {first[0]}: {first[1]}")
        for warning in report.warnings:
            show_warning(warning)
        # Last: napari's progress bar processes pending events while it updates (the worker's
        # `finished` among them), so the verdict is in place before anything else runs.
        if self._progress is not None:
            self._progress.update(len(report.ok) + len(report.failed))

    def _on_error(self, exc: Exception) -> None:
        """The run could not start or stopped (e.g. an output folder that cannot be written):
        wells it never ran are not left queued."""
        if isinstance(exc, CompileError):  # from a server: shown like a local compile's
            self._show_problems(exc.problems, "reported by the server")
            return
        self.session.clear_well_states(
            [w for w in self._planned if self.session.well_states.get(w) == "queued"])
        self._say(f"Run stopped: {exc}")
        show_error(f"napari-hcs run stopped: {exc}")

    def _show_problems(self, problems: list[Any], source: str = "") -> None:
        self.session.set_problems(problems)
        for problem in problems:  # whole, wrapped, and whole again in the tooltip
            self.problems.addItem(str(problem))
            self.problems.item(self.problems.count() - 1).setToolTip(str(problem))
        where = f" {source}" if source else ""
        self._say(f"{len(problems)} problem(s){where}, listed below - fix them in the Pipeline "
                  "tab (the steps at fault are red) or Settings.")
        # The notification stays short (napari cuts long ones); the list holds every word.
        first = str(problems[0]) if problems else ""
        first = first if len(first) <= 160 else first[:157] + "..."
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        show_error(f"The pipeline does not compile{where}: {first}{more}. All problems, in "
                   "full: the Run tab of the napari HCS dock.")

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

    # -- stream -------------------------------------------------------------------------------
    def set_receiving(self, on: bool) -> None:
        """Start or stop a StreamReceiver; its messages become layers on the plate view."""
        from ...bridge.stream import StreamReceiver

        if on and self.receiver is None:
            try:
                self.receiver = StreamReceiver(self.stream_address.text().strip(),
                                               on_message=self.sink.add_message).start()
            except OSError as exc:
                show_error(f"Cannot receive on {self.stream_address.text()}: {exc}")
                self._say(str(exc))
                self.stream.setChecked(False)
                return
            self.stream_address.setText(self.receiver.address)
            self._say(f"Receiving: run with --stream {self.receiver.address}")
        elif not on and self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
            self._say("Stream receiver stopped.")

    def _say(self, text: str) -> None:
        self._said = None
        self.status.setText(text)

    def _say_soon(self, text: str) -> None:
        """Show progress text, coalesced to one update per STATUS_MS, while a run goes on (a
        late line must not replace the run's verdict)."""
        if self.worker is None or self.report is not None:
            return
        if getattr(self, "_said", None) is None:
            from qtpy.QtCore import QTimer

            QTimer.singleShot(STATUS_MS, lambda: self._said is not None and self.report is None
                              and self._say(self._said))
        self._said = text

    def closeEvent(self, event: Any) -> None:  # noqa: N802  (Qt's name)
        if not self._let_go_of_remote() and self.cancel_event is not None:
            self.cancel_event.set()
        self.set_receiving(False)
        super().closeEvent(event)

