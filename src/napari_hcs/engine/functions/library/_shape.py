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
_TALL = 400  # rows above which `convex_areas` traces a label's hull on its own


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


def convex_areas(labels: np.ndarray, where: np.ndarray, count: int) -> np.ndarray:
    """`convex_area` of labels 0..count (indexed by label; 0 for absent ones), all at once.

    Each label's rows of pixels give, per doubled row level, the leftmost and rightmost
    diamond point (as in `hull_polygon`); the hull's left (right) side is the lower (upper)
    convex envelope of those points, and the pixel centres of a row inside the hull are the
    integers between the envelopes at its level, counted exactly (rational, in integers).
    Labels with the same number of rows are handled together; `where` holds the flat indices
    of the labelled pixels in raster order."""
    areas = np.zeros(count + 1, np.int64)
    if not len(where):
        return areas
    w = labels.shape[1]
    own = labels.reshape(-1)[where]
    order = np.argsort(own, kind="stable")  # by label, raster order within one
    own, flat = own[order], where[order]
    ys, xs = np.divmod(flat, w)
    # One entry per (label, row): first and last column.
    starts = np.flatnonzero(np.r_[True, (own[1:] != own[:-1]) | (ys[1:] != ys[:-1])])
    ends = np.r_[starts[1:], len(own)] - 1
    row_label, first, last = own[starts], xs[starts], xs[ends]
    label_start = np.flatnonzero(np.r_[True, row_label[1:] != row_label[:-1]])
    heights = np.diff(np.r_[label_start, len(row_label)])
    for h in np.unique(heights):
        block = label_start[heights == h]
        if h > _TALL:  # the envelope test is quadratic in the levels: one chain each
            for start in block:
                label = int(row_label[start])
                ys0 = int(ys[starts[start]])
                box = labels[ys0:ys0 + h, :] == label
                cols = np.flatnonzero(box.any(axis=0))
                areas[label] = convex_area(box[:, cols[0]:cols[-1] + 1])
            continue
        rows = block[:, None] + np.arange(h)  # (m, h) indices into the per-row arrays
        lo, hi = _levels(first[rows], last[rows])
        areas[row_label[block]] = _envelope_counts(lo, hi)
    return areas


def _levels(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m, 2h + 1) smallest / largest doubled column of a diamond point per doubled level."""
    m, h = first.shape
    lo = np.empty((m, 2 * h + 1), np.int64)
    hi = np.empty((m, 2 * h + 1), np.int64)
    lo[:, 1::2], hi[:, 1::2] = 2 * first - 1, 2 * last + 1  # row centres
    lo[:, 0:-1:2], hi[:, 0:-1:2] = 2 * first, 2 * last  # top edges
    lo[:, -1], hi[:, -1] = 2 * first[:, -1], 2 * last[:, -1]  # the last row's bottom edge
    np.minimum(lo[:, 2:-1:2], 2 * first[:, :-1], out=lo[:, 2:-1:2])  # bottom edges
    np.maximum(hi[:, 2:-1:2], 2 * last[:, :-1], out=hi[:, 2:-1:2])
    return lo, hi


def _envelope_counts(lo: np.ndarray, hi: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """Integers between the lower envelope of `lo` and the upper one of `hi` at the odd
    (row-centre) levels, summed per row of the (m, n) arrays."""
    m, n = lo.shape
    step = max(1, chunk // (n * n))
    counts = np.empty(m, np.int64)
    for s in range(0, m, step):
        left = _side(lo[s:s + step], True)
        right = _side(hi[s:s + step], False)
        counts[s:s + step] = (right - left + 1).sum(axis=1)
    return counts


def _side(points: np.ndarray, left: bool) -> np.ndarray:
    """ceil (left) or floor (right) of the envelope's x at the odd levels: (m, n) -> (m, h)."""
    m, n = points.shape
    level = np.arange(n)
    if n <= 2:
        vertex = np.ones((m, n), bool)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            d = level[None, :] - level[:, None]  # (n, n), j - i
            slope = (points[:, None, :] - points[:, :, None]) / d
        if not left:
            slope = -slope
        later = _later(n)[None]
        into = np.where(later, slope, -np.inf).max(axis=1)  # over i < k of slope[i, k]
        out = np.where(later, slope, np.inf).min(axis=2)  # over j > k of slope[k, j]
        vertex = into < out
    a = np.maximum.accumulate(np.where(vertex, level, -1), axis=1)
    b = np.minimum.accumulate(np.where(vertex, level, n)[:, ::-1], axis=1)[:, ::-1]
    a, b = a[:, 1::2], b[:, 1::2]
    at = level[1::2][None, :]
    xa = np.take_along_axis(points, a, axis=1)
    xb = np.take_along_axis(points, b, axis=1)
    span = b - a
    num = np.where(span == 0, xa, xa * (b - at) + xb * (at - a))
    den = 2 * np.where(span == 0, 1, span)  # doubled coordinates: x = num / den
    return -((-num) // den) if left else num // den
