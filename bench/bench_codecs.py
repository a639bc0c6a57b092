"""How plate.zarr's codec and chunk size were chosen: the writer on one real well, each way.

One well of a benchmark plate (default: 2048 px tiles, dense nuclei) is stitched at its nominal
positions (a paste, as the floor does) into a (2, Y, X) uint16 mosaic and segmented with
`segment_nuclei`; then `omezarr.write_field` writes it (3 pyramid levels, image + labels) with
each codec and chunk edge, in this process, repetitions interleaved. Reported: CPU seconds
(all threads), size on disk, number of files, and the ratio of CPU to the default's.

    python -m bench codecs [--tile 2048] [--density dense] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.harness import format_table, machine_info
from bench.synthetic_plate import DENSITIES, BenchPlateSpec

ROOT = Path(__file__).resolve().parent.parent
CASES = (("blosc-lz4", 1024), ("blosc-lz4", 512), ("blosc-lz4", 256), ("blosc", 1024),
         ("blosc", 256), ("zstd", 1024))


def _mosaic(plate: Path, spec: BenchPlateSpec) -> tuple[np.ndarray, np.ndarray]:
    import tifffile

    from bench.imagexpress_files import scan
    from napari_hcs.engine.functions.library.segmentation import segment_nuclei

    files = scan(plate)[spec.well_names()[0]]
    step = int(round(spec.tile * (1 - spec.overlap)))
    size = step * (spec.grid - 1) + spec.tile
    mosaic = np.zeros((len(files), size, size), np.uint16)
    for c, channel in enumerate(sorted(files)):
        for site, path in files[channel].items():
            r, q = divmod(site - 1, spec.grid)
            mosaic[c, r * step:r * step + spec.tile, q * step:q * step + spec.tile] = \
                tifffile.imread(path)
    _, labels, _ = segment_nuclei(mosaic[:1].astype(np.float32))
    return mosaic, labels[0]


def main(argv: list[str] | None = None) -> int:
    from bench.bench_plate import plate_for
    from napari_hcs.engine.vfs import omezarr

    ap = argparse.ArgumentParser(prog="python -m bench codecs",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--tile", type=int, default=2048)
    ap.add_argument("--density", choices=sorted(DENSITIES), default="dense")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "codecs.json"))
    args = ap.parse_args(argv)
    spec = BenchPlateSpec(wells=1, grid=3, tile=args.tile, density=args.density)
    plate, _ = plate_for(spec)
    image, labels = _mosaic(plate, spec)
    cpu: dict[tuple[str, int], list[float]] = {case: [] for case in CASES}
    sizes: dict[tuple[str, int], tuple[float, int]] = {}
    work = Path(tempfile.mkdtemp(prefix="bench-codecs-"))
    try:
        for rep in range(args.reps):
            for compression, chunk in CASES:
                out = work / f"{compression}-{chunk}-{rep}.zarr"
                omezarr.create_plate(out, ["A01"])
                storage = omezarr.Storage(levels=3, chunk_size=chunk, compression=compression)
                start = time.process_time()
                omezarr.write_field(out, "A01", 0, image, labels={"nuclei": labels},
                                    pixel_size_um=0.65, storage=storage)
                cpu[(compression, chunk)].append(time.process_time() - start)
                files = [f for f in out.rglob("*") if f.is_file()]
                sizes[(compression, chunk)] = (sum(f.stat().st_size for f in files) / 2**20,
                                               len(files))
                shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    default = statistics.median(cpu[CASES[0]])
    rows = []
    for case in CASES:
        median = statistics.median(cpu[case])
        rows.append({"compression": case[0], "chunk": case[1], "cpu_s": median,
                     "size_mb": sizes[case][0], "files": sizes[case][1],
                     "cpu_ratio": median / default})
    table = format_table(
        ["compression", "chunk px", "CPU s (median)", "size MB", "files", "CPU x default"],
        [[r["compression"], r["chunk"], f"{r['cpu_s']:.2f}", f"{r['size_mb']:.0f}",
          r["files"], f"{r['cpu_ratio']:.2f}"] for r in rows])
    print(f"one well: image {image.shape} {image.dtype}, labels {labels.shape} "
          f"({int(labels.max())} nuclei), 3 levels")
    print(table)
    payload = {"benchmark": "codecs", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
               "machine": machine_info(), "plate": spec.__dict__, "image_shape": image.shape,
               "reps": args.reps, "results": rows, "table": table}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2, default=list))
    print(f"[bench] wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
