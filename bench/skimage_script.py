"""The hand-written baseline: the stitch-and-segment pipeline with scikit-image/scipy directly.

What a competent user writes without a framework, per well, in a `multiprocessing.Pool`:

1. illumination: flat field per channel = Gaussian-smoothed mean of the well's tiles
   (`scipy.ndimage.gaussian_filter`), images divided by it;
2. stitching: `skimage.registration.phase_cross_correlation` on the nominal overlap of every
   horizontal and vertical neighbour pair (nuclei channel), then weighted least squares
   (`numpy.linalg.lstsq`) for global positions;
3. assembly: all channels, linear-ramp blending;
4. nuclei: Gaussian smoothing, `threshold_otsu`, `remove_small_objects`, distance transform,
   `peak_local_max` + `watershed` to split touching nuclei;
5. measurements: `regionprops_table` (area, centroid, eccentricity, solidity, mean per channel).

Writes `OUT/plate.zarr/<well>/{image,labels}` (zarr v3) and `OUT/tables/{nuclei,positions}.parquet`.

    python -m bench.skimage_script PLATE --out OUT [--workers 2] [--overlap 0.1]
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
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.filters import threshold_otsu
from skimage.measure import regionprops_table
from skimage.morphology import remove_small_objects
from skimage.registration import phase_cross_correlation
from skimage.segmentation import watershed

from bench.imagexpress_files import grid, scan

NUCLEI = "1"


def flatfield_correct(stack: np.ndarray) -> np.ndarray:
    flat = ndi.gaussian_filter(stack.mean(axis=0), sigma=stack.shape[-1] / 8)
    flat /= flat.mean()
    return stack / flat


def _pair(a: np.ndarray, b: np.ndarray, max_shift: float) -> tuple[float, float, float]:
    """Shift of strip b relative to strip a, and a weight (NCC of the aligned overlap)."""
    (dy, dx), _, _ = phase_cross_correlation(a, b)
    if max(abs(dy), abs(dx)) > max_shift:  # implausible for a stage: keep the nominal offset
        return 0.0, 0.0, 1e-3
    iy, ix = int(dy), int(dx)
    ya, yb = max(iy, 0), max(-iy, 0)
    xa, xb = max(ix, 0), max(-ix, 0)
    h, w = a.shape[0] - abs(iy), a.shape[1] - abs(ix)
    pa, pb = a[ya : ya + h, xa : xa + w].ravel(), b[yb : yb + h, xb : xb + w].ravel()
    ncc = np.corrcoef(pa, pb)[0, 1] if pa.size > 1 and pa.std() and pb.std() else 0.0
    return dy, dx, max(float(ncc), 1e-3)


def pair_offsets(
    tiles: np.ndarray, rows: int, cols: int, overlap: float, max_shift: float = 15.0
) -> list[tuple]:
    """(i, j, dy, dx, weight): measured offset of tile j's origin relative to tile i's."""
    h, w = tiles.shape[1:]
    oy, ox = int(round(h * overlap)), int(round(w * overlap))
    edges = []
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        if c + 1 < cols:
            j = i + 1
            dy, dx, wgt = _pair(tiles[i][:, w - ox :], tiles[j][:, :ox], max_shift)
            edges.append((i, j, dy, w - ox + dx, wgt))
        if r + 1 < rows:
            j = i + cols
            dy, dx, wgt = _pair(tiles[i][h - oy :, :], tiles[j][:oy, :], max_shift)
            edges.append((i, j, h - oy + dy, dx, wgt))
    return edges


def global_positions(n: int, edges: list[tuple]) -> np.ndarray:
    """Weighted least squares over pairwise offsets, tile 0 anchored at the origin."""
    a = np.zeros((len(edges) + 1, n))
    b = np.zeros((len(edges) + 1, 2))
    for k, (i, j, dy, dx, wgt) in enumerate(edges):
        a[k, i], a[k, j] = -wgt, wgt
        b[k] = (dy * wgt, dx * wgt)
    a[-1, 0] = 1.0
    pos, *_ = np.linalg.lstsq(a, b, rcond=None)
    return pos - pos.min(axis=0)


def assemble(stacks: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(C, N, H, W) tiles -> (C, Y, X) mosaic with linear-ramp blending."""
    h, w = stacks.shape[2:]
    iy = np.round(positions).astype(int)
    shape = (int(iy[:, 0].max()) + h, int(iy[:, 1].max()) + w)
    ramp_y = np.minimum(np.arange(h), np.arange(h)[::-1]) + 1.0
    ramp_x = np.minimum(np.arange(w), np.arange(w)[::-1]) + 1.0
    weight = np.outer(ramp_y, ramp_x).astype(np.float32)
    acc = np.zeros((stacks.shape[0], *shape), np.float32)
    norm = np.zeros(shape, np.float32)
    for t, (y, x) in enumerate(iy):
        acc[:, y : y + h, x : x + w] += stacks[:, t] * weight
        norm[y : y + h, x : x + w] += weight
    return acc / np.maximum(norm, 1e-6)


def segment_nuclei(image: np.ndarray) -> np.ndarray:
    smooth = ndi.gaussian_filter(image, 1.0)
    mask = remove_small_objects(smooth > threshold_otsu(smooth), max_size=15)
    dist = ndi.distance_transform_edt(mask)
    markers_at = peak_local_max(dist, min_distance=4, labels=ndi.label(mask)[0])
    markers = np.zeros(image.shape, np.int32)
    markers[tuple(markers_at.T)] = np.arange(1, len(markers_at) + 1)
    return watershed(-dist, markers, mask=mask).astype(np.int32)


def read_well(files: dict, channels: list[str], sites: list[int]) -> np.ndarray:
    """(C, N, H, W) float32 tiles of one well."""
    return np.stack(
        [np.stack([tifffile.imread(files[c][s]) for s in sites]).astype(np.float32)
         for c in channels]
    )


def measure(labels: np.ndarray, mosaic: np.ndarray, channels: list[str]) -> pd.DataFrame:
    props = regionprops_table(
        labels,
        intensity_image=np.moveaxis(mosaic, 0, -1),
        properties=("label", "area", "centroid", "eccentricity", "solidity", "intensity_mean"),
    )
    names = {"centroid-0": "centroid_y", "centroid-1": "centroid_x"}
    names |= {f"intensity_mean-{i}": f"mean_{c}" for i, c in enumerate(channels)}
    return pd.DataFrame(props).rename(columns=names)


def write_well(zarr_path: str, well: str, mosaic: np.ndarray, labels: np.ndarray) -> None:
    group = zarr.open_group(zarr_path, mode="a").require_group(well)
    group.create_array("image", data=mosaic, chunks=(1, 1024, 1024), overwrite=True)
    group.create_array("labels", data=labels, chunks=(1024, 1024), overwrite=True)


def process_well(task: tuple) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """One well, stage by stage (`bench.bench_stages` times the same functions)."""
    well, files, (rows, cols), overlap, zarr_path = task
    channels = sorted(files)
    sites = sorted(files[channels[0]])
    stacks = np.stack([flatfield_correct(s) for s in read_well(files, channels, sites)])
    nuc = channels.index(NUCLEI) if NUCLEI in channels else 0
    edges = pair_offsets(stacks[nuc], rows, cols, overlap)
    positions = global_positions(len(sites), edges)
    mosaic = assemble(stacks, positions)
    labels = segment_nuclei(mosaic[nuc])
    table = measure(labels, mosaic, channels)
    table.insert(0, "well", well)
    write_well(zarr_path, well, mosaic, labels)
    pos = pd.DataFrame({"well": well, "site": sites, "y": positions[:, 0], "x": positions[:, 1]})
    return well, table, pos


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
        results = list(pool.imap_unordered(process_well, tasks))
    results.sort()
    pd.concat([r[1] for r in results]).to_parquet(out / "tables" / "nuclei.parquet")
    pd.concat([r[2] for r in results]).to_parquet(out / "tables" / "positions.parquet")
    n = sum(len(r[1]) for r in results)
    print(f"skimage: {len(results)} wells, {n} nuclei, {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
