"""npe2 writer: the selected image and labels layers -> a one-well OME-Zarr HCS plate.

Image layers become the channels of well A01 field 0 (in layer order); labels layers become
its labels. Uses the engine's OME-Zarr writer, so the result is what a run writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .plate_view.layers import META_KEY

WELL = "A01"


def _plane(data: Any, name: str) -> np.ndarray:
    array = np.asarray(data)
    if array.ndim not in (2, 3):
        raise ValueError(f"layer {name!r}: can save 2-D (Y, X) or 3-D (Z, Y, X) data, got "
                         f"shape {array.shape}; select one slice or well first")
    return array


def write_omezarr(path: str, layer_data: list[tuple[Any, dict, str]]) -> list[str]:
    """Write image layers as channels and labels layers as labels of well A01, field 0."""
    from ..engine.vfs.omezarr import create_plate, write_field

    images = [(_plane(d, m["name"]), m) for d, m, t in layer_data if t == "image"]
    labels = {m["name"]: _plane(d, m["name"]) for d, m, t in layer_data if t == "labels"}
    if not images:
        raise ValueError("select at least one image layer to save as OME-Zarr")
    shapes = {m["name"]: a.shape for a, m in images}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"image layers of different shapes cannot be one image: {shapes}")
    well = next((m.get("metadata", {}).get(META_KEY, {}).get("well") for _, m in images
                 if m.get("metadata", {}).get(META_KEY, {}).get("well")), WELL)
    stack = np.stack([a for a, _ in images])
    root = Path(path)
    create_plate(root, [well], name=root.stem)
    write_field(root, well, 0, stack, channel_names=[m["name"] for _, m in images],
                labels=labels)
    return [str(root)]
