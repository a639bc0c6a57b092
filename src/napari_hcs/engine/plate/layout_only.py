"""A plate known only by its layout: compiling (planning, dry runs, benchmarks) without files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .model import ImageKey, PlateLayout, PlateReader


class LayoutOnlyReader(PlateReader):
    """What the compiler sees of any reader; image paths are made up, pixels are zeros."""

    format = "layout"

    def __init__(self, layout: PlateLayout) -> None:
        super().__init__(layout.root)
        self._layout = layout

    @classmethod
    def detect(cls, root: Path) -> bool:
        return False  # never a plate on disk

    @property
    def layout(self) -> PlateLayout:
        return self._layout

    def image_path(self, key: ImageKey) -> str:
        return (f"{self.root}/{key.well}_s{key.site}_w{key.channel}"
                f"_z{key.z}_t{key.timepoint}.tif")

    def read(self, key: ImageKey) -> np.ndarray:
        return np.zeros(self._layout.shape, dtype=self._layout.dtype)
