"""Math shared by the numpy and torch implementations (small arrays and plain numbers only).

Each library function has a numpy and a torch version; whatever does not depend on the array
framework (kernels, interpolation ranks, threshold selection from a histogram, blending
weights, least-squares solves) lives here once, so that both versions compute the same thing.
"""

from __future__ import annotations

import numpy as np


def gaussian_radius(sigma: float, truncate: float = 4.0) -> int:
    """How far (px) `scipy.ndimage.gaussian_filter` (and `gaussian_kernel1d`) reaches."""
    return int(truncate * float(sigma) + 0.5)


def gaussian_kernel1d(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """The normalised 1-D Gaussian that `scipy.ndimage.gaussian_filter` uses (same radius)."""
    radius = gaussian_radius(sigma, truncate)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 * (x / float(sigma)) ** 2)
    return phi / phi.sum()


def percentile_ranks(n: int, q: float) -> tuple[int, int, float]:
    """Sorted-order indices and weight of numpy's default ('linear') percentile of `n` values."""
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside [0, 100]")
    pos = (n - 1) * q / 100.0
    lo = int(np.floor(pos))
    hi = min(lo + 1, n - 1)
    return lo, hi, float(pos - lo)


def otsu_from_histogram(hist: np.ndarray, centers: np.ndarray) -> float:
    """Otsu's threshold from a histogram, as in `skimage.filters.threshold_otsu`."""
    hist = np.asarray(hist, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    if np.count_nonzero(hist) <= 1:  # a flat image: any value separates nothing
        return float(centers[np.argmax(hist)])
    weight1 = np.cumsum(hist)
    weight2 = np.cumsum(hist[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean1 = np.cumsum(hist * centers) / weight1
        mean2 = (np.cumsum((hist * centers)[::-1]) / weight2[::-1])[::-1]
    variance = weight1[:-1] * weight2[1:] * (mean1[:-1] - mean2[1:]) ** 2
    return float(centers[np.nanargmax(variance)])


def histogram_centers(lo: float, hi: float, bins: int) -> np.ndarray:
    """Centres of `bins` equal bins over [lo, hi] (the bins of `np.histogram` and `torch.histc`)."""
    edges = np.linspace(lo, hi, bins + 1)
    return (edges[:-1] + edges[1:]) / 2


def feather_weights(height: int, width: int) -> np.ndarray:
    """Linear-blending weights of one tile: the product of distances to the nearest edges.

    Pixels near a tile's border (where it overlaps its neighbours and vignetting is worst)
    count less; the weight is 1 at the border pixel so a lone tile is never divided by zero.
    """
    wy = np.minimum(np.arange(1, height + 1), np.arange(height, 0, -1)).astype(np.float32)
    wx = np.minimum(np.arange(1, width + 1), np.arange(width, 0, -1)).astype(np.float32)
    return np.outer(wy, wx)


def downsample_factor(shape: tuple[int, int], target: int = 128) -> int:
    """An integer block size that brings the larger side of `shape` to about `target` pixels."""
    return max(1, int(max(shape) // target))


def moment_features(
    n: np.ndarray, sy: np.ndarray, sx: np.ndarray, syy: np.ndarray, sxx: np.ndarray,
    sxy: np.ndarray,
) -> dict[str, np.ndarray]:
    """Area, centroid and eccentricity of objects from their raw pixel-coordinate moments.

    Eccentricity is that of the ellipse with the same second central moments (as in
    `skimage.measure.regionprops`).
    """
    n = n.astype(np.float64)
    cy, cx = sy / n, sx / n
    vyy, vxx, vxy = syy / n - cy**2, sxx / n - cx**2, sxy / n - cy * cx
    half_trace = (vyy + vxx) / 2
    root = np.sqrt(np.maximum(((vyy - vxx) / 2) ** 2 + vxy**2, 0.0))
    l1, l2 = half_trace + root, half_trace - root
    with np.errstate(divide="ignore", invalid="ignore"):
        ecc = np.where(l1 > 0, np.sqrt(np.clip(1 - l2 / l1, 0.0, 1.0)), 0.0)
    return {"area": n, "centroid_y": cy, "centroid_x": cx, "eccentricity": ecc}
