"""Automatic thresholds as CellProfiler's Threshold settings compute them (numpy, CPU).

Methods (scikit-image where it has them, CellProfiler's formula otherwise):
- `"otsu"`: Otsu's two-class threshold (`skimage.filters.threshold_otsu`);
- `"otsu3_foreground"` / `"otsu3_background"`: Otsu's three classes
  (`threshold_multiotsu`), the middle class given to the foreground (the lower of the two
  thresholds) or to the background (the upper one). A cytoplasm stain is a dim middle class
  between the background and the bright perinuclear region; two-class Otsu cuts it in half;
- `"cross_entropy"`: minimum cross-entropy (Li's method, `threshold_li`);
- `"robust_background"`: mean + 2 standard deviations of the intensities left after the lowest
  and highest 5 % are dropped (CellProfiler's defaults), for images that are mostly background.

`log=True` computes the threshold on the log of the intensities (CellProfiler's "log transform
before thresholding"), which separates dim objects from a background that spans decades.
`strategy="adaptive"` computes the threshold in square windows of `window` px and interpolates
between window centres bilinearly, bounded to 0.7-1.5 times the global threshold (as
CellProfiler bounds it), for uneven illumination. The result is multiplied by `correction` and
clipped to `[lower, upper]`, fractions of the full scale as CellProfiler scales intensities
to 0..1: the integer type's maximum, or for a float image (a corrected or stitched mosaic
keeps its counts) its brightest value when that is above 1.

A constant border (the padding around a stitched mosaic, a masked region) would be a class of
its own: pixels equal to the image minimum are left out of the statistics when they are more
than 1 % of the image. A mosaic's padding is also left out with the smoothing's reach into the
image (`excluded`: `declump.padding` grown by the smoothing's radius). The smoothing blurs the
zeros into a rim of every value between 0 and the background, a few thousand pixels that the
log transform spreads over decades and Otsu took for a class of their own (the stitched DSB
image's log threshold fell to 1.6 counts: the whole mosaic one object; docs/segmentation.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

ThresholdMethod = Literal["otsu", "otsu3_foreground", "otsu3_background", "cross_entropy",
                          "robust_background"]
ThresholdStrategy = Literal["global", "adaptive"]
METHODS: tuple[str, ...] = ("otsu", "otsu3_foreground", "otsu3_background", "cross_entropy",
                            "robust_background")
_BINS = 256
_MAX_SAMPLES = 2_000_000  # statistics of a large mosaic from a regular subsample (speed)
_ADAPTIVE_BOUNDS = (0.7, 1.5)


def check_threshold(func: str, method: str, strategy: str, correction: float, lower: float,
                    upper: float) -> None:
    """One clear error per bad threshold setting (what the compiler cannot check)."""
    if method not in METHODS:
        raise ValueError(f"{func}: parameter 'threshold_method' must be one of "
                         f"{', '.join(METHODS)}; got {method!r}")
    if strategy not in ("global", "adaptive"):
        raise ValueError(f"{func}: parameter 'threshold_strategy' must be 'global' or "
                         f"'adaptive'; got {strategy!r}")
    if not correction > 0:
        raise ValueError(f"{func}: parameter 'threshold_correction' must be > 0, "
                         f"got {correction!r}")
    if not lower <= upper:
        raise ValueError(f"{func}: 'threshold_min' ({lower!r}) must not exceed "
                         f"'threshold_max' ({upper!r})")


def statistics_sample(image: np.ndarray, excluded: np.ndarray | None = None) -> np.ndarray:
    """The pixels a threshold is computed from, float64 (module docstring: padding and the
    `excluded` pixels left out, a regular subsample of a large image)."""
    flat = np.asarray(image).ravel()
    step = max(1, flat.size // _MAX_SAMPLES)
    values = flat[::step].astype(np.float64)
    if excluded is not None:
        values = values[~np.asarray(excluded).ravel()[::step]]
    if values.size == 0:
        return values
    low = values.min()
    floor = values == low
    if floor.mean() > 0.01 and not floor.all():
        values = values[~floor]
    return values


def threshold_of(values: np.ndarray, method: str, log: bool = False) -> float:
    """The threshold of `method` over `values` (a 1-D sample), in the values' units."""
    from skimage import filters

    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or v.min() == v.max():
        return float(v.max()) if v.size else 0.0
    if log:
        floor = max(float(v[v > 0].min()) if np.any(v > 0) else 1e-6, 1e-6)
        v = np.log(np.maximum(v, floor))
    if method == "otsu":
        t = filters.threshold_otsu(v, nbins=_BINS)
    elif method in ("otsu3_foreground", "otsu3_background"):
        try:
            low, high = filters.threshold_multiotsu(v, classes=3, nbins=_BINS)
        except ValueError:  # fewer than three distinct values: two classes
            low = high = filters.threshold_otsu(v, nbins=_BINS)
        t = low if method == "otsu3_foreground" else high
    elif method == "cross_entropy":
        t = filters.threshold_li(v)
    else:  # robust_background
        lo, hi = np.percentile(v, [5.0, 95.0])
        kept = v[(v >= lo) & (v <= hi)]
        t = kept.mean() + 2.0 * kept.std()
    return float(np.exp(t) if log else t)


def full_scale(dtype: np.dtype, image: np.ndarray | None = None) -> float:
    """What intensity 1.0 means for threshold bounds: the integer type's maximum; for float
    images (a corrected or stitched mosaic keeps its counts) the larger of 1 and the image's
    maximum, so the default upper bound 1 never binds."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return float(np.iinfo(dtype).max)
    top = float(np.max(image)) if image is not None and image.size else 1.0
    return max(1.0, top)


def threshold_image(
    smooth: np.ndarray, method: str = "otsu3_foreground", log: bool = False,
    strategy: str = "global", window: int = 0, correction: float = 1.0,
    lower: float = 0.0, upper: float = 1.0, scale: float = 1.0,
    excluded: np.ndarray | None = None,
) -> np.ndarray | float:
    """The threshold of a (Y, X) image: a number (global) or a (Y, X) float array (adaptive).

    `scale` is the intensity that `lower`/`upper` = 1 stand for (`full_scale` of the raw
    image's dtype); `excluded` (Y, X) bool, pixels left out of the statistics (a mosaic's
    padding and the smoothing's reach into the image)."""
    values = statistics_sample(smooth, excluded)
    glob = threshold_of(values, method, log)
    if strategy == "adaptive" and window > 1 and min(smooth.shape) > window:
        t: np.ndarray | float = _adaptive(smooth, method, log, int(window), glob, excluded)
    else:
        t = glob
    return np.clip(np.multiply(t, correction), lower * scale, upper * scale)


def _adaptive(smooth: np.ndarray, method: str, log: bool, window: int,
              glob: float, excluded: np.ndarray | None) -> np.ndarray:
    h, w = smooth.shape
    ny, nx = max(1, h // window), max(1, w // window)
    ys = np.linspace(0, h, ny + 1).astype(int)
    xs = np.linspace(0, w, nx + 1).astype(int)
    grid = np.empty((ny, nx))
    for i in range(ny):
        for j in range(nx):
            box = (slice(ys[i], ys[i + 1]), slice(xs[j], xs[j + 1]))
            grid[i, j] = threshold_of(statistics_sample(
                smooth[box], None if excluded is None else excluded[box]), method, log)
    grid = np.clip(grid, _ADAPTIVE_BOUNDS[0] * glob, _ADAPTIVE_BOUNDS[1] * glob)
    # Bilinear between block centres, constant beyond the outer centres: a separable product
    # of two small interpolation matrices (no mosaic-sized coordinate arrays).
    wy = _linear_weights(h, (ys[:-1] + ys[1:] - 1) / 2.0)
    wx = _linear_weights(w, (xs[:-1] + xs[1:] - 1) / 2.0)
    return (wy @ grid) @ wx.T


def _linear_weights(n: int, centres: np.ndarray) -> np.ndarray:
    """(n, len(centres)) weights of linear interpolation at 0..n-1 between `centres`."""
    k = len(centres)
    eye = np.eye(k)
    return np.stack([np.interp(np.arange(n), centres, eye[i]) for i in range(k)], axis=1)
