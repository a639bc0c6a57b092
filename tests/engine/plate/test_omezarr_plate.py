import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import zarr
from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

from napari_hcs.engine.plate import ImageKey, PlateError, detect_format, open_plate
from napari_hcs.engine.plate.generator import write_sample_plate
from napari_hcs.engine.plate.synthetic import synthesize_well


def test_layout_of_generated_plate(plates):
    reader = open_plate(plates["zarr"])
    assert reader.layout.info() == {
        "format": "zarr",
        "wells": ["A01", "B02"],
        "sites": [1, 2, 3, 4],
        "channels": ["1", "2"],
        "z": [1],
        "timepoints": [1],
        "shape": [64, 64],
        "dtype": "uint16",
        "rows": 8,
        "columns": 12,
        "pixel_size_um": 0.65,
        "channel_names": {"1": "1", "2": "2"},
    }
    assert reader.layout.pixel_size_um == pytest.approx(0.65)
    # The generator records nominal stage positions as NGFF translations.
    step = round(64 * 0.9)
    expected = {1: (0, 0), 2: (0, step), 3: (step, 0), 4: (step, step)}
    for positions in (reader.site_positions("B02"), reader.layout.site_positions):
        assert {s: tuple(round(v, 6) for v in p) for s, p in positions.items()} == expected


def test_read_returns_generated_tile(plates, small_spec):
    reader = open_plate(plates["zarr"])
    truth = synthesize_well(small_spec, "B02")
    np.testing.assert_array_equal(reader.read(ImageKey("B02", 2, "2")), truth.tiles[(2, "2", 1, 1)])


def test_z_stack(tmp_path, small_spec):
    spec = replace(small_spec, wells=("A03",), z=3)
    reader = open_plate(write_sample_plate(tmp_path / "z.zarr", "zarr", spec))
    assert reader.layout.z == (1, 2, 3)
    truth = synthesize_well(spec, "A03")
    np.testing.assert_array_equal(
        reader.read(ImageKey("A03", 4, "1", z=3)), truth.tiles[(4, "1", 3, 1)]
    )


def _ome_zarr_plate(root: Path, data: np.ndarray) -> None:
    """A plate written by ome-zarr-py itself (NGFF 0.5, zarr v3), t/c/z/y/x, two fields."""
    group = zarr.open_group(str(root), mode="w")
    write_plate_metadata(group, ["A", "B"], ["1", "2", "3"], ["B/3"], field_count=2)
    well = group.require_group("B/3")
    write_well_metadata(well, [{"path": "0"}, {"path": "1"}])
    for field in range(2):
        image = well.require_group(str(field))
        write_image(data + field, image, axes="tczyx", scale_factors=[])
        # ome-zarr-py 0.18 drops `omero` passed to write_image: add it as NGFF 0.5 places it.
        ome = dict(image.attrs["ome"])
        ome["omero"] = {"channels": [{"label": "DAPI", "color": "0000FF"},
                                     {"label": "GFP", "color": "00FF00"}]}
        image.attrs["ome"] = ome


def test_plate_written_by_ome_zarr_py(tmp_path):
    data = np.arange(2 * 2 * 3 * 16 * 24, dtype=np.uint16).reshape(2, 2, 3, 16, 24)
    root = tmp_path / "other.zarr"
    _ome_zarr_plate(root, data)
    assert detect_format(root) == "zarr"
    reader = open_plate(root)
    layout = reader.layout
    assert layout.info() == {
        "format": "zarr",
        "wells": ["B03"],
        "sites": [1, 2],
        "channels": ["1", "2"],
        "z": [1, 2, 3],
        "timepoints": [1, 2],
        "shape": [16, 24],
        "dtype": "uint16",
        "rows": 2,  # as many as the plate metadata lists
        "columns": 3,
        "pixel_size_um": None,  # no scale in this plate's metadata
        "channel_names": {"1": "DAPI", "2": "GFP"},
    }
    assert layout.channel_names == {"1": "DAPI", "2": "GFP"}
    plane = reader.read(ImageKey("B03", site=2, channel="2", z=3, timepoint=2))
    np.testing.assert_array_equal(plane, data[1, 1, 2] + 1)


@pytest.mark.parametrize("version", ["0.5", "0.4"])
def test_our_plates_of_either_version_read_back(tmp_path, version):
    from napari_hcs.engine.vfs import omezarr

    root = tmp_path / "ours.zarr"
    omezarr.create_plate(root, ["C04"], version=version)
    image = np.arange(2 * 40 * 50, dtype=np.uint16).reshape(2, 40, 50)
    omezarr.write_field(root, "C04", 0, image, channel_names=["DAPI", "GFP"],
                        pixel_size_um=0.5, storage=omezarr.Storage(chunk_size=16))
    omezarr.sync_plate(root)
    assert omezarr.plate_version(root) == version
    reader = open_plate(root)
    assert reader.layout.wells == ("C04",) and reader.layout.pixel_size_um == 0.5
    assert reader.layout.channel_names == {"1": "DAPI", "2": "GFP"}
    np.testing.assert_array_equal(reader.read(ImageKey("C04", 1, "2")), image[1])


def test_missing_field_named(plates, tmp_path):
    root = Path(shutil.copytree(plates["zarr"], tmp_path / "p.zarr"))
    shutil.rmtree(root / "B" / "2" / "3")
    reader = open_plate(root)
    with pytest.raises(PlateError, match=r"missing image: .*B/2/3 has no OME-Zarr multiscales"):
        reader.read(ImageKey("B02", 4, "1"))


def test_corrupt_chunk_named(plates, tmp_path):
    root = Path(shutil.copytree(plates["zarr"], tmp_path / "p.zarr"))
    chunks = [p for p in (root / "A" / "1" / "0" / "0").rglob("*") if p.is_file()
              and not p.name.startswith(".") and p.name != "zarr.json"]
    assert chunks
    for chunk in chunks:
        chunk.write_bytes(b"\x00garbage")
    with pytest.raises(PlateError, match=r"unreadable image .*A/1/0/0"):
        open_plate(root).read(ImageKey("A01", 1, "1"))


def test_group_without_plate_metadata_is_not_a_plate(tmp_path):
    zarr.open_group(str(tmp_path / "img.zarr"), mode="w")
    with pytest.raises(PlateError, match="not a known plate"):
        open_plate(tmp_path / "img.zarr")


@pytest.mark.parametrize(("unit", "scale", "expected"), [
    ("micrometer", 0.65, 0.65), ("nanometer", 325.0, 0.325), ("millimeter", 0.0005, 0.5),
    (None, 0.65, 0.65), (None, 1.0, None), ("second", 2.0, None)])
def test_pixel_size_from_transforms_and_axis_units(unit, scale, expected):
    from napari_hcs.engine.plate.omezarr import pixel_size_um

    axes = [{"name": "c", "type": "channel"}, {"name": "y", "type": "space"},
            {"name": "x", "type": "space", **({"unit": unit} if unit else {})}]
    found = pixel_size_um({"axes": axes}, {"c": 1.0, "y": scale, "x": scale})
    assert found == (pytest.approx(expected) if expected else None)
