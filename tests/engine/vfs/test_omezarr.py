"""The OME-Zarr HCS writer (NGFF 0.5 sharded and 0.4), read back with ome-zarr, napari-ome-zarr
and ome-zarr-models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from napari_hcs.engine.vfs import omezarr


def attrs_of(folder):
    """A group's NGFF attributes as its files hold them (0.5: `ome` in zarr.json)."""
    if (folder / "zarr.json").is_file():
        ome = json.loads((folder / "zarr.json").read_text())["attributes"]["ome"]
        assert ome["version"] == "0.5"
        return ome
    return json.loads((folder / ".zattrs").read_text())


@pytest.fixture(params=["0.5", "0.4"])
def plate(tmp_path, request):
    root = tmp_path / "plate.zarr"
    omezarr.create_plate(root, ["B03", "A01"], name="demo", field_count=2,
                         version=request.param)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 4000, (2, 600, 520), dtype=np.uint16)
    labels = np.zeros((600, 520), np.int32)
    labels[10:40, 20:60] = 7
    for well in ("A01", "B03"):
        for field in (0, 1):
            omezarr.write_field(root, well, field, image, channel_names=["DAPI", "GFP"],
                                pixel_size_um=0.65, labels={"nuclei": labels})
    return root, image, labels


def test_layout_and_read_back(plate):
    root, image, labels = plate
    assert (root / "B" / "3" / "1" / "labels" / "nuclei").is_dir()
    np.testing.assert_array_equal(omezarr.read_field(root, "B03", 1), image)
    np.testing.assert_array_equal(omezarr.read_labels(root, "B03", 0, "nuclei"), labels)
    level1 = omezarr.read_field(root, "A01", 0, level=1)
    assert level1.shape == (2, 300, 260)  # a pyramid while the image is large
    assert omezarr.read_labels(root, "A01", 0, "nuclei", level=1).max() == 7
    assert omezarr.field_channel_names(root, "A01", 0) == ["DAPI", "GFP"]
    attrs = attrs_of(root / "A" / "1" / "0")
    axes = attrs["multiscales"][0]["axes"]
    assert [a["name"] for a in axes] == ["c", "y", "x"]
    assert attrs["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"] == [
        1.0, 0.65, 0.65]


def test_validates_with_ome_zarr_models(plate):
    root, _, _ = plate
    if omezarr.plate_version(root) == "0.5":
        from ome_zarr_models.v05.hcs import HCS
        from ome_zarr_models.v05.image import Image
    else:
        from ome_zarr_models.v04.hcs import HCS
        from ome_zarr_models.v04.image import Image
    hcs = HCS.from_zarr(zarr.open_group(str(root), mode="r"))
    meta = hcs.ome_attributes if hasattr(hcs, "ome_attributes") else hcs.attributes
    assert [w.path for w in meta.plate.wells] == ["A/1", "B/3"]
    Image.from_zarr(zarr.open_group(str(root / "B" / "3" / "0"), mode="r"))
    Image.from_zarr(zarr.open_group(str(root / "B" / "3" / "0" / "labels" / "nuclei"), mode="r"))


def test_ome_zarr_and_napari_ome_zarr_readers(plate):
    from napari_ome_zarr import napari_get_reader
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Plate, Reader

    root, image, _ = plate
    nodes = list(Reader(parse_url(str(root)))())
    assert any(isinstance(spec, Plate) for spec in nodes[0].specs)
    layers = napari_get_reader(str(root))(str(root))
    assert layers and layers[0][2] == "image"
    field = str(root / "B" / "3" / "0")
    layers = napari_get_reader(field)(field)
    kinds = [layer[2] for layer in layers]
    assert kinds == ["image", "labels"]
    np.testing.assert_array_equal(np.asarray(layers[0][0][0]), image)


def test_rewrite_is_atomic_and_sync_drops_empty_wells(tmp_path):
    root = tmp_path / "p.zarr"
    omezarr.create_plate(root, ["A01", "A02"])
    omezarr.write_field(root, "A01", 0, np.ones((1, 8, 8), np.uint8))
    # A crashed writer's temp folder is never listed as a field.
    (root / "A" / "1" / ".0.tmp-123-dead").mkdir()
    omezarr.write_field(root, "A01", 0, np.full((1, 8, 8), 2, np.uint8))
    assert omezarr.sync_plate(root) == ["A01"]
    assert omezarr.read_field(root, "A01", 0).max() == 2
    assert not any(p.name.startswith(".") for p in (root / "A" / "1").iterdir()
                   if p.is_dir())
    with pytest.raises(ValueError, match="labels 'x' have shape"):
        omezarr.write_field(root, "A01", 0, np.ones((1, 8, 8)), labels={"x": np.ones((4, 4))})
    with pytest.raises(FileNotFoundError, match="not in the plate"):
        omezarr.write_field(root, "H12", 0, np.ones((1, 8, 8)))


def test_plate_lists_every_physical_row_and_column(tmp_path):
    root = tmp_path / "p.zarr"
    omezarr.create_plate(root, ["B03", "P24"], name="screen", grid=(16, 24))
    omezarr.write_field(root, "B03", 0, np.ones((1, 8, 8), np.uint16))
    assert omezarr.sync_plate(root) == ["B03"]  # P24 wrote nothing: no longer listed
    plate = attrs_of(root)["plate"]
    assert [r["name"] for r in plate["rows"]] == [chr(ord("A") + i) for i in range(16)]
    assert [c["name"] for c in plate["columns"]] == [str(i) for i in range(1, 25)]
    assert plate["wells"] == [{"path": "B/3", "rowIndex": 1, "columnIndex": 2}]
    assert plate["acquisitions"] == [{"id": 0, "name": "screen", "maximumfieldcount": 1}]
    well = attrs_of(root / "B" / "3")["well"]
    assert well["images"] == [{"path": "0", "acquisition": 0}]


def test_labels_carry_a_colour_per_value(plate):
    root, _, labels = plate
    attrs = attrs_of(root / "A" / "1" / "0" / "labels" / "nuclei")
    colors = attrs["image-label"]["colors"]
    assert [c["label-value"] for c in colors] == [0, 7]
    assert colors[0]["rgba"] == [0, 0, 0, 0] and colors[1]["rgba"][3] == 255


def test_on_an_object_store_a_field_is_complete_once_its_metadata_is_written():
    """fsspec's in-memory store behaves as an object store: no rename, so a field is written
    in place and counts only once its group metadata (written after its arrays) exists."""
    import fsspec

    from napari_hcs.engine.vfs.location import RemoteFolder, open_folder

    root = "memory://napari-hcs-test/p.zarr"
    fs = fsspec.filesystem("memory")
    if fs.exists("/napari-hcs-test"):  # the in-memory store is global to the process
        fs.rm("/napari-hcs-test", recursive=True)
    assert isinstance(open_folder(root), RemoteFolder)
    omezarr.create_plate(root, ["A01", "B02"], version="0.5")
    image = np.arange(2 * 30 * 40, dtype=np.uint16).reshape(2, 30, 40)
    omezarr.write_field(root, "A01", 0, image, storage=omezarr.Storage(chunk_size=16))
    # An interrupted write of B02: its level array is there, its field metadata is not.
    fs.pipe_file("/napari-hcs-test/p.zarr/B/2/0/0/zarr.json", b'{"zarr_format": 3}')
    assert omezarr.sync_plate(root) == ["A01"]
    np.testing.assert_array_equal(omezarr.read_field(root, "A01", 0), image)
    omezarr.write_field(root, "A01", 1, image)
    omezarr.prune_fields(root, "A01", 1)
    assert not fs.exists("/napari-hcs-test/p.zarr/A/1/1")
    group = zarr.open_group(root, mode="r")
    assert [w["path"] for w in group.attrs["ome"]["plate"]["wells"]] == ["A/1"]
