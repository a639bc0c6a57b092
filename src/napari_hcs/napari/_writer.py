"""npe2 writer: the selected image and labels layers -> a one-well OME-Zarr HCS plate.

Image layers become the channels of well A01 field 0 (in layer order); labels layers become
its labels. Uses the engine's OME-Zarr writer, so the result is what a run writes. The first
image layer's `scale` and `units` (any length unit, converted to µm) become the pixel size, so
a layer shown at 0.65 µm is saved at 0.65 µm; a layer in pixels is saved without one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .plate_view.layers import META_KEY

WELL = "A01"
#: Micrometres per unit, for the length units napari layers carry.
UM_PER_UNIT = {"micrometer": 1.0, "nanometer": 1e-3, "millimeter": 1e3, "centimeter": 1e4,
               "meter": 1e6, "angstrom": 1e-4}


def pixel_size_um(meta: dict[str, Any]) -> float | None:
    """The layer's pixel size in µm from its `scale` and `units` (None: in pixels, or the two
    axes differ)."""
    scale, units = meta.get("scale"), meta.get("units")
    if scale is None or units is None or len(scale) < 2:
        return None
    factors = [UM_PER_UNIT.get(str(u)) for u in tuple(units)[-2:]]
    if None in factors:
        return None
    sy, sx = (float(v) * f for v, f in zip(tuple(scale)[-2:], factors, strict=True))
    return sx if abs(sy - sx) <= 1e-9 * max(abs(sx), 1.0) else None


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
                labels=labels, pixel_size_um=pixel_size_um(images[0][1]))
    return [str(root)]
