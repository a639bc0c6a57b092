"""Writing one plate.zarr field: our writer (`vfs/omezarr.py`; NGFF 0.5 zarr v3 sharded, and
0.4 zarr v2) vs zarr-python 3's sharded arrays and ome-zarr-py's `write_image`.

What a worker process pays to write one stitched well, import included (each repetition is a
fresh subprocess, as a worker's first well is): the same (C, Y, X) uint16 image, the same
pyramid (3 levels, 2x2 mean), chunks (1, 256, 256) and codec (Blosc zstd level 3, byte
shuffle); v3 shards of (1, 2048, 2048) (one per plane here). Each contender imports only what
it needs. `--baseline-src DIR` adds "before": our writer as another checkout's `src` has it
(e.g. the main branch's zarr v2 writer). Interleaved repetitions; prints medians and the
ratio to ours (0.4). See docs/performance.md ("Writing") and docs/outputs.md.

    python -m bench writer [--size 1474] [--channels 2] [--reps 5] [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench.harness import format_table, interleave, ratio, run_measured, summarize

_OURS = """
import sys, numpy as np
from napari_hcs.engine.vfs import omezarr
out, c, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
image = np.random.default_rng(0).poisson(300, (c, n, n)).astype(np.uint16)
version = {"version": sys.argv[4]} if len(sys.argv) > 4 else {}
omezarr.create_plate(out, ["A01"], **version)
omezarr.write_field(out, "A01", 0, image, pixel_size_um=0.65,
                    storage=omezarr.Storage(levels=3, chunk_size=256, compression="blosc"))
"""

_ZARR_V3 = """
import sys, numpy as np, zarr
from napari_hcs.engine.vfs.pyramid import levels
out, c, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
image = np.random.default_rng(0).poisson(300, (c, n, n)).astype(np.uint16)
group = zarr.open_group(out, mode="w", zarr_format=3)
blosc = zarr.codecs.BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")
for i, level in enumerate(levels(image, False, 3)):
    shard = (1, *[min(2048, -(-s // 256) * 256) for s in level.shape[1:]])
    array = group.create_array(str(i), shape=level.shape, dtype=level.dtype,
                               chunks=(1, 256, 256), shards=shard, compressors=blosc,
                               fill_value=0, dimension_names=["c", "y", "x"])
    array[...] = level
"""

_OME_ZARR = """
import sys, numpy as np, numcodecs, zarr
from ome_zarr.format import FormatV04
from ome_zarr.scale import Scaler
from ome_zarr.writer import write_image
out, c, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
image = np.random.default_rng(0).poisson(300, (c, n, n)).astype(np.uint16)
group = zarr.open_group(out, mode="w", zarr_format=2)
blosc = numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE)
write_image(image, group, axes="cyx", fmt=FormatV04(),
            scaler=Scaler(max_layer=2, method="local_mean"),
            storage_options={"chunks": (1, 256, 256), "compressor": blosc},
            coordinate_transformations=[[{"type": "scale", "scale": [1, 0.65 * 2**i,
                                                                     0.65 * 2**i]}]
                                        for i in range(3)])
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench writer", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1474, help="image edge, px")
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--baseline-src", help="another checkout's src folder: its writer "
                        "as 'before'")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-writer-"))
    try:
        def case(code: str, name: str, *extra: str, src: str | None = None):
            def run(rep: int):
                out = work / f"{name}{rep}.zarr"
                return run_measured([sys.executable, "-c", code, str(out), str(args.channels),
                                     str(args.size), *extra], name=name,
                                    env={"PYTHONPATH": src} if src else None)
            return run

        cases = {"ours 0.4 (v2)": case(_OURS, "v04", "0.4"),
                 "ours 0.5 (v3 sharded)": case(_OURS, "v05", "0.5"),
                 "zarr-python 0.5 (v3 sharded)": case(_ZARR_V3, "zarr3"),
                 "ome-zarr-py 0.4": case(_OME_ZARR, "ome-zarr-py")}
        if args.baseline_src:
            cases["before (--baseline-src)"] = case(_OURS, "before", src=args.baseline_src)
        results = interleave(cases, args.reps)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = summarize([m.wall_s for m in results["ours 0.4 (v2)"]]).median
    rows = []
    for name, runs in results.items():
        wall = summarize([m.wall_s for m in runs])
        cpu = summarize([m.cpu_s for m in runs])
        rows.append([name, f"{wall.median:.2f} ±{wall.spread_pct:.0f}%", f"{cpu.median:.2f}",
                     f"{ratio(wall.median, base):.2f}"])
    print(f"one field of {args.channels}x{args.size}x{args.size} uint16, 3 levels, "
          f"{args.reps} interleaved repetitions (subprocess incl. imports)")
    print(format_table(["writer", "wall s", "cpu s", "wall / ours 0.4"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
