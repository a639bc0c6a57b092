"""Background subtraction by white top-hat: the image minus its morphological opening.

The opening (erosion then dilation) with a structuring element wider than any object keeps
only the slowly varying background, as a rolling ball does; subtracting it leaves the objects.
A square element is used because it is separable (two 1-D passes), so the cost does not grow
with the square of the radius; `smooth` blurs the estimated background to hide its corners.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..registry import register
from . import _torch
from ._arrays import as_float, as_stack, check_positive
from ._params import NonNegativeFloat, PositiveInt
from ._torch import Tensor


@register(memory="numpy", category="background")
def subtract_background(
    stack: np.ndarray, radius: PositiveInt = 25, smooth: NonNegativeFloat = 0.0
) -> np.ndarray:
    """White top-hat: subtract the grey opening with a (2*radius+1) square from each plane.

    `radius` should exceed the radius of the largest object (nucleus); returns float32 >= 0.
    """
    check_positive("subtract_background", radius=radius)
    a = as_float(as_stack(stack, "subtract_background"))
    size = (1, 2 * int(radius) + 1, 2 * int(radius) + 1)
    background = ndi.grey_dilation(ndi.grey_erosion(a, size=size, mode="nearest"),
                                   size=size, mode="nearest")
    if smooth > 0:
        smoothed = ndi.gaussian_filter(background, (0, smooth, smooth), mode="nearest")
        background = np.minimum(smoothed, a)  # never subtract more than the pixel holds
    return a - background


@register(memory="torch", category="background")
def subtract_background_torch(
    stack: Tensor, radius: PositiveInt = 25, smooth: NonNegativeFloat = 0.0
) -> Tensor:
    """White top-hat: subtract the grey opening with a (2*radius+1) square from each plane."""
    torch = _torch.require()
    check_positive("subtract_background_torch", radius=radius)
    x = _torch.as_float(stack)
    size = 2 * int(radius) + 1
    background = _torch.max_filter(_torch.min_filter(x, size), size)
    if smooth > 0:
        background = torch.minimum(_torch.gaussian(background, smooth), x)
    return x - background
