"""plate_layers: the plate view's layer data, lazy, loaded in the background (no viewer)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from napari_hcs.engine.plate.model import ImageKey
from napari_hcs.napari.plate_view.layers import (
    META_KEY,
    channel_colormap,
    channel_name,
    loaders_of,
    plate_view_layers,
)
from napari_hcs.napari.plate_view.loader import BackgroundJobs


class _Layer:  # what loaders_of reads: the metadata of a napari layer
    def __init__(self, kwargs):
        self.metadata = kwargs["metadata"]


def test_plate_view_layers_are_lazy_and_named(tiff_plate, monkeypatch):
    reads = []
    original = tiff_plate.read
    monkeypatch.setattr(tiff_plate, "read", lambda key: reads.append(key) or original(key))
    layers = plate_view_layers(tiff_plate)
    assert [(kw["name"], t) for _, kw, t in layers] == [
        ("DAPI", "image"), ("GFP", "image"), ("wells", "points")]
    assert len(reads) == 2  # one tile per channel, for the contrast limits
    levels, kwargs, _ = layers[1]
    assert kwargs["multiscale"] and kwargs["colormap"] == "green"
    assert kwargs["scale"] == (1.0, 1.0) and kwargs["units"] == ("pixel", "pixel")
    assert kwargs["contrast_limits"] == (1200.0, 1201.0)  # A01 site 1 of channel 2: all 1200
    pyramid = levels[0].pyramid
    assert levels[0].shape == pyramid.geometry.shape(0)
    assert (pyramid.geometry.rows, pyramid.geometry.columns) == (2, 3)
    points, wells_kwargs, _ = layers[2]
    assert wells_kwargs["features"]["well"] == ["A01", "B02"]
    assert np.all(points[1] > pyramid.geometry.origin("B02"))
    assert kwargs["metadata"][META_KEY]["channel"] == "2"


def test_a_well_loads_at_its_stage_positions_in_the_background(tiff_plate):
    layers = plate_view_layers(tiff_plate)
    levels, kwargs, _ = layers[0]
    loader = loaders_of(_Layer(kwargs))[0]
    loader.jobs = BackgroundJobs(threads=1)
    loaded = threading.Event()
    loader.on_loaded = lambda pyramid: loaded.set()
    geometry = levels[0].pyramid.geometry
    oy, ox = geometry.origin("B02")
    window = levels[0][oy:oy + 60, ox:ox + 76]
    assert np.asarray(window).max() == 0  # nothing read yet: asked for, not waited for
    assert loaded.wait(30)
    mosaic = np.asarray(window)  # B02, channel 1: value = 1000 * site + 100 + 1
    assert mosaic[0, 0] == 1101 and mosaic[0, 75] == 2101
    assert mosaic[59, 0] == 3101 and mosaic[59, 75] == 4101  # later sites win in overlaps
    assert mosaic[30, 38] == 4101


def test_channel_names_and_colormaps():
    assert channel_name("3") == "channel 3" and channel_name("DAPI") == "DAPI"
    assert channel_colormap("Hoechst 33342", 3) == "blue"
    assert channel_colormap("whatever", 1) == "green"


@pytest.mark.parametrize("fmt", ["imagexpress", "phenix", "zarr"])
def test_every_format_opens_as_a_plate_view_with_z_on_a_slider(tmp_path, fmt):
    from napari_hcs.engine.plate import open_plate
    from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

    spec = SampleSpec(wells=("A01", "B02"), tile=(32, 32), z=2, nuclei_per_tile=1.0,
                      nucleus_radius=(2.0, 3.0))
    reader = open_plate(write_sample_plate(tmp_path / fmt, fmt, spec))
    layers = plate_view_layers(reader)
    levels, kwargs, _ = layers[0]
    assert kwargs["axis_labels"] == ("z", "y", "x") and levels[0].ndim == 3
    assert kwargs["scale"] == (1.0, 0.65, 0.65)
    assert kwargs["units"] == ("pixel", "micrometer", "micrometer")
    loader = loaders_of(_Layer(kwargs))[0]
    loader.load("B02", (1,), 0)  # z plane 2, read here
    y, x = levels[0].pyramid.geometry.origin("B02")
    plane = np.asarray(levels[0][1, y:y + 32, x:x + 32])
    expected = reader.read(ImageKey("B02", 1, reader.layout.channels[0], 2, 1))
    np.testing.assert_array_equal(plane[:25, :25], expected[:25, :25])  # before site 2's
