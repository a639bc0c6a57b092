"""Groups written without zarr read back through zarr, attributes and nesting included."""

from __future__ import annotations

import json

import zarr

from napari_hcs.engine.vfs.disk_group import DiskGroup


def test_groups_and_attributes_read_back_through_zarr(tmp_path):
    root = DiskGroup.open(tmp_path / "p.zarr")
    root.attrs["plate"] = {"name": "p"}
    well = root.require_group("B/3")  # every level a group, as zarr makes them
    well.attrs.update({"well": {"images": [{"path": "0"}]}})
    assert "well" in well.attrs and "plate" not in well.attrs
    again = zarr.open_group(str(tmp_path / "p.zarr"), mode="r", zarr_format=2)
    assert again.attrs["plate"] == {"name": "p"}
    assert again["B"]["3"].attrs["well"]["images"][0]["path"] == "0"
    assert root["B/3"].attrs["well"] == well.attrs["well"] and "B/3" in root
    assert json.loads((tmp_path / "p.zarr" / "B" / ".zgroup").read_text())["zarr_format"] == 2
    fresh = DiskGroup.open(tmp_path / "p.zarr", "w")  # replaced
    assert "plate" not in fresh.attrs and not (tmp_path / "p.zarr" / "B").exists()
