"""Input checks and dtype rules shared by the numpy implementations."""

from __future__ import annotations

import numpy as np


def as_stack(stack: np.ndarray, func: str) -> np.ndarray:
    """`stack` as an (N, Y, X) array, or a ValueError naming the function."""
    a = np.asarray(stack)
    if a.ndim == 2:
        a = a[np.newaxis]
    if a.ndim != 3:
        raise ValueError(f"{func}: expected an (N, Y, X) stack, got shape {a.shape}")
    return a


def as_float(a: np.ndarray) -> np.ndarray:
    """float64 stays float64; every other dtype becomes float32 (the library's working type)."""
    return a if a.dtype == np.float64 else a.astype(np.float32, copy=False)


def check_positive(func: str, **values: float) -> None:
    """A ValueError naming the function and parameter when a value is not > 0."""
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{func}: parameter {name!r} must be > 0, got {value!r}")
