"""Tables as a run writes them: micrometres, key columns, units in the Parquet file."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from napari_hcs.engine.executor.tables import (
    add_physical_columns,
    physical_unit,
    to_physical,
    with_keys,
    write_parquet,
)


def _nuclei() -> pd.DataFrame:
    frame = pd.DataFrame({"label": [1, 2], "area": [100.0, 50.0], "centroid_y": [10.0, 20.0],
                          "mean_DAPI": [812.0, 640.0]})
    frame.attrs["units"] = {"area": "pixel**2", "centroid_y": "pixel"}
    return frame


@pytest.mark.parametrize(("unit", "expected"), [
    ("pixel", ("micrometer", 0.5)), ("pixel**2", ("micrometer**2", 0.25)),
    ("pixels ** 3", ("micrometer**3", 0.125)), ("1/pixel", ("micrometer**-1", 2.0)),
    ("second", ("second", 1.0))])
def test_physical_units(unit, expected):
    assert physical_unit(unit, 0.5) == expected
    assert physical_unit(unit, None) == (unit, 1.0)


def test_declared_columns_become_micrometres_and_keys_come_first(tmp_path):
    table = with_keys(to_physical(_nuclei(), 0.65), plate="P1", well="B03", field=0,
                      label_image="B/3/0/labels/nuclei_labels")
    assert list(table.columns[:5]) == ["plate", "well", "field", "label_image", "label"]
    assert table.area.tolist() == pytest.approx([100 * 0.65**2, 50 * 0.65**2])
    assert table.centroid_y.tolist() == pytest.approx([6.5, 13.0])
    assert table.mean_DAPI.tolist() == [812.0, 640.0]  # intensities are not lengths
    assert table.attrs["units"] == {"area": "micrometer**2", "centroid_y": "micrometer"}
    target = tmp_path / "nuclei.parquet"
    write_parquet(table, target)
    schema = pq.read_schema(target)
    assert schema.field("area").metadata[b"unit"] == b"micrometer**2"
    assert schema.field("mean_DAPI").metadata is None
    described = json.loads(schema.metadata[b"napari_hcs"])
    assert described == {"units": {"area": "micrometer**2", "centroid_y": "micrometer"},
                         "pixel_size_um": 0.65, "label_image_column": "label_image",
                         "instance_key": "label"}
    assert pd.read_parquet(target).attrs["units"]["area"] == "micrometer**2"


def test_without_a_pixel_size_tables_stay_in_pixels_and_say_so():
    table = to_physical(_nuclei(), None)
    assert table.area.tolist() == [100.0, 50.0]
    assert table.attrs["units"] == {"area": "pixel**2", "centroid_y": "pixel"}
    keyed = with_keys(table, plate="P", well="A01", field=None, label_image=None)
    assert "label_image" not in keyed and keyed.field.isna().all()


def test_positions_keep_pixels_and_add_micrometres():
    frame = pd.DataFrame({"site": [1, 2], "y": [0.0, 230.0], "x": [0.0, 1.5]})
    frame.attrs["units"] = {"y": "pixel", "x": "pixel"}
    out = add_physical_columns(frame, 0.5)
    assert list(out.columns) == ["site", "y", "x", "y_um", "x_um"]
    assert out.y_um.tolist() == [0.0, 115.0]
    assert add_physical_columns(frame, None).columns.tolist() == ["site", "y", "x"]
