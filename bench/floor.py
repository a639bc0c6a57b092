"""The floor: read every input image and write the same kinds of outputs, with no processing.

Per well (2 worker processes, like the other contenders): read each tile with `tifffile`,
paste it at its nominal grid position into a (C, Y, X) mosaic (a copy, no blending), write the
mosaic and an empty label image to `OUT/plate.zarr/<well>/` (zarr v3), and one row per image
to `OUT/tables/images.parquet`. No pipeline can be faster than reading its input and writing
outputs of this size, so this is the lower bound the others are compared with.

    python -m bench.floor PLATE --out OUT [--workers 2] [--overlap 0.1]
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
import tifffile
import zarr

from bench.imagexpress_files import grid, scan


def copy_well(task: tuple) -> pd.DataFrame:
    well, files, (rows, cols), overlap, zarr_path = task
    channels = sorted(files)
    sites = sorted(files[channels[0]])
    tiles = {(c, s): tifffile.imread(files[c][s]) for c in channels for s in sites}
    h, w = next(iter(tiles.values())).shape
    sy, sx = int(round(h * (1 - overlap))), int(round(w * (1 - overlap)))
    mosaic = np.zeros((len(channels), sy * (rows - 1) + h, sx * (cols - 1) + w), np.uint16)
    for (c, s), tile in tiles.items():
        r, q = divmod(s - 1, cols)
        mosaic[channels.index(c), r * sy : r * sy + h, q * sx : q * sx + w] = tile
    group = zarr.open_group(zarr_path, mode="a").require_group(well)
    group.create_array("image", data=mosaic, chunks=(1, 1024, 1024), overwrite=True)
    group.create_array(
        "labels", data=np.zeros(mosaic.shape[1:], np.int32), chunks=(1024, 1024), overwrite=True
    )
    return pd.DataFrame(
        [
            {"well": well, "site": s, "channel": c, "mean": float(t.mean())}
            for (c, s), t in tiles.items()
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plate")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--overlap", type=float, default=0.1)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    out = Path(args.out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    zarr_path = str(out / "plate.zarr")
    zarr.open_group(zarr_path, mode="w")
    layout = grid(args.plate)
    tasks = [(w, f, layout, args.overlap, zarr_path) for w, f in scan(args.plate).items()]
    with Pool(args.workers) as pool:
        tables = list(pool.imap_unordered(copy_well, tasks))
    table = pd.concat(tables)
    table.to_parquet(out / "tables" / "images.parquet")
    print(f"floor: {len(tasks)} wells, {len(table)} images, {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
