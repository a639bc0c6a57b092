"""Registered steps that run away, for the run-limits tests (the tests put this folder on the
PYTHONPATH of the `napari-hcs` processes they start, so workers import it by name)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from napari_hcs.engine.functions.registry import register

SPIN_SECONDS = 120.0  # a step nobody stops still ends (the test has failed by then)


@register(category="test")
def rl_spin(stack: np.ndarray, folder: str = "", once: bool = False) -> np.ndarray:
    """Leave `started-<pid>` in `folder`, then compute for ever (never returning to check a
    cancel), like `denoise_tv_chambolle(max_num_iter=2**62, eps=0)`. With `once`, only the
    first well to get here spins; the others return at once."""
    gate = Path(folder)
    if once:
        try:
            os.close(os.open(gate / "spinning", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return stack
    (gate / f"started-{os.getpid()}").touch()
    deadline = time.monotonic() + SPIN_SECONDS
    total = 0
    while time.monotonic() < deadline:
        total += int(stack[0, 0, 0]) + 1
    return stack


@register(category="test")
def rl_hog(stack: np.ndarray, gib: float = 8.0) -> np.ndarray:
    """Ask for `gib` GiB at once (as `gaussian_filter(radius=4e8)` does); never touched, so a
    machine without a limit pays nothing for it."""
    buffer = np.empty(int(gib * 1024**3), np.uint8)
    del buffer
    return stack
