"""Cells grown from nuclei on a cytoplasm or membrane channel, and cytoplasm = cell - nucleus.

CellProfiler's IdentifySecondaryObjects, with its own code: the cell stain is smoothed
(Gaussian, `sigma`), the cell boundary against the background is Otsu's threshold of the
smoothed channel times `threshold_scale` (holding the nuclei too, so that a cell with a dim
cytoplasm still keeps its nucleus), and every nucleus is grown into the foreground by
`centrosome.propagate` ("Propagation", Jones et al. 2005: the dividing line between touching
cells follows the intensity edges, weighted against the distance to each nucleus by
`regularization`), or by a seeded watershed on the inverted intensity ("Watershed - Image").
Holes inside one cell are filled (`centrosome.cpmorphology.fill_labeled_holes`), as
CellProfiler does.

Labels are consistent across the three object sets: cell k is grown from nucleus k and holds
it whole, cytoplasm k is cell k without nucleus k (absent when the nucleus fills its cell).
Intensities are scaled to [0, 1] by the smoothed plane's 99.9th percentile before propagation,
so that `regularization` means the same on 8-, 12- and 16-bit data.

The function stacks channels (`variable_components=("channel",)`) and takes the nuclei labels of
that plane from the nuclei step (special input `nuclei_labels`); `channel` names the cell stain
(a channel name of the plate, or its 1-based position in the stack). The torch version smooths
and thresholds on the tensor's device; propagation (sequential, priority-queue based) has no
GPU form and runs on the CPU in both versions through the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from ..registry import register
from ..rois import Outlines
from . import _torch
from ._arrays import as_float, as_stack, check_positive
from ._lazy import ndi, segmentation
from ._params import NonNegativeFloat, PositiveFloat
from ._shared import histogram_centers, otsu_from_histogram
from ._torch import Tensor
from .segmentation import outlines

Method = Literal["propagation", "watershed"]
_BINS = 256
_OUTPUTS = {"cells_labels": "labels", "cytoplasm_labels": "labels", "cells_rois": "rois"}
_INPUTS = ("nuclei_labels", "channel_names")


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


def _check(func: str, sigma: float, threshold_scale: float, regularization: float,
           method: str) -> None:
    check_positive(func, sigma=sigma, threshold_scale=threshold_scale)
    if regularization < 0:
        raise ValueError(f"{func}: parameter 'regularization' must be >= 0, "
                         f"got {regularization!r}")
    if method not in ("propagation", "watershed"):
        raise ValueError(f"{func}: parameter 'method' must be 'propagation' or 'watershed', "
                         f"got {method!r}")


def grow_cells(smooth: np.ndarray, foreground: np.ndarray, nuclei: np.ndarray,
               method: str = "propagation", regularization: float = 0.05,
               func: str = "grow_cells") -> tuple[np.ndarray, np.ndarray]:
    """(cells, cytoplasm) labels grown from `nuclei` over `foreground` (module docstring)."""
    cp = _centrosome(func)
    top = float(np.percentile(smooth, 99.9)) if smooth.size else 0.0
    scaled = np.clip(smooth / top, 0.0, 1.0) if top > 0 else np.zeros_like(smooth)
    mask = foreground | (nuclei > 0)
    if method == "propagation":
        cells, _ = cp.propagate.propagate(scaled.astype(np.float64), nuclei, mask,
                                          float(regularization))
    else:
        cells = segmentation.watershed(1.0 - scaled, markers=nuclei, mask=mask,
                                       connectivity=np.ones((3, 3), bool))
    cells = cp.cpmorphology.fill_labeled_holes(cells, mask=cells == 0).astype(np.int32)
    cells[nuclei > 0] = nuclei[nuclei > 0]  # a filled hole never takes a nucleus's pixel
    cytoplasm = np.where(nuclei > 0, 0, cells).astype(np.int32)
    return cells, cytoplasm


def _otsu(hist: np.ndarray, lo: float, hi: float) -> float:
    return otsu_from_histogram(hist, histogram_centers(lo, hi, _BINS))


def _result(stack: Any, cells: np.ndarray, cytoplasm: np.ndarray) -> tuple:
    return stack, cells, cytoplasm, outlines(cells[np.newaxis])


@register(memory="numpy", category="segmentation", special_inputs=_INPUTS,
          special_outputs=_OUTPUTS)
def identify_cells(
    stack: np.ndarray, nuclei_labels: np.ndarray, channel_names: Sequence[str] | None = None,
    channel: str = "2", sigma: PositiveFloat = 1.0, threshold_scale: PositiveFloat = 1.0,
    method: Method = "propagation", regularization: NonNegativeFloat = 0.05,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Outlines]:
    """Grow cells from nuclei on a cytoplasm/membrane channel; cytoplasm = cell - nucleus.

    `channel`: the cell stain (name or 1-based position among the stacked channels);
    `sigma`: smoothing (px) before thresholding; `threshold_scale` multiplies Otsu's threshold
    of the smoothed channel (the cell boundary; > 1 gives smaller cells); `method`:
    "propagation" (CellProfiler's default) or "watershed" (seeded, on the inverted
    intensity); `regularization`: propagation's weight of distance against intensity edges
    (0: edges only; ~10: halfway between nuclei). Returns (stack, cell labels (Y, X),
    cytoplasm labels (Y, X), cell outlines); cell k holds nucleus k.
    """
    func = "identify_cells"
    _check(func, sigma, threshold_scale, regularization, method)
    a = as_stack(stack, func)
    nuclei = label_plane(nuclei_labels, func)
    if nuclei.shape != a.shape[1:]:
        raise ValueError(f"{func}: nuclei labels {nuclei.shape} and stack {a.shape[1:]} differ")
    plane = as_float(a[channel_index(channel, channel_names, a.shape[0], func)])
    smooth = ndi.gaussian_filter(plane, sigma, mode="nearest")
    lo, hi = float(smooth.min()), float(smooth.max())
    foreground = np.zeros(smooth.shape, bool)  # a flat image: cells are their nuclei
    if hi > lo:
        hist, _ = np.histogram(smooth, bins=_BINS, range=(lo, hi))
        foreground = smooth > _otsu(hist, lo, hi) * threshold_scale
    cells, cytoplasm = grow_cells(smooth, foreground, nuclei, method, regularization, func)
    return _result(stack, cells, cytoplasm)


@register(memory="torch", category="segmentation", special_inputs=_INPUTS,
          special_outputs=_OUTPUTS)
def identify_cells_torch(
    stack: Tensor, nuclei_labels: Any, channel_names: Sequence[str] | None = None,
    channel: str = "2", sigma: PositiveFloat = 1.0, threshold_scale: PositiveFloat = 1.0,
    method: Method = "propagation", regularization: NonNegativeFloat = 0.05,
) -> tuple[Tensor, np.ndarray, np.ndarray, Outlines]:
    """Grow cells from nuclei on a cytoplasm/membrane channel; cytoplasm = cell - nucleus."""
    torch = _torch.require()
    func = "identify_cells_torch"
    _check(func, sigma, threshold_scale, regularization, method)
    x = stack if stack.ndim == 3 else stack.unsqueeze(0)
    nuclei = label_plane(nuclei_labels, func)
    if nuclei.shape != tuple(x.shape[1:]):
        raise ValueError(f"{func}: nuclei labels {nuclei.shape} and stack "
                         f"{tuple(x.shape[1:])} differ")
    k = channel_index(channel, channel_names, x.shape[0], func)
    smooth = _torch.gaussian(x[k:k + 1], sigma)[0]
    lo, hi = float(smooth.min()), float(smooth.max())
    hist = torch.histc(smooth, bins=_BINS, min=lo, max=hi).cpu().numpy()
    cut = _otsu(hist, lo, hi) * threshold_scale if hi > lo else hi
    foreground = (smooth > cut).cpu().numpy()
    cells, cytoplasm = grow_cells(smooth.cpu().numpy(), foreground, nuclei, method,
                                  regularization, func)
    return _result(stack, cells, cytoplasm)
