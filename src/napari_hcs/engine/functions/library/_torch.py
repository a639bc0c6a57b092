"""Torch primitives for the library's `*_torch` functions (device-agnostic: they run wherever
the input tensor lives).

torch is imported lazily so that the library (and the registry listing it) loads without it;
`Tensor` is the annotation used by the torch functions for the same reason.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ._shared import gaussian_kernel1d, percentile_ranks

Tensor = Any  # torch.Tensor, spelled so that signatures evaluate without torch installed


def require() -> ModuleType:
    """The torch module, or an error that says how to install it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is in the test environment
        raise ImportError(
            "this function needs torch: pip install 'napari-hcs[gpu-torch]'"
        ) from exc
    return torch


def as_float(x: Tensor) -> Tensor:
    """`x` as a floating tensor (float64 stays float64; everything else becomes float32)."""
    torch = require()
    if not torch.is_tensor(x):
        x = torch.as_tensor(np.asarray(x))
    return x if x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)


def numpy_dtype(dtype: Any) -> np.dtype:
    """The numpy dtype of a torch dtype (float32 for those numpy lacks, e.g. bfloat16)."""
    try:
        return np.dtype(str(dtype).replace("torch.", ""))
    except TypeError:
        return np.dtype(np.float32)


def from_numpy(a: np.ndarray, like: Tensor) -> Tensor:
    """A numpy array as a tensor on the device (and float dtype) of `like`."""
    torch = require()
    return torch.as_tensor(np.ascontiguousarray(a), device=like.device, dtype=like.dtype)


def gaussian(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian over the last two axes of (N, Y, X), 'nearest' edges like scipy."""
    torch = require()
    f = torch.nn.functional
    x = as_float(x)
    if sigma <= 0:
        return x.clone()
    k = from_numpy(gaussian_kernel1d(sigma), x)
    r = (len(k) - 1) // 2
    y = x.unsqueeze(1)
    y = f.conv2d(f.pad(y, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    y = f.conv2d(f.pad(y, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    return y.squeeze(1)


def max_filter(x: Tensor, size: int) -> Tensor:
    """Square maximum filter over the last two axes, 'nearest' edges (scipy's grey_dilation)."""
    torch = require()
    f = torch.nn.functional
    r = size // 2
    y = f.pad(x.unsqueeze(1), (r, size - 1 - r, r, size - 1 - r), mode="replicate")
    # Separable: a square max is a row max of a column max.
    y = f.max_pool2d(y, kernel_size=(size, 1), stride=1)
    y = f.max_pool2d(y, kernel_size=(1, size), stride=1)
    return y.squeeze(1)


def min_filter(x: Tensor, size: int) -> Tensor:
    """Square minimum filter (scipy's grey_erosion with 'nearest' edges)."""
    return -max_filter(-x, size)


def percentile(x: Tensor, q: float) -> float:
    """numpy's linear-interpolated percentile of all values of `x` (any size, unlike quantile)."""
    flat = x.reshape(-1)
    lo, hi, frac = percentile_ranks(flat.numel(), q)
    # kthvalue is 1-based; two order statistics give numpy's 'linear' interpolation.
    v_lo = flat.kthvalue(lo + 1).values
    v_hi = flat.kthvalue(hi + 1).values if hi != lo else v_lo
    return float(v_lo + (v_hi - v_lo) * frac)


def laplace(x: Tensor) -> Tensor:
    """The 5-point Laplacian of each plane (scipy.ndimage.laplace; 'nearest' = 'reflect' here)."""
    torch = require()
    f = torch.nn.functional
    x = as_float(x)
    k = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=x.dtype, device=x.device)
    y = f.pad(x.unsqueeze(1), (1, 1, 1, 1), mode="replicate")
    return f.conv2d(y, k.view(1, 1, 3, 3)).squeeze(1)
