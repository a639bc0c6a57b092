"""Latency from a well finishing to its layers appearing in napari, over loopback streaming.

A sender process (the "run") holds real well results: the sample plate (default 20 wells,
2x2 sites of 270 px tiles, 2 channels) processed once by the shipped `stitch_segment`, so each
well is a 2 x ~513 x ~513 uint16 mosaic, its nuclei labels, their ROIs and a table. It then
replays them through `StreamPublisher.send_well_result` one well every `--interval` seconds,
noting `time.monotonic()` just before each send: the moment `on_result` hands a finished well
to the publisher in `napari-hcs run --stream`.

Two receivers, measured in the same session, interleaved when `--repeats` > 1:

- `napari viewer`: the Run dock's receiver (`RunDock.set_receiving`, the plugin's real path:
  receiver thread -> Qt signal -> `ResultSink` on the GUI thread) in a shown napari viewer
  under Xvfb; the clock stops on the GUI thread as the well's data is in a layer:
  `ResultSink.shown` (the sink writes each well into plate-wide layers);
- `receiver only`: a plain `StreamReceiver` with no viewer; the clock stops in its callback
  (receiver thread) as each message is decoded. The difference is napari's share.

Per well, `first` is the first layer (message) of the well and `complete` the last one (after
the image channels, labels and ROIs). Both processes read CLOCK_MONOTONIC, which Linux shares
between processes. Without a DISPLAY the bench starts its own Xvfb.

    xvfb-run -a python -m bench latency [--wells 20] [--interval 0.25] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from napari_hcs.pipelines import path_of

ROOT = Path(__file__).resolve().parents[1]
LAYER_KINDS = ("image", "labels", "rois")


# -- the run side (a spawned process) ---------------------------------------------------------
def _well_names(count: int) -> tuple[str, ...]:
    from napari_hcs.engine.plate.wells import format_well

    return tuple(format_well(*divmod(i, 12)) for i in range(count))  # row by row, 12 columns


def _results(plate_dir: Path, wells: int, tile: int) -> list[Any]:
    from napari_hcs.engine.codegen import load_pipeline
    from napari_hcs.engine.compiler import compile_pipeline
    from napari_hcs.engine.executor import run_plans
    from napari_hcs.engine.plate import open_plate
    from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

    spec = SampleSpec(wells=_well_names(wells), tile=(tile, tile))
    plate = write_sample_plate(plate_dir / "plate", "imagexpress", spec)
    compiled = compile_pipeline(load_pipeline(path_of("stitch_segment")),
                                open_plate(plate))
    results: list[Any] = []
    report = run_plans(compiled.plans, None, workers=1, on_result=results.append)
    if not report.all_ok:
        raise RuntimeError(f"the sample run failed: {report.failed}")
    return sorted(results, key=lambda r: r.well)


def _sender(conn: Any, plate_dir: str, wells: int, tile: int, interval: float) -> None:
    from napari_hcs.bridge.stream import StreamPublisher

    results = _results(Path(plate_dir), wells, tile)
    conn.send({"wells": [r.well for r in results],
               "layers": {r.well: r.image.shape[0] + len(r.labels) + len(r.rois) for r in results},
               "image": [list(results[0].image.shape), str(results[0].image.dtype)],
               "labels": {k: list(v.shape) for k, v in results[0].labels.items()},
               "rois": {k: len(v) for k, v in results[0].rois.items()}})
    while True:
        command = conn.recv()
        if command[0] == "quit":
            return
        sent: dict[str, float] = {}
        with StreamPublisher(command[1], send_timeout_ms=30_000) as publisher:
            publisher.wait_for_peer(5)
            time.sleep(0.2)  # let the handshake finish before the clock matters
            for result in results[:command[2]]:
                sent[result.well] = time.monotonic()
                publisher.send_well_result(result)
                time.sleep(interval)
        conn.send({"sent": sent, "dropped": publisher.dropped})


# -- the viewer side ----------------------------------------------------------------------------
def _ensure_display() -> subprocess.Popen | None:
    """Start Xvfb when there is no display (and Qt is not told to go offscreen)."""
    if os.environ.get("DISPLAY") or os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return None
    if shutil.which("Xvfb") is None:
        raise SystemExit("no DISPLAY and no Xvfb: run under xvfb-run -a")
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        os.environ["DISPLAY"] = f":{f.readline().strip()}"
    return xvfb


def _complete(arrived: dict[str, list[float]], expected: dict[str, int]) -> bool:
    return all(len(arrived.get(w, ())) >= n for w, n in expected.items())


def viewer_phase(conn: Any, dock: Any, expected: dict[str, int], timeout_s: float) -> dict:
    """Stream every well into the Run `dock` of a viewer; arrival = `ResultSink.shown`."""
    from qtpy.QtCore import QEventLoop, QTimer

    viewer = dock.viewer
    viewer.layers.clear()
    arrived: dict[str, list[float]] = {}
    loop = QEventLoop()

    def arrive(well: str) -> None:
        arrived.setdefault(well, []).append(time.monotonic())
        if _complete(arrived, expected):
            loop.quit()

    def shown(well: str, _layer: str) -> None:
        arrive(well)

    dock.sink.shown.connect(shown)
    dock.stream.setChecked(True)  # binds tcp://127.0.0.1:0 and shows the real address
    conn.send(("send", dock.receiver.address, len(expected)))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()  # the GUI thread idles in Qt's event loop, as in napari
    reply = conn.recv()
    dock.sink.shown.disconnect(shown)
    dock.stream.setChecked(False)
    return {"sent": reply["sent"], "arrived": arrived, "dropped": reply["dropped"]}


def receiver_phase(conn: Any, expected: dict[str, int], timeout_s: float) -> dict:
    """The same messages into a plain StreamReceiver; arrival = its callback."""
    from napari_hcs.bridge.stream import StreamReceiver

    arrived: dict[str, list[float]] = {}

    def on_message(message: Any) -> None:
        now = time.monotonic()
        if message.kind in LAYER_KINDS:  # one message per layer, as the viewer shows them
            n = message.data.shape[0] if message.kind == "image" and message.data.ndim == 3 else 1
            arrived.setdefault(message.well, []).extend([now] * n)

    with StreamReceiver(on_message=on_message) as receiver:
        conn.send(("send", receiver.address, len(expected)))
        reply = conn.recv()
        deadline = time.monotonic() + timeout_s
        while not _complete(arrived, expected) and time.monotonic() < deadline:
            time.sleep(0.01)
    return {"sent": reply["sent"], "arrived": arrived, "dropped": reply["dropped"]}


def latencies(phase: dict) -> dict[str, list[float]]:
    """Milliseconds from send to the well's first and last layer, per complete well."""
    first, complete = [], []
    for well, sent in phase["sent"].items():
        times = phase["arrived"].get(well)
        if times:
            first.append((min(times) - sent) * 1000)
            complete.append((max(times) - sent) * 1000)
    return {"first": first, "complete": complete}


def _stats(values: list[float]) -> dict[str, float]:
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return {"n": len(values), "median_ms": statistics.median(values), "p25_ms": quartiles[0],
            "p75_ms": quartiles[2], "min_ms": min(values), "max_ms": max(values)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wells", type=int, default=20)
    parser.add_argument("--tile", type=int, default=270, help="tile size; 270 -> ~513 px mosaic")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between wells")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    xvfb = _ensure_display()
    workdir = tempfile.mkdtemp(prefix="napari-hcs-latency-")
    conn, child_conn = mp.Pipe()
    sender = mp.get_context("spawn").Process(
        target=_sender, args=(child_conn, workdir, args.wells, args.tile, args.interval))
    try:
        import napari

        sender.start()
        from napari_hcs.napari.docks.run_dock import RunDock

        viewer = napari.Viewer(show=True)
        dock = RunDock(viewer)
        viewer.window.add_dock_widget(dock, name="Run")
        info = conn.recv()  # the sender has run the plate and holds its results
        expected = info["layers"]
        runs: dict[str, list[dict]] = {"receiver only": [], "napari viewer": []}
        # Warm-up, not counted: the first layers pay for imports, shaders and the first paint.
        warm = dict(list(expected.items())[:2])
        receiver_phase(conn, warm, args.timeout)
        viewer_phase(conn, dock, warm, args.timeout)
        for _ in range(args.repeats):
            runs["receiver only"].append(receiver_phase(conn, expected, args.timeout))
            runs["napari viewer"].append(viewer_phase(conn, dock, expected, args.timeout))
        conn.send(("quit",))
        viewer.close()
    finally:
        sender.join(timeout=30)
        if sender.is_alive():
            sender.terminate()
        shutil.rmtree(workdir, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()

    layers = sum(expected.values()) / len(expected)
    print(f"{len(expected)} wells, one every {args.interval:g} s; each: image "
          f"{'x'.join(map(str, info['image'][0]))} {info['image'][1]}, labels "
          f"{info['labels']}, rois {info['rois']} ({layers:.0f} layers per well)")
    print(f"{'receiver':<15} {'arrival of':<10} {'median':>8} {'p25':>8} {'p75':>8} "
          f"{'max':>8}  (ms after send)")
    results: dict[str, Any] = {"info": info, "interval_s": args.interval}
    for name, phases in runs.items():
        merged = {"first": [], "complete": []}
        for phase in phases:
            for key, values in latencies(phase).items():
                merged[key] += values
        missing = args.repeats * len(expected) - len(merged["complete"])
        results[name] = {key: _stats(values) for key, values in merged.items() if values}
        results[name]["wells_missing"] = missing
        results[name]["per_well_ms"] = merged  # in send order: a backlog shows as growth
        for key in ("first", "complete"):
            s = results[name].get(key)
            if s:
                print(f"{name:<15} {key:<10} {s['median_ms']:8.1f} {s['p25_ms']:8.1f} "
                      f"{s['p75_ms']:8.1f} {s['max_ms']:8.1f}")
        if missing:
            print(f"{name}: {missing} wells never arrived complete")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
