"""Percentile intensity normalisation: map [p_low, p_high] to [0, 1]."""

from __future__ import annotations

import numpy as np

from ..registry import register
from . import _torch
from ._arrays import as_float, as_stack
from ._params import Percentile
from ._torch import Tensor


def _check(func: str, low: float, high: float) -> None:
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(
            f"{func}: need 0 <= 'low' < 'high' <= 100 (percentiles), got low={low}, high={high}"
        )


@register(memory="numpy", category="intensity")
def normalize_percentile(
    stack: np.ndarray, low: Percentile = 1.0, high: Percentile = 99.8, clip: bool = True
) -> np.ndarray:
    """Scale intensities so the `low` and `high` percentiles of the stack become 0 and 1.

    The percentiles are taken over the whole stack so that tiles of one well stay comparable.
    """
    _check("normalize_percentile", low, high)
    a = as_float(as_stack(stack, "normalize_percentile"))
    p_lo, p_hi = (float(v) for v in np.percentile(a, [low, high]))
    out = (a - p_lo) / max(float(p_hi - p_lo), 1e-12)
    return np.clip(out, 0, 1, out=out) if clip else out


@register(memory="torch", category="intensity")
def normalize_percentile_torch(
    stack: Tensor, low: Percentile = 1.0, high: Percentile = 99.8, clip: bool = True
) -> Tensor:
    """Scale intensities so the `low` and `high` percentiles of the stack become 0 and 1."""
    _check("normalize_percentile_torch", low, high)
    x = _torch.as_float(stack)
    p_lo, p_hi = _torch.percentile(x, low), _torch.percentile(x, high)
    out = (x - p_lo) / max(p_hi - p_lo, 1e-12)
    return out.clamp(0, 1) if clip else out
