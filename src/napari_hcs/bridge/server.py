"""The execution server: `napari-hcs serve` runs pipelines for remote clients (docs/server.md).

One ROUTER socket; a request is one JSON frame `{"v": 1, "id", "token", "op", ...}` and gets one
reply `{"v": 1, "id", "ok": true, ...}` or `{"ok": false, "error"}`. Ops: `ping`, `submit`,
`status`, `list`, `cancel`, `subscribe` (progress events of a run, replayed from `since`, so a
client that reconnects re-attaches to its run), `unsubscribe`. Events are pushed as
`{"v": 1, "kind": "event", "run", "seq", "event": {...}}`; the last one of a run has
`state: "finished"`.

Security: binds 127.0.0.1 unless told otherwise; every request carries the token (compared in
constant time); plate and output paths must lie under the configured roots; a submitted
pipeline is checked by `source_policy` before it runs; requests are JSON, never unpickled.
All socket and run-table work happens on the server's loop thread; run threads only hand it
messages through a queue (ZMQ sockets are not thread-safe).
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import queue
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from .source_policy import DEFAULT_MODULES, SourcePolicyError, check_pipeline_source

log = logging.getLogger(__name__)

VERSION = 1
MAX_REQUEST_BYTES = 8 * 1024 * 1024
OPS = ("ping", "submit", "status", "list", "cancel", "subscribe", "unsubscribe")
FINAL_STATES = ("ok", "failed", "cancelled", "error")


class RequestError(ValueError):
    """A request the server refuses; its text goes back to the client."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 7447  # 0 picks a free port
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    roots: tuple[Path, ...] = (Path.cwd(),)
    allowed_modules: tuple[str, ...] = DEFAULT_MODULES
    max_workers: int = 8


@dataclass
class Run:
    id: str
    plate: str
    out: str
    wells: list[str]
    status: str = "queued"  # queued | running | ok | failed | cancelled | error
    error: str | None = None
    submitted: float = field(default_factory=time.time)
    well_status: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    subscribers: set[bytes] = field(default_factory=set)
    cancel: threading.Event = field(default_factory=threading.Event)

    def summary(self) -> dict[str, Any]:
        return {"run": self.id, "status": self.status, "error": self.error, "plate": self.plate,
                "out": self.out, "wells": self.well_status, "events": len(self.events),
                "submitted": self.submitted}


class ExecutionServer:
    """Serve until `stop()`; `start()` serves on a background thread (tests, the napari dock)."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.roots = tuple(Path(r).resolve() for r in self.config.roots)
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.SNDHWM, 10_000)
        self.socket.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_BYTES)  # oversize peers are dropped
        if self.config.port:
            self.socket.bind(f"tcp://{self.config.host}:{self.config.port}")
            self.address = f"tcp://{self.config.host}:{self.config.port}"
        else:
            port = self.socket.bind_to_random_port(f"tcp://{self.config.host}")
            self.address = f"tcp://{self.config.host}:{port}"
        self.runs: dict[str, Run] = {}
        self.inbox: queue.SimpleQueue[tuple[str, str, dict[str, Any]]] = queue.SimpleQueue()
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

    def __enter__(self) -> ExecutionServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                if poller.poll(50):
                    frames = self.socket.recv_multipart(copy=True)
                    self._handle(frames[0], frames[1:])
                self._deliver()
        finally:
            self.socket.close()
            self.context.term()

    # -- requests ---------------------------------------------------------------------------
    def _handle(self, identity: bytes, frames: Sequence[bytes]) -> None:
        request_id = None
        try:
            if len(frames) != 1:
                raise RequestError(f"a request is one JSON frame, got {len(frames)} frames")
            try:
                request = json.loads(frames[0])
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise RequestError(f"the request is not JSON: {exc}") from None
            if not isinstance(request, dict):
                raise RequestError("the request must be a JSON object")
            request_id = request.get("id")
            if request.get("v") != VERSION:
                raise RequestError(f"unsupported request version {request.get('v')!r}; "
                                   f"this server speaks v{VERSION}")
            token = request.get("token")
            if not isinstance(token, str) or not hmac.compare_digest(
                    token.encode(), self.config.token.encode()):
                log.warning("refused a request with a missing or wrong token")
                raise RequestError("missing or wrong token")
            op = request.get("op")
            if op not in OPS:
                raise RequestError(f"unknown op {op!r}; expected one of {', '.join(OPS)}")
            reply = getattr(self, f"_op_{op}")(identity, request)
            self._send(identity, {"id": request_id, "ok": True, **reply})
            if op == "subscribe":
                self._replay(identity, self.runs[request["run"]], int(request.get("since", 0)))
        except RequestError as exc:
            self._send(identity, {"id": request_id, "ok": False, "error": str(exc)})
        except Exception as exc:  # a bug must not take the server down
            log.exception("request failed")
            self._send(identity, {"id": request_id, "ok": False,
                                  "error": f"{type(exc).__name__}: {exc}"})

    def _run_of(self, request: dict[str, Any]) -> Run:
        run = self.runs.get(str(request.get("run")))
        if run is None:
            raise RequestError(f"no run {request.get('run')!r} on this server")
        return run

    def _op_ping(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        from .. import __version__

        return {"version": __version__, "roots": [str(r) for r in self.roots]}

    def _op_list(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        return {"runs": [run.summary() for run in self.runs.values()]}

    def _op_status(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        return self._run_of(request).summary()

    def _op_cancel(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        run = self._run_of(request)
        run.cancel.set()
        return run.summary()

    def _op_subscribe(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        run = self._run_of(request)
        run.subscribers.add(identity)
        return run.summary()

    def _op_unsubscribe(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        run = self._run_of(request)
        run.subscribers.discard(identity)
        return run.summary()

    def _op_submit(self, identity: bytes, request: dict[str, Any]) -> dict[str, Any]:
        from ..engine.codegen import pipeline_from_source
        from ..engine.compiler import CompileError, compile_pipeline
        from ..engine.pipeline import GlobalConfig
        from ..engine.plate import open_plate

        source = request.get("pipeline")
        if not isinstance(source, str):
            raise RequestError("submit needs `pipeline`: the pipeline file's source text")
        try:
            check_pipeline_source(source, self.config.allowed_modules)
        except SourcePolicyError as exc:
            raise RequestError(f"pipeline refused: {exc}") from None
        plate = request.get("plate")
        if not (isinstance(plate, str) and plate.startswith("omero://")):
            # An OMERO plate is read with the server's own OMERO credentials (its environment),
            # next to the data; folders must lie under the roots.
            plate = self._inside_roots("plate", plate)
        out = self._inside_roots("out", request.get("out"))
        options = _run_options(request, self.config.max_workers)
        pipeline = pipeline_from_source(source, "<submitted pipeline>")
        reader = open_plate(plate)
        try:
            compiled = compile_pipeline(pipeline, reader, wells=options["wells"],
                                        config=GlobalConfig(device=options["device"]),
                                        output_dir=str(out))
        except CompileError as exc:
            raise RequestError(f"the pipeline does not compile:\n{exc}") from None
        run = Run(uuid.uuid4().hex[:12], str(plate), str(out), list(compiled.plans))
        run.well_status = {well: "queued" for well in compiled.plans}
        self.runs[run.id] = run
        run.subscribers.add(identity)
        thread = threading.Thread(target=self._execute, name=f"napari-hcs-run-{run.id}",
                                  args=(run, compiled, pipeline.name, source, options,
                                        reader.layout),
                                  daemon=True)
        thread.start()
        return {"run": run.id, "wells": run.wells}

    def _inside_roots(self, what: str, value: Any) -> Path:
        if not isinstance(value, str) or not value:
            raise RequestError(f"submit needs `{what}`: a path on the server")
        path = Path(value).expanduser().resolve()
        if not any(path.is_relative_to(root) for root in self.roots):
            raise RequestError(f"{what} path {value!r} is outside the server's roots "
                               f"({', '.join(map(str, self.roots))}); start the server with "
                               "--root to allow it")
        return path

    # -- runs (on their own threads; they only talk to the loop through `inbox`) -----------
    def _execute(self, run: Run, compiled: Any, name: str, source: str,
                 options: dict[str, Any], layout: Any) -> None:
        from ..engine.executor import get_backend, run_plans
        from .stream import StreamPublisher

        def post(event: dict[str, Any]) -> None:
            self.inbox.put(("event", run.id, event))

        publisher = None
        try:
            if options["stream"]:
                publisher = StreamPublisher(options["stream"], bind=options["stream_bind"])
            post({"state": "running"})
            report = run_plans(
                compiled.plans, run.out, workers=options["workers"], device=options["device"],
                on_event=lambda e: post({"state": e.state, "well": e.well, "step": e.step,
                                         "index": e.index, "total": e.total}),
                on_result=publisher.send_well_result if publisher else None,
                cancel=run.cancel, resume=options["resume"],
                backend=get_backend("local", in_process=False),
                run_info={"pipeline": {"name": name, "file": None, "source": source}},
                channel_names=layout.channel_names, pixel_size_um=layout.pixel_size_um,
            )
            status = ("ok" if report.all_ok else "cancelled" if report.cancelled else "failed")
            post({"state": "finished", "status": status, "failed": report.failed,
                  "not_run": report.not_run})
        except Exception as exc:
            log.exception("run %s failed", run.id)
            post({"state": "finished", "status": "error", "error": f"{type(exc).__name__}: {exc}"})
        finally:
            if publisher is not None:
                publisher.close()

    def _deliver(self) -> None:
        """Apply what run threads posted (on the loop thread) and push it to subscribers."""
        while True:
            try:
                _, run_id, event = self.inbox.get_nowait()
            except queue.Empty:
                return
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
                self._send(identity, _event_message(run.id, event))

    def _replay(self, identity: bytes, run: Run, since: int) -> None:
        for event in itertools.islice(run.events, max(since, 0), None):
            self._send(identity, _event_message(run.id, event))

    def _send(self, identity: bytes, payload: dict[str, Any]) -> None:
        try:  # a client that went away must never block the server
            self.socket.send_multipart([identity, json.dumps({"v": VERSION, **payload}).encode()],
                                       flags=zmq.NOBLOCK)
        except zmq.Again:
            log.warning("dropped a message to a slow or gone client")


def _event_message(run_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "event", "run": run_id, "seq": event["seq"], "event": event}


def _run_options(request: dict[str, Any], max_workers: int) -> dict[str, Any]:
    wells = request.get("wells")
    if wells is not None and not (isinstance(wells, list)
                                  and all(isinstance(w, str) for w in wells)):
        raise RequestError("`wells` must be a list of well names, e.g. [\"A01\", \"B02\"]")
    workers = request.get("workers", 1)
    if not isinstance(workers, int) or not 1 <= workers <= max_workers:
        raise RequestError(f"`workers` must be an integer from 1 to {max_workers}")
    device = request.get("device", "cpu")
    if device not in ("cpu", "cuda"):
        raise RequestError("`device` must be cpu or cuda")
    stream, stream_bind = request.get("stream"), request.get("stream_bind")
    if stream and stream_bind:
        raise RequestError("give `stream` (connect) or `stream_bind` (bind), not both")
    for name, value in (("stream", stream), ("stream_bind", stream_bind)):
        if value is not None and not (isinstance(value, str) and value.startswith("tcp://")):
            raise RequestError(f"`{name}` must be a tcp://HOST:PORT address")
    return {"wells": wells, "workers": workers, "device": device,
            "resume": bool(request.get("resume", False)), "stream": stream or stream_bind,
            "stream_bind": bool(stream_bind)}


def serve_from_cli(args: Any) -> int:
    """`napari-hcs serve`: print the address and token, then serve until Ctrl-C."""
    if args.token_file:
        token = Path(args.token_file).read_text(encoding="utf-8").strip()
        if len(token) < 16:
            raise RequestError(f"{args.token_file}: the token must have at least 16 characters")
    else:
        token = secrets.token_urlsafe(24)
    roots = tuple(Path(r) for r in args.root) or (Path.cwd(),)
    config = ServerConfig(host=args.host, port=args.port, token=token, roots=roots,
                          allowed_modules=DEFAULT_MODULES + tuple(args.allow_module))
    server = ExecutionServer(config)
    print(f"napari-hcs server on {server.address}", flush=True)
    print(f"roots: {', '.join(str(r) for r in server.roots)}", flush=True)
    if not args.token_file:
        print(f"token: {token}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server._stop.set()
    return 0
