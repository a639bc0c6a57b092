"""The Run dock's remote half: the server choice, submit and follow a run on an execution
server, cancel it there.

The work is `remote_run` (no Qt): `follow_remote_run` runs in a thread worker whose yielded
events reach the GUI thread, where `apply_event` mirrors them in the session. Results come back
over the dock's own stream receiver, as for any streamed run.
"""

from __future__ import annotations

import threading
from typing import Any

from qtpy.QtWidgets import QComboBox, QLineEdit

from ..remote_run import (
    ServerTarget,
    apply_event,
    cancel_remote_run,
    follow_remote_run,
    well_finished,
)

LOCAL, REMOTE = "this machine", "remote server"


class RemoteRunMixin:
    """Mixed into `RunDock`; uses its session, fields, stream receiver and worker slots."""

    def _init_remote(self) -> None:
        self.remote_run: str | None = None  # the server's id of the run this dock follows
        self.remote_result: dict[str, Any] | None = None  # that run's `finished` event
        self._remote: ServerTarget | None = None
        self._remote_stop: threading.Event | None = None
        self._cancel_requested = False
        self._cancel_worker: Any = None
        self.server = QComboBox()
        self.server.addItems([LOCAL, REMOTE])
        self.server.currentTextChanged.connect(self._server_changed)
        self.server_address = QLineEdit("tcp://127.0.0.1:7447")
        self.server_address.setToolTip("the address `napari-hcs serve` printed")
        self.server_token = QLineEdit()
        self.server_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.server_token.setPlaceholderText("the token `napari-hcs serve` printed")

    def is_remote(self) -> bool:
        return self.server.currentText() == REMOTE

    def _server_changed(self, choice: str) -> None:
        remote = choice == REMOTE
        self.server_address.setEnabled(remote)
        self.server_token.setEnabled(remote)
        if remote and self.device.findText("cuda") < 0:  # the server may have a GPU we lack
            self.device.addItem("cuda")
        self.output.setPlaceholderText(
            "output folder on the server (under one of its --root folders)" if remote
            else "output folder (empty: results only to the viewer)")

    def start_remote(self) -> Any:
        """Submit the pipeline to the server and follow it in a thread worker (or None).

        The plate and output paths are paths on the server; results stream back to this dock's
        receiver, which is started here if it is not running.
        """
        from napari.qt.threading import create_worker

        from ...engine.pipeline.document import DocumentError, pipeline_to_document

        reader = self._plate()
        self.problems.clear()
        out, token = self.output.text().strip(), self.server_token.text().strip()
        if reader is None:
            return self._say("Open a plate first (Plate dock or File > Open).")
        if not out:
            return self._say("A remote run writes its outputs on the server: give an output "
                             "folder there (under one of the server's --root folders).")
        if not token:
            return self._say("Give the server's token (`napari-hcs serve` prints it).")
        try:  # the server gets data naming registered functions, never code
            document = pipeline_to_document(self.session.ensure_pipeline())
        except DocumentError as exc:
            return self._say(f"This pipeline cannot be sent to a server: {exc}")
        self.stream.setChecked(True)
        if self.receiver is None:  # set_receiving said why
            return None
        self._remote = ServerTarget(self.server_address.text().strip(), token)
        self._remote_stop = threading.Event()
        self.remote_run = self.remote_result = None
        self.worker = create_worker(
            follow_remote_run, self._remote, document, str(reader.root), out,
            wells=self.chosen_wells(), workers=self.workers.value(),
            device=self.device.currentText(), stream=self.receiver.address,
            stop=self._remote_stop, _start_thread=False, _ignore_errors=True)
        self.worker.yielded.connect(self._on_remote_event)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self._set_running(True)
        self._say(f"Submitting to {self._remote.address} ...")
        self.worker.start()
        return self.worker

    def _on_remote_event(self, event: dict[str, Any]) -> None:
        from napari.utils import progress

        line = apply_event(self.session, event)
        if line:
            self._say(line)
        state = event.get("state")
        if state == "submitted":
            self.remote_run = event["run"]
            self._progress = progress(total=len(event["wells"]), desc="napari-hcs remote run")
            if self._cancel_requested:
                self._cancel_remote()
        elif state == "finished":
            self.remote_result = event
            for well, error in dict(event.get("failed") or {}).items():
                self.problems.addItem(f"{well}: {error}")
        elif well_finished(event) and self._progress is not None:
            self._progress.update(1)

    def _cancel_remote(self) -> None:
        from napari.qt.threading import create_worker

        if self.remote_run is None:  # not accepted yet: cancel as soon as it is
            self._cancel_requested = True
            return self._say("Cancelling once the server has accepted the run ...")
        # Its own worker and connection: the follower's socket is busy in the other thread.
        worker = create_worker(cancel_remote_run, self._remote, self.remote_run,
                               _start_thread=False, _ignore_errors=True)
        worker.errored.connect(lambda exc: self._say(f"Cancel failed: {exc}"))
        self._cancel_worker = worker  # keep a reference until it is done
        self._say("Cancelling: running wells stop after their current step...")
        worker.start()
        return None

    def _let_go_of_remote(self) -> bool:
        """On close: stop following a server's run (it goes on there); False if none."""
        if self._remote_stop is None:
            return False
        self._remote_stop.set()
        return True
