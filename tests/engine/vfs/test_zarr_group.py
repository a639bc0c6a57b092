"""Groups written without zarr read back through zarr, attributes and nesting included, in
zarr v2 (NGFF 0.4 attributes at the top) and v3 (NGFF 0.5 under `ome`, with its version)."""

from __future__ import annotations

import json

import pytest
import zarr

from napari_hcs.engine.vfs.zarr_group import Group


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_groups_and_attributes_read_back_through_zarr(tmp_path, zarr_format):
    root = Group.open(tmp_path / "p.zarr", zarr_format=zarr_format)
    root.attrs["plate"] = {"name": "p"}
    well = root.require_group("B/3")  # every level a group, as zarr makes them
    well.attrs.update({"well": {"images": [{"path": "0"}]}})
    assert "well" in well.attrs and "plate" not in well.attrs
    again = zarr.open_group(str(tmp_path / "p.zarr"), mode="r", zarr_format=zarr_format)
    attrs = dict(again.attrs) if zarr_format == 2 else again.attrs["ome"]
    assert attrs["plate"] == {"name": "p"}
    if zarr_format == 3:
        assert attrs["version"] == "0.5" and again["B"]["3"].attrs["ome"]["version"] == "0.5"
    well_attrs = again["B"]["3"].attrs
    well_attrs = well_attrs["ome"] if zarr_format == 3 else well_attrs
    assert well_attrs["well"]["images"][0]["path"] == "0"
    assert root["B/3"].attrs["well"] == well.attrs["well"] and "B/3" in root
    marker = ".zgroup" if zarr_format == 2 else "zarr.json"
    assert json.loads((tmp_path / "p.zarr" / "B" / marker).read_text())["zarr_format"] == (
        zarr_format)
    assert Group.open(tmp_path / "p.zarr").zarr_format == zarr_format  # its own format
    with pytest.raises(ValueError, match="zarr v"):
        Group.open(tmp_path / "p.zarr", zarr_format=5 - zarr_format)
    fresh = Group.open(tmp_path / "p.zarr", "w", zarr_format=zarr_format)  # replaced
    assert "plate" not in fresh.attrs and not (tmp_path / "p.zarr" / "B").exists()
