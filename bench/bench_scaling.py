"""Scaling: the default pipeline on the local backend and on Dask, with 1 and 2 workers.

Every case is `napari-hcs run stitch_segment PLATE --out ...` as a subprocess
(measured by `harness.run_measured`), interleaved over repetitions; ratios are against the local
backend with one worker, measured in the same run. For more workers on a real cluster see
docs/scaling.md (the same command with `--scheduler`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench.harness import format_table, interleave, machine_info, ratio, run_measured, summarize
from napari_hcs.pipelines import path_of

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = path_of("stitch_segment")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench scaling", description=__doc__)
    parser.add_argument("--wells", type=int, default=16)
    parser.add_argument("--grid", type=int, default=3)
    parser.add_argument("--tile", type=int, default=384)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    args = parser.parse_args(argv)

    from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

    work = Path(tempfile.mkdtemp(prefix="napari-hcs-scaling-"))
    try:
        wells = tuple(f"{'ABCDEFGH'[i // 12]}{i % 12 + 1:02d}" for i in range(args.wells))
        spec = SampleSpec(wells=wells, grid=(args.grid, args.grid), tile=(args.tile, args.tile))
        plate = write_sample_plate(work / "plate", "imagexpress", spec)
        images = len(wells) * args.grid * args.grid * len(spec.channels)
        cases = {}
        for backend in ("local", "dask"):
            for n in (int(w) for w in args.workers.split(",")):
                def run(rep: int, backend: str = backend, n: int = n):
                    out = work / f"out-{backend}-{n}-{rep}"
                    return run_measured(
                        [sys.executable, "-m", "napari_hcs.cli", "run", PIPELINE, plate,
                         "--out", out, "--workers", n, "--backend", backend, "--no-progress"],
                        name=f"{backend} x{n}")
                cases[f"{backend} x{n}"] = run
        results = interleave(cases, args.repetitions)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base = summarize([m.wall_s for m in results["local x1"]]).median
    rows = []
    for name, runs in results.items():
        wall = summarize([m.wall_s for m in runs])
        rows.append([name, f"{wall.median:.2f} ±{wall.spread_pct:.0f}%",
                     f"{images / wall.median:.1f}", f"{ratio(wall.median, base):.2f}",
                     f"{summarize([m.peak_rss_mb for m in runs]).median:.0f}"])
    print(f"plate: {len(wells)} wells x {args.grid}x{args.grid} sites x "
          f"{len(spec.channels)} channels, {args.tile} px tiles ({images} images); "
          f"{args.repetitions} interleaved repetitions; {machine_info()['cpu_count']} cores")
    print(format_table(["case", "wall s", "images/s", "wall / local x1", "peak MB"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
