"""A per-well value as a plate heatmap on the plate view: one pixel per well, over its cell.

The image has the plate's grid shape (rows x columns), NaN where a well has no value, and its
scale is the cell pitch in world units, so pixel (r, c) covers exactly well (r, c)'s cell of the
plate view (`plate_view.geometry`): the heatmap overlays the wells' images and results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...engine.plate.model import PlateError
from ...engine.plate.wells import parse_well
from ..plate_view.geometry import PlateGeometry
from ..plate_view.layers import META_KEY

#: The name of the heatmap layer (one per viewer; choosing another feature replaces its data).
HEATMAP_LAYER = "well heatmap"


def heatmap_image(geometry: PlateGeometry, values: Mapping[str, float]) -> np.ndarray:
    """(rows, columns) float32: each well's value at its grid position, NaN elsewhere."""
    image = np.full((geometry.rows, geometry.columns), np.nan, np.float32)
    for well, value in values.items():
        try:
            row, col = parse_well(well)
        except PlateError:
            continue
        if row < geometry.rows and col < geometry.columns:
            image[row, col] = value
    return image


def heatmap_limits(image: np.ndarray) -> tuple[float, float]:
    finite = image[np.isfinite(image)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return lo, hi if hi > lo else lo + 1.0


def heatmap_kwargs(geometry: PlateGeometry, title: str, image: np.ndarray) -> dict[str, Any]:
    """napari Image keyword arguments placing `image` over the wells' cells.

    A plate pixel's centre is at y * scale, so cell r spans (r * pitch - 1/2) * scale to
    ((r + 1) * pitch - 1/2) * scale; a heatmap pixel r of scale P spans (r +- 1/2) P + T;
    hence T = (P - scale) / 2.
    """
    sy, sx = geometry.scale
    py, px = geometry.pitch[0] * sy, geometry.pitch[1] * sx
    return {"name": HEATMAP_LAYER, "scale": (py, px),
            "translate": ((py - sy) / 2, (px - sx) / 2), "units": geometry.units,
            "colormap": "viridis", "opacity": 0.5, "interpolation2d": "nearest",
            "contrast_limits": heatmap_limits(image), "blending": "translucent",
            "metadata": {META_KEY: {"heatmap": title}}}


def value_at_well(image: np.ndarray, well: str) -> float:
    row, col = parse_well(well)
    return float(image[row, col])


def show_heatmap_layer(viewer: Any, geometry: PlateGeometry, title: str,
                       image: np.ndarray) -> Any:
    """Show `image` as the viewer's heatmap layer: its data replaced when the grid is the
    same (creating a layer costs the GUI thread ~1 s under software OpenGL), else a new one."""
    from napari.layers import Image

    kwargs = heatmap_kwargs(geometry, title, image)
    layer = viewer.layers[HEATMAP_LAYER] if HEATMAP_LAYER in viewer.layers else None
    if layer is not None and layer.data.shape == image.shape and tuple(layer.scale) == tuple(
            kwargs["scale"]):
        layer.data = image
        layer.contrast_limits = kwargs["contrast_limits"]
        layer.metadata = kwargs["metadata"]
        return layer
    if layer is not None:
        viewer.layers.remove(layer)
    return viewer.add_layer(Image(image, **kwargs))
