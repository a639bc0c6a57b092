"""Seconds per 1,000 cells of phenotypic profiling on the CPU, against cp-measure called directly.

`python -m bench profiles [--size 1024] [--nuclei 250] [--repeat 3] [--channels 2]` makes one
synthetic field (the sample generator's specimen: nuclei in channel 1, cytoplasm in channel 2,
more channels are copies of these with noise; `--size` px square, about `--nuclei` cells),
segments nuclei and cells (timed once: `segment_nuclei`, `identify_cells` against a plain
scikit-image seeded watershed), then times, best and median of `--repeat`, in the same run:

- ours: `measure_profiles` with its defaults (JUMP's feature set: no Costes, no radial
  Zernikes, no advanced shape; texture at 3, 5, 10 px) on nuclei, cells and cytoplasm;
- the baseline: cp-measure's own functions called directly on the same objects for the same
  features (its numba backend where it has one, relabelling on, as its README shows), one
  call per compartment, channel and feature group;
- per feature group, both, to show where the time goes (neighbours: JUMP's three measurements,
  nuclei within 1 px, cells within 5 px and touching);
- ours with `costes=True`, and the cold start of a worker (numba's kernels loaded from the
  disk cache) in a fresh interpreter.

"Per 1,000 cells" counts a cell with its nucleus and cytoplasm (three objects). The machine's
load average is printed: other processes slow both sides alike, so compare the ratio; the CPU
seconds (`process_time`; the work is single-threaded) are what the work costs one core.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from napari_hcs.engine.functions.library._profile_features import (
    FeatureOptions,
    compartment_features,
)
from napari_hcs.engine.functions.library.cells import identify_cells
from napari_hcs.engine.functions.library.profiles import (
    JUMP_GROUPS,
    measure_profiles,
    scaled_images,
)
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.plate.synthetic import SampleSpec, synthesize_well


def _field(size: int, nuclei: int, channels: int) -> np.ndarray:
    """(channels, size, size) float32: one tile of a synthetic well (nuclei, cytoplasm, ...)."""
    spec = SampleSpec(wells=("A01",), grid=(1, 1), tile=(size, size), overlap=0.0, jitter=0,
                      nuclei_per_tile=float(nuclei))
    data = synthesize_well(spec, "A01")
    planes = [data.tiles[(1, c, 1, 1)].astype(np.float32) for c in spec.channels]
    rng = np.random.default_rng(0)
    while len(planes) < channels:
        base = planes[len(planes) % 2]
        planes.append(np.clip(base * rng.uniform(0.5, 1.5) + rng.normal(0, 200, base.shape),
                              0, 65535).astype(np.float32))
    return np.stack(planes[:channels])


def _times(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(best wall s, median wall s, CPU s of the best run): the work is single-threaded, so
    its CPU time is what it costs a core however loaded the machine is."""
    runs = []
    for _ in range(max(1, repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    best = min(runs)
    return best[0], statistics.median(r[0] for r in runs), best[1]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _watershed_cells(stack: np.ndarray, nuclei: np.ndarray) -> np.ndarray:
    """The baseline for `identify_cells`: scikit-image's seeded watershed of the cell stain."""
    from skimage import filters, segmentation

    smooth = filters.gaussian(stack[1], 1.0)
    mask = (smooth > filters.threshold_otsu(smooth)) | (nuclei > 0)
    return segmentation.watershed(-smooth, nuclei, mask=mask)


def _reference(groups: tuple[str, ...], label_sets: list[np.ndarray],
               images: dict[str, np.ndarray]) -> None:
    """cp-measure called directly, as a user of it would, for the JUMP feature set."""
    import cp_measure
    from cp_measure.bulk import (
        get_core_measurements,
        get_correlation_measurements,
        get_multimask_measurements,
    )
    from cp_measure.core.measurecolocalization import get_correlation_overlap
    from cp_measure.multimask.measureobjectneighbors import D_ADJACENT, D_WITHIN

    previous = cp_measure._ACCELERATOR
    cp_measure.set_accelerator("numba")
    try:
        core = get_core_measurements()
        pairs = get_correlation_measurements()
    finally:
        cp_measure.set_accelerator(previous)
    for labels in label_sets:
        if not labels.any():  # cp-measure fails on an empty label image
            continue
        if "sizeshape" in groups:
            core["sizeshape"](labels, None, calculate_advanced=False)
        for group in ("zernike", "feret"):
            if group in groups:
                core[group](labels, None)
        for pixels in images.values():
            for group in ("intensity", "granularity", "radial_distribution"):
                if group in groups:
                    core[group](labels, pixels)
            if "texture" in groups:
                for scale in (3, 5, 10):
                    core["texture"](labels, pixels, scale=scale)
        if "correlation" in groups:
            for first, second in itertools.combinations(images.values(), 2):
                for name in ("pearson", "manders_fold", "rwc"):
                    pairs[name](first, second, labels)
                get_correlation_overlap(first, second, labels)
    if "neighbors" in groups and len(label_sets) == 3:  # JUMP's: nuclei 1 px, cells 5 px, touching
        neighbors = get_multimask_measurements()["neighbors"]
        nuclei, cells = label_sets[0], label_sets[1]
        neighbors(nuclei, nuclei, D_WITHIN, 1)
        neighbors(cells, cells, D_WITHIN, 5)
        neighbors(cells, cells, D_ADJACENT, 5)


def _cold_start() -> float:
    """Seconds a fresh worker takes to import the profile kernels and load them (numba's disk
    cache, `profiles.warm_up`)."""
    code = ("import time; t = time.perf_counter(); "
            "from napari_hcs.engine.functions.library.profiles import warm_up; warm_up(); "
            "print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=300)
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="field side, pixels")
    parser.add_argument("--nuclei", type=int, default=250, help="about this many cells")
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-groups", action="store_true", help="skip the per-group table")
    args = parser.parse_args(argv)
    # cp-measure called directly warns for each undefined (NaN) feature.
    warnings.filterwarnings("ignore", category=RuntimeWarning)

    stack = _field(args.size, args.nuclei, args.channels)
    names = ["DNA", "Cyto", *[f"Ch{i}" for i in range(3, args.channels + 1)]]
    t_nuclei, (_, nuclei, _) = _timed(lambda: segment_nuclei(stack[:1]))
    nuclei = nuclei[0]
    t_cells, (_, cells, cytoplasm, _) = _timed(lambda: identify_cells(stack[:2], nuclei,
                                                                       names[:2]))
    t_watershed, _ = _timed(lambda: _watershed_cells(stack, nuclei))
    n = int(len(np.unique(cells)) - 1)
    sets = [nuclei, cells, cytoplasm]
    images = scaled_images(np.rint(stack), names, 65535.0)
    ours = lambda **kw: measure_profiles(stack, nuclei, cells, cytoplasm, names, **kw)  # noqa: E731
    ours()  # warm: imports and numba kernels (a worker has them from the fork server)
    _reference(JUMP_GROUPS, [s[:128, :128] for s in sets], images={
        k: v[:128, :128] for k, v in images.items()})
    load = os.getloadavg()
    print(f"field {stack.shape} float32, {n} cells ({3 * n} objects: nuclei, cells, "
          f"cytoplasm), {args.channels} channels; {os.cpu_count()} CPUs, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; best and median of {args.repeat}")
    print(f"segment_nuclei {t_nuclei:.2f} s ({n / t_nuclei:.0f} nuclei/s); identify_cells "
          f"{t_cells:.2f} s ({n / t_cells:.0f} cells/s; a plain scikit-image seeded watershed "
          f"{t_watershed:.2f} s)")
    print(f"{'':34} {'best s':>8} {'median s':>9} {'s/1000 cells':>13} {'CPU s/1000':>11}")

    def row(label: str, times: tuple[float, float, float]) -> None:
        print(f"{label:34} {times[0]:8.2f} {times[1]:9.2f} {1000 * times[0] / n:13.1f} "
              f"{1000 * times[2] / n:11.1f}")

    t_ours = _times(ours, args.repeat)
    t_ref = _times(lambda: _reference(JUMP_GROUPS, sets, images), args.repeat)
    row("ours, JUMP set (measure_profiles)", t_ours)
    row("cp-measure called directly", t_ref)
    print(f"speed-up (baseline / ours, best): {t_ref[0] / t_ours[0]:.2f}x")
    row("ours with costes=True", _times(lambda: ours(costes=True), 1))
    if not args.no_groups:
        print(f"\nper feature group, three object sets ({'best of ' + str(args.repeat)})")
        print(f"{'group':24} {'ours s':>8} {'cp-measure s':>13} {'speed-up':>9}")
        label_sets = dict(zip(("nuclei", "cells", "cytoplasm"), sets, strict=True))
        for group in JUMP_GROUPS:
            options = FeatureOptions(groups=(group,))
            mine = _times((lambda: ours(groups=("neighbors",))) if group == "neighbors" else
                          (lambda o=options: compartment_features(label_sets, images, o)),
                          args.repeat)[0]
            theirs = _times(lambda g=group: _reference((g,), sets, images), args.repeat)[0]
            print(f"{group:24} {mine:8.2f} {theirs:13.2f} {theirs / mine:9.2f}")
    print(f"\ncold start of a worker (import + numba kernels from the disk cache): "
          f"{_cold_start():.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
