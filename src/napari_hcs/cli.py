"""The `napari-hcs` command: run pipelines on plates, write sample plates, serve, set up Fiji."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import DOCS_URL, __version__
from . import pipelines as shipped_pipelines


def _info(args: argparse.Namespace) -> int:
    from .engine.plate import open_plate

    print(json.dumps(open_plate(args.plate).layout.info(), indent=2))
    return 0


def _sample(args: argparse.Namespace) -> int:
    from .engine.plate.generator import SampleSpec, write_sample_plate

    spec = SampleSpec(
        wells=tuple(args.wells.split(",")) if args.wells else SampleSpec.wells,
        grid=(args.grid, args.grid),
        tile=(args.tile, args.tile),
        nuclei_per_tile=(SampleSpec.nuclei_per_tile if args.cells_per_tile is None
                         else args.cells_per_tile),
        seed=args.seed,
    )
    root = write_sample_plate(args.path, args.format, spec, force=args.force)
    print(f"wrote {args.format} sample plate to {root}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from .run_command import run_from_cli

    # Hook for consumers of each finished well (streaming to viewers); the engine never imports
    # the bridge, so the sinks are built here.
    result_sinks, event_sinks, report_sinks, closers = [], [], [], []
    local_output = not str(args.out).startswith("omero://")
    if not local_output:  # results go back to OMERO (the [omero] extra)
        from .bridge.omero.writer import OmeroResultWriter

        writer = OmeroResultWriter.from_url(args.out)
        result_sinks.append(writer.write_well_result)
        report_sinks.append(writer.write_run_record)
        closers.append(writer.close)
    if args.stream or args.stream_bind:
        from .bridge.stream import publisher_from_args

        publisher = publisher_from_args(args)
        if publisher is not None:
            result_sinks.append(publisher.send_well_result)
            event_sinks.append(publisher.send_progress)
            closers.append(publisher.close)
    try:
        return run_from_cli(args, result_sinks=result_sinks, event_sinks=event_sinks,
                            report_sinks=report_sinks, local_output=local_output)
    finally:
        for close in closers:
            close()


def _document(args: argparse.Namespace) -> int:
    from .engine.pipeline.document import document_text, save_document

    pipeline = shipped_pipelines.load(args.pipeline)  # a .py file runs here: it is code
    if args.output:
        print(f"wrote {save_document(pipeline, args.output)}", file=sys.stderr)
    else:
        sys.stdout.write(document_text(pipeline))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .bridge.serve_command import serve_from_cli

    return serve_from_cli(args)


def _fiji_install(args: argparse.Namespace) -> int:
    from .fiji.install import install

    for line in install(args.fiji_dir):
        print(line)
    return 0


def _limit_options(p: argparse.ArgumentParser) -> None:
    from .engine.executor.limits import DEFAULT_CANCEL_GRACE_S, DEFAULT_WELL_TIMEOUT_S, parse_size

    def size(text: str) -> int | str | None:
        if text == "auto":
            return text
        try:
            return parse_size(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    def seconds(text: str) -> float | None:
        value = float(text)
        if not value >= 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r}: give seconds >= 0 (0: no limit)")
        return value or None

    p.add_argument("--max-memory", type=size, default="auto",
                   help="memory per worker process, e.g. 4G, or none (default: 80%% of this "
                   "machine's memory shared by the workers); a well past it fails")
    p.add_argument("--well-timeout", type=seconds, default=DEFAULT_WELL_TIMEOUT_S,
                   help="seconds a well may run before its worker is stopped and it fails "
                   f"(default: {DEFAULT_WELL_TIMEOUT_S:g}; 0: no limit)")
    p.add_argument("--cancel-grace", type=float, default=DEFAULT_CANCEL_GRACE_S,
                   help="seconds a cancel waits for a running step before stopping its worker "
                   f"(default: {DEFAULT_CANCEL_GRACE_S:g})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="napari-hcs", description="High-content screening pipelines: run them on plates, "
        "stream results to napari or Fiji.", epilog=f"Documentation: {DOCS_URL}")
    parser.add_argument("--version", action="version", version=f"napari-hcs {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run a pipeline file on a plate")
    p.add_argument("pipeline", help="a pipeline file (.py), a pipeline document (.json), or "
                   f"the name of a shipped pipeline ({', '.join(shipped_pipelines.names())})")
    p.add_argument("plate", help="plate folder, plate.zarr, or omero://host/plate/ID")
    p.add_argument("--out", required=True,
                   help="output folder, or omero://HOST[:PORT]/plate/ID[?target=new|wells] to "
                   "write results back to OMERO")
    p.add_argument("--wells", help="comma-separated wells, e.g. A01,B02 (default: all)")
    p.add_argument("--workers", type=int, default=1,
                   help="wells processed at once, one process each (default: 1)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="where GPU-capable steps run (default: cpu)")
    p.add_argument("--backend", choices=["local", "dask"], default="local",
                   help="local processes, or a Dask cluster (the [dask] extra)")
    p.add_argument("--scheduler", help="Dask scheduler address (default: a LocalCluster)")
    p.add_argument("--stream", help="connect a PUSH socket to a viewer's PULL, tcp://HOST:PORT")
    p.add_argument("--stream-bind", help="bind a PUSH socket for one viewer to connect to")
    p.add_argument("--format", choices=["ngff-0.5", "ngff-0.4"], default=None,
                   help="plate.zarr's format: ngff-0.5 (zarr v3, sharded; the default) or "
                   "ngff-0.4 (zarr v2, for older readers)")
    p.add_argument("--resume", action="store_true", help="skip wells already ok in run.json")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _limit_options(p)
    p.set_defaults(handler=_run)

    p = sub.add_parser("info", help="print a plate's layout as JSON")
    p.add_argument("plate", help="plate folder, plate.zarr, or omero://host/plate/ID")
    p.set_defaults(handler=_info)

    p = sub.add_parser("sample", help="write a synthetic plate with ground truth")
    p.add_argument("path", help="folder to write the plate into")
    p.add_argument("--format", choices=["imagexpress", "phenix", "zarr"], default="imagexpress",
                   help="microscope format to imitate (default: imagexpress)")
    p.add_argument("--wells", help="comma-separated wells (default: A01,A02,B01,B02)")
    p.add_argument("--grid", type=int, default=2, help="sites per side (grid x grid)")
    p.add_argument("--tile", type=int, default=256, help="tile size in pixels")
    p.add_argument("--cells-per-tile", type=float,
                   help="cells (one nucleus each) per tile (default 12); crowded cells touch")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--force", action="store_true", help="replace an existing sample plate")
    p.set_defaults(handler=_sample)

    p = sub.add_parser("document", help="write a pipeline as the JSON document a server gets")
    p.add_argument("pipeline", help="a pipeline file (.py), a document, or a shipped name")
    p.add_argument("-o", "--output", help="write to this file (default: standard output)")
    p.set_defaults(handler=_document)

    p = sub.add_parser("serve", help="run the execution server")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7447, help="port to listen on (default: 7447)")
    p.add_argument("--token-file", help="read the token from this file (default: generate one)")
    p.add_argument("--root", action="append", default=[],
                   help="a folder under which plates and outputs are allowed (repeatable; "
                   "default: the current folder)")
    p.add_argument("--allow-module", action="append", default=[],
                   help="import MODULE at start, so that submitted pipeline documents may name "
                   "the functions it registers (repeatable; the built-in library is always "
                   "there)")
    p.add_argument("--omero-host", action="append", default=[],
                   help="an OMERO server (HOST, meaning port 4064, or HOST:PORT) that plates "
                   "and outputs may name (repeatable; default: none)")
    p.add_argument("--stream-bind-host", action="append", default=[],
                   help="an address a submit's stream_bind may bind on (repeatable; default: "
                   "127.0.0.1, ::1 and localhost only)")
    _limit_options(p)
    p.set_defaults(handler=_serve)

    p = sub.add_parser("fiji", help="set up the Fiji/ImageJ plugin that receives the stream")
    fiji = p.add_subparsers(dest="fiji_command", required=True)
    p = fiji.add_parser("install", help="put the plugin (and JeroMQ/Gson when missing) into a "
                        "Fiji or ImageJ installation")
    p.add_argument("fiji_dir", metavar="FIJI_DIR", help="the Fiji.app (or ImageJ) folder")
    p.set_defaults(handler=_fiji_install)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line for users; tracebacks only with --debug
        if args.debug:
            raise
        print(f"error: {error_line(exc)}", file=sys.stderr)
        return 2


def error_line(exc: BaseException) -> str:
    """One non-empty line for an exception (MemoryError() and KeyError('x') say little)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, KeyError) or len(text) < 4:
        return f"{type(exc).__name__}({text})" if text else type(exc).__name__
    return text


if __name__ == "__main__":
    sys.exit(main())
