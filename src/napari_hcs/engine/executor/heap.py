"""Worker processes keep the memory they free for their next mosaic-sized array.

A well's steps allocate and free arrays of a mosaic's size (a 2048 px 3 x 3 well: 131 MB per
float32 or int32 plane) again and again. glibc serves every allocation above its mmap
threshold (at most 32 MB) from fresh pages and hands them back to the system when freed, so
each such array pays a page fault per page when first written, and where transparent huge
pages are on for 'madvise' (numpy asks for them), often a compaction stall as well: 0.3 s for
one 131 MB `np.full` inside a worker, against 0.03 s in a fresh process. A worker tells glibc
to serve large blocks from its heap (`M_MMAP_MAX` 0) and to keep freed memory there
(`M_TRIM_THRESHOLD` 2 GiB), so the next mosaic reuses pages already mapped. Measured
(docs/performance.md): a 2048 px dense plate, 4 wells on 2 workers, 16.9-20.2 s -> 15.3-15.6 s
wall and 7.1-10.9 -> 5.1-5.8 s of system time; a well after a worker's first, 1.4 -> 0.3 s of
system time; peak memory of a run 2.2 -> 2.6 GB (freed blocks are kept, not returned).

Only the local backend's worker processes do this (they end with their run, the memory with
them); a viewer and a Dask worker (long-lived, its memory watched by Dask) keep glibc's
defaults. Nothing happens outside glibc (macOS, Windows, musl) or when the environment sets
`NAPARI_HCS_WORKER_HEAP=system`.

The execution server does the opposite (`return_large_blocks`, `return_freed_memory`): a burst
of 8 MiB requests, from anyone who can reach its port, must not stay in its heap. Measured
(`python -m bench server --flood 8`): RSS 51 -> 96 -> 51 MiB over a 1000 MiB flood, against
47 -> 561 -> 160 MiB before (no admission limits, glibc defaults; bench/results/server_flood.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

OPT_OUT = "NAPARI_HCS_WORKER_HEAP"
_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_MAX = -4
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 2**31 - 1  # mallopt takes an int: freed memory at the heap's top is kept up to this


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - present only in glibc
        return libc
    except (OSError, AttributeError):
        return None


def keep_freed_memory() -> bool:
    """Make this process's allocator reuse freed large blocks (module docstring); whether it
    did."""
    if os.environ.get(OPT_OUT, "").strip().lower() == "system":
        return False
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD,
                                                                    _KEEP_BYTES))


def return_large_blocks(threshold: int = 1024 * 1024) -> bool:
    """For a long-lived process that receives large messages (the execution server): blocks of
    `threshold` bytes or more come from their own pages and go back to the system when freed
    (a fixed threshold stops glibc from raising it after the first large free, which would
    keep every later burst in the heap). Whether it did (glibc only)."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold))


def return_freed_memory() -> bool:
    """Give the heap's free pages back to the system (`malloc_trim`, every arena); glibc only."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))
