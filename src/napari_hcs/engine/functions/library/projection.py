"""Projections of a stack (usually over z) to one plane: max, mean and best focus."""

from __future__ import annotations

import numpy as np

from ..registry import register
from . import _torch
from ._arrays import as_float, as_stack
from ._lazy import ndi
from ._torch import Tensor


@register(memory="numpy", category="projection")
def max_projection(stack: np.ndarray) -> np.ndarray:
    """Maximum over the stack: (N, Y, X) -> (1, Y, X), dtype kept."""
    return as_stack(stack, "max_projection").max(axis=0, keepdims=True)


@register(memory="torch", category="projection")
def max_projection_torch(stack: Tensor) -> Tensor:
    """Maximum over the stack: (N, Y, X) -> (1, Y, X), dtype kept."""
    return stack.amax(dim=0, keepdim=True)


@register(memory="numpy", category="projection")
def mean_projection(stack: np.ndarray) -> np.ndarray:
    """Mean over the stack: (N, Y, X) -> (1, Y, X) float32."""
    return as_float(as_stack(stack, "mean_projection")).mean(axis=0, keepdims=True)


@register(memory="torch", category="projection")
def mean_projection_torch(stack: Tensor) -> Tensor:
    """Mean over the stack: (N, Y, X) -> (1, Y, X) float32."""
    return _torch.as_float(stack).mean(dim=0, keepdim=True)


@register(memory="numpy", category="projection")
def best_focus_projection(stack: np.ndarray) -> np.ndarray:
    """The sharpest plane (largest variance of the Laplacian): (N, Y, X) -> (1, Y, X)."""
    a = as_stack(stack, "best_focus_projection")
    # Per plane: ndi.laplace on the 3-D stack would also difference across planes.
    sharpness = [ndi.laplace(as_float(p), mode="nearest").var() for p in a]
    return a[int(np.argmax(sharpness))][np.newaxis]


@register(memory="torch", category="projection")
def best_focus_projection_torch(stack: Tensor) -> Tensor:
    """The sharpest plane (largest variance of the Laplacian): (N, Y, X) -> (1, Y, X)."""
    sharpness = _torch.laplace(stack).flatten(1).var(dim=1, correction=0)
    return stack[int(sharpness.argmax())].unsqueeze(0)
