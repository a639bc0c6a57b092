"""Preview support: a plate restricted to one well and one site, so the ordinary compiler and
executor run the pipeline on just that site (no special preview code path in the engine)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..engine.plate.model import ImageKey, PlateLayout, PlateReader


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
