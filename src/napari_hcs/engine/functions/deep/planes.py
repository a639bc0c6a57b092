"""From an (N, Y, X) stack to labels unique over the stack, plane by plane, tile by tile; and
the lengths the deep-learning functions take in µm, converted with the plate's pixel size."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np

from .tiles import Segmenter, segment_tiled

log = logging.getLogger(__name__)

#: Overlap between inference tiles when none is given: this many expected object diameters
#: (an object must fit in half the overlap on each side of a seam, `tiles.py`), at least
#: `MIN_OVERLAP_PX`.
OVERLAP_DIAMETERS = 3
MIN_OVERLAP_PX = 64


def to_pixels(value_um: float, pixel_size_um: float | None, func: str, parameter: str) -> float:
    """A length in µm as pixels of this plate (0 stays 0: the model's own default)."""
    if not value_um:
        return 0.0
    if not pixel_size_um:
        raise ValueError(f"{func}: parameter {parameter!r} is in µm, but this plate carries no "
                         f"pixel size; set {parameter}=0 to use the model's default")
    return float(value_um) / float(pixel_size_um)


def overlap_pixels(overlap_um: float, diameter_px: float, tile: int,
                   pixel_size_um: float | None, func: str) -> int:
    """The tile overlap in pixels: given in µm, or `OVERLAP_DIAMETERS` diameters."""
    px = to_pixels(overlap_um, pixel_size_um, func, "tile_overlap_um")
    if not px:
        px = max(MIN_OVERLAP_PX, OVERLAP_DIAMETERS * diameter_px)
    overlap = math.ceil(px)
    if overlap >= tile:
        raise ValueError(f"{func}: the tile overlap ({overlap} px) must be smaller than "
                         f"'tile_size' ({tile} px)")
    return overlap


def label_planes(planes: np.ndarray, segmenter: Callable[[np.ndarray], Segmenter], tile: int,
                 overlap: int, func: str) -> np.ndarray:
    """Labels (N, Y, X) int32 of each plane, tiled, with ids unique over the stack (one ROI
    list then serves all planes, as for `segment_nuclei`). `segmenter(plane)` gives the
    function that segments the tiles of that plane."""
    labels = np.zeros(planes.shape, np.int32)
    offset = 0
    for k, plane in enumerate(planes):
        result = segment_tiled(plane, segmenter(plane), tile, overlap)
        if result.cut:
            log.warning("%s: %d objects were larger than half the tile overlap (%d px) and may "
                        "be cut at tile seams; raise tile_overlap_um", func, result.cut, overlap)
        lab = result.labels
        if offset:
            lab[lab > 0] += offset
        labels[k] = lab
        offset = max(offset, int(lab.max()))
    return labels


def plane_range(plane: np.ndarray, low: float = 1.0, high: float = 99.0) -> tuple[float, float]:
    """The `low` and `high` percentiles of a whole plane (every 4th pixel each way): tiles are
    normalised with the plane's values, so that an object in two tiles looks the same to both."""
    sample = np.asarray(plane[::4, ::4], dtype=np.float32)
    lo, hi = np.percentile(sample, [low, high])
    return float(lo), float(hi) if hi > lo else float(lo) + 1.0
