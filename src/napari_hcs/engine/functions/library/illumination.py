"""Illumination (flat-field and dark-field) correction estimated from the well's own tiles.

BaSiC-style model: a tile is `I = F * S + D`, with S the true signal, F the flat-field (the
illumination profile, mean 1) and D the dark-field (camera offset and smooth background).
Objects fall at different places in different tiles, while F and D are the same for every
tile; so the per-pixel statistics over the tiles of a well (or a plate), heavily smoothed,
estimate them. Estimation runs on a block-averaged copy (about 128 px across) where smoothing
is cheap, and the smooth profiles are upsampled bilinearly to full resolution.

- D (with `darkfield=True`): the smoothed per-pixel minimum over the tiles.
- F: the smoothed per-pixel mean of the tiles, each first divided by its own mean (so a
  bright tile does not dominate), normalised to mean 1.

Correction: `(I - D) / F`. More tiles give a better estimate; a single tile still works when
its objects are small compared with `smoothing` (then it is a strong high-pass filter).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..registry import register
from . import _torch
from ._arrays import as_float, as_stack
from ._params import Fraction
from ._shared import downsample_factor
from ._torch import Tensor

_TARGET = 128  # side of the block-averaged copy the profiles are estimated on
_MIN_GAIN = 0.05  # floor for F, so that a black corner is not amplified without limit


def _check(func: str, smoothing: float) -> None:
    if not 0 < smoothing <= 1:
        raise ValueError(f"{func}: parameter 'smoothing' must be in (0, 1], got {smoothing!r}")


def _sigma(small_shape: tuple[int, ...], smoothing: float) -> float:
    return smoothing * max(small_shape[-2:])


def _block_mean(a: np.ndarray, f: int) -> np.ndarray:
    n, y, x = a.shape
    h, w = y // f, x // f
    return a[:, : h * f, : w * f].reshape(n, h, f, w, f).mean(axis=(2, 4))


def _upsample(profile: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    # grid_mode: pixel centres map like torch's interpolate(align_corners=False).
    zoom = (shape[0] / profile.shape[0], shape[1] / profile.shape[1])
    return ndi.zoom(profile, zoom, order=1, mode="nearest", grid_mode=True)


@register(memory="numpy", category="illumination")
def correct_illumination(
    stack: np.ndarray, smoothing: Fraction = 0.15, darkfield: bool = False
) -> np.ndarray:
    """Flat-field (and optionally dark-field) correction estimated from the stack's tiles.

    `smoothing` is the Gaussian sigma of the profiles as a fraction of the tile size.
    Returns float32 `(I - D) / F`.
    """
    _check("correct_illumination", smoothing)
    a = as_float(as_stack(stack, "correct_illumination"))
    small = _block_mean(a, downsample_factor(a.shape[1:], _TARGET))
    sigma = _sigma(small.shape, smoothing)
    dark = np.zeros(small.shape[1:], a.dtype)
    if darkfield:
        dark = ndi.gaussian_filter(small.min(axis=0), sigma, mode="nearest")
        small = small - dark
    means = small.mean(axis=(1, 2), keepdims=True)
    flat = ndi.gaussian_filter((small / np.maximum(means, 1e-12)).mean(axis=0), sigma,
                               mode="nearest")
    flat = np.maximum(flat / flat.mean(), _MIN_GAIN)
    flat_full = _upsample(flat, a.shape[1:]).astype(a.dtype)
    if darkfield:
        return (a - _upsample(dark, a.shape[1:]).astype(a.dtype)) / flat_full
    return a / flat_full


@register(memory="torch", category="illumination")
def correct_illumination_torch(
    stack: Tensor, smoothing: Fraction = 0.15, darkfield: bool = False
) -> Tensor:
    """Flat-field (and optionally dark-field) correction estimated from the stack's tiles."""
    torch = _torch.require()
    f = torch.nn.functional
    _check("correct_illumination_torch", smoothing)
    x = _torch.as_float(stack)
    k = downsample_factor(tuple(x.shape[1:]), _TARGET)
    small = f.avg_pool2d(x.unsqueeze(1), kernel_size=k).squeeze(1)
    sigma = _sigma(tuple(small.shape), smoothing)

    def upsample(profile: Tensor) -> Tensor:
        return f.interpolate(profile[None, None], size=tuple(x.shape[1:]), mode="bilinear",
                             align_corners=False)[0]

    dark = None
    if darkfield:
        dark = _torch.gaussian(small.amin(dim=0, keepdim=True), sigma)[0]
        small = small - dark
    means = small.mean(dim=(1, 2), keepdim=True).clamp_min(1e-12)
    flat = _torch.gaussian((small / means).mean(dim=0, keepdim=True), sigma)[0]
    flat = (flat / flat.mean()).clamp_min(_MIN_GAIN)
    if dark is not None:
        return (x - upsample(dark)) / upsample(flat)
    return x / upsample(flat)
