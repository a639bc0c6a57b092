"""Registered functions for executor tests (importable by spawned workers by module name)."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pandas as pd
from scipy import ndimage

from napari_hcs.engine.functions.registry import register

#: Pixels (0, 0) and (0, 1) both at this value make `ex_kill_on_sentinel` kill its worker.
SENTINEL = 4242


@register(category="test")
def ex_scale(stack: np.ndarray, factor: float = 2.0) -> np.ndarray:
    """Multiply by a factor (keeps dtype)."""
    return (stack.astype(np.float32) * factor).astype(stack.dtype)


@register(category="test", special_outputs={"nuclei_labels": "labels", "nuclei": "table",
                                            "nuclei_rois": "rois"})
def ex_segment(stack: np.ndarray, threshold: float = 0.0):
    """Threshold + connected components per plane; a table of areas; box ROIs."""
    labels = np.zeros(stack.shape, dtype=np.int32)
    rows, rois = [], []
    for i, plane in enumerate(stack):
        cut = threshold or float(plane.mean() + plane.std())
        labels[i], n = ndimage.label(plane > cut)
        for lab in range(1, n + 1):
            ys, xs = np.nonzero(labels[i] == lab)
            rows.append({"label": lab, "plane": i, "area": int(ys.size)})
            rois.append(np.array([[ys.min(), xs.min()], [ys.max(), xs.max()]], float))
    return stack, labels, pd.DataFrame(rows, columns=["label", "plane", "area"]), rois


@register(category="test", special_inputs=("stage_positions",),
          special_outputs={"positions": "positions"})
def ex_positions(stack: np.ndarray, stage_positions=None):
    """Tile positions = the plate's nominal stage positions."""
    return stack, np.asarray(stage_positions, dtype=float)


@register(category="test", special_inputs=("positions",))
def ex_mosaic(stack: np.ndarray, positions=None) -> np.ndarray:
    """Paste tiles at their positions into one image (N=1 output)."""
    pos = np.rint(np.asarray(positions)).astype(int)
    h, w = stack.shape[1:]
    out = np.zeros((pos[:, 0].max() + h, pos[:, 1].max() + w), stack.dtype)
    for (y, x), tile in zip(pos, stack, strict=True):
        out[y:y + h, x:x + w] = tile
    return out[None]


@register(memory="torch", category="test")
def ex_torch_invert(stack):
    """65535 - stack, computed in torch."""
    return (65535 - stack.to(dtype=__import__("torch").int32)).to(
        dtype=__import__("torch").uint16)


@register(category="test")
def ex_max_project(stack: np.ndarray) -> np.ndarray:
    """Max over the stack (N=1)."""
    return stack.max(axis=0, keepdims=True)


@register(category="test")
def ex_drop_one(stack: np.ndarray) -> np.ndarray:
    """Returns N-1 images: neither N nor 1, an error the executor must name."""
    return stack[1:]


@register(category="test")
def ex_kill_on_sentinel(stack: np.ndarray) -> np.ndarray:
    """Kill this process (like kill -9) when an image carries the sentinel mark."""
    if ((stack[:, 0, 0] == SENTINEL) & (stack[:, 0, 1] == SENTINEL)).any():
        os.kill(os.getpid(), signal.SIGKILL)
    return stack


@register(category="test")
def ex_require_env(stack: np.ndarray, name: str = "NAPARI_HCS_TEST_ENV",
                   value: str = "") -> np.ndarray:
    """Fail unless the worker's environment has `name` set to `value`."""
    if os.environ.get(name) != value:
        raise ValueError(f"{name} is {os.environ.get(name)!r} in the worker, not {value!r}")
    return stack


@register(category="test")
def ex_require_nice(stack: np.ndarray, at_least: int = 1) -> np.ndarray:
    """Fail unless the worker runs at a lower CPU priority (niceness >= `at_least`)."""
    if os.nice(0) < at_least:
        raise ValueError(f"worker niceness {os.nice(0)}, expected >= {at_least}")
    return stack


@register(category="test")
def ex_sleep(stack: np.ndarray, seconds: float = 0.5) -> np.ndarray:
    """Wait, then pass the stack on (a well slow enough for a cancel to reach it)."""
    time.sleep(seconds)
    return stack
