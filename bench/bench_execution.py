"""Execution throughput and peak memory: 1 and 2 workers vs a read+write floor.

    .venv/bin/python bench/bench_execution.py [--tile 256] [--wells 8] [--grid 3]

Generates an ImageXpress plate, then runs (a) the floor: one step that returns its input
unchanged (a max projection over the single z plane), so only read + OME-Zarr write remain,
and (b) a simple 2-step pipeline (gaussian blur, then background subtraction), each with 1 and
2 worker processes (spawned; start-up included). Reports
images/s and peak RSS of the parent plus all its children (sampled every 20 ms).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.executor import LocalBackend, run_plans
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate import open_plate
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate


def _rss_tree_mb(pid: int) -> float:
    """RSS of a process and its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * 4096
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total / 2**20


class PeakMemory:
    def __init__(self) -> None:
        import os

        self.pid, self.peak, self._stop = os.getpid(), 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_tree_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def pipelines() -> dict[str, Pipeline]:
    from napari_hcs.engine.functions.library.background import subtract_background
    from napari_hcs.engine.functions.library.filters import gaussian_blur
    from napari_hcs.engine.functions.library.projection import max_projection

    # The floor: a max projection over the single z plane returns each image unchanged.
    floor = Step(max_projection, name="identity", variable_components=("z",))
    return {
        "floor (read+write)": Pipeline([floor], name="floor"),
        "blur+background": Pipeline([Step((gaussian_blur, {"sigma": 1.5}), name="blur"),
                                     Step(subtract_background, name="background")],
                                    name="two_steps"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--wells", type=int, default=8)
    parser.add_argument("--grid", type=int, default=3)
    args = parser.parse_args(argv)
    wells = tuple(f"{'ABCDEFGH'[i // 12]}{i % 12 + 1:02d}" for i in range(args.wells))
    spec = SampleSpec(wells=wells, grid=(args.grid, args.grid), tile=(args.tile, args.tile))
    with tempfile.TemporaryDirectory() as tmp:
        plate = write_sample_plate(Path(tmp) / "plate", "imagexpress", spec)
        reader = open_plate(plate)
        n_images = len(wells) * len(reader.layout.keys(wells[0]))
        print(f"plate: {len(wells)} wells x {len(reader.layout.keys(wells[0]))} images of "
              f"{args.tile}x{args.tile} = {n_images} images")
        print(f"{'pipeline':<22}{'workers':>8}{'seconds':>9}{'images/s':>10}{'peak MB':>9}")
        for name, pipeline in pipelines().items():
            plans = compile_pipeline(pipeline, reader).plans
            for workers in (1, 2):
                out = Path(tmp) / f"out-{pipeline.name}-{workers}"
                with PeakMemory() as mem:
                    start = time.perf_counter()
                    report = run_plans(plans, out, workers=workers,
                                       backend=LocalBackend(in_process=False))
                    seconds = time.perf_counter() - start
                assert report.all_ok, report.failed
                print(f"{name:<22}{workers:>8}{seconds:>9.2f}{n_images / seconds:>10.1f}"
                      f"{mem.peak:>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
