"""Nuclei segmentation: smooth, threshold automatically, split touching nuclei by watershed.

Per plane: Gaussian smoothing; Otsu's threshold of the square root of the intensity above the
plane's minimum (from a 256-bin histogram; the square root stabilises shot-noise variance and
keeps a few very bright mitotic nuclei from pushing the threshold above the dim ones), scaled
by `threshold_scale`; holes filled and objects below `min_area` removed.
Touching nuclei are split by a watershed on the product of the mask's distance transform and
the smoothed intensity (a nucleus is both far from the background and bright at its centre),
seeded by its local maxima at least `min_distance` apart; labels below `min_area` dropped.
Everything after the threshold runs object by object in each object's bounding box
(`_objects.split_touching`, equal to the whole-image recipe pixel for pixel): nuclei cover a
few per cent of a plate's mosaic, so the distance transform, blur, peak search and flooding
of the whole image were mostly spent on background.

Outputs: labels (N, Y, X) int32, unique over the whole stack (0 is background), and ROIs, an
`Outlines`: a plain list of (K, 2) float32 (y, x) outline polygons (what every consumer of
`rois` reads), which also carries `.labels` (the label id of each polygon) and `.planes`.
The polygons are traced when first read (a viewer's stream, a later step): a run that only
writes its outputs never reads them, and tracing thousands of outlines is much of the step.
The torch version smooths and thresholds on the tensor's device; the distance transform and
watershed (no torch equivalent) run on the CPU in both versions, through the same code.
"""

from __future__ import annotations

import numpy as np

from ..registry import register
from ..rois import Outlines
from . import _torch
from ._arrays import as_float, as_stack, check_positive
from ._lazy import ndi
from ._params import NonNegativeInt, PositiveFloat, PositiveInt
from ._shared import histogram_centers, otsu_from_histogram
from ._torch import Tensor

_BINS = 256
_OUTPUTS = {"nuclei_labels": "labels", "nuclei_rois": "rois"}


def split_touching(
    mask: np.ndarray, intensity: np.ndarray, min_area: int, min_distance: int
) -> np.ndarray:
    """Label a binary nuclei mask, splitting touching nuclei by a watershed (module docstring)."""
    from . import _objects

    return _objects.split_touching(mask, intensity, min_area, min_distance)


def outlines(labels: np.ndarray) -> Outlines:
    """One outline polygon per label of an (N, Y, X) label stack (see the module docstring)."""
    from skimage.measure import find_contours

    rois = Outlines()
    for plane, lab in enumerate(labels):
        for index, box in enumerate(ndi.find_objects(lab), start=1):
            if box is None:
                continue
            # Pad so that contours of objects touching the box edge close.
            padded = np.pad(lab[box] == index, 1).astype(np.float32)
            contours = find_contours(padded, 0.5)
            if not contours:
                continue
            poly = max(contours, key=len)[:-1] + np.array([box[0].start - 1, box[1].start - 1])
            rois.append(poly.astype(np.float32))
            rois.labels.append(index)
            rois.planes.append(plane)
    return rois


class _TracedOnRead(Outlines):
    """`outlines(labels)`, traced the first time it is read; pickles as plain `Outlines`."""

    def __init__(self, labels: np.ndarray) -> None:
        self._source: np.ndarray | None = labels
        super().__init__()

    def _trace(self) -> None:
        if self.__dict__.get("_source") is not None:
            traced, self._source = outlines(self._source), None
            list.extend(self, traced)
            self.__dict__["labels"], self.__dict__["planes"] = traced.labels, traced.planes

    def __getattribute__(self, name: str) -> object:
        if name in ("labels", "planes"):
            object.__getattribute__(self, "_trace")()
        return object.__getattribute__(self, name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._trace()
        return list.__iter__(self)

    def __len__(self) -> int:
        self._trace()
        return list.__len__(self)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        self._trace()
        return list.__getitem__(self, index)

    def __contains__(self, item: object) -> bool:
        self._trace()
        return list.__contains__(self, item)

    def __reversed__(self):  # type: ignore[no-untyped-def]
        self._trace()
        return list.__reversed__(self)

    def __eq__(self, other: object) -> bool:
        self._trace()
        return list.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]  # a list

    def __repr__(self) -> str:
        self._trace()
        return list.__repr__(self)

    def __reduce__(self) -> tuple:
        self._trace()
        return Outlines, (list(self), self.labels, self.planes)


def _sqrt_otsu(hist: np.ndarray, hi: float) -> float:
    """Otsu's threshold of `sqrt(smooth - min)` from its histogram over [0, hi]."""
    return otsu_from_histogram(hist, histogram_centers(0.0, hi, _BINS))


def _label_planes(masks: np.ndarray, smooth: np.ndarray, min_area: int,
                  min_distance: int) -> np.ndarray:
    labels = np.empty(masks.shape, np.int32)
    offset = 0
    for k, mask in enumerate(masks):  # ids unique over the stack: one ROI list serves all
        lab = split_touching(mask, smooth[k], min_area, min_distance)
        if offset:
            lab[lab > 0] += offset
        labels[k] = lab
        offset = max(offset, int(lab.max()))
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
    masks = np.empty(a.shape, bool)
    roots = np.empty(a.shape[1:], a.dtype)  # one buffer, reused by every plane
    for k, plane in enumerate(smooth):
        np.subtract(plane, plane.min(), out=roots)
        np.sqrt(roots, out=roots)
        hi = float(roots.max())
        hist, _ = np.histogram(roots, bins=_BINS, range=(0.0, hi))
        np.greater(roots, _sqrt_otsu(hist, hi) * threshold_scale, out=masks[k])
    del roots  # a mosaic-sized buffer less while the objects are split (the step's peak)
    labels = _label_planes(masks, smooth, min_area, min_distance)
    return stack, labels, _TracedOnRead(labels)


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
    return stack, labels, _TracedOnRead(labels)
