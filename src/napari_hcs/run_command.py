"""`napari-hcs run`: load a pipeline file, open the plate, compile, run with a progress bar.

Exit codes: 0 every well ok; 1 some wells failed (named on stderr and in run.json); 2 the
pipeline does not compile or the input/output cannot be used (one line per problem).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .engine.executor.events import ProgressEvent, WellResult


def run_from_cli(
    args: argparse.Namespace,
    *,
    result_sinks: Sequence[Callable[[WellResult], None]] = (),
    event_sinks: Sequence[Callable[[ProgressEvent], None]] = (),
    report_sinks: Sequence[Callable[[dict[str, Any]], None]] = (),
    local_output: bool = True,
) -> int:
    """Run `args.pipeline` on `args.plate`; `result_sinks` get every WellResult (streaming).

    With `local_output=False` (results go to a remote store, e.g. OMERO, through the sinks)
    nothing is written locally; `report_sinks` then get the run's record (what run.json holds).
    The first Ctrl-C, from the moment the command starts, cancels cooperatively (exit 1, the
    run.json says `cancelled`); a second one aborts. SIGTERM cancels the same way (a step that
    does not return within `--cancel-grace` has its worker stopped), so a terminated run
    still ends with its run.json written.
    """
    cancel = threading.Event()
    previous = _cancel_on_sigint(cancel)
    previous_term = _cancel_on_sigterm(cancel)
    local = args.backend != "dask"
    try:
        if local:  # first: the workers' imports overlap with all that follows
            from .engine.executor.fork_server import start_worker_server

            start_worker_server()
        return _run(args, cancel, result_sinks, event_sinks, report_sinks, local_output)
    finally:
        if local:  # this process exits after the run
            from .engine.executor.fork_server import stop_worker_server

            # Killed at once unless results are streamed: a stream's last messages need the
            # time its ordinary exit takes to reach a slow viewer (docs/performance.md).
            stop_worker_server(kill=not result_sinks)
        signal.signal(signal.SIGINT, previous)
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


def _run(
    args: argparse.Namespace,
    cancel: threading.Event,
    result_sinks: Sequence[Callable[[WellResult], None]],
    event_sinks: Sequence[Callable[[ProgressEvent], None]],
    report_sinks: Sequence[Callable[[dict[str, Any]], None]],
    local_output: bool,
) -> int:
    from . import pipelines as shipped_pipelines
    from .engine.compiler import CompileError, compile_pipeline
    from .engine.executor.backend import get_backend
    from .engine.executor.limits import DEFAULT_CANCEL_GRACE_S, DEFAULT_WELL_TIMEOUT_S, RunLimits
    from .engine.executor.runner import run_plans
    from .engine.pipeline import GlobalConfig
    from .engine.plate import open_plate

    if not local_output and args.resume:
        print("error: --resume needs a local --out folder (it reads run.json)", file=sys.stderr)
        return 2
    out = args.out if local_output else None
    if out is not None:  # `s3://` is an object store, `http://` nothing we can write
        from .engine.vfs.location import check_writable

        try:  # before any work: never a local folder named "s3:"
            check_writable(out)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    pipeline_file = shipped_pipelines.resolve(args.pipeline)
    wells = [w.strip() for w in args.wells.split(",") if w.strip()] if args.wells else None
    try:  # a .py pipeline file runs here; a .json document is read as data
        pipeline = shipped_pipelines.load(pipeline_file)
        reader = open_plate(args.plate)
        layout = reader.layout
        compiled = compile_pipeline(pipeline, reader, wells=wells,
                                    config=GlobalConfig(device=args.device,
                                                        output_format=getattr(args, "format",
                                                                              None)),
                                    output_dir=out)
    except CompileError as exc:  # a DocumentError is one too
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    limits = RunLimits.of(args.workers, getattr(args, "max_memory", "auto"),
                          getattr(args, "well_timeout", DEFAULT_WELL_TIMEOUT_S),
                          getattr(args, "cancel_grace", DEFAULT_CANCEL_GRACE_S))
    if args.backend == "dask":  # Dask's own memory limits apply there (limits.py)
        backend: Any = get_backend("dask", scheduler=args.scheduler)
    else:  # processes even for one worker: a crashing well must not take the run down
        backend = get_backend("local", in_process=False, last_run=True, limits=limits)

    run_info = {"pipeline": {"name": pipeline.name, "file": str(pipeline_file.resolve()),
                             "source": pipeline_file.read_text(encoding="utf-8")},
                "options": {"limits": limits.describe() if args.backend != "dask" else None}}
    bar = _ProgressBar(len(compiled.plans), disable=args.no_progress)

    def on_event(event: ProgressEvent) -> None:
        bar.event(event)
        for sink in event_sinks:
            sink(event)

    def on_result(result: WellResult) -> None:
        bar.result(result)
        for sink in result_sinks:
            sink(result)

    # A run without --resume replaces an earlier run's results there: say so when it is done.
    replaced = bool(out) and not args.resume and (Path(out) / "run.json").is_file()
    if cancel.is_set():  # Ctrl-C while loading or compiling: leave OUT as it was
        print("error: cancelled before the run started; nothing was written", file=sys.stderr)
        return 1
    try:
        report = run_plans(
            compiled.plans, out, workers=args.workers, device=args.device,
            on_event=on_event, on_result=on_result if result_sinks else bar.result,
            ship_images=bool(result_sinks), cancel=cancel, resume=args.resume, backend=backend,
            run_info=run_info,
            channel_names=layout.channel_names, pixel_size_um=layout.pixel_size_um,
        )
    finally:
        bar.close()
    if report_sinks:
        record = {**run_info, "plate": {"root": str(args.plate), "format": layout.format},
                  "options": {"workers": args.workers, "device": args.device,
                              "backend": args.backend},
                  "status": "ok" if report.all_ok else
                  ("cancelled" if report.cancelled else "failed"),
                  "seconds": round(report.seconds, 3),
                  "wells": {**{w: {"status": "ok"} for w in report.ok},
                            **{w: {"status": "failed", "error": e}
                               for w, e in report.failed.items()}}}
        for sink in report_sinks:
            sink(record)
    for well, error in report.failed.items():
        print(f"error: well {well}: {error}", file=sys.stderr)
    if report.cancelled:
        names = ", ".join(report.not_run[:10]) + (", ..." if len(report.not_run) > 10 else "")
        print(f"error: cancelled; {len(report.not_run)} wells not run"
              f"{f' ({names})' if names else ''}; --resume finishes them", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    skipped = f", {len(report.skipped)} already done" if report.skipped else ""
    earlier = " (the earlier run's results there were replaced)" if replaced else ""
    print(f"{len(report.ok)} wells ok, {len(report.failed)} failed{skipped}: {args.out}"
          f"{earlier}", file=sys.stderr)
    return 0 if report.all_ok and not report.warnings else 1


def _cancel_on_sigint(cancel: threading.Event) -> Any:
    """First Ctrl-C: cancel cooperatively (run.json stays consistent); second: interrupt."""
    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        print("\ncancelling: finishing running wells' current step (Ctrl-C again to abort)",
              file=sys.stderr)
        cancel.set()

    if threading.current_thread() is not threading.main_thread():
        return signal.getsignal(signal.SIGINT)
    return signal.signal(signal.SIGINT, handler)


def _cancel_on_sigterm(cancel: threading.Event) -> Any:
    """SIGTERM (a scheduler, `kill`, a service stopping): cancel, so run.json is finished."""
    def handler(signum: int, frame: Any) -> None:
        if not cancel.is_set():
            print("\nterminated: cancelling the run", file=sys.stderr)
        cancel.set()

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


class _ProgressBar:
    """A tqdm bar on stderr: one tick per finished well, the running step as postfix."""

    def __init__(self, total: int, *, disable: bool) -> None:
        self.total, self.disable = total, disable
        self._bar: Any = None

    @property
    def bar(self) -> Any:
        # Drawn at the first progress: a run refused before it starts (its output folder,
        # --resume) shows its one error line, not an empty bar above it.
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, unit="well", file=sys.stderr,
                             disable=self.disable, dynamic_ncols=True)
        return self._bar

    def event(self, event: ProgressEvent) -> None:
        if event.state == "running":
            self.bar.set_postfix_str(f"{event.well}: {event.step} ({event.index}/{event.total})",
                                     refresh=False)

    def result(self, result: WellResult) -> None:
        self.bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
