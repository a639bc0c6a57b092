"""What a client may ask the execution server, checked before the server acts on it.

A request is one bounded JSON object (`engine.json_limits`: size, items and depth are measured
before parsing). `authenticate` checks version, token and op. A submit becomes a `Submission`
in `prepare_submit`, on one of the server's validator threads (never its loop thread, so other
clients stay answered): the pipeline document becomes a Pipeline (only registered functions,
JSON parameters checked against signatures: `engine.pipeline.document`), the plate and output
become paths under the roots or URLs of allowed OMERO hosts, the options bounded values, and the
plate is opened and the pipeline compiled with the roots carried into every well plan, where
the readers and writers enforce them (`engine.roots`). Nothing from a request is executed,
imported by name or unpickled.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.json_limits import JsonLimitError, loads_bounded
from ..engine.pipeline import document as pipeline_document
from ..engine.roots import AllowedRoots

VERSION = 1
MAX_REQUEST_BYTES = 8 * 1024 * 1024  # libzmq drops bigger requests before buffering them
MAX_REQUEST_DEPTH = pipeline_document.MAX_DEPTH + 2  # the request wraps one document
MAX_REQUEST_ITEMS = 50_000  # bounds how long one parse holds the GIL (a few ms)
MAX_PATH = 4096
MAX_WELLS = 10_000
OPS = ("ping", "submit", "status", "list", "cancel", "subscribe", "unsubscribe")


class RequestError(ValueError):
    """A request the server refuses; its text goes back to the client."""


def short(value: Any, limit: int = 60) -> str:
    """`repr(value)`, cut: error replies never echo a whole hostile value back."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_request(data: bytes) -> dict[str, Any]:
    """The request object in `data`; RequestError when it is not bounded JSON or no object."""
    try:
        request = loads_bounded(data, max_bytes=MAX_REQUEST_BYTES, max_depth=MAX_REQUEST_DEPTH,
                                max_items=MAX_REQUEST_ITEMS, what="the request")
    except JsonLimitError as exc:
        raise RequestError(str(exc)) from None
    if not isinstance(request, dict):
        raise RequestError("the request must be a JSON object")
    return request


def request_id(request: dict[str, Any]) -> str | int | None:
    """The id to echo in the reply: a short string or an integer; None for anything else."""
    value = request.get("id")
    if isinstance(value, str) and len(value) <= 128 or type(value) is int:
        return value
    return None


def authenticate(request: dict[str, Any], token: str) -> str:
    """The request's op once version and token check out; RequestError otherwise."""
    if type(request.get("v")) is not int or request["v"] != VERSION:
        raise RequestError(f"unsupported request version {short(request.get('v'), 20)}; this "
                           f"server speaks v{VERSION}")
    given = request.get("token")
    # surrogatepass: a lone surrogate is just a wrong token, never an exception
    if not isinstance(given, str) or not hmac.compare_digest(
            given.encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass")):
        raise RequestError("missing or wrong token")
    op = request.get("op")
    if op not in OPS:
        raise RequestError(f"unknown op {short(op, 40)}; expected one of {', '.join(OPS)}")
    return op


def since_of(request: dict[str, Any]) -> int:
    """`subscribe`'s `since`: a non-negative integer (default 0)."""
    since = request.get("since", 0)
    if type(since) is not int or since < 0:
        raise RequestError(f"`since` must be a non-negative integer (a run's event sequence "
                           f"number), got {short(since, 40)}")
    return since


# ---------------------------------------------------------------- places


def omero_host_allowed(url: str, hosts: tuple[str, ...]) -> str:
    """`url` when its host (or host:port) is in `hosts`; RequestError naming it otherwise."""
    from ..engine.plate.model import PlateError
    from .omero.address import parse_address

    try:
        address = parse_address(url)
    except PlateError as exc:
        raise RequestError(str(exc)) from None
    if f"{address.host}:{address.port}".lower() in allowed_omero_pairs(hosts):
        return url
    raise RequestError(f"OMERO host {address.host}:{address.port} is not one this server may "
                       f"reach (allowed: {', '.join(sorted(allowed_omero_pairs(hosts))) or 'none'}"
                       "; start it with --omero-host HOST:PORT)")


def allowed_omero_pairs(hosts: tuple[str, ...]) -> set[str]:
    """`host:port` pairs, exact: a `--omero-host HOST` without a port means OMERO's port."""
    from .omero.address import DEFAULT_PORT

    pairs = set()
    for host in hosts:
        name, sep, port = host.lower().rpartition(":")
        pairs.add(host.lower() if sep and port.isdigit() and name else f"{host.lower()}:"
                  f"{DEFAULT_PORT}")
    return pairs


#: Where a submit's `stream_bind` may bind unless the server was started with others.
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def bind_address(value: str, hosts: tuple[str, ...]) -> str:
    """A `stream_bind` address whose host is one the server may bind on (`hosts`, or loopback
    only); RequestError naming it otherwise."""
    host = value[len("tcp://"):].rpartition(":")[0].strip("[]").lower()
    allowed = {h.lower().strip("[]") for h in (hosts or LOOPBACK)}
    if host not in allowed:
        raise RequestError(f"`stream_bind` may bind on {', '.join(sorted(allowed))} only, not "
                           f"{short(host, 60)} (start the server with --stream-bind-host to "
                           "allow another)")
    return value


def place(what: str, value: Any, roots: AllowedRoots, omero_hosts: tuple[str, ...]) -> str:
    """A plate or output: an `omero://` URL of an allowed host, or a path under the roots."""
    if not isinstance(value, str) or not value or len(value) > MAX_PATH or "\x00" in value:
        raise RequestError(f"submit needs `{what}`: a path on the server (or an omero:// URL)")
    if value.startswith("omero:"):
        return omero_host_allowed(value, omero_hosts)
    path = Path(value).absolute()
    if not roots.contains(path):
        real = os.path.realpath(path)
        via = "" if real == str(path) else f" (it resolves to {real})"
        raise RequestError(f"{what} path {short(value, 200)}{via} is outside the server's roots "
                           f"({', '.join(roots.paths)}); start the server with --root to allow "
                           "it")
    return str(roots.check(path))


def run_options(request: dict[str, Any], max_workers: int,
                bind_hosts: tuple[str, ...] = ()) -> dict[str, Any]:
    wells = request.get("wells")
    if wells is not None and not (isinstance(wells, list) and len(wells) <= MAX_WELLS and all(
            isinstance(w, str) and 0 < len(w) <= 16 for w in wells)):
        raise RequestError("`wells` must be a list of well names, e.g. [\"A01\", \"B02\"]")
    workers = request.get("workers", 1)
    if type(workers) is not int or not 1 <= workers <= max_workers:
        raise RequestError(f"`workers` must be an integer from 1 to {max_workers}")
    device = request.get("device", "cpu")
    if device not in ("cpu", "cuda"):
        raise RequestError("`device` must be cpu or cuda")
    resume = request.get("resume", False)
    if not isinstance(resume, bool):
        raise RequestError("`resume` must be true or false")
    stream, stream_bind = request.get("stream"), request.get("stream_bind")
    if stream and stream_bind:
        raise RequestError("give `stream` (connect) or `stream_bind` (bind), not both")
    for name, value in (("stream", stream), ("stream_bind", stream_bind)):
        if value is not None and not (isinstance(value, str) and value.startswith("tcp://")
                                      and len(value) <= 256):
            raise RequestError(f"`{name}` must be a tcp://HOST:PORT address")
    if stream_bind:
        bind_address(stream_bind, bind_hosts)
    return {"wells": wells, "workers": workers, "device": device, "resume": resume,
            "stream": stream or stream_bind, "stream_bind": bool(stream_bind)}


# ---------------------------------------------------------------- submit


@dataclass
class Submission:
    """A submit that compiled: what the server needs to start the run."""

    plate: str
    out: str  # a folder under the roots, or an omero:// URL (results written back to OMERO)
    pipeline_name: str
    document: dict[str, Any]
    compiled: Any  # engine.compiler.CompiledPipeline
    layout: Any  # the plate's PlateLayout
    options: dict[str, Any]

    @property
    def omero_output(self) -> bool:
        return self.out.startswith("omero:")


def prepare_submit(request: dict[str, Any], roots: AllowedRoots, omero_hosts: tuple[str, ...],
                   max_workers: int, bind_hosts: tuple[str, ...] = ()) -> Submission:
    """Check a submit and compile its pipeline; RequestError with the reason otherwise."""
    from ..engine.compiler import CompileError, compile_pipeline
    from ..engine.pipeline import GlobalConfig
    from ..engine.plate import open_plate
    from ..engine.plate.model import PlateError

    document = request.get("pipeline")
    if not isinstance(document, dict):
        raise RequestError(
            "submit needs `pipeline`: a pipeline document (a JSON object, docs/wire.md); "
            "pipeline files are converted by the client (ExecutionClient.submit does it)")
    try:
        pipeline = pipeline_document.pipeline_from_document(document)
    except pipeline_document.DocumentError as exc:
        raise RequestError(f"the pipeline does not compile:\n{exc}") from None
    plate = place("plate", request.get("plate"), roots, omero_hosts)
    out = place("out", request.get("out"), roots, omero_hosts)
    options = run_options(request, max_workers, bind_hosts)
    if out.startswith("omero:") and options["resume"]:
        raise RequestError("`resume` needs an output folder (it reads run.json), not OMERO")
    try:
        reader = open_plate(plate, roots=roots)
        layout = reader.layout
        compiled = compile_pipeline(
            pipeline, reader, wells=options["wells"],
            config=GlobalConfig(device=options["device"]),
            output_dir=None if out.startswith("omero:") else out)
    except CompileError as exc:
        raise RequestError(f"the pipeline does not compile:\n{exc}") from None
    except (PlateError, OSError) as exc:  # OutsideRootsError is an OSError
        raise RequestError(f"cannot open plate {short(plate, 200)}: {exc}") from None
    return Submission(plate, out, pipeline.name, document, compiled, layout, options)


def execute(submission: Submission, cancel: threading.Event,
            post: Callable[[dict[str, Any]], None], limits: Any = None) -> dict[str, Any]:
    """Run a submission to the end (on the run's own thread): progress events go to `post`,
    results to the stream and/or OMERO; returns the run's final `status`, `failed`, `not_run`.
    `limits` (`engine.executor.limits.RunLimits`) bound each worker's memory and each well's
    time, and how long a cancel waits for a running step."""
    from ..engine.executor import get_backend, run_plans

    options, layout = submission.options, submission.layout
    sinks: list[Callable[[Any], None]] = []
    closers: list[Callable[[], None]] = []
    try:
        if options["stream"]:
            from .stream import StreamPublisher

            publisher = StreamPublisher(options["stream"], bind=options["stream_bind"])
            sinks.append(publisher.send_well_result)
            closers.append(publisher.close)
        writer = None
        if submission.omero_output:  # with the server's own OMERO credentials
            from .omero.writer import OmeroResultWriter

            writer = OmeroResultWriter.from_url(submission.out)
            sinks.append(writer.write_well_result)
            closers.append(writer.close)
        info = {"pipeline": {"name": submission.pipeline_name, "file": None, "source": None,
                             "document": submission.document},
                "options": {"limits": limits.describe() if limits is not None else None}}
        report = run_plans(
            submission.compiled.plans, None if writer else submission.out,
            workers=options["workers"], device=options["device"],
            on_event=lambda e: post({"state": e.state, "well": e.well, "step": e.step,
                                     "index": e.index, "total": e.total}),
            on_result=(lambda result: [sink(result) for sink in sinks]) if sinks else None,
            cancel=cancel, resume=options["resume"],
            backend=get_backend("local", in_process=False, limits=limits), run_info=info,
            channel_names=layout.channel_names, pixel_size_um=layout.pixel_size_um,
        )
        status = "ok" if report.all_ok else "cancelled" if report.cancelled else "failed"
        if writer is not None:
            writer.write_run_record({**info, "status": status, "plate": submission.plate,
                                     "wells": {**{w: "ok" for w in report.ok}, **report.failed}})
        return {"status": status, "failed": report.failed, "not_run": report.not_run}
    finally:
        for close in closers:
            close()
