"""Speed of each library function (numpy and torch) against the scikit-image/scipy call.

`python -m bench.bench_functions [--size 1024] [--repeat 3] [--device cpu|cuda]` prints, per
function, the best-of-N time of the baseline, of the numpy version and of the torch version,
and their ratios to the baseline (> 1: faster than the baseline). Inputs are identical: a
stack of four real-texture tiles (the StarDist nuclei image, tiled) when stardist is
installed, else smooth random blobs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, morphology, segmentation
from skimage.feature import peak_local_max
from skimage.registration import phase_cross_correlation

from napari_hcs.engine.functions.library import (
    assembly,
    background,
    normalize,
    projection,
    registration,
)
from napari_hcs.engine.functions.library import (
    filters as hcs_filters,
)
from napari_hcs.engine.functions.library import (
    segmentation as hcs_segmentation,
)


def _image(size: int) -> np.ndarray:
    try:
        from stardist.data import test_image_nuclei_2d

        base = test_image_nuclei_2d().astype(np.float32)
    except ImportError:
        rng = np.random.default_rng(0)
        base = ndi.gaussian_filter(rng.random((512, 512)), 4).astype(np.float32) * 1000
    reps = -(-size // base.shape[0])
    return np.tile(base, (reps, reps))[:size, :size]


def _best(fn: Callable[[], Any], repeat: int, sync: Callable[[], None]) -> float:
    fn()  # warm-up (torch kernels, caches)
    sync()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def _skimage_segment(plane: np.ndarray) -> np.ndarray:
    smooth = filters.gaussian(plane, 2, preserve_range=True)
    mask = morphology.remove_small_objects(smooth > filters.threshold_otsu(smooth),
                                        max_size=29)
    dist = ndi.distance_transform_edt(mask)
    peaks = peak_local_max(dist, min_distance=4, labels=ndi.label(mask)[0])
    markers = np.zeros(mask.shape, int)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return segmentation.watershed(-dist, markers, mask=mask)


def _paste(stack: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    h, w = (offsets.max(axis=0) + stack.shape[1:]).astype(int)
    out = np.zeros((h, w), stack.dtype)
    for tile, (y, x) in zip(stack, offsets.astype(int), strict=True):
        out[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="tile side, pixels")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    args = parser.parse_args(argv)
    import torch

    device = torch.device(args.device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    size = args.size
    img = _image(size + size // 2)
    step = size - size // 10  # 2x2 grid, 10% overlap
    offsets = np.array([[0, 0], [0, step], [step, 0], [step, step]], float)
    crop = img[: 2 * size - size // 10 + 1, : 2 * size - size // 10 + 1]
    crop = np.pad(crop, ((0, max(0, step + size - crop.shape[0])),) * 2, mode="reflect")
    stack = np.stack([crop[int(y):int(y) + size, int(x):int(x) + size] for y, x in offsets])
    tensor = torch.from_numpy(stack).to(device)
    plane = stack[:1]

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[], Any]]] = [
        ("gaussian_blur", lambda: ndi.gaussian_filter(stack, (0, 3, 3)),
         lambda: hcs_filters.gaussian_blur(stack, 3.0),
         lambda: hcs_filters.gaussian_blur_torch(tensor, 3.0)),
        ("median_filter", lambda: np.stack([ndi.median_filter(p, 3) for p in stack]),
         lambda: hcs_filters.median_filter(stack, 3),
         lambda: hcs_filters.median_filter_torch(tensor, 3)),
        ("subtract_background",
         lambda: np.stack([morphology.white_tophat(p, morphology.footprint_rectangle((31, 31)))
                           for p in stack]),
         lambda: background.subtract_background(stack, 15),
         lambda: background.subtract_background_torch(tensor, 15)),
        ("normalize_percentile", lambda: np.percentile(stack, [1, 99.8]),
         lambda: normalize.normalize_percentile(stack),
         lambda: normalize.normalize_percentile_torch(tensor)),
        ("max_projection", lambda: stack.max(axis=0),
         lambda: projection.max_projection(stack),
         lambda: projection.max_projection_torch(tensor)),
        ("compute_positions",
         lambda: [phase_cross_correlation(stack[i], stack[j]) for i, j in
                  registration.neighbour_pairs(offsets, (size, size))],
         lambda: registration.compute_positions(stack, offsets),
         lambda: registration.compute_positions_torch(tensor, offsets)),
        # No scikit-image equivalent: its baseline is a plain paste of the tiles.
        ("assemble_mosaic", lambda: _paste(stack, offsets),
         lambda: assembly.assemble_mosaic(stack, offsets),
         lambda: assembly.assemble_mosaic_torch(tensor, offsets)),
        ("segment_nuclei", lambda: _skimage_segment(plane[0]),
         lambda: hcs_segmentation.segment_nuclei(plane),
         lambda: hcs_segmentation.segment_nuclei_torch(tensor[:1])),
    ]
    print(f"stack {stack.shape} float32, torch on {device}; best of {args.repeat}, seconds")
    print(f"{'function':22} {'baseline':>9} {'numpy':>9} {'torch':>9} {'np/base':>8} "
          f"{'torch/base':>10}")
    for name, base, np_fn, torch_fn in cases:
        t_base = _best(base, args.repeat, sync)
        t_np = _best(np_fn, args.repeat, sync)
        t_torch = _best(torch_fn, args.repeat, sync)
        # Ratios are speed-ups: baseline time / our time (> 1: ours is faster).
        r_np = t_base / t_np if t_base > 1e-6 else float("nan")
        r_t = t_base / t_torch if t_base > 1e-6 else float("nan")
        print(f"{name:22} {t_base:9.4f} {t_np:9.4f} {t_torch:9.4f} {r_np:8.2f} {r_t:10.2f}")


if __name__ == "__main__":
    main()
