"""Primary objects from a thresholded mask: fill holes, split clumps, filter by size and edge.

CellProfiler's IdentifyPrimaryObjects after its threshold, with every distance derived from the
typical object diameter (in pixels here; the functions convert from µm with the plate's pixel
size):
- holes in the foreground are filled (a nucleus with a dim nucleolus stays one object);
- `declump="shape"` splits a clump at the maxima of its distance transform (round objects
  touching at a neck), `"intensity"` at the maxima of the intensity smoothed with
  sigma = min diameter / 3.5 (objects brighter at their centre), `"none"` keeps clumps whole.
  Maxima closer than min diameter / 1.5 are one maximum (CellProfiler's automatic suppression
  distance), so an elongated object's ridge does not split it; the clump is divided by a
  watershed of the same surface. A shape split is then undone between two pieces that meet
  without a neck (their border as long as the narrower piece is wide) and without a darker
  line (the border's mean intensity above 0.8 of the dimmer piece's peak): touching nuclei
  show one or the other, the two halves of one elongated nucleus neither;
- objects whose area is outside the circle areas of the min and max diameters are dropped;
- `discard_edge` drops objects touching the image edge, or the padding around a stitched
  mosaic (`padding`: runs of exact zeros from the image border, where the tiles' jitter left
  no pixels): cut-off objects bias shape and intensity features;
- given the `threshold` the mask was cut at, a condensed nucleus (peak over twice the typical
  object's) is cut at the threshold's relative height on the typical object (module `halo`).

The work runs object by object in each object's bounding box (objects cover a few per cent of
a mosaic); a component too small to hold two objects of the minimum size, or nearly as round
as the disc of its widest point (area < 1.4 pi r_max^2, where two touching discs give ~2), is
never split.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ._lazy import ndi
from .halo import trim_condensed

Declump = Literal["shape", "intensity", "none"]
DECLUMP: tuple[str, ...] = ("shape", "intensity", "none")
_TIE_SIGMA = 1.0  # px: smoothing of the distance transform, so a ridge has one maximum
# A shape split is undone where the two pieces meet without a neck (border at least _NECK x the
# narrower piece's width) and without a darker line (border's mean intensity above _DIP x the
# dimmer piece's peak): the ridge of one elongated nucleus, not two touching ones. Ratios chosen
# on the real fields of docs/segmentation.md (all at once).
_NECK = 1.2
_DIP = 0.8
_ROUND = 1.4  # area / (pi r_max^2) below which a component is one object (module docstring)


def circle_area(diameter: float) -> float:
    return float(np.pi * diameter * diameter / 4.0)


def padding(image: np.ndarray, reach: int = 0) -> np.ndarray | None:
    """Pixels of exact zero reached from the image border along their row or column without
    crossing a non-zero pixel (None when there are none): where a stitched mosaic has no
    tile, i.e. also the edge of what was imaged. `reach` > 0 grows them by a square of that
    radius (px): also the pixels a smoothing of that radius mixed with the padding."""
    zero = image == 0
    if not (zero[0].any() or zero[-1].any() or zero[:, 0].any() or zero[:, -1].any()):
        return None
    filled = ~zero
    out = _outside_runs(filled, reach) | _outside_runs(filled.T, reach).T
    return out if out.any() else None


def _outside_runs(filled: np.ndarray, reach: int) -> np.ndarray:
    """Pixels before each row's first filled pixel or after its last, grown by a square of
    radius `reach`: bounds per row, grown by a 1-D max/min filter of the bounds (24 ms on a
    4.4 Mpx mosaic; cumulative runs and a 2-D maximum filter took 99 ms)."""
    h, w = filled.shape
    some = filled.any(axis=1)
    first = np.where(some, filled.argmax(axis=1), w)
    last = np.where(some, w - 1 - filled[:, ::-1].argmax(axis=1), -1)
    if reach > 0:  # a row with no run on that side grows none into its neighbours
        size = 2 * reach + 1
        first = ndi.maximum_filter1d(np.where(first > 0, first + reach, 0), size,
                                     mode="nearest")
        last = ndi.minimum_filter1d(np.where(last < w - 1, last - reach, w - 1), size,
                                    mode="nearest")
    columns = np.arange(w)
    return (columns < first[:, None]) | (columns > last[:, None])


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """`ndi.binary_fill_holes(mask)`: background regions (4-connected) that do not reach the
    image border become foreground; one labelling instead of its iterated dilation (~5x
    faster on a mosaic)."""
    background, _ = ndi.label(~mask)
    hole = np.ones(int(background.max()) + 1, bool)
    hole[0] = False
    for edge in (background[0], background[-1], background[:, 0], background[:, -1]):
        hole[edge] = False
    return mask | hole[background]


def primary_objects(
    mask: np.ndarray, intensity: np.ndarray, min_diameter: float, max_diameter: float,
    declump: str = "shape", discard_edge: bool = False, edge: np.ndarray | None = None,
    threshold: np.ndarray | float | None = None,
) -> np.ndarray:
    """Labels (Y, X) int32, numbered 1..n in scan order of their components (docstring);
    `threshold`: the one `mask` was cut at (a number or an image), to cut condensed nuclei
    at the typical nucleus's relative height (module `halo`); None leaves them as cut."""
    filled = fill_holes(mask)
    components, count = ndi.label(filled, output=np.int32)
    if count == 0:
        return components
    min_area = circle_area(min_diameter)
    max_area = circle_area(max_diameter) if max_diameter > 0 else np.inf
    sizes = np.bincount(components.ravel(), minlength=count + 1)
    labels = np.zeros(components.shape, np.int32)
    touching = touching_edge(components, edge) if discard_edge else set()
    suppress = max(1, int(round(min_diameter / 1.5)))
    sigma = max(min_diameter / 3.5, 0.5)
    n = 0
    peaks, boxes = [], []
    for index, box in enumerate(ndi.find_objects(components), start=1):
        if box is None or sizes[index] < min_area:  # too small even as one object
            continue
        own = components[box] == index
        local = None
        if declump != "none" and sizes[index] >= 2 * min_area:
            local = _split(own, intensity, box, declump, suppress, sigma)
        pieces = [own] if local is None else [local == k for k in range(1, int(local.max()) + 1)]
        target = labels[box]
        for piece in pieces:
            area = int(piece.sum())
            if area < min_area or area > max_area:
                continue
            if touching and index in touching and _touches(piece, box, labels.shape, edge):
                continue
            n += 1
            target[piece] = n
            if threshold is not None:
                peaks.append(intensity[box][piece].max())
                boxes.append(box)
    if threshold is not None:
        trim_condensed(labels, intensity, threshold, np.array(peaks), boxes)
    return labels


def touching_edge(components: np.ndarray, edge: np.ndarray | None) -> set[int]:
    """Labels touching the image border or the `edge` mask (e.g. `padding`)."""
    border = np.concatenate([components[0], components[-1], components[:, 0],
                             components[:, -1]])
    found = set(np.unique(border).tolist())
    if edge is not None:
        near = ndi.binary_dilation(edge)
        found |= set(np.unique(components[near]).tolist())
    found.discard(0)
    return found


def _touches(piece: np.ndarray, box: tuple[slice, slice], shape: tuple[int, ...],
             edge: np.ndarray | None) -> bool:
    ys, xs = box
    if ((ys.start == 0 and piece[0].any()) or (ys.stop == shape[0] and piece[-1].any())
            or (xs.start == 0 and piece[:, 0].any())
            or (xs.stop == shape[1] and piece[:, -1].any())):
        return True
    if edge is None:
        return False
    y0, y1 = max(ys.start - 1, 0), min(ys.stop + 1, shape[0])
    x0, x1 = max(xs.start - 1, 0), min(xs.stop + 1, shape[1])
    grown = np.zeros((y1 - y0, x1 - x0), bool)
    grown[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0] = piece
    return bool((ndi.binary_dilation(grown) & edge[y0:y1, x0:x1]).any())


def _split(own: np.ndarray, intensity: np.ndarray, box: tuple[slice, slice], method: str,
           suppress: int, sigma: float) -> np.ndarray | None:
    """Local labels of one clump split at its maxima, or None when it has one maximum."""
    from skimage.feature import peak_local_max
    from skimage.morphology import disk
    from skimage.segmentation import watershed

    distance = ndi.distance_transform_edt(np.pad(own, 1))
    # A clump of two round objects covers at least ~1.7x the disc of its widest point; an
    # object within _ROUND of it is one object (no maxima search; an oval nucleus's ridge
    # would otherwise split it once it is longer than the suppression distance).
    if own.sum() < _ROUND * np.pi * float(distance.max()) ** 2:
        return None
    if method == "shape":
        surface = ndi.gaussian_filter(distance, _TIE_SIGMA)[1:-1, 1:-1]
    else:
        surface = _smoothed_box(intensity, box, sigma)
    peaks = peak_local_max(surface, footprint=disk(suppress), labels=own.astype(np.int32),
                           min_distance=suppress, exclude_border=False)
    if len(peaks) < 2:
        return None
    seeds = np.zeros(own.shape, np.int32)
    seeds[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
    local = watershed(-surface, seeds, mask=own)
    if method == "shape":
        local = _rejoin(local, distance[1:-1, 1:-1], intensity[box])
    return local if local.max() > 1 else None


def _rejoin(local: np.ndarray, distance: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """`local` with the pieces merged that meet without a neck and without a darker line
    between them (_NECK, _DIP), renumbered 1..m."""
    n = int(local.max())
    width, peak = np.zeros(n + 1), np.zeros(n + 1)  # per piece, indexed by its label
    for k in range(1, n + 1):  # a few pieces in a small box: faster than ndi.maximum
        piece = local == k
        width[k], peak[k] = 2.0 * distance[piece].max(), intensity[piece].max()
    codes, values = [], []
    for a, b, va, vb in ((local[:, :-1], local[:, 1:], intensity[:, :-1], intensity[:, 1:]),
                         (local[:-1], local[1:], intensity[:-1], intensity[1:])):
        across = (a != b) & (a > 0) & (b > 0)
        lo, hi = np.minimum(a[across], b[across]), np.maximum(a[across], b[across])
        codes.append(lo.astype(np.int64) * (n + 1) + hi)
        values.append((va[across].astype(np.float64) + vb[across]) / 2.0)
    pairs, inverse, length = np.unique(np.concatenate(codes), return_inverse=True,
                                       return_counts=True)
    border = np.bincount(inverse, np.concatenate(values)) / length
    parent = np.arange(n + 1)
    for code, pixels, mean in zip(pairs.tolist(), length.tolist(), border.tolist(), strict=True):
        x, y = divmod(code, n + 1)
        if (pixels >= _NECK * min(width[x], width[y])
                and mean > _DIP * min(peak[x], peak[y])):
            rx, ry = _root(parent, x), _root(parent, y)
            parent[max(rx, ry)] = min(rx, ry)
    roots = np.array([_root(parent, i) for i in range(n + 1)])
    return np.unique(roots, return_inverse=True)[1].astype(np.int32).reshape(-1)[local]


def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        i = parent[i]
    return int(i)


def _smoothed_box(intensity: np.ndarray, box: tuple[slice, slice], sigma: float) -> np.ndarray:
    """The intensity smoothed with `sigma` on the box (read with the filter's reach around it,
    so the values equal those of the whole image smoothed)."""
    reach = int(4.0 * sigma + 0.5)
    ys, xs = box
    h, w = intensity.shape
    y0, y1 = max(ys.start - reach, 0), min(ys.stop + reach, h)
    x0, x1 = max(xs.start - reach, 0), min(xs.stop + reach, w)
    crop = ndi.gaussian_filter(intensity[y0:y1, x0:x1].astype(np.float64), sigma,
                               mode="nearest")
    return crop[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
