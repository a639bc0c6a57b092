"""General-purpose smoothing filters applied to each plane of a stack."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..registry import register
from . import _torch
from ._arrays import as_float, as_stack, check_positive
from ._params import PositiveFloat, PositiveInt
from ._torch import Tensor


@register(memory="numpy", category="filters")
def gaussian_blur(stack: np.ndarray, sigma: PositiveFloat = 2.0) -> np.ndarray:
    """Gaussian smoothing of each plane (sigma in pixels); returns float32.

    Edges repeat the border pixel ('nearest'), like the torch version.
    """
    a = as_float(as_stack(stack, "gaussian_blur"))
    check_positive("gaussian_blur", sigma=sigma)
    return ndi.gaussian_filter(a, sigma=(0, sigma, sigma), mode="nearest", truncate=4.0)


@register(memory="torch", category="filters")
def gaussian_blur_torch(stack: Tensor, sigma: PositiveFloat = 2.0) -> Tensor:
    """Gaussian smoothing of each plane (sigma in pixels), on the tensor's device."""
    check_positive("gaussian_blur_torch", sigma=sigma)
    return _torch.gaussian(stack, sigma)


def _odd_size(func: str, size: int) -> int:
    if size < 1 or size % 2 == 0:
        raise ValueError(f"{func}: parameter 'size' must be an odd number >= 1, got {size!r}")
    return int(size)


@register(memory="numpy", category="filters")
def median_filter(stack: np.ndarray, size: PositiveInt = 3) -> np.ndarray:
    """Median of each pixel's size x size neighbourhood in each plane (removes shot noise)."""
    a = as_float(as_stack(stack, "median_filter"))
    size = _odd_size("median_filter", size)
    return ndi.median_filter(a, size=(1, size, size), mode="nearest")


@register(memory="torch", category="filters")
def median_filter_torch(stack: Tensor, size: PositiveInt = 3) -> Tensor:
    """Median of each pixel's size x size neighbourhood in each plane, on the tensor's device."""
    torch = _torch.require()
    f = torch.nn.functional
    size = _odd_size("median_filter_torch", size)
    x = _torch.as_float(stack)
    r = size // 2
    planes = []
    for plane in x:  # one plane at a time: unfold holds size**2 copies of the plane
        padded = f.pad(plane[None, None], (r, r, r, r), mode="replicate")
        patches = f.unfold(padded, kernel_size=size)  # (1, size*size, Y*X)
        planes.append(patches.median(dim=1).values.view(plane.shape))
    return torch.stack(planes)
