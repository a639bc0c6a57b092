"""Inputs of the profiling tests: sample wells stitched at their true positions."""

from __future__ import annotations

from functools import cache

import numpy as np

from napari_hcs.engine.plate.synthetic import SampleSpec, SyntheticWell, synthesize_well


@cache
def true_mosaic(well: str = "A01", **spec: object) -> tuple[np.ndarray, SyntheticWell]:
    """The (channels, Y, X) float32 mosaic of a sample well, its tiles pasted at their true
    positions (the stitched frame of the truth labels), and the well's truth. Cached: do not
    modify what it returns."""
    s = SampleSpec(**spec)
    data = synthesize_well(s, well)
    mosaic = np.zeros((len(s.channels), *data.mosaic_shape), np.float32)
    th, tw = s.tile
    for (site, channel, _z, _t), tile in data.tiles.items():
        y, x = data.positions[site]
        mosaic[s.channels.index(channel), y:y + th, x:x + tw] = tile
    return mosaic, data
