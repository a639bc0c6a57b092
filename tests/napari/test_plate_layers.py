"""plate_layers: lazy layer data for wells and plates (no viewer needed)."""

from __future__ import annotations

import dask.array as da
import numpy as np

from napari_hcs.napari.plate_layers import (
    META_KEY,
    assemble_mosaic,
    channel_colormap,
    plate_mosaic_layers,
    site_offsets,
    well_grid,
    well_site_layers,
)


def test_site_offsets_are_relative_to_the_first_tile(tiff_plate):
    assert site_offsets(tiff_plate.layout) == {
        1: (0.0, 0.0), 2: (0.0, 36.0), 3: (28.0, 0.0), 4: (28.0, 36.0)}


def test_site_offsets_fall_back_to_a_square_grid(tiff_plate):
    tiff_plate._positions = {}
    assert site_offsets(tiff_plate.layout)[4] == (32.0, 40.0)


def test_well_site_layers_are_lazy_and_translated(tiff_plate, monkeypatch):
    reads = []
    original = tiff_plate.read
    monkeypatch.setattr(tiff_plate, "read", lambda key: reads.append(key) or original(key))
    layers = well_site_layers(tiff_plate, "B02")
    assert len(layers) == 8 and not reads  # 4 sites x 2 channels, nothing read yet
    data, kwargs, kind = layers[5]  # channel 2, site 2
    assert kind == "image" and isinstance(data, da.Array)
    assert kwargs["name"] == "B02 s2 2 (GFP)"
    assert kwargs["translate"] == (0.0, 36.0)
    assert kwargs["colormap"] == "green"
    assert kwargs["metadata"][META_KEY]["site"] == 2
    assert int(np.asarray(data)[0, 0]) == 2000 + 200 + 1
    assert len(reads) == 1


def test_plate_mosaic_pastes_sites_at_stage_positions(tiff_plate):
    layers = plate_mosaic_layers(tiff_plate)
    assert [kw["name"] for _, kw, _ in layers] == ["1 (DAPI)", "2 (GFP)"]
    data, kwargs, _ = layers[0]
    assert data.shape == (2, 60, 76) and kwargs["axis_labels"] == ("well", "y", "x")
    mosaic = np.asarray(data[1])  # well B02
    assert mosaic[0, 0] == 1101 and mosaic[0, 75] == 2101
    assert mosaic[59, 0] == 3101 and mosaic[59, 75] == 4101


def test_assemble_mosaic_later_tiles_win():
    tiles = [np.ones((4, 4), np.uint8), np.full((4, 4), 2, np.uint8)]
    out = assemble_mosaic(tiles, [(0, 0), (0, 2)], (4, 6))
    assert out.tolist()[0] == [1, 1, 2, 2, 2, 2]


def test_channel_colormaps_and_well_grid(tiff_plate):
    assert channel_colormap("Hoechst 33342", 3) == "blue"
    assert channel_colormap("whatever", 1) == "green"
    assert well_grid(tiff_plate.layout) == (2, 3)
