"""An in-memory plate reader with a hand-made layout, for compiler tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_hcs.engine.plate.model import ImageKey, PlateLayout, PlateReader


class MemoryPlateReader(PlateReader):
    """A plate that exists only as a layout; image paths are made up, pixels are zeros."""

    format = "memory"

    def __init__(self, layout: PlateLayout) -> None:
        super().__init__(layout.root)
        self._layout = layout

    @classmethod
    def detect(cls, root: Path) -> bool:
        return False

    @property
    def layout(self) -> PlateLayout:
        return self._layout

    def image_path(self, key: ImageKey) -> str:
        return (f"{self.root}/{key.well}_s{key.site}_w{key.channel}"
                f"_z{key.z}_t{key.timepoint}.tif")

    def read(self, key: ImageKey) -> np.ndarray:
        return np.zeros(self._layout.shape, dtype=self._layout.dtype)


def make_reader(
    wells: tuple[str, ...] = ("A01", "A02", "B01", "B02"),
    sites: int = 4,
    channels: tuple[str, ...] = ("1", "2"),
    positions: bool = True,
) -> MemoryPlateReader:
    site_ids = tuple(range(1, sites + 1))
    grid = int(np.ceil(np.sqrt(sites)))
    layout = PlateLayout(
        format="memory",
        root=Path("/plates/fake"),
        wells=wells,
        sites=site_ids,
        channels=channels,
        z=(1,),
        timepoints=(1,),
        shape=(64, 64),
        dtype="uint16",
        channel_names={"1": "DAPI", "2": "GFP"},
        site_positions=(
            {s: (float((s - 1) // grid * 58), float((s - 1) % grid * 58)) for s in site_ids}
            if positions else {}
        ),
    )
    return MemoryPlateReader(layout)


@pytest.fixture
def plate() -> MemoryPlateReader:
    return make_reader()


@pytest.fixture
def make_plate():
    """`make_plate(wells=..., sites=..., channels=..., positions=...)` builds another plate."""
    return make_reader
