"""A layout-only plate with a hand-made layout, for compiler tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_hcs.engine.plate.layout_only import LayoutOnlyReader
from napari_hcs.engine.plate.model import PlateLayout


def make_reader(
    wells: tuple[str, ...] = ("A01", "A02", "B01", "B02"),
    sites: int = 4,
    channels: tuple[str, ...] = ("1", "2"),
    positions: bool = True,
) -> LayoutOnlyReader:
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
    return LayoutOnlyReader(layout)


@pytest.fixture
def plate() -> LayoutOnlyReader:
    return make_reader()


@pytest.fixture
def make_plate():
    """`make_plate(wells=..., sites=..., channels=..., positions=...)` builds another plate."""
    return make_reader
