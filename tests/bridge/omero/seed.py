"""Put a small synthetic plate into OMERO through the public omero-py API (stand-in or real).

Used for the stand-in and for the real-server test alike, so both exercise the same calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_hcs.engine.plate.wells import parse_well


@dataclass
class SeededPlate:
    plate_id: int
    planes: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # (well, site) CYX
    positions: dict[int, tuple[float, float]] = field(default_factory=dict)  # site -> (y, x)


def synthetic_field(rng: np.random.Generator, shape: tuple[int, int], channels: int) -> np.ndarray:
    """(C, Y, X) uint16: a dim background with a few bright square 'nuclei' in channel 1."""
    image = rng.integers(90, 110, size=(channels, *shape), dtype=np.uint16)
    for _ in range(4):
        y, x = rng.integers(4, shape[0] - 16), rng.integers(4, shape[1] - 16)
        image[0, y : y + 10, x : x + 10] = 1000
    return image


def upload_plate(conn: Any, omero: Any, name: str, wells: tuple[str, ...] = ("A01", "A02"),
                 grid: int = 2, tile: tuple[int, int] = (64, 64),
                 channel_names: tuple[str, ...] = ("DAPI", "GFP"), seed: int = 0) -> SeededPlate:
    """Create a plate with `grid x grid` fields per well; positions in pixels (reference frame)."""
    rng = np.random.default_rng(seed)
    update = conn.getUpdateService()
    plate = omero.model.PlateI()
    plate.setName(omero.rtypes.rstring(name))
    seeded = SeededPlate(update.saveAndReturnObject(plate).getId().getValue())
    step = (tile[0] * 0.9, tile[1] * 0.9)  # ~10% overlap
    for well_name in wells:
        row, column = parse_well(well_name)
        well = omero.model.WellI()
        well.setPlate(omero.model.PlateI(seeded.plate_id, False))
        well.setRow(omero.rtypes.rint(row))
        well.setColumn(omero.rtypes.rint(column))
        for site in range(1, grid * grid + 1):
            data = synthetic_field(rng, tile, len(channel_names))
            image = conn.createImageFromNumpySeq(
                iter(list(data)), f"{name} {well_name} f{site}", sizeZ=1, sizeC=len(data), sizeT=1
            )
            conn.setChannelNames("Image", [image.getId()],
                                 {i + 1: n for i, n in enumerate(channel_names)})
            y, x = ((site - 1) // grid) * step[0], ((site - 1) % grid) * step[1]
            seeded.planes[(well_name, site)] = data
            seeded.positions[site] = (y, x)
            sample = omero.model.WellSampleI()
            sample.setImage(omero.model.ImageI(image.getId(), False))
            frame = omero.UnitsLength.REFERENCEFRAME
            sample.setPosX(omero.model.LengthI(x, frame))
            sample.setPosY(omero.model.LengthI(y, frame))
            well.addWellSample(sample)
        update.saveAndReturnObject(well)
    return seeded
