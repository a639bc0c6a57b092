"""npe2 sample data "demo plate": a synthetic ImageXpress plate with ground truth, opened lazily.

The plate is generated once into the user's cache folder (`$XDG_CACHE_HOME/napari-hcs`, or
`NAPARI_HCS_CACHE`), so reopening the sample reads the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

from .plate_view.layers import LayerData


def cache_dir() -> Path:
    """Where generated sample plates live."""
    env = os.environ.get("NAPARI_HCS_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "napari-hcs"


def demo_plate_path(format: str = "imagexpress") -> Path:
    """The demo plate's folder, generated on first use."""
    from ..engine.plate.generator import GROUND_TRUTH, write_sample_plate

    root = cache_dir() / f"demo_plate_{format}"
    if (root / GROUND_TRUTH).is_file():  # written whole (atomically) by an earlier call
        return root
    return Path(write_sample_plate(root, format, force=root.exists()))


def demo_plate() -> list[LayerData]:
    """The "demo plate" sample: four wells of 2x2 sites, two channels, as the plate view."""
    from ._reader import read_plate

    return read_plate(str(demo_plate_path()))
