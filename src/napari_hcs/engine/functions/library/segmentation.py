"""Nuclei (primary objects) as CellProfiler's IdentifyPrimaryObjects finds them, sized in µm.

Per plane: Gaussian smoothing (sigma 1 px, CellProfiler's default threshold smoothing scale
1.3488), an automatic threshold (`thresholds.py`: Otsu two- or three-class, minimum
cross-entropy or robust background; on linear or log intensities; global or adaptive; with a
correction factor and bounds), then `declump.primary_objects`: holes filled, clumps split by
shape or intensity, objects outside the diameter range dropped, optionally those touching the
edge, and (`trim_halos`, module `halo`) a condensed nucleus, over twice the typical one's
peak, cut at the threshold's relative height on the typical nucleus instead of out on its
blur halo.

Every size is a typical object diameter in micrometres (`min_diameter_um`, `max_diameter_um`,
`adaptive_window_um`), converted to pixels with the plate's pixel size (special input
`pixel_size_um`, provided by the plate, DESIGN.md "Physical units"); a well imaged at a higher
magnification or another binning therefore needs no new settings. Without a pixel size (an
array passed in directly) the sizes are read as pixels. The declumping distances derive from
the minimum diameter (module `declump`). Defaults chosen on real Cell Painting and DSB-2018
fields against CellProfiler's own segmentation (docs/segmentation.md).

Outputs: labels (N, Y, X) int32, unique over the whole stack (0 is background), and ROIs
(`outlines.TracedOnRead`, traced when first read). The torch version smooths on the tensor's
device; the threshold statistics, declumping and watershed run on the CPU in both versions,
through the same code.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..registry import register
from ..rois import Outlines
from . import _torch
from ._arrays import as_float, as_stack
from ._lazy import ndi
from ._params import NonNegativeFloat, PositiveFloat
from ._shared import gaussian_radius
from ._torch import Tensor
from .declump import DECLUMP, Declump, padding, primary_objects
from .outlines import TracedOnRead, outlines
from .thresholds import (
    ThresholdMethod,
    ThresholdStrategy,
    check_threshold,
    full_scale,
    threshold_image,
)

__all__ = ["outlines", "segment_nuclei", "segment_nuclei_torch", "to_pixels"]

_OUTPUTS = {"nuclei_labels": "labels", "nuclei_rois": "rois"}
_INPUTS = ("pixel_size_um",)
_SMOOTH_PX = 1.0  # CellProfiler's threshold smoothing scale 1.3488 = sigma 1 px (a noise scale)


def to_pixels(um: float, pixel_size_um: float | None) -> float:
    """A length in µm as pixels of the plate (µm read as pixels when there is no pixel size)."""
    return float(um) / float(pixel_size_um) if pixel_size_um else float(um)


#: Typical nucleus diameters (µm), the defaults of both functions.
MIN_DIAMETER_UM = 4.0
MAX_DIAMETER_UM = 40.0


def _check(func: str, min_d: float, max_d: float, method: str, strategy: str,
           correction: float, lower: float, upper: float, declump: str,
           pixel_size_um: float | None) -> None:
    if not min_d > 0:
        raise ValueError(f"{func}: parameter 'min_diameter_um' must be > 0, got {min_d!r}")
    if max_d and max_d < min_d:
        raise ValueError(f"{func}: 'max_diameter_um' ({max_d!r}) is below 'min_diameter_um' "
                         f"({min_d!r}); 0 means no maximum")
    if declump not in DECLUMP:
        raise ValueError(f"{func}: parameter 'declump' must be one of {', '.join(DECLUMP)}; "
                         f"got {declump!r}")
    if pixel_size_um is not None and not float(pixel_size_um) > 0:
        raise ValueError(f"{func}: the pixel size must be > 0 µm, got {pixel_size_um!r}")
    check_threshold(func, method, strategy, correction, lower, upper)


def compile_check(kwargs: dict[str, Any], pixel_size_um: float | None = None, roots: Any = None,
                  channel_names: Sequence[str] = (), func: str = "segment_nuclei"
                  ) -> list[tuple[str, str]]:
    """(parameter, message) when the diameters contradict each other: every well would fail
    after the steps before it ran (`compiler/function_checks.py`)."""
    low = kwargs.get("min_diameter_um", MIN_DIAMETER_UM)
    high = kwargs.get("max_diameter_um", MAX_DIAMETER_UM)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if numbers and high and high < low:
        return [("max_diameter_um", f"{func}: 'max_diameter_um' ({high!r}) is below "
                                    f"'min_diameter_um' ({low!r}); 0 means no maximum")]
    return []


def label_nuclei(
    smooth: np.ndarray, raws: np.ndarray, dtype: np.dtype, pixel_size_um: float | None,
    min_diameter_um: float, max_diameter_um: float, threshold_method: str, threshold_log: bool,
    threshold_strategy: str, adaptive_window_um: float, threshold_correction: float,
    threshold_min: float, threshold_max: float, declump: str, discard_edge: bool,
    trim_halos: bool,
) -> np.ndarray:
    """Labels (N, Y, X) of a smoothed stack, unique over the stack (module docstring);
    `raws` the unsmoothed planes (where a mosaic's padding is exactly 0; it and the
    smoothing's reach into the image are left out of the threshold statistics)."""
    labels = np.empty(smooth.shape, np.int32)
    offset = 0
    for k, plane in enumerate(smooth):
        cut = threshold_image(
            plane, threshold_method, threshold_log, threshold_strategy,
            int(round(to_pixels(adaptive_window_um, pixel_size_um))), threshold_correction,
            threshold_min, threshold_max, full_scale(dtype, plane),
            padding(raws[k], gaussian_radius(_SMOOTH_PX)))
        edge = padding(raws[k]) if discard_edge else None
        lab = primary_objects(plane > cut, plane, to_pixels(min_diameter_um, pixel_size_um),
                              to_pixels(max_diameter_um, pixel_size_um), declump, discard_edge,
                              edge, cut if trim_halos else None)
        if offset:  # ids unique over the stack: one ROI list serves all planes
            lab[lab > 0] += offset
        labels[k] = lab
        offset = max(offset, int(lab.max()))
    return labels


@register(memory="numpy", category="segmentation", special_inputs=_INPUTS,
          special_outputs=_OUTPUTS)
def segment_nuclei(
    stack: np.ndarray, pixel_size_um: float | None = None,
    min_diameter_um: PositiveFloat = MIN_DIAMETER_UM,
    max_diameter_um: NonNegativeFloat = MAX_DIAMETER_UM,
    threshold_method: ThresholdMethod = "otsu3_foreground", threshold_log: bool = False,
    threshold_strategy: ThresholdStrategy = "global", adaptive_window_um: PositiveFloat = 30.0,
    threshold_correction: PositiveFloat = 1.0, threshold_min: NonNegativeFloat = 0.0,
    threshold_max: NonNegativeFloat = 1.0, declump: Declump = "shape",
    discard_edge: bool = False, trim_halos: bool = True,
) -> tuple[np.ndarray, np.ndarray, Outlines]:
    """Label nuclei: smooth, threshold automatically, fill holes, split clumps, filter by size.

    `min_diameter_um`/`max_diameter_um`: typical nucleus diameters (µm; 0 = no maximum);
    `threshold_method`: otsu, otsu3_foreground (middle class kept), otsu3_background,
    cross_entropy or robust_background; `threshold_log`: threshold the log intensities;
    `threshold_strategy`: global, or adaptive in windows of `adaptive_window_um`;
    `threshold_correction` multiplies the threshold, clipped to [`threshold_min`,
    `threshold_max`] (fractions of the full scale); `declump`: shape, intensity or none;
    `discard_edge`: drop nuclei touching the image edge. Returns (stack, labels, rois).
    """
    func = "segment_nuclei"
    _check(func, min_diameter_um, max_diameter_um, threshold_method, threshold_strategy,
           threshold_correction, threshold_min, threshold_max, declump, pixel_size_um)
    raw = as_stack(stack, func)
    smooth = ndi.gaussian_filter(as_float(raw), (0, _SMOOTH_PX, _SMOOTH_PX), mode="nearest")
    labels = label_nuclei(smooth, raw, raw.dtype, pixel_size_um, min_diameter_um, max_diameter_um,
                          threshold_method, threshold_log, threshold_strategy,
                          adaptive_window_um, threshold_correction, threshold_min,
                          threshold_max, declump, discard_edge, trim_halos)
    return stack, labels, TracedOnRead(labels)


@register(memory="torch", category="segmentation", special_inputs=_INPUTS,
          special_outputs=_OUTPUTS)
def segment_nuclei_torch(
    stack: Tensor, pixel_size_um: float | None = None,
    min_diameter_um: PositiveFloat = MIN_DIAMETER_UM,
    max_diameter_um: NonNegativeFloat = MAX_DIAMETER_UM,
    threshold_method: ThresholdMethod = "otsu3_foreground", threshold_log: bool = False,
    threshold_strategy: ThresholdStrategy = "global", adaptive_window_um: PositiveFloat = 30.0,
    threshold_correction: PositiveFloat = 1.0, threshold_min: NonNegativeFloat = 0.0,
    threshold_max: NonNegativeFloat = 1.0, declump: Declump = "shape",
    discard_edge: bool = False, trim_halos: bool = True,
) -> tuple[Tensor, np.ndarray, Outlines]:
    """Label nuclei: smooth, threshold automatically, fill holes, split clumps, filter by size."""
    _torch.require()
    func = "segment_nuclei_torch"
    _check(func, min_diameter_um, max_diameter_um, threshold_method, threshold_strategy,
           threshold_correction, threshold_min, threshold_max, declump, pixel_size_um)
    x = stack if stack.ndim == 3 else stack.unsqueeze(0)
    dtype = _torch.numpy_dtype(x.dtype)
    smooth = _torch.gaussian(x, _SMOOTH_PX).cpu().numpy()
    raws = x.detach().cpu().numpy()
    labels = label_nuclei(smooth, raws, dtype, pixel_size_um, min_diameter_um, max_diameter_um,
                          threshold_method, threshold_log, threshold_strategy,
                          adaptive_window_um, threshold_correction, threshold_min,
                          threshold_max, declump, discard_edge, trim_halos)
    return stack, labels, TracedOnRead(labels)


segment_nuclei.__hcs_compile_check__ = compile_check  # type: ignore[attr-defined]
segment_nuclei_torch.__hcs_compile_check__ = functools.partial(  # type: ignore[attr-defined]
    compile_check, func="segment_nuclei_torch")
