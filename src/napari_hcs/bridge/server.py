"""The execution server: `napari-hcs serve` runs pipelines for remote clients (docs/server.md).

One ROUTER socket; a request is one JSON frame `{"v": 1, "id", "token", "op", ...}` and gets
exactly one reply `{"v": 1, "id", "ok": true, ...}` or `{"ok": false, "error"}`. Ops: `ping`,
`submit`, `status`, `list`, `cancel`, `subscribe` (progress events of a run, replayed from
`since`, so a client that reconnects re-attaches to its run), `unsubscribe`. Events are pushed
as `{"v": 1, "kind": "event", "run", "seq", "event": {...}}`; the last one of a run has
`state: "finished"`.

Security (docs/server.md, "Threat model"): binds 127.0.0.1 unless told otherwise; every request
carries the token (compared in constant time); requests are bounded JSON, never unpickled; a
submit carries a pipeline *document* (data naming registered functions, never code), and its
plate, output and every file its run opens resolve under the roots (`submission`,
`engine.roots`); `omero://` only to configured hosts.

Threads: the loop thread owns the socket and the run table. It parses small requests itself
and answers ping/status/list/cancel/subscribe at once; big requests and every submit go to
validator threads (parsing, the document, opening the plate, compiling), so one heavy request
never stalls other clients; runs execute on their own threads. Both only hand the loop
messages through `inbox` (ZMQ sockets are not thread-safe).
"""

from __future__ import annotations

import importlib
import itertools
import json
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import zmq

from ..engine.executor.heap import return_freed_memory, return_large_blocks
from ..engine.roots import AllowedRoots
from .admission import (
    PeerGuard,
    RateLimitedWarning,
    frame_buffer,
    frame_bytes,
    limit_socket,
    source_fd,
)
from .run_table import Run, ServerConfig, event_message
from .submission import (
    VERSION,
    RequestError,
    Submission,
    authenticate,
    execute,
    parse_request,
    prepare_submit,
    request_id,
    short,
    since_of,
)

log = logging.getLogger(__name__)

INLINE_REQUEST_BYTES = 64 * 1024  # parsed on the loop thread (well under a millisecond)
VALIDATOR_THREADS = 2
MAX_VALIDATING = 4  # requests being checked at once; bounds their memory to 4 x 8 MiB
POLL_MS = 20  # the longest the loop waits: connections are measured at least this often
RECEIVE_BATCH = 16  # messages taken per turn of the loop before the rest of its work
_TOKEN_TEXT = re.compile(r"[!#-\[\]-~]+")  # printable ASCII but space, quote and backslash
TRIM_AFTER_S = 0.5  # quiet time after large messages before free pages go back to the system

class ExecutionServer:
    """Serve until `stop()`; `start()` serves on a background thread (tests, the napari dock)."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        if not self.config.roots:
            raise ValueError("the server needs at least one root folder")
        if not _TOKEN_TEXT.fullmatch(self.config.token):
            raise ValueError("the token must be printable ASCII without quotes, backslashes or "
                             "spaces (JSON then carries it as it is: admission looks for it)")
        self.allowed = AllowedRoots.of(self.config.roots)
        self.roots = tuple(Path(r) for r in self.allowed.paths)
        for module in self.config.allowed_modules:  # the operator's choice, at start only
            importlib.import_module(module)
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.SNDHWM, 10_000)
        limit_socket(self.socket)  # message size and queue per connection (admission)
        self.guard = PeerGuard(self.socket)  # before the first connection can be accepted
        self._token_text = re.compile(re.escape(self.config.token.encode("utf-8",
                                                                         "surrogatepass")))
        self._refusals = RateLimitedWarning("refused %d requests with a missing or wrong token")
        self._trim_at: float | None = None
        return_large_blocks()  # requests' buffers go back to the system once freed
        if self.config.port:
            self.socket.bind(f"tcp://{self.config.host}:{self.config.port}")
            self.address = f"tcp://{self.config.host}:{self.config.port}"
        else:
            port = self.socket.bind_to_random_port(f"tcp://{self.config.host}")
            self.address = f"tcp://{self.config.host}:{port}"
        self.guard.local_port = int(self.address.rsplit(":", 1)[1])
        self.runs: dict[str, Run] = {}
        self.inbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._validators = ThreadPoolExecutor(VALIDATOR_THREADS,
                                              thread_name_prefix="napari-hcs-validate")
        self._validating = threading.BoundedSemaphore(MAX_VALIDATING)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> ExecutionServer:
        self._thread = threading.Thread(target=self.serve_forever, name="napari-hcs-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for run in self.runs.values():
            run.cancel.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        else:
            self.socket.close()
            self.context.term()
        self._validators.shutdown(wait=False, cancel_futures=True)
        self.finish_runs()

    def finish_runs(self) -> None:
        """Cancel every run and wait for each to end with its run.json written (SIGTERM, stop):
        a step that does not return within the cancel grace has its worker stopped."""
        for run in list(self.runs.values()):
            run.cancel.set()
        deadline = time.monotonic() + self.config.cancel_grace_s + 60
        for run in list(self.runs.values()):
            if run.thread is not None:
                run.thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> ExecutionServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self.guard.monitor, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                ready = dict(poller.poll(POLL_MS))
                self.guard.follow()
                if self.socket in ready:
                    self._receive_batch()
                self._deliver()
                self._trim()
        finally:
            self.guard.close()
            self.socket.close()
            self.context.term()

    def _receive_batch(self) -> None:
        for _ in range(RECEIVE_BATCH):
            try:
                parts = self.socket.recv_multipart(flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            frames = parts[1:]
            fd = source_fd(frames[0]) if frames else None
            sizes = [len(f) for f in frames]
            size = sum(sizes)
            if self.guard.admits(fd, sizes):
                self._receive(parts[0].bytes, frames, fd)
            if size > INLINE_REQUEST_BYTES:
                self._trim_at = time.monotonic() + TRIM_AFTER_S

    def _trim(self) -> None:
        """Give the pages of a burst of large requests back once the server is quiet."""
        if self._trim_at is not None and time.monotonic() >= self._trim_at:
            self._trim_at = None
            return_freed_memory()

    # -- requests (loop thread) -------------------------------------------------------------
    def _receive(self, identity: bytes, frames: Sequence[Any], fd: int | None = None) -> None:
        """Answer a small request now; hand a big one, and every submit, to a validator.

        A big request that does not hold the token's text in its first 64 KiB is refused
        unread (ExecutionClient writes the token first, and json.dumps writes a token's
        characters as they are): only token holders get a request parsed, and a flood costs
        the loop a 64 KiB search per message."""
        size = sum(len(f) for f in frames)
        if len(frames) != 1:
            self.guard.refused(fd, size)
            return self._refuse(identity, None, f"a request is one JSON frame, got {len(frames)} "
                                "frames")
        if len(frames[0]) > INLINE_REQUEST_BYTES:
            head = frame_buffer(frames[0])[:INLINE_REQUEST_BYTES]  # searched in place
            if self._token_text.search(head) is None:
                self.guard.refused(fd, size)
                return self._refuse(identity, None, "missing or wrong token")
            self.guard.trust(fd)
            return self._validate(identity, frame_bytes(frames[0]), None)
        request: dict[str, Any] = {}
        try:
            request = parse_request(frame_bytes(frames[0]))
            op = authenticate(request, self.config.token)
        except RequestError as exc:
            self.guard.refused(fd, size)
            return self._refuse(identity, request_id(request), str(exc))
        self.guard.trust(fd)
        if op == "submit":
            return self._validate(identity, None, request)
        return self._dispatch(identity, request, op)

    def _refuse(self, identity: bytes, rid: Any, error: str) -> None:
        if error == "missing or wrong token":
            self._refusals.count()
        self._send(identity, {"id": rid, "ok": False, "error": error})

    def _dispatch(self, identity: bytes, request: dict[str, Any], op: str) -> None:
        rid = request_id(request)
        try:
            reply = getattr(self, f"_op_{op}")(identity, request)
        except RequestError as exc:
            return self._refuse(identity, rid, str(exc))
        except Exception as exc:  # a bug must not take the server down
            log.exception("request %s failed", op)
            return self._refuse(identity, rid, f"{type(exc).__name__}: {exc}")
        self._send(identity, {"id": rid, "ok": True, **reply})
        if op == "subscribe":
            self._replay(identity, self._run_of(request), since_of(request))

    def _validate(self, identity: bytes, data: bytes | None,
                  request: dict[str, Any] | None) -> None:
        if not self._validating.acquire(blocking=False):
            rid = request_id(request) if request is not None else None
            return self._refuse(identity, rid, "the server is busy checking other requests; "
                                "try again in a moment")
        self._validators.submit(self._check_off_loop, identity, data, request)
        return None

    def _run_of(self, request: dict[str, Any]) -> Run:
        key = request.get("run")
        run = self.runs.get(key) if isinstance(key, str) else None
        if run is None:
            raise RequestError(f"no run {short(key, 40)} on this server")
        return run

    def _op_ping(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        from .. import __version__

        return {"version": __version__, "roots": [str(r) for r in self.roots],
                "omero_hosts": list(self.config.omero_hosts)}

    def _op_list(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        return {"runs": [run.summary() for run in self.runs.values()]}

    def _op_status(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        return self._run_of(request).summary()

    def _op_cancel(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        run = self._run_of(request)
        run.cancel.set()
        return run.summary()

    def _op_subscribe(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        since_of(request)  # refused before subscribing, so a bad request changes nothing
        run = self._run_of(request)
        run.subscribers.add(identity)
        return run.summary()

    def _op_unsubscribe(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        run = self._run_of(request)
        run.subscribers.discard(identity)
        return run.summary()

    def _accept(self, identity: bytes, rid: Any, submission: Submission) -> None:
        """Start a submission that compiled (loop thread: the run table lives here)."""
        active = sum(run.status in ("queued", "running") for run in self.runs.values())
        if active >= self.config.max_runs:
            return self._refuse(identity, rid, f"the server already has {active} runs queued or "
                                "running (its limit); try again when one has finished")
        plans = submission.compiled.plans
        run = Run(uuid.uuid4().hex[:12], submission.plate, submission.out, list(plans))
        run.well_status = {well: "queued" for well in plans}
        self.runs[run.id] = run
        run.subscribers.add(identity)
        run.thread = threading.Thread(target=self._execute, name=f"napari-hcs-run-{run.id}",
                                      args=(run, submission), daemon=True)
        run.thread.start()
        self._send(identity, {"id": rid, "ok": True, "run": run.id, "wells": run.wells})
        return None

    # -- validation (validator threads; they only talk to the loop through `inbox`) --------
    def _check_off_loop(self, identity: bytes, data: bytes | None,
                        request: dict[str, Any] | None) -> None:
        rid = None
        try:
            if request is None:
                request = parse_request(data or b"")
                rid = request_id(request)
                if authenticate(request, self.config.token) != "submit":
                    self.inbox.put(("request", identity, request))
                    return
            rid = request_id(request)
            submission = prepare_submit(request, self.allowed, self.config.omero_hosts,
                                        self.config.max_workers, self.config.stream_bind_hosts)
            self.inbox.put(("submitted", identity, rid, submission))
        except RequestError as exc:
            self.inbox.put(("refuse", identity, rid, str(exc)))
        except Exception as exc:  # a bug must not take the server down
            log.exception("checking a request failed")
            self.inbox.put(("refuse", identity, rid, f"{type(exc).__name__}: {exc}"))
        finally:
            self._validating.release()

    # -- runs (on their own threads; they only talk to the loop through `inbox`) -----------
    def _execute(self, run: Run, submission: Submission) -> None:
        def post(event: dict[str, Any]) -> None:
            self.inbox.put(("event", run.id, event))

        try:
            post({"state": "running"})
            limits = self.config.limits(submission.options["workers"])
            post({"state": "finished", **execute(submission, run.cancel, post, limits)})
        except Exception as exc:
            log.exception("run %s failed", run.id)
            post({"state": "finished", "status": "error", "error": f"{type(exc).__name__}: {exc}"})

    def _deliver(self) -> None:
        """Act on what validators and runs posted (on the loop thread)."""
        while True:
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                return
            kind = item[0]
            if kind == "event":
                self._record_event(item[1], item[2])
            elif kind == "request":  # a big request that checked out, answered here
                self._dispatch(item[1], item[2], item[2]["op"])
            elif kind == "submitted":
                self._accept(*item[1:])
            else:  # "refuse"
                self._refuse(*item[1:])

    def _record_event(self, run_id: str, event: dict[str, Any]) -> None:
        run = self.runs[run_id]
        event["seq"] = len(run.events) + 1
        run.events.append(event)
        state = event.get("state")
        if state == "finished":
            run.status, run.error = event["status"], event.get("error")
        elif state == "running" and not event.get("well"):
            run.status = "running"
        elif state in ("started", "ok", "failed") and event.get("well"):
            run.well_status[event["well"]] = "running" if state == "started" else state
        for identity in list(run.subscribers):
            self._send(identity, event_message(run.id, event))

    def _replay(self, identity: bytes, run: Run, since: int) -> None:
        for event in itertools.islice(run.events, since, None):
            self._send(identity, event_message(run.id, event))

    def _send(self, identity: bytes, payload: dict[str, Any]) -> None:
        try:  # a client that went away must never block the server
            self.socket.send_multipart([identity, json.dumps({"v": VERSION, **payload}).encode()],
                                       flags=zmq.NOBLOCK)
        except zmq.Again:
            log.warning("dropped a message to a slow or gone client")
