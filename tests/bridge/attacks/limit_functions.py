"""A registered step that never returns (the server loads it with `--allow-module`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from napari_hcs import register

SPIN_SECONDS = 120.0  # a step nobody stops still ends (the test has failed by then)


@register(memory="numpy", category="testing")
def attack_spin(stack, folder: str = ""):
    """Leave `started-<pid>` in `folder`, then compute without ever returning to look at a
    cancel, like `denoise_tv_chambolle(max_num_iter=2**62, eps=0)`."""
    (Path(folder) / f"started-{os.getpid()}").touch()
    deadline = time.monotonic() + SPIN_SECONDS
    total = 0
    while time.monotonic() < deadline:
        total += 1
    return stack
