"""What one run may take: memory per worker, time per well, and how long a cancel waits.

A step is library code running on a well's pixels; some parameter values make it ask for tens
of GiB or loop for ever (`denoise_tv_chambolle(max_num_iter=2**62, eps=0)`), and a step cannot
be interrupted from outside its process. So the local backend bounds every worker process:

- **memory**: `RLIMIT_AS` in each CPU worker, at its address space after its imports plus
  `max_memory_bytes`: an allocation past it fails inside the step (`MemoryError`), and the
  well fails with one line naming well, step and the limit; the run goes on. Workers of a
  `cuda` run get no limit (CUDA reserves far more address space than it uses).
- **time**: a well still running `well_timeout_s` after it started has its worker process
  killed; the well fails naming the step it was in; the other wells are run again.
- **cancel**: running wells stop between steps; a step that has not returned
  `cancel_grace_s` after the cancel has its worker killed, so a cancel always ends the run.

Defaults (docs/server.md, "Limits"): memory `DEFAULT_MEMORY_SHARE` of the machine's memory
shared by the workers (at least `MIN_MEMORY`), `DEFAULT_WELL_TIMEOUT_S`, `DEFAULT_CANCEL_GRACE_S`.
The in-process runner (one worker in the caller, used by tests) enforces none of them; the
Dask backend leaves memory and time to Dask (a nanny's `memory_limit`) and cancels between
steps only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

MiB = 1024**2
GiB = 1024**3
MIN_MEMORY = 1 * GiB
DEFAULT_MEMORY_SHARE = 0.8
DEFAULT_WELL_TIMEOUT_S = 3600.0
DEFAULT_CANCEL_GRACE_S = 10.0


@dataclass(frozen=True)
class RunLimits:
    max_memory_bytes: int | None = None  # per worker process; None: no limit
    well_timeout_s: float | None = DEFAULT_WELL_TIMEOUT_S  # None: no limit
    cancel_grace_s: float = DEFAULT_CANCEL_GRACE_S

    @classmethod
    def of(cls, workers: int, max_memory: int | str | None = "auto",
           well_timeout_s: float | None = DEFAULT_WELL_TIMEOUT_S,
           cancel_grace_s: float = DEFAULT_CANCEL_GRACE_S) -> RunLimits:
        """The limits of a run on `workers` workers (`max_memory` "auto": the default)."""
        memory = default_max_memory(workers) if max_memory == "auto" else max_memory
        return cls(memory if isinstance(memory, int) else None, well_timeout_s,
                   max(0.0, cancel_grace_s))

    def describe(self) -> dict[str, object]:
        """For run.json's options."""
        return {"max_memory_bytes": self.max_memory_bytes, "well_timeout_s": self.well_timeout_s,
                "cancel_grace_s": self.cancel_grace_s}


def machine_memory() -> int | None:
    """Physical memory in bytes (None where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def default_max_memory(workers: int) -> int | None:
    """`DEFAULT_MEMORY_SHARE` of the machine's memory over `workers`, at least `MIN_MEMORY`."""
    total = machine_memory()
    if total is None:
        return None
    return max(MIN_MEMORY, int(total * DEFAULT_MEMORY_SHARE / max(1, workers)))


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """`4G`, `512M`, `1.5GiB`, `2000000000` (bytes) or `none`; ValueError with the reason."""
    if text.strip().lower() in ("none", "0", "off"):
        return None
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size; give e.g. 4G, 512M or none")
    power = "bkmgt".index((match.group(2) or "b").lower())
    size = int(float(match.group(1)) * 1024**power)
    if size < 64 * 1024**2:
        raise ValueError(f"{text!r} is below 64M: no worker can start in that")
    return size


def describe_size(size: int | None) -> str:
    """`4.0 GiB`, or `64 MiB` below 1 GiB (a tenth of a GiB would hide it), or `none`."""
    if size is None:
        return "none"
    return f"{size / GiB:.1f} GiB" if size >= GiB else f"{size / MiB:.0f} MiB"


def limit_address_space(budget: int) -> bool:
    """In a worker: allow `budget` bytes of address space beyond what it maps now. Whether a
    limit was set (POSIX with /proc, or `resource` alone)."""
    try:
        import resource
    except ImportError:  # Windows
        return False
    current = _address_space()
    if current is None:
        return False
    limit = current + budget
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        return False
    return True


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
