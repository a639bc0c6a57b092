"""A worker keeps the memory it frees (`executor.heap`), seen through glibc's own counters."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from napari_hcs.engine.executor import heap

pytestmark = pytest.mark.skipif(heap._glibc() is None, reason="glibc only")

_PROBE = """
import ctypes, json, sys
import numpy as np
from napari_hcs.engine.executor.heap import _glibc, keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                               "usmblks", "fsmblks", "uordblks", "fordblks",
                                               "keepcost")]

libc = _glibc()
libc.mallinfo2.restype = MallInfo2
kept = keep_freed_memory()
a = np.ones(50_000_000, np.float32)  # 200 MB, above any mmap threshold
during = libc.mallinfo2()
del a
after = libc.mallinfo2()
print(json.dumps({"kept": kept, "mapped_during": during.hblkhd, "heap_after": after.arena}))
"""


def _probe(**env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         env={**os.environ, **env}, check=True, timeout=60)
    return json.loads(out.stdout)


def test_a_worker_serves_large_arrays_from_its_heap_and_keeps_them_when_freed():
    probe = _probe()
    assert probe["kept"] is True
    assert probe["mapped_during"] < 2**20  # not a separate mapping
    assert probe["heap_after"] >= 200_000_000  # still the process's, for the next array


def test_the_environment_can_keep_glibcs_defaults():
    probe = _probe(**{heap.OPT_OUT: "system"})
    assert probe["kept"] is False
    assert probe["mapped_during"] >= 200_000_000  # glibc's own choice: a mapping of its own
    assert probe["heap_after"] < 50_000_000
