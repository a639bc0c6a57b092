"""Touching-nuclei splitting object by object: the work is done in each object's bounding box.

`split_touching` computes exactly what the whole-image recipe computes (tested for equality
against it, `tests/engine/library/test_objects.py`):

    mask = ndi.binary_fill_holes(mask)
    mask = skimage.morphology.remove_small_objects(mask, max_size=min_area - 1)
    components = ndi.label(mask)[0]
    surface = ndi.gaussian_filter(ndi.distance_transform_edt(mask), 1.0) * (I - I.min())
    peaks = skimage.feature.peak_local_max(surface, min_distance, labels=components,
                                           exclude_border=False)
    markers = the peaks numbered in order, then one seed (first pixel) per component without
    labels = skimage.segmentation.watershed(-surface, markers, mask=mask)
    labels without labels smaller than min_area, renumbered 1..n in marker order

but only over the objects' boxes. Why each piece is exact:
- *Holes* are the 4-connected background regions that do not touch the image edge (what
  `binary_fill_holes` fills); a region touches the edge exactly when its bounding box does.
- *Distance transform*: computed on a crop of the mask around the object (`_MARGIN` px more on
  each side, where the image allows). A crop only lacks background, so its distance is never
  shorter than the true one, and it is the true one wherever it is no longer than the way out
  of the crop; that is checked on the pixels the blur reads (the box + the blur's radius) and
  the crop grown when it fails.
- *Blur* (radius 4 at sigma 1): its value on the box reads the distance within 4 px, exact by
  the above; where the box meets the image edge the crop does too, so the 'reflect' edge is
  the same.
- *Peaks*: `peak_local_max` with labels already works per label on the label's box, with the
  surface's minimum as threshold, which is 0 (the surface is >= 0 and 0 where I is minimal).
  `_object_peaks` repeats its steps on that box (maximum filter, plateau rule, ordering by
  height, greedy spacing in the Chebyshev norm).
- *Watershed*: flooding never crosses the mask, so each component is flooded on its own; a
  component with one seed becomes one label whole, and only those with several are flooded
  (skimage's `watershed` on the box, same priorities, same neighbour order). One caveat:
  skimage pushes every seed with the same age, so two seeds of one object with exactly the
  same surface value (a symmetric object of perfectly even intensity) leave the order of
  their flooding to its heap, which holds other objects' seeds too in the whole-image run;
  there the dividing line may fall one pixel apart. Measured images, with their noise, do
  not tie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

_BLUR_SIGMA = 1.0  # smoothing of the distance transform (merges an elongated nucleus's twin maxima)
_BLUR_RADIUS = int(4.0 * _BLUR_SIGMA + 0.5)  # scipy's gaussian_filter radius (truncate 4)
_MARGIN = 6  # px of mask around a box for its distance transform (grown when not enough)
_FLOOR = np.finfo(np.float64).min  # what peak_local_max writes outside the label in its box


def _scipy_gaussian_weights(sigma: float, radius: int) -> np.ndarray:
    """The correlation weights `ndi.gaussian_filter1d` builds (its formula, reversed), so that
    two `correlate1d` calls give its result bit for bit without its per-call set-up."""
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    return (phi / phi.sum())[::-1]


_BLUR_WEIGHTS = _scipy_gaussian_weights(_BLUR_SIGMA, _BLUR_RADIUS)


def _blur(distance: np.ndarray) -> np.ndarray:
    """`ndi.gaussian_filter(distance, _BLUR_SIGMA)` (mode 'reflect')."""
    out = np.empty_like(distance)
    ndi.correlate1d(distance, _BLUR_WEIGHTS, 0, out, mode="reflect")
    ndi.correlate1d(out, _BLUR_WEIGHTS, 1, out, mode="reflect")
    return out


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """`ndi.binary_fill_holes(mask)` (4-connected background), through the holes' boxes."""
    background, count = ndi.label(~mask)
    if count == 0:
        return np.ones_like(mask)
    edges = (background[0], background[-1], background[:, 0], background[:, -1])
    outside = np.unique(np.concatenate(edges))
    if np.count_nonzero(outside) == count:  # every background region reaches the edge
        return mask
    h, w = mask.shape
    out = mask.copy()
    for index, (ys, xs) in enumerate(ndi.find_objects(background), start=1):
        if ys.start == 0 or xs.start == 0 or ys.stop == h or xs.stop == w:
            continue  # touches the image edge: not a hole
        out[ys, xs] |= background[ys, xs] == index
    return out


@dataclass
class _Region:
    """One component's result before the final numbering."""

    box: tuple[slice, slice]
    own: np.ndarray  # the component's pixels in its box
    local: np.ndarray | None  # watershed labels 1..k in the box, or None for one label
    markers: list[int]  # the marker id of each local label


def split_touching(
    mask: np.ndarray, intensity: np.ndarray, min_area: int, min_distance: int
) -> np.ndarray:
    """Labels (int32, 1..n) of a nuclei mask with touching nuclei split (module docstring)."""
    mask = fill_holes(np.asarray(mask, bool))
    components, count = ndi.label(mask, output=np.int32)
    if count == 0:
        return components  # all zeros
    sizes = np.bincount(components[mask], minlength=count + 1)
    keep = sizes >= min_area
    keep[0] = False
    floor = intensity.min()
    regions: list[_Region] = []
    unseeded: list[_Region] = []
    next_marker = 1
    for index, box in enumerate(ndi.find_objects(components), start=1):
        if box is None or not keep[index]:
            continue
        own = components[box] == index
        surface = _surface(components, keep, box, own, intensity, floor)
        peaks = _object_peaks(surface, own, min_distance)
        if len(peaks) == 0:  # numbered after every seeded component, as the recipe does
            unseeded.append(_Region(box, own, None, []))
            continue
        markers = list(range(next_marker, next_marker + len(peaks)))
        next_marker += len(peaks)
        local = None
        if len(peaks) > 1:
            local = _flood(surface, own, peaks)
        regions.append(_Region(box, own, local, markers))
    for region in unseeded:
        region.markers = [next_marker]
        next_marker += 1
    # The components are not read any more (each region holds its own pixels): their buffer,
    # already in memory, becomes the labels (a mosaic-sized array less at the step's peak).
    labels = components
    labels.fill(0)
    _paint(labels, regions + unseeded, min_area)
    return labels


def _surface(components: np.ndarray, keep: np.ndarray, box: tuple[slice, slice],
             own: np.ndarray, intensity: np.ndarray, floor: float) -> np.ndarray:
    """Blurred distance transform times (intensity - floor) on the box, float64."""
    h, w = components.shape
    ys, xs = box
    r = _BLUR_RADIUS
    margin = _MARGIN
    while True:
        y0, y1 = max(ys.start - margin, 0), min(ys.stop + margin, h)
        x0, x1 = max(xs.start - margin, 0), min(xs.stop + margin, w)
        distance = ndi.distance_transform_edt(keep[components[y0:y1, x0:x1]])
        if y0 == 0 and x0 == 0 and y1 == h and x1 == w:
            break  # the crop is the whole image
        # The distances the blur reads on the box: the object's own pixels are exact (their
        # nearest background lies within one pixel of the box), the others must be no longer
        # than their way out of the crop (at least margin - r + 1).
        ry0, rx0 = max(ys.start - r, y0) - y0, max(xs.start - r, x0) - x0
        reach = distance[ry0:min(ys.stop + r, y1) - y0, rx0:min(xs.stop + r, x1) - x0].copy()
        by, bx = ys.start - y0 - ry0, xs.start - x0 - rx0
        reach[by:by + own.shape[0], bx:bx + own.shape[1]][own] = 0.0
        longest = float(reach.max())
        if longest <= margin - r + 1:
            break
        margin = int(np.ceil(longest)) + r
    blurred = _blur(distance)
    inner = blurred[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    return inner * (intensity[box] - floor)


def _object_peaks(surface: np.ndarray, own: np.ndarray, min_distance: int) -> np.ndarray:
    """`peak_local_max(..., labels=...)`'s peaks of one label in its box, in its order."""
    image = surface.copy()
    image[~own] = _FLOOR
    size = 2 * int(min_distance) + 1
    if size > 1 and image.size > 1:
        # The separable square maximum (what maximum_filter does for a square footprint).
        peak = ndi.maximum_filter1d(image, size, 0, mode="nearest")
        ndi.maximum_filter1d(peak, size, 1, peak, mode="nearest")
        peak = image == peak
        if np.all(peak[own]):  # a flat object: only isolated pixels count as peaks
            peak[:] = False
            peak[np.logical_xor(own, ndi.binary_opening(own))] = True
        peak &= image > 0.0
    else:
        peak = image > 0.0
    coords = np.argwhere(peak)
    if len(coords) > 1:
        coords = coords[np.argsort(-image[peak], kind="stable")]
        if min_distance > 1:
            coords = _spaced(coords, min_distance)
    return coords


def _spaced(coords: np.ndarray, spacing: int) -> np.ndarray:
    """skimage's `ensure_spacing` (Chebyshev norm): greedily keep points in order, dropping
    those closer than `spacing` to one kept before."""
    alive = np.ones(len(coords), bool)
    for i in range(len(coords)):
        if alive[i]:
            near = np.abs(coords[i + 1:] - coords[i]).max(axis=1) < spacing
            alive[i + 1:] &= ~near
    return coords[alive]


def _flood(surface: np.ndarray, own: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    from skimage.segmentation import watershed

    seeds = np.zeros(own.shape, np.int32)
    seeds[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
    return watershed(-surface, seeds, mask=own)


def _paint(labels: np.ndarray, regions: list[_Region], min_area: int) -> None:
    """Write the regions' labels, the small ones dropped, numbered 1..n by marker id (the
    regions come in marker order)."""
    start = 0
    for region in regions:
        if region.local is None:
            areas = np.array([int(region.own.sum())])
        else:
            areas = np.bincount(region.local[region.own], minlength=len(region.markers) + 1)[1:]
        kept = areas >= min_area
        numbers = np.where(kept, start + np.cumsum(kept), 0).astype(np.int32)
        start += int(kept.sum())
        target = labels[region.box]
        if region.local is None:
            if numbers[0]:
                target[region.own] = numbers[0]
        else:
            target[region.own] = np.concatenate([[0], numbers]).astype(np.int32)[
                region.local[region.own]]
