"""A run's outputs as the OME-Zarr ecosystem reads them, on a realistic plate.

3x3 sites of 512 px per well, MetaXpress-style TIFFs whose only calibration is their MetaSeries
XML, two wells whose mosaics stitch to different sizes (1433-1440 px): the plate opens with
ome-zarr-py's Reader (every well, images and labels) and napari-ome-zarr, validates with
ome-zarr-models, carries the MetaSeries pixel size in its transforms, and its tables are in
micrometres with the keys that lead back to each row's label image. Written as NGFF 0.5 (zarr
v3, sharded: the default) and as NGFF 0.4 (`output_format="ngff-0.4"`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr

from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.executor import run_plans
from napari_hcs.engine.plate import open_plate
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.engine.vfs import omezarr
from napari_hcs.pipelines import path_of

pytestmark = pytest.mark.slow

WELLS = ("B03", "C05")
PIXEL_UM = 0.325


@pytest.fixture(scope="module", params=["ngff-0.5", "ngff-0.4"])
def run(tmp_path_factory, request) -> dict:
    from napari_hcs.engine.codegen import load_pipeline
    from napari_hcs.engine.pipeline import GlobalConfig

    base = tmp_path_factory.mktemp("realistic")
    spec = SampleSpec(wells=WELLS, grid=(3, 3), tile=(512, 512), jitter=4, seed=5,
                      pixel_size_um=PIXEL_UM)
    plate = write_sample_plate(base / "plate", "imagexpress", spec)
    reader = open_plate(plate)
    compiled = compile_pipeline(load_pipeline(path_of("stitch_segment")), reader,
                                config=GlobalConfig(output_format=request.param))
    results = []
    report = run_plans(compiled.plans, base / "out", on_result=results.append)
    assert report.all_ok, report.failed
    truth = json.loads((plate / "ground_truth.json").read_text())["wells"]
    version = request.param.removeprefix("ngff-")
    assert omezarr.plate_version(base / "out" / "plate.zarr") == version
    return {"plate": plate, "out": base / "out", "zarr": base / "out" / "plate.zarr",
            "version": version,
            "compiled": compiled, "results": {r.well: r for r in results}, "truth": truth}


def test_wells_of_different_mosaic_sizes_share_one_shape(run):
    sizes = {tuple(run["truth"][w]["mosaic_shape"]) for w in WELLS}
    assert len(sizes) == 2 and all(1430 <= s <= 1445 for size in sizes for s in size)
    shape = run["compiled"].output.field_shape
    assert shape == (512 + 922 + 40,) * 2  # nominal extent (2 x 461 px) + max_shift 40
    for level in range(3):
        shapes = {omezarr.read_field(run["zarr"], w, 0, level).shape[-2:] for w in WELLS}
        shapes |= {omezarr.read_labels(run["zarr"], w, 0, "nuclei_labels", level).shape
                   for w in WELLS}
        assert shapes == {tuple(-(-n // 2**level) for n in shape)}
    image = omezarr.read_field(run["zarr"], "C05", 0)
    assert image.dtype == np.uint16  # uint16 in, uint16 out (rounded after float steps)
    # The mosaic at the top-left (its last row and column within a pixel or two of the true
    # mosaic's), zeros after it.
    h, w = run["truth"]["C05"]["mosaic_shape"]
    last_row = np.flatnonzero(image[0].any(axis=1)).max() + 1
    last_col = np.flatnonzero(image[0].any(axis=0)).max() + 1
    assert abs(last_row - h) <= 2 and abs(last_col - w) <= 2
    assert not run["results"]["C05"].warnings


def test_ome_zarr_py_reads_every_well_image_and_labels(run):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Multiscales, Plate, Reader

    plate_node = next(iter(Reader(parse_url(str(run["zarr"])))()))
    assert any(isinstance(s, Plate) for s in plate_node.specs)
    mosaic = plate_node.data[0]  # the whole 8 x 12 plate, well by well
    fy, fx = run["compiled"].output.field_shape
    assert mosaic.shape == (2, 8 * fy, 12 * fx)
    for well in WELLS:
        row, col = ord(well[0]) - ord("A"), int(well[1:]) - 1
        tile = np.asarray(mosaic[:, row * fy:(row + 1) * fy, col * fx:(col + 1) * fx])
        np.testing.assert_array_equal(tile, omezarr.read_field(run["zarr"], well, 0))
        field = run["zarr"] / omezarr.well_path(well) / "0"
        nodes = list(Reader(parse_url(str(field)))())
        labels = [n for n in nodes if any(isinstance(s, Label) for s in n.specs)]
        assert any(isinstance(s, Multiscales) for s in nodes[0].specs) and len(labels) == 1
        np.testing.assert_array_equal(
            np.asarray(labels[0].data[0]),
            omezarr.read_labels(run["zarr"], well, 0, "nuclei_labels"))
        assert labels[0].metadata["color"][0] == [0, 0, 0, 0]  # background transparent


def _ome(model):
    """A model's NGFF attributes (0.5 nests them under `ome`)."""
    return model.ome_attributes if hasattr(model, "ome_attributes") else model.attributes


def test_validates_with_ome_zarr_models_and_lists_the_whole_plate(run):
    if run["version"] == "0.5":
        from ome_zarr_models.v05.hcs import HCS
        from ome_zarr_models.v05.image import Image
        from ome_zarr_models.v05.image_label import ImageLabel
    else:
        from ome_zarr_models.v04.hcs import HCS
        from ome_zarr_models.v04.image import Image
        from ome_zarr_models.v04.image_label import ImageLabel

    hcs = HCS.from_zarr(zarr.open_group(str(run["zarr"]), mode="r"))
    plate = _ome(hcs).plate
    assert len(plate.rows) == 8 and len(plate.columns) == 12  # every physical row, column
    assert [a.id for a in plate.acquisitions] == [0]
    assert [w.path for w in plate.wells] == ["B/3", "C/5"]
    for well in WELLS:
        field = run["zarr"] / omezarr.well_path(well) / "0"
        image = Image.from_zarr(zarr.open_group(str(field), mode="r"))
        ms = _ome(image).multiscales[0]
        assert [a.unit for a in ms.axes] == [None, "micrometer", "micrometer"]
        scales = [d.coordinateTransformations[0].scale for d in ms.datasets]
        assert scales == [[1.0, PIXEL_UM * 2**i, PIXEL_UM * 2**i] for i in range(3)]
        label = ImageLabel.from_zarr(zarr.open_group(str(field / "labels" / "nuclei_labels"),
                                                     mode="r"))
        values = {c.label_value for c in _ome(label).image_label.colors}
        present = np.unique(omezarr.read_labels(run["zarr"], well, 0, "nuclei_labels"))
        assert values == set(present.tolist())


def test_napari_ome_zarr_opens_the_plate_and_a_field(run):
    from napari_ome_zarr import napari_get_reader

    layers = napari_get_reader(str(run["zarr"]))(str(run["zarr"]))
    assert layers and layers[0][2] == "image"
    field = str(run["zarr"] / omezarr.well_path("C05") / "0")
    layers = napari_get_reader(field)(field)
    assert [layer[2] for layer in layers] == ["image", "labels"]
    np.testing.assert_array_equal(np.asarray(layers[0][0][0]),
                                  omezarr.read_field(run["zarr"], "C05", 0))


def test_tables_are_in_micrometres_and_lead_to_their_label_image(run):
    nuclei = pd.read_parquet(run["out"] / "tables" / "nuclei.parquet")
    assert list(nuclei.columns[:5]) == ["plate", "well", "field", "label_image", "label"]
    assert nuclei.attrs["units"] == {"area": "micrometer**2", "centroid_y": "micrometer",
                                     "centroid_x": "micrometer", "perimeter": "micrometer"}
    assert set(nuclei.plate) == {"plate"} and set(nuclei.field) == {0}
    row = nuclei[nuclei.well == "C05"].iloc[3]
    assert row.label_image == "C/5/0/labels/nuclei_labels"
    labels = zarr.open_array(str(run["zarr"] / row.label_image / "0"), mode="r")[...]
    ys, xs = np.nonzero(labels == row.label)
    assert row.area == pytest.approx(ys.size * PIXEL_UM**2)
    assert row.centroid_y == pytest.approx(ys.mean() * PIXEL_UM)
    assert row.centroid_x == pytest.approx(xs.mean() * PIXEL_UM)
    positions = pd.read_parquet(run["out"] / "tables" / "positions.parquet")
    assert list(positions.columns) == ["plate", "well", "field", "site", "y", "x", "y_um",
                                       "x_um"]
    np.testing.assert_allclose(positions.x_um, positions.x * PIXEL_UM)
    # Streamed results carry the same tables and the plate's pixel size.
    result = run["results"]["B03"]
    assert result.pixel_size_um == pytest.approx(PIXEL_UM)
    assert result.tables["nuclei"].attrs["units"]["area"] == "micrometer**2"


def test_calibration_came_only_from_metaseries(run):
    assert "PixelSize" not in Path(run["plate"], "Plate.HTD").read_text()
    assert open_plate(run["plate"]).layout.pixel_size_um == pytest.approx(PIXEL_UM)


#: ngio (Fractal's reader) pins pandas < 3, which this venv cannot take: it runs in a venv of its
#: own, named by NAPARI_HCS_NGIO_PYTHON (`make test` makes .venv-ngio and sets it).
_NGIO_CHECK = """
import json, sys
import ngio
plate = ngio.open_ome_zarr_plate(sys.argv[1])
out = {}
for well in sys.argv[2:]:
    image = plate.get_image(well[0], int(well[1:]), "0")
    table = image.get_table("nuclei")
    frame = table.dataframe
    out[well] = {"tables": image.list_tables(), "rows": len(frame),
                 "index": frame.index.name, "labels": sorted(map(int, frame.index))[:5],
                 "area": float(frame["area"].sum()), "units": table.meta.units,
                 "region": table.meta.region.path, "label_names": image.list_labels(),
                 "pixel": image.get_image().pixel_size.x}
print(json.dumps(out))
"""


def test_tables_live_in_each_field_as_fractal_and_ngio_keep_them(run):
    nuclei = pd.read_parquet(run["out"] / "tables" / "nuclei.parquet")
    for well in WELLS:
        field = run["zarr"] / omezarr.well_path(well) / "0"
        tables = _plain_attrs(field / "tables")
        assert "nuclei" in tables["tables"]
        attrs = _plain_attrs(field / "tables" / "nuclei")
        # What ngio 1.1 writes for a parquet-backed feature table, key for key, plus units.
        assert {k: v for k, v in attrs.items() if k not in ("measurement_columns",
                                                            "metadata_columns", "units")} == {
            "backend": "parquet", "index_key": "label", "index_type": "int",
            "table_version": "1", "type": "feature_table", "instance_key": "label",
            "region": {"path": "../labels/nuclei_labels"}, "categorical_columns": []}
        assert attrs["units"]["area"] == "micrometer**2" and "area" in attrs[
            "measurement_columns"]
        inside = pd.read_parquet(field / "tables" / "nuclei" / "table.parquet")
        pd.testing.assert_frame_equal(inside, nuclei[nuclei.well == well].reset_index(drop=True),
                                      check_dtype=False)
        assert inside.attrs["units"]["area"] == "micrometer**2"
        import pyarrow.parquet as pq  # readers without pandas' metadata: the field's `unit`

        schema = pq.read_schema(field / "tables" / "nuclei" / "table.parquet")
        assert schema.field("area").metadata[b"unit"] == b"micrometer**2"


def test_ngio_lists_and_reads_the_tables(run):
    import os
    import subprocess

    python = os.environ.get("NAPARI_HCS_NGIO_PYTHON")
    if not python:
        pytest.skip("ngio needs pandas < 3: set NAPARI_HCS_NGIO_PYTHON to a venv with ngio")
    done = subprocess.run([python, "-c", _NGIO_CHECK, str(run["zarr"]), *WELLS],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    nuclei = pd.read_parquet(run["out"] / "tables" / "nuclei.parquet")
    for well in WELLS:
        rows = nuclei[nuclei.well == well]
        assert "nuclei" in seen[well]["tables"] and seen[well]["index"] == "label"
        assert seen[well]["rows"] == len(rows) and seen[well]["region"] == (
            "../labels/nuclei_labels")
        assert seen[well]["area"] == pytest.approx(rows.area.sum())
        assert seen[well]["units"]["area"] == "micrometer**2"
        assert seen[well]["label_names"] == ["nuclei_labels"]
        assert seen[well]["pixel"] == pytest.approx(PIXEL_UM)


def _plain_attrs(folder: Path) -> dict:
    if (folder / "zarr.json").is_file():
        return json.loads((folder / "zarr.json").read_text())["attributes"]
    return json.loads((folder / ".zattrs").read_text())
