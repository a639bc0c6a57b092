"""A run's plate.zarr in a real viewer: through napari-ome-zarr and through our reader.

The sample plate's wells stitch to different sizes (a few px apart) and its only calibration is
the MetaSeries XML of its TIFFs; both readers show every well, images and labels, in µm. Our
reader shows them as a plate view in the frame of the run's input plate, so they overlay it.
"""

from __future__ import annotations

import json
import shutil

import dask
import numpy as np
import pandas as pd
import pytest
import zarr
from dask.callbacks import Callback

from napari_hcs.engine.codegen import load_pipeline
from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.executor import run_plans
from napari_hcs.engine.plate import open_plate
from napari_hcs.engine.vfs import omezarr
from napari_hcs.napari.plate_view.geometry import PlateGeometry, plate_geometry
from napari_hcs.napari.results.layers import base_name, image_layer_name
from napari_hcs.napari.results.output_layers import plate_zarr_layers
from napari_hcs.napari.session import session_for
from napari_hcs.pipelines import path_of


@pytest.fixture(scope="module")
def run_out(sample_plate, tmp_path_factory):
    truth = json.loads((sample_plate / "ground_truth.json").read_text())["wells"]
    assert len({tuple(w["mosaic_shape"]) for w in truth.values()}) > 1
    compiled = compile_pipeline(load_pipeline(path_of("stitch_segment")), open_plate(sample_plate))
    out = tmp_path_factory.mktemp("napari-run") / "out"
    assert run_plans(compiled.plans, out).all_ok
    return out, compiled.output


@pytest.fixture(scope="module")
def run96(plate96, tmp_path_factory):
    """`stitch_segment` on a 96-well plate imaged at A01, B02 and H12 only."""
    compiled = compile_pipeline(load_pipeline(path_of("stitch_segment")), open_plate(plate96))
    out = tmp_path_factory.mktemp("napari-run96") / "out"
    assert run_plans(compiled.plans, out).all_ok
    return out


def test_napari_ome_zarr_opens_the_plate_with_images_and_labels(make_napari_viewer, run_out):
    out, output = run_out
    viewer = make_napari_viewer()
    layers = viewer.open(str(out / "plate.zarr"), plugin="napari-ome-zarr")
    kinds = sorted(type(layer).__name__ for layer in layers)
    assert kinds == ["Image", "Image", "Labels"]
    image = next(layer for layer in layers if type(layer).__name__ == "Image")
    fy, fx = output.field_shape
    assert _level0(image).shape[-2:] == (8 * fy, 12 * fx)  # all 96 wells' places
    labels = next(layer for layer in layers if type(layer).__name__ == "Labels")
    plate_labels = np.asarray(_level0(labels)[:fy, :fx])  # well A01
    np.testing.assert_array_equal(
        plate_labels, omezarr.read_labels(out / "plate.zarr", "A01", 0, "nuclei_labels"))
    assert tuple(image.scale[-2:]) == pytest.approx((0.65, 0.65))
    assert [str(u) for u in image.units[-2:]] == ["micrometer", "micrometer"]


def _level0(layer):
    return layer.data[0] if layer.multiscale else layer.data


def _cell(data, geometry, well, level=0):
    """`well`'s cell of a plate-wide array."""
    oy, ox = geometry.origin(well, level)
    ch, cw = geometry.cell(level)
    return np.asarray(data[..., oy:oy + ch, ox:ox + cw])


def _padded(array, cell):
    out = np.zeros(array.shape[:-2] + cell, array.dtype)
    h, w = min(cell[0], array.shape[-2]), min(cell[1], array.shape[-1])
    out[..., :h, :w] = array[..., :h, :w]
    return out


def test_reopened_results_are_a_plate_view_named_like_live_results(make_napari_viewer, run96,
                                                                   plate96):
    viewer = make_napari_viewer()
    layers = viewer.open(str(run96 / "plate.zarr"), plugin="napari-hcs")
    names = [layer.name for layer in layers]
    assert names == ["channel 1 (result)", "channel 2 (result)", "nuclei", "wells"]
    assert names[:3] == [image_layer_name("1"), image_layer_name("2"), base_name("nuclei_labels")]
    geometry = plate_geometry(open_plate(plate96))  # the raw plate's, which live results use
    assert (geometry.rows, geometry.columns) == (8, 12)
    image, _, labels, wells = layers
    assert image.multiscale and labels.multiscale and image.ndim == 2  # no well slider
    assert len(image.data) == geometry.levels
    for layer in layers:
        assert tuple(layer.scale) == pytest.approx((0.65, 0.65))
        assert [str(u) for u in layer.units] == ["micrometer", "micrometer"]
    assert image.data[0].shape == geometry.shape(0) and image.data[0].dtype == np.uint16
    plate = zarr.open_group(str(run96 / "plate.zarr"), mode="r")
    stored = np.asarray(plate["H/12/0/0"])  # (C, Y, X), the stitched well padded to one shape
    cell = geometry.cell(0)
    np.testing.assert_array_equal(_cell(image.data[0], geometry, "H12"), _padded(stored[0], cell))
    np.testing.assert_array_equal(_cell(layers[1].data[0], geometry, "H12"),
                                  _padded(stored[1], cell))
    own = omezarr.read_labels(run96 / "plate.zarr", "H12", 0, "nuclei_labels")
    counts = pd.read_parquet(run96 / "tables" / "nuclei.parquet").groupby("well")["label"].max()
    first = int(counts["A01"] + counts["B02"])  # ids shifted past the wells before H12
    np.testing.assert_array_equal(_cell(labels.data[0], geometry, "H12"),
                                  _padded(np.where(own > 0, own.astype(np.uint32) + first, 0),
                                          cell))
    assert _cell(image.data[0], geometry, "H12").max() > 0
    assert _cell(image.data[0], geometry, "A12").max() == 0  # not imaged: an empty cell
    level1 = _cell(image.data[1], geometry, "H12", 1)  # no stored level 1: every other pixel
    np.testing.assert_array_equal(level1, _padded(stored[0], cell)[::2, ::2])
    assert list(wells.features["well"]) == ["A01", "B02", "H12"]


def test_reopened_results_overlay_the_raw_plate(make_napari_viewer, run96, plate96):
    viewer = make_napari_viewer()
    raw = viewer.open(str(plate96), plugin="napari-hcs")
    results = viewer.open(str(run96), plugin="napari-hcs")  # the output folder
    raw_image, result_image = raw[0], results[0]
    assert result_image.name == "channel 1 (result)"
    np.testing.assert_allclose(result_image.extent.world, raw_image.extent.world)
    assert tuple(result_image.scale) == tuple(raw_image.scale)
    geometry = raw_image.data[0].pyramid.geometry
    origin = geometry.origin("H12")
    np.testing.assert_allclose(result_image.data_to_world(origin),
                               raw_image.data_to_world(origin))
    raw_wells, result_wells = raw[-1], results[-1]
    h12 = list(result_wells.features["well"]).index("H12")
    np.testing.assert_allclose(
        result_wells._data_to_world(result_wells.data[h12]),
        raw_wells._data_to_world(raw_wells.data[list(raw_wells.features["well"]).index("H12")]))


def test_reopened_output_is_whole_beside_the_raw_plate(make_napari_viewer, qtbot, run96,
                                                      plate96):
    """Measurements as features on the labels (label = pixel value) and in the Results tab,
    result channels hidden over the raw plate, one wells layer."""
    from napari_hcs.napari.docks.hcs_dock import HcsDock

    viewer = make_napari_viewer()
    dock = HcsDock(viewer)
    qtbot.addWidget(dock)
    viewer.open(str(plate96), plugin="napari-hcs")
    viewer.open(str(run96), plugin="napari-hcs")
    qtbot.wait(50)  # the duplicate wells layer leaves after its insertion
    names = [layer.name for layer in viewer.layers]
    assert names.count("wells") == 1 and "wells [1]" not in names, names
    assert not viewer.layers["channel 1 (result)"].visible
    labels = viewer.layers["nuclei"]
    qtbot.waitUntil(lambda: len(labels.features) > 0, timeout=20_000)
    features = labels.features
    table = pd.read_parquet(run96 / "tables" / "nuclei.parquet")
    assert len(features) == len(table) and features["label"].is_unique
    assert (features["label"] == features["index"]).all()
    assert {"well", "well_label", "area"} <= set(features.columns)
    geometry = session_for(viewer).geometry
    pixels = _cell(labels.data[0], geometry, "H12")
    value = int(pixels.max())
    row = features[features["label"] == value].iloc[0]
    assert row["well"] == "H12"  # the pixel value finds its own object's row
    own = omezarr.read_labels(run96 / "plate.zarr", "H12", 0, "nuclei_labels")
    area = int((own == row["well_label"]).sum())
    assert row["area"] == pytest.approx(area * 0.65 ** 2, rel=0.01) or row["area"] == area
    # The run's tables are the Results tab's measurements too.
    qtbot.waitUntil(lambda: "nuclei" in session_for(viewer).measurements, timeout=20_000)
    assert len(session_for(viewer).measurements["nuclei"]) == len(table)
    choices = [dock.tables.table_choice.itemText(i)
               for i in range(dock.tables.table_choice.count())]
    assert "nuclei" in choices and dock.tables.table.rowCount() > 0


class _Computes(Callback):
    def __init__(self):
        super().__init__()
        self.count = 0

    def _start(self, dsk):
        self.count += 1


def test_reopening_reads_no_pixels_and_works_without_the_input_plate(run96, tmp_path):
    counter = _Computes()
    with counter, dask.config.set(scheduler="sync"):
        layers = plate_zarr_layers(run96 / "plate.zarr")
    assert counter.count == 0 and len(layers) == 4
    # The input plate gone (run.json names no folder): the frame from the plate.zarr alone.
    moved = tmp_path / "plate.zarr"
    shutil.copytree(run96 / "plate.zarr", moved)
    alone = plate_zarr_layers(moved)
    stored = zarr.open_group(str(moved), mode="r")["H/12/0/0"]
    geometry = PlateGeometry.for_wells(stored.shape[-2:], 8, 12, 0.65)
    assert alone[0][0][0].shape == geometry.shape(0)
    np.testing.assert_array_equal(_cell(alone[0][0][0], geometry, "H12"),
                                  _padded(np.asarray(stored[0]), geometry.cell(0)))


def test_another_writers_plate_with_wells_of_different_sizes(tmp_path):
    from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    path = tmp_path / "other.zarr"
    root = zarr.open_group(str(path), mode="w")
    write_plate_metadata(root, ["A", "B"], ["1", "2", "3"], ["A/1", "B/3"])
    wells = {"A/1": np.arange(2 * 40 * 50, dtype=np.uint16).reshape(2, 40, 50),
             "B/3": np.full((2, 64, 30), 7, np.uint16)}
    for well, data in wells.items():
        field = root.require_group(well).require_group("0")
        write_well_metadata(root[well], ["0"])
        write_image(data, field, axes="cyx", scale_factors=(2,),
                    scale={"c": 1.0, "y": 0.5, "x": 0.5}, axes_units={"y": "micrometer",
                                                             "x": "micrometer"})
    layers = plate_zarr_layers(path)
    assert [kw["name"] for _, kw, _ in layers] == [
        "channel 1 (result)", "channel 2 (result)", "wells"]
    levels, kwargs, _ = layers[1]
    assert kwargs["scale"] == (0.5, 0.5) and kwargs["units"] == ("micrometer", "micrometer")
    geometry = PlateGeometry.for_wells((64, 50), 2, 3, 0.5)
    assert levels[0].shape == geometry.shape(0)
    a01 = _cell(levels[0], geometry, "A01")
    np.testing.assert_array_equal(a01, _padded(wells["A/1"][1], geometry.cell(0)))
    b03 = _cell(levels[0], geometry, "B03")
    assert b03[:64, :30].min() == 7 and b03[:, 30:].max() == 0  # padded lazily
    stored1 = np.asarray(root["A/1/0/s1"])[1]  # the writer's own level 1 (NGFF 0.5) is used
    np.testing.assert_array_equal(_cell(levels[1], geometry, "A01", 1),
                                  _padded(stored1, geometry.cell(1)))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_our_plates_of_either_ngff_version_reopen(tmp_path, version):
    path = tmp_path / "ours.zarr"
    omezarr.create_plate(path, ["A01", "B03"], grid=(2, 3), version=version)
    image = np.arange(2 * 40 * 50, dtype=np.uint16).reshape(2, 40, 50)
    labels = np.zeros((40, 50), np.int32)
    labels[5:9, 5:9] = 4
    for well in ("A01", "B03"):
        omezarr.write_field(path, well, 0, image, pixel_size_um=0.5, labels={"nuclei": labels},
                            channel_names=["DAPI", "GFP"],
                            storage=omezarr.Storage(chunk_size=16))
    omezarr.sync_plate(path)
    assert omezarr.plate_version(path) == version
    layers = plate_zarr_layers(path)
    assert [kw["name"] for _, kw, _ in layers][:2] == ["DAPI (result)", "GFP (result)"]
    geometry = PlateGeometry.for_wells((40, 50), 2, 3, 0.5)
    levels = layers[1][0]
    np.testing.assert_array_equal(_cell(levels[0], geometry, "B03"),
                                  _padded(image[1], geometry.cell(0)))


@pytest.mark.parametrize("dock_first", [True, False])
def test_an_opened_output_lists_its_tables(make_napari_viewer, qtbot, run96, dock_first):
    """Results > Tables lists the run's tables once its output folder is opened alone, whether
    the dock was there before or came after (read in a worker, swapped in on the GUI thread)."""
    from napari_hcs.napari.docks.hcs_dock import HcsDock

    viewer = make_napari_viewer()
    if not dock_first:
        viewer.open(str(run96), plugin="napari-hcs")
    dock = HcsDock(viewer)
    qtbot.addWidget(dock)
    if dock_first:
        viewer.open(str(run96), plugin="napari-hcs")
    expected = sorted(p.stem for p in (run96 / "tables").glob("*.parquet")
                      if p.stem != "positions")
    assert "nuclei" in expected
    choice = dock.tables.table_choice
    qtbot.waitUntil(lambda: choice.count() == len(expected), timeout=20_000)
    assert sorted(choice.itemText(i) for i in range(choice.count())) == expected
    assert not dock.tables.hint.isVisible()
    nuclei = session_for(viewer).measurements["nuclei"]
    assert len(nuclei) == len(pd.read_parquet(run96 / "tables" / "nuclei.parquet"))
    assert set(nuclei["well"]) == {"A01", "B02", "H12"}


@pytest.fixture
def profiled_two_wells(tmp_path):
    """A profiling run's output without its plate: wells A01 and B02 of a 96-well plate, each
    with nuclei, cells and cytoplasm labels (written in that order, as profile_cells does)."""
    out = tmp_path / "out"
    plate = out / "plate.zarr"
    omezarr.create_plate(plate, ["A01", "B02"], grid=(8, 12))
    yy, xx = np.mgrid[:120, :150]
    for well in ("A01", "B02"):
        nuclei = ((yy - 60) ** 2 + (xx - 75) ** 2 < 15 ** 2).astype(np.uint16)
        cells = ((yy - 60) ** 2 + (xx - 75) ** 2 < 40 ** 2).astype(np.uint16)
        image = np.stack([nuclei * 1000, cells * 500]).astype(np.uint16)
        omezarr.write_field(plate, well, 0, image, channel_names=["DAPI", "Actin"],
                            pixel_size_um=0.65,
                            labels={"nuclei_labels": nuclei, "cells_labels": cells,
                                    "cytoplasm_labels": cells * (1 - nuclei)})
    return out


def test_an_output_opened_alone_frames_its_wells_and_shows_its_nuclei(
        make_napari_viewer, qtbot, profiled_two_wells):
    """No raw plate: the view frames the run's wells (not a 96-well plate of thumbnails), and
    of the label images only the first (nuclei) is shown; cells and cytoplasm start hidden."""
    from napari_hcs.napari.docks.hcs_dock import HcsDock
    from napari_hcs.napari.results.output_canvas import output_geometry
    from napari_hcs.napari.results.output_zarr import read_output_plate

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1366, 768)
    dock = HcsDock(viewer)
    viewer.window.add_dock_widget(dock, name="napari HCS")
    qtbot.waitUntil(lambda: dock._placed, timeout=5000)
    viewer.open(str(profiled_two_wells), plugin="napari-hcs")
    assert viewer.layers["nuclei"].visible
    assert not viewer.layers["cells"].visible and not viewer.layers["cytoplasm"].visible
    geometry = output_geometry(read_output_plate(profiled_two_wells / "plate.zarr"))
    boxes = [geometry.well_box(w) for w in ("A01", "B02")]
    top, left = min(b[0] for b in boxes), min(b[1] for b in boxes)
    bottom, right = max(b[2] for b in boxes), max(b[3] for b in boxes)
    height, width = viewer.canvas.size
    fit = min(height / (bottom - top), width / (right - left))  # the wells filling the canvas
    qtbot.waitUntil(lambda: viewer.camera.zoom > 0.8 * fit, timeout=5000)
    qtbot.wait(200)
    (cy, cx), zoom = viewer.camera.center[-2:], viewer.camera.zoom
    height, width = viewer.canvas.size
    assert zoom >= 0.8 * min(height / (bottom - top), width / (right - left))
    assert cy - height / 2 / zoom <= top and bottom <= cy + height / 2 / zoom
    assert cx - width / 2 / zoom <= left and right <= cx + width / 2 / zoom
