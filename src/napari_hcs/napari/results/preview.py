"""Preview support: a plate restricted to one well and one site, so the ordinary compiler and
executor run the pipeline on just that site (no special preview code path in the engine), and
its result as layers over that site of the plate view."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ...engine.plate.model import ImageKey, PlateLayout, PlateReader
from ..plate_view.layers import META_KEY, LayerData


class SiteSubset(PlateReader):
    """`reader` seen through a window of one well and one site (all channels, z, timepoints)."""

    def __init__(self, reader: PlateReader, well: str, site: int) -> None:
        super().__init__(reader.root)
        layout = reader.layout
        if well not in layout.wells:
            raise ValueError(f"preview: well {well} is not on the plate {layout.root}")
        if site not in layout.sites:
            raise ValueError(f"preview: site {site} is not on the plate (sites {layout.sites})")
        self.reader, self.well, self.site = reader, well, site
        self.format = reader.format  # type: ignore[misc]  # per-instance: the wrapped format
        positions = {site: layout.site_positions[site]} if site in layout.site_positions else {}
        self._layout = replace(layout, wells=(well,), sites=(site,), site_positions=positions)

    @classmethod
    def detect(cls, root: object) -> bool:  # never detected from disk: built by the dock
        return False

    @property
    def layout(self) -> PlateLayout:
        return self._layout

    def image_path(self, key: ImageKey) -> str:
        return self.reader.image_path(key)

    def read(self, key: ImageKey) -> np.ndarray:
        return self.reader.read(key)


def site_origin(reader: PlateReader, geometry: Any, well: str, site: int) -> tuple[float, float]:
    """Top-left of `well`'s `site` on the plate view, in world units (where its preview goes)."""
    from ..plate_view.geometry import well_offsets

    oy, ox = geometry.origin(well)
    ty, tx = well_offsets(reader, well).get(site, (0.0, 0.0))
    sy, sx = geometry.scale
    return (oy + round(ty)) * sy, (ox + round(tx)) * sx


def preview_layers(parts: Any, geometry: Any, origin: tuple[float, float]) -> list[LayerData]:
    """One previewed site's result as layer data placed over that site on the plate view:
    `DAPI (preview)`, `nuclei (preview)`, `nuclei outlines (preview)` (built off the GUI
    thread; the dock only swaps them into its preview layers)."""
    from ..plate_view.layers import channel_colormap, channel_name
    from .layers import outline_pixels

    def placed(name: str, ndim: int, **kwargs: Any) -> dict[str, Any]:
        return {"name": f"{name} (preview)", "scale": (1.0,) * (ndim - 2) + geometry.scale,
                "units": ("pixel",) * (ndim - 2) + geometry.units,
                "translate": (0.0,) * (ndim - 2) + tuple(origin),
                "metadata": {META_KEY: {"result": "preview"}}, **kwargs}

    layers: list[LayerData] = []
    for i, (channel, image) in enumerate(parts.images.items()):
        layers.append((image, placed(channel_name(channel), image.ndim,
                                     colormap=channel_colormap(channel, i),
                                     blending="additive"), "image"))
    shape = next((a.shape[-2:] for a in (*parts.labels.values(), *parts.images.values())),
                 None)
    for base, labels in parts.labels.items():
        layers.append((labels, placed(base, labels.ndim, opacity=0.5), "labels"))
    for base, (polygons, ids) in parts.outlines.items():
        drawn = outline_pixels(polygons, ids, tuple(shape or geometry.cell(0)))
        layers.append((drawn, placed(f"{base} outlines", 2), "labels"))
    return layers
