"""Device discovery: which devices exist here and which memory types can live on them.

torch and cupy are optional; they are imported only when asked about, and their absence simply
means "no such memory type / no CUDA".
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache

from ..functions.registry import MEMORY_TYPES

_DEVICE = re.compile(r"^(cpu|cuda(?::(\d+))?)$")


def parse_device(device: str) -> tuple[str, int | None]:
    """`"cpu"` -> ("cpu", None); `"cuda"` -> ("cuda", 0); `"cuda:1"` -> ("cuda", 1)."""
    match = _DEVICE.match(device)
    if not match:
        raise ValueError(f"device {device!r} is not 'cpu', 'cuda' or 'cuda:N'")
    if match.group(1) == "cpu":
        return "cpu", None
    return "cuda", int(match.group(2) or 0)


def library_installed(memory_type: str) -> bool:
    """Whether the array library behind `memory_type` can be imported (numpy always can)."""
    if memory_type not in MEMORY_TYPES:
        raise ValueError(f"memory type {memory_type!r} is not one of {MEMORY_TYPES}")
    return memory_type == "numpy" or importlib.util.find_spec(memory_type) is not None


@lru_cache(maxsize=1)
def _cuda_count() -> int:
    # Cached: a CUDA probe costs a driver call, and the answer cannot change within a process.
    if library_installed("torch"):
        import torch

        if torch.cuda.is_available():
            return int(torch.cuda.device_count())
    if library_installed("cupy"):
        try:
            import cupy

            return int(cupy.cuda.runtime.getDeviceCount())
        except Exception:  # cupy installed without a driver: no CUDA
            return 0
    return 0


def cuda_available() -> bool:
    """Whether at least one CUDA device can be used from torch or cupy."""
    return _cuda_count() > 0


def available_devices() -> list[str]:
    """`["cpu", "cuda:0", ...]`: the devices a step can be assigned to on this machine."""
    return ["cpu"] + [f"cuda:{i}" for i in range(_cuda_count())]


def memory_supported_on(memory_type: str, device: str) -> bool:
    """Whether arrays of `memory_type` can live on `device`.

    numpy lives on the host only, cupy on CUDA only, torch on both. (A numpy *function* in a
    step assigned to a GPU still runs, on the host: the compiler only rejects a memory type
    that needs a device the step does not have.)
    """
    if memory_type not in MEMORY_TYPES:
        raise ValueError(f"memory type {memory_type!r} is not one of {MEMORY_TYPES}")
    kind, _ = parse_device(device)
    return {"numpy": kind == "cpu", "torch": True, "cupy": kind == "cuda"}[memory_type]
