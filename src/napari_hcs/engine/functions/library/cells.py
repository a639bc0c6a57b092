"""Cells grown from nuclei on a cytoplasm or membrane channel, and cytoplasm = cell - nucleus.

CellProfiler's IdentifySecondaryObjects, with its own code: the cell stain is smoothed
(sigma 1 px, CellProfiler's threshold smoothing), its foreground is an automatic threshold
with the same settings as the nuclei's (`thresholds.py`; the default, Otsu's three classes with
the middle class kept, holds the dim cytoplasm that two-class Otsu cuts away), holding the
nuclei too, so that a cell with a dim cytoplasm still keeps its nucleus. Every nucleus is grown
into the foreground by `centrosome.propagate` ("propagation", Jones et al. 2005: the dividing
line between touching cells follows the intensity edges, weighted against the distance to each
nucleus by `regularization`), by a seeded watershed on the inverted intensity ("watershed"),
or by `distance_um` whatever the stain ("distance", CellProfiler's Distance - N). Holes inside
one cell are filled (`centrosome.cpmorphology.fill_labeled_holes`), and with `discard_edge`
cells touching the image edge (or a stitched mosaic's padding) are dropped (with their
cytoplasm; the nuclei stay), as CellProfiler does. Nuclei touching the edge should be kept by
the nuclei step (its `discard_edge` off): they claim their own cells, which are then dropped
here, instead of leaving their area to a neighbour that would then touch the edge.

Labels are consistent across the three object sets: cell k is grown from nucleus k and holds
it whole, cytoplasm k is cell k without nucleus k (absent when the nucleus fills its cell).
Intensities are scaled to [0, 1] by the plane's 99.9th percentile before propagation,
so that `regularization` means the same on 8-, 12- and 16-bit data.

The function stacks channels (`variable_components=("channel",)`) and takes the nuclei labels of
that plane from the nuclei step (special input `nuclei_labels`); `channel` names the cell stain
(a channel name of the plate, or its 1-based position in the stack). The torch version smooths
on the tensor's device; the threshold and propagation (sequential, priority-queue based) run
on the CPU in both versions through the same code.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from ..registry import register
from ..rois import Outlines
from . import _torch
from ._arrays import as_float, as_stack
from ._lazy import ndi, segmentation
from ._params import NonNegativeFloat, PositiveFloat
from ._shared import gaussian_radius
from ._torch import Tensor
from .declump import padding, touching_edge
from .outlines import outlines
from .segmentation import to_pixels
from .thresholds import (
    ThresholdMethod,
    ThresholdStrategy,
    check_threshold,
    full_scale,
    threshold_image,
)

Method = Literal["propagation", "watershed", "distance"]
METHODS = ("propagation", "watershed", "distance")
_SMOOTH_PX = 1.0  # CellProfiler's threshold smoothing scale 1.3488 = sigma 1 px
_OUTPUTS = {"cells_labels": "labels", "cytoplasm_labels": "labels", "cells_rois": "rois"}
_INPUTS = ("nuclei_labels", "channel_names", "pixel_size_um")


def _centrosome(func: str) -> Any:
    try:
        import centrosome.cpmorphology
        import centrosome.propagate
    except ImportError as exc:
        raise ImportError(f"{func} needs CellProfiler's centrosome: "
                          "pip install 'napari-hcs[profiles]'") from exc
    return centrosome


def label_plane(labels: Any, func: str, name: str = "nuclei_labels") -> np.ndarray:
    """The single (Y, X) plane of (Y, X) or (1, Y, X) labels (special input `name`), int32."""
    if labels is None:
        raise ValueError(f"{func}: no {name!r} (the step that produces it must come first)")
    if hasattr(labels, "detach"):  # a torch tensor
        labels = labels.detach().cpu().numpy()
    a = np.asarray(labels)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"{func}: {name!r} must be one (Y, X) plane, got shape "
                         f"{a.shape}; segment a single (stitched or projected) plane")
    return a.astype(np.int32, copy=False)


#: The cell stain when none is named: the plate's second channel.
DEFAULT_CHANNEL = "2"


def channel_index(channel: str, names: Sequence[str] | None, n: int, func: str) -> int:
    """Position in the stack of `channel`: a channel name, else a 1-based position."""
    listed = [str(c) for c in names] if names is not None else []
    if names is not None and len(listed) != n:
        raise ValueError(f"{func}: {len(listed)} channel names for a stack of {n} images; the "
                         "step must stack channels (variable_components=('channel',))")
    if str(channel) in listed:
        return listed.index(str(channel))
    if str(channel).isdigit() and 1 <= int(channel) <= n:
        return int(channel) - 1
    known = ", ".join(listed) if listed else f"1..{n}"
    raise ValueError(f"{func}: parameter 'channel' is {channel!r}, which is not a channel of "
                     f"this stack (channels: {known})")


def compile_check(kwargs: dict[str, Any], pixel_size_um: float | None = None, roots: Any = None,
                  channel_names: Sequence[str] = (), func: str = "identify_cells"
                  ) -> list[tuple[str, str]]:
    """(parameter, message) when `channel` names no channel of the plate (by name or 1-based
    position): every well would fail after the steps before it ran."""
    channel, names = str(kwargs.get("channel", DEFAULT_CHANNEL)), [str(n) for n in channel_names]
    if not names or channel in names or (channel.isdigit() and 1 <= int(channel) <= len(names)):
        return []
    return [("channel", f"{func}: 'channel' is {channel!r}, which is not a channel of this "
                        f"plate (channels: {', '.join(names)}, or their positions "
                        f"1..{len(names)})")]


def _check(func: str, regularization: float, method: str, distance_um: float,
           settings: dict[str, Any]) -> None:
    if regularization < 0:
        raise ValueError(f"{func}: parameter 'regularization' must be >= 0, "
                         f"got {regularization!r}")
    if method not in METHODS:
        raise ValueError(f"{func}: parameter 'method' must be one of {', '.join(METHODS)}, "
                         f"got {method!r}")
    if distance_um < 0:
        raise ValueError(f"{func}: parameter 'distance_um' must be >= 0, got {distance_um!r}")
    check_threshold(func, settings["threshold_method"], settings["threshold_strategy"],
                    settings["threshold_correction"], settings["threshold_min"],
                    settings["threshold_max"])


def cell_foreground(smooth: np.ndarray, dtype: np.dtype, pixel_size_um: float | None,
                    threshold_method: str, threshold_log: bool, threshold_strategy: str,
                    adaptive_window_um: float, threshold_correction: float,
                    threshold_min: float, threshold_max: float,
                    excluded: np.ndarray | None = None) -> np.ndarray:
    """The cell stain's foreground: the smoothed plane above its automatic threshold, computed
    without the `excluded` pixels (a mosaic's padding and the smoothing's reach into it)."""
    if smooth.size == 0 or smooth.min() == smooth.max():
        return np.zeros(smooth.shape, bool)  # a flat image: cells are their nuclei
    cut = threshold_image(smooth, threshold_method, threshold_log, threshold_strategy,
                          int(round(to_pixels(adaptive_window_um, pixel_size_um))),
                          threshold_correction, threshold_min, threshold_max,
                          full_scale(dtype, smooth), excluded=excluded)
    return smooth > cut


def grow_cells(image: np.ndarray, foreground: np.ndarray, nuclei: np.ndarray,
               method: str = "propagation", regularization: float = 0.05,
               func: str = "grow_cells", distance: float = 0.0,
               discard_edge: bool = False, edge: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """(cells, cytoplasm) labels grown from `nuclei` over `foreground` (module docstring);
    `distance` (px) is how far the "distance" method grows each nucleus; `edge` what counts
    as the image's edge besides its border (a stitched mosaic's padding)."""
    cp = _centrosome(func)
    mask = foreground | (nuclei > 0)
    if method == "distance":
        cells = segmentation.expand_labels(nuclei, distance=float(distance))
    else:
        top = float(np.percentile(image, 99.9)) if image.size else 0.0
        scaled = np.clip(image / top, 0.0, 1.0) if top > 0 else np.zeros_like(image)
        if method == "propagation":
            cells, _ = cp.propagate.propagate(scaled.astype(np.float64), nuclei, mask,
                                              float(regularization))
        else:
            cells = segmentation.watershed(1.0 - scaled, markers=nuclei, mask=mask,
                                           connectivity=np.ones((3, 3), bool))
    cells = cp.cpmorphology.fill_labeled_holes(cells, mask=cells == 0).astype(np.int32)
    cells[nuclei > 0] = nuclei[nuclei > 0]  # a filled hole never takes a nucleus's pixel
    if discard_edge:
        cells[np.isin(cells, sorted(touching_edge(cells, edge)))] = 0
    cytoplasm = np.where(nuclei > 0, 0, cells).astype(np.int32)
    return cells, cytoplasm


def _result(stack: Any, cells: np.ndarray, cytoplasm: np.ndarray) -> tuple:
    return stack, cells, cytoplasm, outlines(cells[np.newaxis])


def _cells(func: str, smooth: np.ndarray, raw: np.ndarray, dtype: np.dtype, nuclei: np.ndarray,
           pixel_size_um: float | None, method: str, regularization: float,
           distance_um: float, discard_edge: bool, settings: dict[str, Any]
           ) -> tuple[np.ndarray, np.ndarray]:
    foreground = cell_foreground(smooth, dtype, pixel_size_um, **settings,
                                 excluded=padding(raw, gaussian_radius(_SMOOTH_PX)))
    # Propagation reads the unsmoothed stain, as CellProfiler's does (the smoothing is for the
    # threshold); dividing lines then follow the finest edges.
    return grow_cells(raw, foreground, nuclei, method, regularization, func,
                      to_pixels(distance_um, pixel_size_um), discard_edge,
                      padding(raw) if discard_edge else None)


@register(memory="numpy", category="segmentation", special_inputs=_INPUTS,
          special_outputs=_OUTPUTS)
def identify_cells(
    stack: np.ndarray, nuclei_labels: np.ndarray, channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = None, channel: str = DEFAULT_CHANNEL,
    method: Method = "propagation",
    regularization: NonNegativeFloat = 0.05, distance_um: NonNegativeFloat = 10.0,
    threshold_method: ThresholdMethod = "otsu3_foreground", threshold_log: bool = False,
    threshold_strategy: ThresholdStrategy = "global", adaptive_window_um: PositiveFloat = 30.0,
    threshold_correction: PositiveFloat = 1.0, threshold_min: NonNegativeFloat = 0.0,
    threshold_max: NonNegativeFloat = 1.0, discard_edge: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Outlines]:
    """Grow cells from nuclei on a cytoplasm/membrane channel; cytoplasm = cell - nucleus.

    `channel`: the cell stain (name or 1-based position among the stacked channels);
    `method`: "propagation" (CellProfiler's default), "watershed" (seeded, on the inverted
    intensity) or "distance" (each nucleus grown by `distance_um`); `regularization`:
    propagation's weight of distance against intensity edges (0: edges only; ~10: halfway
    between nuclei); `threshold_*`: the cell stain's foreground (as in `segment_nuclei`;
    a threshold > the default gives smaller cells); `discard_edge`: drop cells touching the
    image edge. Returns (stack, cell labels (Y, X), cytoplasm labels (Y, X), cell outlines);
    cell k holds nucleus k.
    """
    func = "identify_cells"
    settings = dict(threshold_method=threshold_method, threshold_log=threshold_log,
                    threshold_strategy=threshold_strategy,
                    adaptive_window_um=adaptive_window_um,
                    threshold_correction=threshold_correction, threshold_min=threshold_min,
                    threshold_max=threshold_max)
    _check(func, regularization, method, distance_um, settings)
    a = as_stack(stack, func)
    nuclei = label_plane(nuclei_labels, func)
    if nuclei.shape != a.shape[1:]:
        raise ValueError(f"{func}: nuclei labels {nuclei.shape} and stack {a.shape[1:]} differ")
    plane = as_float(a[channel_index(channel, channel_names, a.shape[0], func)])
    smooth = ndi.gaussian_filter(plane, _SMOOTH_PX, mode="nearest")
    cells, cytoplasm = _cells(func, smooth, plane, a.dtype, nuclei, pixel_size_um, method,
                              regularization, distance_um, discard_edge, settings)
    return _result(stack, cells, cytoplasm)


@register(memory="torch", category="segmentation", special_inputs=_INPUTS,
          special_outputs=_OUTPUTS)
def identify_cells_torch(
    stack: Tensor, nuclei_labels: Any, channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = None, channel: str = DEFAULT_CHANNEL,
    method: Method = "propagation",
    regularization: NonNegativeFloat = 0.05, distance_um: NonNegativeFloat = 10.0,
    threshold_method: ThresholdMethod = "otsu3_foreground", threshold_log: bool = False,
    threshold_strategy: ThresholdStrategy = "global", adaptive_window_um: PositiveFloat = 30.0,
    threshold_correction: PositiveFloat = 1.0, threshold_min: NonNegativeFloat = 0.0,
    threshold_max: NonNegativeFloat = 1.0, discard_edge: bool = False,
) -> tuple[Tensor, np.ndarray, np.ndarray, Outlines]:
    """Grow cells from nuclei on a cytoplasm/membrane channel; cytoplasm = cell - nucleus."""
    func = "identify_cells_torch"
    settings = dict(threshold_method=threshold_method, threshold_log=threshold_log,
                    threshold_strategy=threshold_strategy,
                    adaptive_window_um=adaptive_window_um,
                    threshold_correction=threshold_correction, threshold_min=threshold_min,
                    threshold_max=threshold_max)
    _check(func, regularization, method, distance_um, settings)
    x = stack if stack.ndim == 3 else stack.unsqueeze(0)
    nuclei = label_plane(nuclei_labels, func)
    if nuclei.shape != tuple(x.shape[1:]):
        raise ValueError(f"{func}: nuclei labels {nuclei.shape} and stack "
                         f"{tuple(x.shape[1:])} differ")
    k = channel_index(channel, channel_names, x.shape[0], func)
    smooth = _torch.gaussian(x[k:k + 1], _SMOOTH_PX)[0].cpu().numpy()
    raw = _torch.as_float(x[k]).detach().cpu().numpy()
    cells, cytoplasm = _cells(func, smooth, raw, _torch.numpy_dtype(x.dtype), nuclei,
                              pixel_size_um, method, regularization, distance_um, discard_edge,
                              settings)
    return _result(stack, cells, cytoplasm)


identify_cells.__hcs_compile_check__ = compile_check  # type: ignore[attr-defined]
identify_cells_torch.__hcs_compile_check__ = functools.partial(  # type: ignore[attr-defined]
    compile_check, func="identify_cells_torch")
