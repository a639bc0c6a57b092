"""Reader, sample data and writer through npe2 and a real viewer."""

from __future__ import annotations

import numpy as np
import zarr

from napari_hcs.napari._reader import napari_get_reader
from napari_hcs.napari._sample_data import demo_plate
from napari_hcs.napari._writer import write_omezarr
from napari_hcs.napari.plate_layers import META_KEY
from napari_hcs.napari.session import session_for


def test_reader_declines_what_it_cannot_read(tmp_path):
    assert napari_get_reader(str(tmp_path)) is None
    assert napari_get_reader(str(tmp_path / "missing")) is None
    (tmp_path / "a.txt").write_text("x")
    assert napari_get_reader(str(tmp_path / "a.txt")) is None


def test_viewer_opens_a_plate_folder_with_the_plugin(make_napari_viewer, sample_plate):
    viewer = make_napari_viewer()
    layers = viewer.open(str(sample_plate), plugin="napari-hcs")
    assert [ly.name for ly in layers] == ["1", "2"]
    nuclei = viewer.layers["1"]
    assert nuclei.data.shape[0] == 4 and nuclei.ndim == 3  # the well slider
    assert nuclei.colormap.name == "blue"
    assert nuclei.metadata[META_KEY]["format"] == "imagexpress"
    plane = np.asarray(nuclei.data[0])
    assert plane.shape[0] > 64 and plane.max() > 0  # a 2x2 mosaic with signal


def test_demo_plate_sample_is_generated_once(make_napari_viewer, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_HCS_CACHE", str(tmp_path))
    viewer = make_napari_viewer()
    viewer.open_sample("napari-hcs", "demo_plate")
    assert len(viewer.layers) == 2
    first = sorted(p.name for p in tmp_path.iterdir())
    assert first == ["demo_plate_imagexpress"]
    assert len(demo_plate()) == 2  # reopening reuses the cached plate


def test_writer_round_trips_through_the_reader(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    image = np.arange(40 * 50, dtype=np.uint16).reshape(40, 50)
    viewer.add_image(image, name="dapi")
    viewer.add_image(image * 2, name="gfp")
    labels = np.zeros((40, 50), np.int32)
    labels[5:15, 5:15] = 1
    viewer.add_labels(labels, name="nuclei")
    out = tmp_path / "saved" / "plate.zarr"
    data = [(ly.data, {"name": ly.name, "metadata": ly.metadata}, ly._type_string)
            for ly in viewer.layers]
    assert write_omezarr(str(out), data) == [str(out)]
    assert "plate" in dict(zarr.open_group(str(out), mode="r").attrs)

    viewer2 = make_napari_viewer()
    viewer2.open(str(out.parent), plugin="napari-hcs")
    names = [ly.name for ly in viewer2.layers]
    assert names == ["dapi (output)", "gfp (output)", "nuclei labels"]
    np.testing.assert_array_equal(np.asarray(viewer2.layers["gfp (output)"].data), image * 2)
    assert int(np.asarray(viewer2.layers["nuclei labels"].data).max()) == 1
    assert session_for(viewer2).reader is None  # an output is not a plate to run on
