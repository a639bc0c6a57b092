"""Client of the execution server (`napari-hcs serve`): submit, watch, cancel, re-attach.

A DEALER socket; every request carries a fresh id and waits for the reply with that id, while
pushed progress events are kept aside for `events()`. A client that lost its connection (or a
new process) re-attaches to a run with `events(run, since=last_seq)`.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import zmq

from .run_table import FINAL_STATES
from .submission import MAX_REQUEST_BYTES, VERSION


class ServerError(RuntimeError):
    """The server refused a request; the text is the server's reason."""


class ExecutionClient:
    def __init__(self, address: str, token: str, *, timeout_s: float = 30.0,
                 context: zmq.Context | None = None) -> None:
        self.address, self.token, self.timeout_s = address, token, timeout_s
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_BYTES)
        self.socket.connect(address)
        self._events: deque[dict[str, Any]] = deque()

    def close(self) -> None:
        self.socket.close()

    def __enter__(self) -> ExecutionClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------
    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one request and return the reply; raises ServerError or TimeoutError."""
        request_id = uuid.uuid4().hex
        message = {"v": VERSION, "id": request_id, "token": self.token, "op": op, **fields}
        self.socket.send(json.dumps(message).encode())
        deadline = time.monotonic() + self.timeout_s
        while True:
            reply = self._receive(deadline)
            if reply is None:
                raise TimeoutError(f"no reply from {self.address} to {op!r} within "
                                   f"{self.timeout_s:g} s; is `napari-hcs serve` running?")
            if reply.get("kind") == "event":
                self._events.append(reply)
            elif reply.get("id") == request_id:
                if not reply.get("ok"):
                    raise ServerError(reply.get("error") or "the server refused the request")
                return reply

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        if not self.socket.poll(remaining_ms):
            return None
        return json.loads(self.socket.recv())

    # -- API --------------------------------------------------------------------------------
    def ping(self) -> dict[str, Any]:
        return self.request("ping")

    def submit(self, pipeline: Any, plate: str | Path, out: str | Path, *,
               wells: list[str] | None = None, workers: int = 1, device: str = "cpu",
               resume: bool = False, stream: str | None = None,
               stream_bind: str | None = None) -> str:
        """Submit a run and return its id. `pipeline` is a Pipeline, a pipeline file (`.py`,
        run here to build it, or a `.json` document), a shipped pipeline's name, or a document
        (dict): the server receives only the document (docs/wire.md, "Pipeline document").

        Problems with the pipeline or the plate come back as a ServerError before anything runs.
        """
        reply = self.request("submit", pipeline=pipeline_document(pipeline), plate=str(plate),
                             out=str(out), wells=wells, workers=workers, device=device,
                             resume=resume, stream=stream, stream_bind=stream_bind)
        return reply["run"]

    def status(self, run: str) -> dict[str, Any]:
        return self.request("status", run=run)

    def list_runs(self) -> list[dict[str, Any]]:
        return self.request("list")["runs"]

    def cancel(self, run: str) -> dict[str, Any]:
        return self.request("cancel", run=run)

    def events(self, run: str, *, since: int = 0,
               timeout_s: float | None = None) -> Iterator[dict[str, Any]]:
        """Progress events of `run` after sequence number `since`, until it finishes.

        Each event has `seq`, `state` and, for well events, `well`/`step`/`index`/`total`; the
        last has `state == "finished"` and the run's `status`.
        """
        self.request("subscribe", run=run, since=since)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        last = since
        while True:
            while self._events:
                message = self._events.popleft()
                event = message["event"]
                if message.get("run") != run or event["seq"] <= last:
                    continue
                last = event["seq"]
                yield event
                if event.get("state") == "finished":
                    return
            wait_until = time.monotonic() + 1.0 if deadline is None else deadline
            message = self._receive(wait_until)
            if message is None:
                if deadline is not None:
                    raise TimeoutError(f"run {run} did not finish within {timeout_s:g} s")
                continue
            if message.get("kind") == "event":
                self._events.append(message)

    def wait(self, run: str, *, timeout_s: float | None = None) -> dict[str, Any]:
        """Block until `run` finishes; returns its final status."""
        status = self.status(run)
        if status["status"] not in FINAL_STATES:
            for _ in self.events(run, timeout_s=timeout_s):
                pass
            status = self.status(run)
        return status


def pipeline_document(pipeline: Any) -> dict[str, Any]:
    """The document the server gets for `pipeline` (see `ExecutionClient.submit`).

    A pipeline file is Python and runs here, on the machine of whoever chose it; what leaves
    this machine is data. A document given as a dict is checked here too, so mistakes are
    reported before they travel.
    """
    from ..engine.pipeline.document import pipeline_from_document, pipeline_to_document
    from ..engine.pipeline.step import Pipeline

    if isinstance(pipeline, dict):
        pipeline = pipeline_from_document(pipeline)
    elif isinstance(pipeline, (str, os.PathLike)):
        from .. import pipelines

        pipeline = pipelines.load(pipeline)
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"submit needs a Pipeline, a pipeline file or a document, not "
                        f"{type(pipeline).__name__}")
    return pipeline_to_document(pipeline)
