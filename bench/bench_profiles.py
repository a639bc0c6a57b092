"""Objects per second of phenotypic profiling on the CPU: nuclei, cells, features.

`python -m bench profiles [--size 1024] [--nuclei 250] [--repeat 1] [--groups all]` makes one
synthetic field (the sample generator's specimen: nuclei in channel 1, cytoplasm in channel 2,
`--size` px square, about `--nuclei` cells), then times, best of `--repeat`:

- `segment_nuclei` (nuclei/s) and `identify_cells` (cells/s; CellProfiler's propagation),
  against a plain scikit-image seeded watershed of the cells as the baseline;
- each feature group of `measure_profiles` on the cells with both channels (objects/s and
  seconds per 1,000 objects), against cp-measure's default (pure numpy) backend as the
  baseline (ours: its numba kernels where it has them);
- the whole `measure_profiles` call (nuclei + cells + cytoplasm, all groups, texture at 3
  scales), in objects/s over the three sets.

Ratios are speed-ups (> 1: ours faster than the baseline in the same run).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from skimage import filters, segmentation

from napari_hcs.engine.functions.library.cells import identify_cells
from napari_hcs.engine.functions.library.profiles import (
    GROUPS,
    measure_profiles,
    object_features,
    scaled_images,
)
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.plate.synthetic import SampleSpec, synthesize_well


def _field(size: int, nuclei: int) -> np.ndarray:
    """(2, size, size) float32: one tile of a synthetic well (nuclei, cytoplasm)."""
    spec = SampleSpec(wells=("A01",), grid=(1, 1), tile=(size, size), overlap=0.0, jitter=0,
                      nuclei_per_tile=float(nuclei))
    data = synthesize_well(spec, "A01")
    return np.stack([data.tiles[(1, c, 1, 1)] for c in spec.channels]).astype(np.float32)


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _watershed_cells(stack: np.ndarray, nuclei: np.ndarray) -> np.ndarray:
    smooth = filters.gaussian(stack[1], 1.0)
    mask = (smooth > filters.threshold_otsu(smooth)) | (nuclei > 0)
    return segmentation.watershed(-smooth, nuclei, mask=mask)


def _reference(group: str, labels: np.ndarray, images: dict[str, np.ndarray]) -> None:
    """cp-measure's default backend, called as its README shows (relabelling on)."""
    import itertools

    from cp_measure.bulk import get_core_measurements, get_correlation_measurements

    if group == "correlation":
        funcs = get_correlation_measurements()
        for a, b in itertools.combinations(images.values(), 2):
            for name, fn in funcs.items():
                fn(a, b, labels, **({"scale_max": 65535} if name == "costes" else {}))
        return
    fn = get_core_measurements()[group]
    if group in ("sizeshape", "zernike", "feret"):
        fn(labels, None)
        return
    for pixels in images.values():
        for scale in ((3, 5, 10) if group == "texture" else (None,)):
            fn(labels, pixels, **({"scale": scale} if scale else {}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="field side, pixels")
    parser.add_argument("--nuclei", type=int, default=250, help="about this many cells")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--groups", default="all", help="comma-separated groups, or all")
    args = parser.parse_args(argv)
    groups = GROUPS if args.groups == "all" else tuple(args.groups.split(","))
    # The baseline calls cp-measure directly: it warns for each undefined (NaN) feature.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="cp_measure")

    stack = _field(args.size, args.nuclei)
    names = ["DNA", "Cyto"]
    object_features(np.pad(np.ones((8, 8), np.int32), 4), {"DNA": np.zeros((16, 16))},
                    texture_scales=(3,))  # warm-up: cp-measure and numba imports
    t_nuc, (_, nuclei, _) = _best(lambda: segment_nuclei(stack[:1]), args.repeat)
    nuclei = nuclei[0]
    t_cells, (_, cells, cytoplasm, _) = _best(lambda: identify_cells(stack, nuclei, names),
                                              args.repeat)
    t_ws, _ = _best(lambda: _watershed_cells(stack, nuclei), args.repeat)
    n = int(len(np.unique(cells)) - 1)
    print(f"field {stack.shape} float32, {n} cells; CPU; best of {args.repeat}")
    print(f"{'step':24} {'seconds':>9} {'objects/s':>10} {'baseline s':>11} {'speed-up':>9}")
    print(f"{'segment_nuclei':24} {t_nuc:9.3f} {n / t_nuc:10.0f}")
    print(f"{'identify_cells':24} {t_cells:9.3f} {n / t_cells:10.0f} {t_ws:11.3f} "
          f"{t_ws / t_cells:9.2f}   (baseline: skimage seeded watershed)")

    images = scaled_images(stack, names, 65535.0)
    print(f"\nfeatures of {n} cells, 2 channels (baseline: cp-measure default backend)")
    print(f"{'group':24} {'seconds':>9} {'objects/s':>10} {'s/1000 obj':>11} "
          f"{'baseline s':>11} {'speed-up':>9}")
    for group in groups:
        t, _ = _best(lambda g=group: object_features(cells, images, groups=(g,)), args.repeat)
        t_ref, _ = _best(lambda g=group: _reference(g, cells, images), args.repeat)
        print(f"{group:24} {t:9.3f} {n / t:10.1f} {1000 * t / n:11.2f} {t_ref:11.3f} "
              f"{t_ref / t:9.2f}")
    total = 3 * n
    t_all, _ = _best(lambda: measure_profiles(stack, nuclei, cells, cytoplasm, names,
                                              groups=groups), args.repeat)
    print(f"\nmeasure_profiles (nuclei + cells + cytoplasm, {total} objects): {t_all:.2f} s, "
          f"{total / t_all:.1f} objects/s, {1000 * t_all / total:.2f} s per 1,000 objects")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
