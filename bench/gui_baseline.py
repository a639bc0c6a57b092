"""napari alone, for `bench gui`: what napari itself costs for what our phases do.

- `pan`: napari's own multiscale image of the plate view's very shape and levels (each level a
  numpy memmap over a sparse file: no pixel read from a plate), panned as ours is.
- `browse`: the same image, the camera taken where our browse clicks took it, as often.
- `run`: napari showing the same run's results while the same computation runs beside it. The
  same pipeline on the same wells runs in a background process exactly as the Run dock runs it
  (`run_plans`, worker processes at the dock's nice level, nothing written), while napari adds
  layers like the run's (the labels shown, the processed channels and the outlines hidden, 0.3 s
  apart) and redraws the labels layer each time a well's labels arrived in our run (its block
  written into the layer's levels, then `layer.refresh()`: what a napari script showing each
  well as it lands does). Without the background run it is `adding`: napari adding the same
  layers on an otherwise idle machine.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RunLike:
    """What napari alone replays of our run."""

    plate: Path
    wells: list[str]
    workers: int
    seconds: float  # our run phase's length: napari alone is measured as long
    cameras: list[tuple[tuple[float, ...], float]]  # (centre, zoom) of each browse click
    # (seconds after the run started, level-0 box (y, x, h, w) in the plate view) per well
    # whose labels reached our viewer.
    arrivals: list[tuple[float, tuple[int, int, int, int]]] = field(default_factory=list)


def napari_alone(shapes: list[tuple[int, ...]], channels: int, run: RunLike,
                 work: Path, dock_width: int) -> dict[str, float]:
    import napari

    from bench.bench_gui import StallMeter, _loop_until, _settle, pan
    from napari_hcs.napari.docks.run_dock import WORKER_NICE

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1366, 768)
    viewer.window.add_dock_widget(_placeholder(dock_width), name="napari HCS")
    _settle(0.5)
    canvas = viewer.window._qt_window.centralWidget().size()
    with tempfile.TemporaryDirectory(dir=work) as folder:
        for c in range(channels):
            levels = _sparse_levels(Path(folder) / f"c{c}", shapes, "uint16", "r")
            viewer.add_image(levels, multiscale=True, blending="additive",
                             contrast_limits=(0, 1000), name=f"channel {c + 1}")
        _settle(1)
        stalls = pan(viewer, StallMeter())
        browsing = _browse(viewer, run.cameras)
        adding = _adding(viewer, folder, shapes, channels, None)
        for name in [layer.name for layer in viewer.layers]:
            if name.startswith(("labels", "result", "outlines")):
                viewer.layers.remove(name)
        _settle(1)
        background = subprocess.Popen(
            [sys.executable, "-c", "import sys; from bench.gui_baseline import background_run;"
             " background_run(sys.argv[1], sys.argv[2].split(','), *map(int, sys.argv[3:]))",
             str(run.plate), ",".join(run.wells), str(run.workers), str(WORKER_NICE)],
            cwd=ROOT, stdout=subprocess.DEVNULL)
        during = _adding(viewer, folder, shapes, channels, run)
        background.wait()
        _loop_until(lambda: True, 1)
        viewer.close()
    return {**stalls, "canvas": [canvas.width(), canvas.height()],
            "browse_max_ms": browsing["max_ms"], "browse_p99_ms": browsing["p99_ms"],
            "add_max_ms": adding["max_ms"], "add_p99_ms": adding["p99_ms"],
            "run_max_ms": during["max_ms"], "run_p99_ms": during["p99_ms"],
            "run_ticks": during["ticks"]}


def _browse(viewer: object, cameras: list[tuple[tuple[float, ...], float]]) -> dict:
    """The camera taken where our browse clicks took it, 0.4 s apart (napari's own multiscale
    image drawn there: what a click on a well costs napari)."""
    from bench.bench_gui import StallMeter, _after, _settle

    viewer.reset_view()
    _settle(1)
    meter = StallMeter()
    meter.start()
    for i, (center, zoom) in enumerate(cameras):
        _after(400 * i + 50, lambda c=center, z=zoom: (
            setattr(viewer.camera, "center", c), setattr(viewer.camera, "zoom", z)))
    _settle(0.4 * len(cameras) + 0.8)
    return meter.stop()


def _placeholder(width: int) -> object:
    """An empty widget placed where the napari HCS dock goes (beside napari's layer controls
    at 1366 px): the same canvas, none of our dock's reactions to layers (its plot, lists)."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QWidget

    from napari_hcs.napari.docks.hcs_dock import HcsDock

    widget = QWidget()
    widget.setMinimumWidth(width)  # the dock's own width: its pages' least width
    widget._placed = False
    # The dock's own placement, applied to the empty widget once it is in the window.
    QTimer.singleShot(0, lambda: HcsDock.make_room(widget))
    return widget


def _adding(viewer: object, folder: str, shapes: list[tuple[int, ...]], channels: int,
            run: RunLike | None) -> dict[str, float]:
    """Stalls while napari adds a run's layers 0.3 s apart (and, with `run`, redraws the
    labels at the run's arrivals, for as long as our run phase lasted)."""
    from bench.bench_gui import StallMeter, _after, _settle

    tag = "run" if run else "idle"
    kinds = ["labels", "outlines"] + ["image"] * channels
    added: dict[str, object] = {}
    meter = StallMeter()
    meter.start()
    for i, kind in enumerate(kinds):
        _after(300 * i + 50, lambda k=kind, n=i: added.setdefault(
            f"{k} {n}", _add_like(viewer, Path(folder) / f"{tag}{n}", shapes, k, n)))
    if run is None:
        _settle(0.3 * len(kinds) + 2)
        return meter.stop()
    for seconds, box in run.arrivals:
        _after(int(seconds * 1000), lambda b=box: _show_well(added.get("labels 0"), b))
    _settle(run.seconds)
    return meter.stop()


def _show_well(layer: object, box: tuple[int, int, int, int]) -> None:
    """A well's labels written into every level of `layer`, then napari redraws it."""
    import numpy as np

    if layer is None:
        return
    y, x, h, w = box
    for level, data in enumerate(layer.data):
        f = 2 ** level
        ys, xs = np.ogrid[y // f:(y + h) // f, x // f:(x + w) // f]
        data[y // f:(y + h) // f, x // f:(x + w) // f] = (ys // 12 * 997 + xs // 12) % 4093 + 1
    layer.refresh()


def _sparse_levels(prefix: Path, shapes: list[tuple[int, ...]], dtype: str,
                   mode: str) -> list[object]:
    import numpy as np

    levels = []
    for i, shape in enumerate(shapes):
        path = Path(f"{prefix}_l{i}")
        with open(path, "wb") as file:
            file.truncate(int(np.prod(shape)) * np.dtype(dtype).itemsize)
        levels.append(np.memmap(path, dtype=dtype, mode=mode, shape=tuple(shape)))
    return levels


def _add_like(viewer: object, prefix: Path, shapes: list[tuple[int, ...]], kind: str,
              n: int) -> object:
    """A multiscale layer of `kind` over sparse memmaps of the plate view's levels, shown or
    hidden as the run's layer of that kind is."""
    if kind == "image":
        levels = _sparse_levels(prefix, shapes, "uint16", "r")
        return viewer.add_image(levels, multiscale=True, blending="additive", visible=False,
                                contrast_limits=(0, 1000), name=f"result {n}")
    levels = _sparse_levels(prefix, shapes, "uint32", "r+")
    return viewer.add_labels(levels, multiscale=True, opacity=0.5, name=f"{kind} {n}",
                             visible=kind == "labels")


def background_run(plate: str, wells: list[str], workers: int, nice: int) -> None:
    """The Run dock's run without a viewer: the shipped pipeline on `wells`, worker processes
    at the dock's nice level, nothing written."""
    from napari_hcs.engine.codegen import load_pipeline
    from napari_hcs.engine.compiler import compile_pipeline
    from napari_hcs.engine.executor import run_plans
    from napari_hcs.engine.executor.backend import get_backend
    from napari_hcs.engine.plate import open_plate
    from napari_hcs.pipelines import path_of

    reader = open_plate(plate)
    compiled = compile_pipeline(load_pipeline(path_of("stitch_segment")), reader, wells=wells)
    layout = reader.layout
    run_plans(compiled.plans, None, workers=workers,
              backend=get_backend("local", in_process=False, nice=nice),
              channel_names=layout.channel_names, pixel_size_um=layout.pixel_size_um)
