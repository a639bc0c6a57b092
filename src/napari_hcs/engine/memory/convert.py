"""Conversion between numpy, torch and cupy arrays, zero-copy where the device allows.

| from -> to        | how                                             | copies?            |
|-------------------|-------------------------------------------------|--------------------|
| numpy <-> torch   | `torch.from_numpy` / `Tensor.numpy()` on CPU    | no (shared memory) |
| cupy <-> torch    | DLPack on the same CUDA device                  | no                 |
| numpy <-> cupy    | host <-> device transfer                        | yes                |
| any, new device   | `.to(device)` / `cupy.cuda.Device(n)`           | yes                |

dtypes are preserved exactly, uint16/uint32 included: torch >= 2.3 stores them (few torch ops
accept them, so torch functions that compute on such stacks should cast first, e.g.
`stack.float()`; converting back keeps whatever dtype the function returned).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functions.registry import MEMORY_TYPES
from .devices import library_installed, parse_device


class MemoryConversionError(TypeError):
    """An array that cannot be converted to the requested memory type or device."""


def memory_type_of(x: Any) -> str:
    """`"numpy"`, `"torch"` or `"cupy"` for an array of that library (without importing any)."""
    if isinstance(x, np.ndarray):
        return "numpy"
    module = type(x).__module__.split(".")[0]
    if module == "torch" and type(x).__name__ in ("Tensor", "Parameter"):
        return "torch"
    if module == "cupy" and type(x).__name__ == "ndarray":
        return "cupy"
    raise MemoryConversionError(
        f"{type(x).__module__}.{type(x).__name__} is not an array of a known memory type "
        f"({', '.join(MEMORY_TYPES)})"
    )


def device_of(x: Any) -> str:
    """Where an array lives: `"cpu"` or `"cuda:N"`."""
    kind = memory_type_of(x)
    if kind == "numpy":
        return "cpu"
    if kind == "torch":
        return "cpu" if x.device.type == "cpu" else f"cuda:{x.device.index or 0}"
    return f"cuda:{x.device.id}"


def convert(x: Any, memory_type: str, device: str = "cpu") -> Any:
    """`x` as an array of `memory_type` on `device`, sharing memory whenever possible."""
    if memory_type not in MEMORY_TYPES:
        raise MemoryConversionError(f"memory type {memory_type!r} is not one of {MEMORY_TYPES}")
    kind, index = parse_device(device)
    if memory_type == "numpy" and kind != "cpu":
        raise MemoryConversionError(f"numpy arrays live on the host; cannot place one on {device}")
    if memory_type == "cupy" and kind != "cuda":
        raise MemoryConversionError("cupy arrays live on a CUDA device; cannot place one on cpu")
    if not library_installed(memory_type):
        raise MemoryConversionError(
            f"{memory_type} is not installed; install napari-hcs[gpu-{memory_type}]"
        )
    source = memory_type_of(x)
    if memory_type == "numpy":
        return _to_numpy(x, source)
    if memory_type == "torch":
        return _to_torch(x, source, device)
    return _to_cupy(x, source, index or 0)


def _to_numpy(x: Any, source: str) -> np.ndarray:
    if source == "numpy":
        return x
    if source == "torch":
        try:
            return x.detach().cpu().numpy()  # shares memory when already on the CPU
        except TypeError as exc:  # bfloat16 and friends have no numpy dtype
            message = f"torch tensor of {x.dtype} has no numpy dtype: {exc}"
            raise MemoryConversionError(message) from exc
    return x.get()


def _to_torch(x: Any, source: str, device: str) -> Any:
    import torch

    if source == "torch":
        tensor = x
    elif source == "numpy":
        if not x.flags.writeable or any(s < 0 for s in x.strides) or not x.dtype.isnative:
            # torch.from_numpy refuses negative strides and foreign byte order, and warns on
            # read-only arrays: those are copied, everything else is shared.
            x = np.array(x, dtype=x.dtype.newbyteorder("="), copy=True)
        tensor = torch.from_numpy(x)
    else:
        tensor = torch.from_dlpack(x)  # same CUDA device, no copy
    return tensor if str(tensor.device) == device else tensor.to(device)


def _to_cupy(x: Any, source: str, index: int) -> Any:
    import cupy

    with cupy.cuda.Device(index):
        if source == "cupy":
            return x if x.device.id == index else cupy.asarray(x)
        if source == "torch":
            if x.device.type == "cuda":
                if (x.device.index or 0) != index:
                    x = x.to(f"cuda:{index}")
                return cupy.from_dlpack(x)
            return cupy.asarray(x.detach().numpy())
        return cupy.asarray(x)
