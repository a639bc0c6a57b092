"""Registered functions for the run-safety tests (importable by spawned workers by name: the
tests put this folder on the PYTHONPATH of the `napari-hcs` processes they start)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from napari_hcs.engine.functions.registry import register

GATE_SECONDS = 120.0  # a gate nobody opens still ends (the test has failed by then)


@register(category="test")
def rs_gate(stack: np.ndarray, folder: str = "") -> np.ndarray:
    """Leave a `started-<pid>-<n>` file in `folder`, then wait until `folder/release` exists."""
    gate = Path(folder)
    (gate / f"started-{os.getpid()}-{time.monotonic_ns()}").touch()
    deadline = time.monotonic() + GATE_SECONDS
    while not (gate / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return stack


@register(category="test")
def rs_scale(stack: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """Multiply by `factor`, keeping the dtype."""
    return (stack.astype(np.float32) * factor).astype(stack.dtype)
