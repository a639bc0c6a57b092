"""The blur halo of a condensed nucleus, which a threshold set for the typical nuclei takes in.

A global threshold sits at some relative height on the typical nucleus: (threshold -
background) / (typical peak - background). On a nucleus several times brighter, the same
threshold lies much lower on its blurred edge, and its contour runs far out on the halo: the
nucleus measures larger the brighter it is (DSB-2018's 11 nuclei over twice the typical peak
came out at 1.3-5x their annotated area, the largest merged with neighbours; 0.5-1.3x cut). A
nucleus whose peak is more than twice the typical peak is condensed (mitotic, apoptotic): a G2
nucleus has twice a G1 nucleus's DNA in a larger volume, so DNA content alone stays below
twice the peak. Such a nucleus is cut where its own intensity stands at the threshold's
relative height on the typical nucleus, so its edge is drawn as the typical nucleus's is; what
lies outside (the halo, a dim neighbour the halo bridged to) becomes background, and holes are
filled. Nuclei within twice the typical peak keep the threshold's contour, as CellProfiler
draws it. Peaks are the maxima of the smoothed image; the typical peak is their median over
the plane's objects; the background is the median of the pixels below the threshold (without
a mosaic's padding).
"""

from __future__ import annotations

import numpy as np

from ._lazy import ndi
from .thresholds import statistics_sample

_CONDENSED = 2.0  # peak over the typical peak above which a nucleus is condensed (docstring)
_SAMPLE = 250_000  # pixels read for the background level of a large plane


def background_level(intensity: np.ndarray, threshold: np.ndarray | float) -> float:
    """Median of the pixels below `threshold` (a regular subsample; padding left out)."""
    step = max(1, intensity.size // _SAMPLE)
    values = intensity.ravel()[::step]
    cut = threshold if np.ndim(threshold) == 0 else np.ravel(threshold)[::step]
    below = statistics_sample(values[values <= cut])
    return float(np.median(below)) if below.size else 0.0


def trim_condensed(labels: np.ndarray, intensity: np.ndarray, threshold: np.ndarray | float,
                   peaks: np.ndarray, boxes: list[tuple[slice, slice]]) -> np.ndarray:
    """`labels` (Y, X, numbered 1..n) with each condensed nucleus cut at the typical relative
    height (module docstring), in place; `intensity` the smoothed image thresholded at
    `threshold` (a number or, adaptive, an image); `peaks[k - 1]` the largest intensity of
    object k, `boxes[k - 1]` a box holding it."""
    if len(peaks) < 3:  # a median of one or two is no typical nucleus
        return labels
    typical = float(np.median(peaks))
    condensed = np.flatnonzero(peaks > _CONDENSED * typical) + 1
    if not condensed.size:
        return labels
    background = background_level(intensity, threshold)
    if not typical > background:
        return labels
    for k in condensed:
        box = boxes[k - 1]
        own = labels[box] == k
        cut = float(np.mean(np.broadcast_to(threshold, intensity.shape)[box][own]))
        height = (cut - background) / (typical - background)
        level = background + height * (peaks[k - 1] - background)
        labels[box][own & ~_core(own & (intensity[box] >= level))] = 0
    return labels


def _core(mask: np.ndarray) -> np.ndarray:
    """The largest component of `mask`, holes filled (a box around one nucleus)."""
    parts, count = ndi.label(mask)
    if count > 1:
        sizes = np.bincount(parts.ravel())
        sizes[0] = 0
        mask = parts == sizes.argmax()
    return ndi.binary_fill_holes(mask)
