"""Reader, sample data and writer through npe2 and a real viewer."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from napari_hcs.engine.plate.model import PlateError
from napari_hcs.napari._reader import napari_get_reader, read_plate
from napari_hcs.napari._sample_data import demo_plate
from napari_hcs.napari._writer import write_omezarr
from napari_hcs.napari.plate_view.layers import META_KEY
from napari_hcs.napari.session import session_for


def test_reader_claims_plates_and_declines_the_rest(tmp_path, sample_plate):
    assert napari_get_reader(str(tmp_path)) is None
    assert napari_get_reader(str(tmp_path / "missing")) is None
    (tmp_path / "a.txt").write_text("x")
    assert napari_get_reader(str(tmp_path / "a.txt")) is None
    (tmp_path / "stray.HTD").write_text("not a plate")  # claimed by name (fast), then...
    with pytest.raises(PlateError, match="stray.HTD"):  # ...a clear error naming the file
        napari_get_reader(str(tmp_path / "stray.HTD"))(str(tmp_path / "stray.HTD"))
    assert napari_get_reader(str(sample_plate)) is read_plate
    assert napari_get_reader(str(sample_plate / "Plate.HTD")) is read_plate


def test_viewer_opens_a_plate_folder_as_the_plate_view(make_napari_viewer, sample_plate, qtbot):
    viewer = make_napari_viewer()
    layers = viewer.open(str(sample_plate), plugin="napari-hcs")
    assert [ly.name for ly in layers] == ["channel 1", "channel 2", "wells"]
    nuclei = viewer.layers["channel 1"]
    assert nuclei.multiscale and nuclei.ndim == 2  # the whole plate, no well slider
    assert nuclei.colormap.name == "blue"
    assert nuclei.metadata[META_KEY]["format"] == "imagexpress"
    geometry = nuclei.data[0].pyramid.geometry
    assert (geometry.rows, geometry.columns) == (8, 12)  # the 96-well plate, 4 wells imaged
    assert nuclei.data[0].shape == geometry.shape(0)
    qtbot.waitUntil(lambda: np.asarray(nuclei.data[-1]).max() > 0, timeout=30_000)


def test_plate_files_open_without_a_reader_choice(make_napari_viewer, sample_plate, tmp_path):
    """napari offers every reader that accepts folders for a folder (npe2 ignores filename
    patterns for directories), but a plate's own description file is napari-hcs's alone."""
    from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

    viewer = make_napari_viewer()
    # plugin=None is what File > Open and drag-and-drop do: napari asks only when several
    # readers claim the path (a bare viewer.open() means plugin="napari", the builtins).
    layers = viewer.open(str(sample_plate / "Plate.HTD"), plugin=None)
    assert [ly.name for ly in layers] == ["channel 1", "channel 2", "wells"]
    phenix = write_sample_plate(tmp_path / "phenix", "phenix",
                                SampleSpec(wells=("A01",), tile=(32, 32), nuclei_per_tile=1.0,
                                           nucleus_radius=(2.0, 3.0)))
    index = next(phenix.rglob("Index*.xml"))
    layers = make_napari_viewer().open(str(index), plugin=None)
    assert layers[-1].name == "wells" and layers[0].metadata[META_KEY]["format"] == "phenix"


def test_demo_plate_sample_is_generated_once(make_napari_viewer, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_HCS_CACHE", str(tmp_path))
    viewer = make_napari_viewer()
    viewer.open_sample("napari-hcs", "demo_plate")
    assert [ly.name for ly in viewer.layers] == ["channel 1", "channel 2", "wells"]
    first = sorted(p.name for p in tmp_path.iterdir())
    assert first == ["demo_plate_imagexpress"]
    assert len(demo_plate()) == 3  # reopening reuses the cached plate


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
    assert "plate" in zarr.open_group(str(out), mode="r").attrs["ome"]  # NGFF 0.5

    viewer2 = make_napari_viewer()
    viewer2.open(str(out.parent), plugin="napari-hcs")
    names = [ly.name for ly in viewer2.layers]
    assert names == ["dapi (result)", "gfp (result)", "nuclei", "wells"]
    gfp = viewer2.layers["gfp (result)"].data[0]  # the plate view: well A01 at the top left
    np.testing.assert_array_equal(np.asarray(gfp[:40, :50]), image * 2)
    assert np.asarray(gfp[40:, :]).max() == 0 and np.asarray(gfp[:, 50:]).max() == 0
    assert int(np.asarray(viewer2.layers["nuclei"].data[0]).max()) == 1
    assert session_for(viewer2).reader is None  # an output is not a plate to run on


def test_writer_keeps_the_pixel_size_and_its_unit(make_napari_viewer, tmp_path):
    """An image shown at 0.65 µm is saved at 0.65 µm (scale and unit), and reopens so."""
    viewer = make_napari_viewer()
    image = np.arange(40 * 50, dtype=np.uint16).reshape(40, 50)
    viewer.add_image(image, name="dapi", scale=(0.65, 0.65), units=("um", "um"))
    viewer.add_image(image, name="gfp", scale=(650, 650), units=("nm", "nm"))
    out = tmp_path / "saved" / "plate.zarr"
    assert write_omezarr(str(out), [ly.as_layer_data_tuple() for ly in viewer.layers])
    reopened = make_napari_viewer().open(str(out.parent), plugin="napari-hcs")
    assert tuple(reopened[0].scale) == pytest.approx((0.65, 0.65))
    assert [str(u) for u in reopened[0].units] == ["micrometer", "micrometer"]
