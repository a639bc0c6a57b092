"""Device slots: which device each running well uses.

On `cpu` every worker gets the cpu. On `cuda` the workers share the visible GPUs round-robin
(`cuda:0, cuda:1, cuda:0, ...`), at most `per_device` wells at once on one GPU, so a plate
never oversubscribes a card's memory; the run's concurrency is the number of slots.
"""

from __future__ import annotations

import math
from collections import deque

from ..memory import available_devices, parse_device


class DeviceSlots:
    def __init__(self, device: str, workers: int, per_device: int | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        kind, index = parse_device(device)
        if kind == "cpu":
            slots = ["cpu"] * workers
        else:
            found = [d for d in available_devices() if d.startswith("cuda")]
            if not found:
                raise RuntimeError(f"device {device!r} requested but no CUDA device is visible; "
                                   "use --device cpu")
            gpus = found if device == "cuda" else [f"cuda:{index}"]
            if gpus[0] not in found:
                raise RuntimeError(f"device {device!r} is not visible (found {found})")
            per = per_device or math.ceil(workers / len(gpus))
            slots = [gpus[i % len(gpus)] for i in range(min(workers, per * len(gpus)))]
        self.slots = tuple(slots)
        self._free = deque(slots)

    @property
    def size(self) -> int:
        return len(self.slots)

    def available(self) -> bool:
        return bool(self._free)

    def acquire(self) -> str:
        return self._free.popleft()

    def release(self, slot: str) -> None:
        self._free.append(slot)
