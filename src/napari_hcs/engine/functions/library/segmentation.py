"""Nuclei segmentation: smooth, threshold automatically, split touching nuclei by watershed.

Per plane: Gaussian smoothing; Otsu's threshold of the square root of the intensity above the
plane's minimum (from a 256-bin histogram; the square root stabilises shot-noise variance and
keeps a few very bright mitotic nuclei from pushing the threshold above the dim ones), scaled
by `threshold_scale`; holes filled and objects below `min_area` removed.
Touching nuclei are split by a watershed on the product of the mask's distance transform and
the smoothed intensity (a nucleus is both far from the background and bright at its centre),
seeded by its local maxima at least `min_distance` apart; labels below `min_area` dropped.

Outputs: labels (N, Y, X) int32, unique over the whole stack (0 is background), and ROIs, an
`Outlines`: a plain list of (K, 2) float32 (y, x) outline polygons (what every consumer of
`rois` reads), which also carries `.labels` (the label id of each polygon) and `.planes`.
The torch version smooths and thresholds on the tensor's device; the distance transform and
watershed (no torch equivalent) run on the CPU in both versions, through the same code.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import measure, morphology, segmentation
from skimage.feature import peak_local_max

from ..registry import register
from ..rois import Outlines
from . import _torch
from ._arrays import as_float, as_stack, check_positive
from ._params import NonNegativeInt, PositiveFloat, PositiveInt
from ._shared import histogram_centers, otsu_from_histogram
from ._torch import Tensor

_BINS = 256
_OUTPUTS = {"nuclei_labels": "labels", "nuclei_rois": "rois"}


def split_touching(
    mask: np.ndarray, intensity: np.ndarray, min_area: int, min_distance: int
) -> np.ndarray:
    """Label a binary nuclei mask, splitting touching nuclei by a watershed (module docstring)."""
    mask = ndi.binary_fill_holes(mask)
    mask = morphology.remove_small_objects(mask, max_size=max(int(min_area) - 1, 0))
    components, _ = ndi.label(mask)
    distance = ndi.distance_transform_edt(mask)
    # A little smoothing merges the twin maxima of elongated nuclei.
    surface = ndi.gaussian_filter(distance, 1.0) * (intensity - intensity.min())
    peaks = peak_local_max(surface, min_distance=int(min_distance), labels=components,
                           exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
    # A component without a peak (a flat plateau) still becomes one nucleus.
    unseeded = np.setdiff1d(np.unique(components[mask]), components[tuple(peaks.T)])
    for k, comp in enumerate(unseeded, start=len(peaks) + 1):
        markers[tuple(np.argwhere(components == comp)[0])] = k
    labels = segmentation.watershed(-surface, markers, mask=mask)
    areas = np.bincount(labels.ravel())
    labels[areas[labels] < min_area] = 0
    return segmentation.relabel_sequential(labels)[0].astype(np.int32)


def outlines(labels: np.ndarray) -> Outlines:
    """One outline polygon per label of an (N, Y, X) label stack (see the module docstring)."""
    rois = Outlines()
    for plane, lab in enumerate(labels):
        for region in measure.regionprops(lab):
            y0, x0, _, _ = region.bbox
            # Pad so that contours of objects touching the bbox edge close.
            padded = np.pad(region.image, 1).astype(np.float32)
            contours = measure.find_contours(padded, 0.5)
            if not contours:
                continue
            poly = max(contours, key=len)[:-1] + np.array([y0 - 1, x0 - 1])
            rois.append(poly.astype(np.float32))
            rois.labels.append(int(region.label))
            rois.planes.append(plane)
    return rois


def _sqrt_otsu(hist: np.ndarray, hi: float) -> float:
    """Otsu's threshold of `sqrt(smooth - min)` from its histogram over [0, hi]."""
    return otsu_from_histogram(hist, histogram_centers(0.0, hi, _BINS))


def _label_planes(masks: np.ndarray, smooth: np.ndarray, min_area: int,
                  min_distance: int) -> np.ndarray:
    labels = np.zeros(masks.shape, np.int32)
    offset = 0
    for k, mask in enumerate(masks):  # ids unique over the stack: one ROI list serves all
        lab = split_touching(mask, smooth[k], min_area, min_distance)
        labels[k] = np.where(lab > 0, lab + offset, 0)
        offset += int(lab.max())
    return labels


def _check(func: str, sigma: float, min_area: int, min_distance: int,
           threshold_scale: float) -> None:
    check_positive(func, sigma=sigma, min_distance=min_distance, threshold_scale=threshold_scale)
    if min_area < 0:
        raise ValueError(f"{func}: parameter 'min_area' must be >= 0, got {min_area!r}")


@register(memory="numpy", category="segmentation", special_outputs=_OUTPUTS)
def segment_nuclei(
    stack: np.ndarray, sigma: PositiveFloat = 2.0, min_area: NonNegativeInt = 30,
    min_distance: PositiveInt = 4, threshold_scale: PositiveFloat = 1.0,
) -> tuple[np.ndarray, np.ndarray, Outlines]:
    """Label nuclei: Gaussian smoothing, Otsu threshold, distance-transform watershed.

    `min_distance`: smallest distance (px) between two nuclei centres, about a nucleus radius;
    `threshold_scale` multiplies Otsu's threshold. Returns (stack, labels, rois).
    """
    _check("segment_nuclei", sigma, min_area, min_distance, threshold_scale)
    a = as_float(as_stack(stack, "segment_nuclei"))
    smooth = ndi.gaussian_filter(a, (0, sigma, sigma), mode="nearest")
    masks = np.zeros(a.shape, bool)
    for k, plane in enumerate(smooth):
        roots = np.sqrt(plane - plane.min())
        hi = float(roots.max())
        hist, _ = np.histogram(roots, bins=_BINS, range=(0.0, hi))
        masks[k] = roots > _sqrt_otsu(hist, hi) * threshold_scale
    labels = _label_planes(masks, smooth, min_area, min_distance)
    return stack, labels, outlines(labels)


@register(memory="torch", category="segmentation", special_outputs=_OUTPUTS)
def segment_nuclei_torch(
    stack: Tensor, sigma: PositiveFloat = 2.0, min_area: NonNegativeInt = 30,
    min_distance: PositiveInt = 4, threshold_scale: PositiveFloat = 1.0,
) -> tuple[Tensor, np.ndarray, Outlines]:
    """Label nuclei: Gaussian smoothing, Otsu threshold, distance-transform watershed."""
    torch = _torch.require()
    _check("segment_nuclei_torch", sigma, min_area, min_distance, threshold_scale)
    smooth = _torch.gaussian(stack, sigma)
    masks = torch.zeros(smooth.shape, dtype=torch.bool, device=smooth.device)
    for k, plane in enumerate(smooth):
        roots = torch.sqrt(plane - plane.min())
        hi = float(roots.max())
        hist = torch.histc(roots, bins=_BINS, min=0.0, max=hi).cpu().numpy()
        masks[k] = roots > _sqrt_otsu(hist, hi) * threshold_scale
    labels = _label_planes(masks.cpu().numpy(), smooth.cpu().numpy(), min_area, min_distance)
    return stack, labels, outlines(labels)
