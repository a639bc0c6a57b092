"""Perimeter and convex area of every label at once, as `skimage.measure.regionprops` has them.

- *Perimeter* (`regionprops(...).perimeter`, i.e. `skimage.measure.perimeter(image, 4)` on the
  label's box): a label's border pixels are those with a 4-neighbour outside the label; each
  gets a code, 1 + 2 x its 4-neighbours and 10 x its diagonal neighbours that are border pixels
  of the same label, and the perimeter is the histogram of codes times skimage's weights.
  Here the codes of all labels come from one pass over the labelled pixels (background is
  most of a mosaic and has no code), and each label's histogram meets the weights in the same
  dot product as in skimage, so the values are equal.
- *Convex area* (`area_convex`, the pixels whose centre lies in the convex hull of the label's
  pixels taken as diamonds): the hull of a pixel set is the hull of each row's two end pixels'
  diamond points, found by a monotone chain over those few points in exact integer arithmetic
  (doubled coordinates), with no collinear vertex and counter-clockwise like Qhull's; the pixel
  centres inside it are counted by the same `grid_points_in_poly` as skimage's
  `convex_hull_image`, on the same polygon.
"""

from __future__ import annotations

import functools
from math import sqrt

import numpy as np

_WEIGHTS = np.zeros(50, dtype=np.float64)
_WEIGHTS[[5, 7, 15, 17, 25, 27]] = 1
_WEIGHTS[[21, 33]] = sqrt(2)
_WEIGHTS[[13, 23]] = (1 + sqrt(2)) / 2
_SIDES = ((-1, 0), (1, 0), (0, -1), (0, 1))
_CORNERS = ((-1, -1), (-1, 1), (1, -1), (1, 1))
_INF = np.iinfo(np.int64).max


def _neighbour(labels: np.ndarray, ys: np.ndarray, xs: np.ndarray, dy: int, dx: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Flat index and label of each pixel's (dy, dx) neighbour (label 0 beyond the image)."""
    h, w = labels.shape
    ny, nx = ys + dy, xs + dx
    inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
    flat = np.where(inside, ny * w + nx, 0)
    return flat, np.where(inside, labels.reshape(-1)[flat], 0)


def perimeters(labels: np.ndarray, where: np.ndarray, count: int) -> np.ndarray:
    """Perimeter (skimage's 4-neighbourhood estimate) of labels 0..count, indexed by label;
    `where` holds the flat indices of the labelled pixels."""
    h, w = labels.shape
    own = labels.reshape(-1)[where]
    ys, xs = np.divmod(where, w)
    border = np.zeros(len(where), bool)
    for dy, dx in _SIDES:
        border |= _neighbour(labels, ys, xs, dy, dx)[1] != own
    is_border = np.zeros(h * w, bool)
    is_border[where[border]] = True
    keep = np.flatnonzero(border)
    own, ys, xs = own[keep], ys[keep], xs[keep]
    code = np.ones(len(keep), np.int64)
    for weight, offsets in ((2, _SIDES), (10, _CORNERS)):
        for dy, dx in offsets:
            flat, label = _neighbour(labels, ys, xs, dy, dx)
            code += weight * ((label == own) & is_border[flat])
    histogram = np.bincount(own * 50 + code, minlength=(count + 1) * 50).reshape(count + 1, 50)
    return np.array([row @ _WEIGHTS for row in histogram])


@functools.lru_cache(maxsize=256)
def _later(n: int) -> np.ndarray:
    """[i, j]: j comes after i."""
    return np.triu(np.ones((n, n), bool), 1)


def _envelope(ys: np.ndarray, xs: np.ndarray, left: bool) -> np.ndarray:
    """Which points (ys strictly increasing) are vertices of their lower (`left`: smallest x)
    or upper convex envelope, collinear points excluded: a point is one when every slope into
    it from an earlier point is below (above) every slope out of it to a later one. The slopes
    are ratios of small integers, so comparing them as floats is exact."""
    n = len(ys)
    if n <= 2:
        return np.ones(n, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (xs[None, :] - xs[:, None]) / (ys[None, :] - ys[:, None])  # slope[i, j]: i -> j
    if not left:
        slope = -slope
    later = _later(n)
    into = np.where(later, slope, -np.inf).max(axis=0)  # max over i < k of slope[i, k]
    out = np.where(later, slope, np.inf).min(axis=1)  # min over j > k of slope[k, j]
    return into < out


def hull_polygon(image: np.ndarray) -> np.ndarray:
    """Vertices (row, col), counter-clockwise, of the convex hull of a 4-connected pixel set's
    diamonds (what `convex_hull_image` builds with Qhull)."""
    rows = np.flatnonzero(image.any(axis=1))
    first = image[rows].argmax(axis=1).astype(np.int64)
    last = image.shape[1] - 1 - image[rows, ::-1].argmax(axis=1).astype(np.int64)
    # Doubled coordinates. Row r's pixels give diamond points at levels 2r - 1, 2r, 2r + 1;
    # per level only the smallest and the largest column can be on the hull.
    inf = _INF
    levels = 2 * len(rows) + 1
    lo, hi = np.full(levels, inf), np.full(levels, -inf)
    lo[0:-1:2], hi[0:-1:2] = 2 * first, 2 * last  # top edges
    np.minimum(lo[2::2], 2 * first, out=lo[2::2])  # bottom edges (the next row's top edge)
    np.maximum(hi[2::2], 2 * last, out=hi[2::2])
    lo[1::2], hi[1::2] = 2 * first - 1, 2 * last + 1  # centres
    ys = 2 * int(rows[0]) - 1 + np.arange(levels)
    left = _envelope(ys, lo, True)
    right = _envelope(ys, hi, False)
    # Andrew's chain: down the left side (then along the bottom), up the right side (then
    # along the top), each side's last point being the other's first.
    down = [(int(y), int(x)) for y, x in zip(ys[left], lo[left], strict=True)]
    up = [(int(y), int(x)) for y, x in zip(ys[right][::-1], hi[right][::-1], strict=True)]
    if hi[-1] > lo[-1]:
        down.append(up[0])
    if hi[0] > lo[0]:
        up.append(down[0])
    return np.array(down[:-1] + up[:-1], np.float64) / 2.0


def convex_area(image: np.ndarray) -> int:
    """Number of pixels of `image`'s box whose centre lies in the hull (`area_convex`)."""
    from skimage.measure import grid_points_in_poly

    return int(np.sum(grid_points_in_poly(image.shape, hull_polygon(image), binarize=False) >= 1))
