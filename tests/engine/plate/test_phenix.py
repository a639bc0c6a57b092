import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from napari_hcs.engine.plate import ImageKey, PlateError, detect_format, open_plate
from napari_hcs.engine.plate.generator import write_sample_plate
from napari_hcs.engine.plate.synthetic import synthesize_well


@pytest.fixture
def plate(plates, tmp_path) -> Path:
    return Path(shutil.copytree(plates["phenix"], tmp_path / "px"))


def test_layout(plates):
    reader = open_plate(plates["phenix"])
    assert reader.layout.info() == {
        "format": "phenix",
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
    assert reader.layout.channel_names == {"1": "1", "2": "2"}
    assert reader.layout.pixel_size_um == pytest.approx(0.65)


def test_positions_are_pixels_with_y_down(plates):
    root = plates["phenix"]
    truth = json.loads((root / "ground_truth.json").read_text())["wells"]["B02"]
    positions = open_plate(root).site_positions("B02")
    for site, (y, x) in truth["nominal_positions"].items():
        assert positions[int(site)] == pytest.approx((y, x), abs=1e-3)
    # In the XML the lower tile (site 3) has the *smaller* stage Y: Harmony's Y points up.
    ys = {}
    for image in ET.parse(root / "Images" / "Index.idx.xml").getroot().iter():
        fields = {c.tag.rsplit("}", 1)[-1]: c.text for c in image}
        if image.tag.endswith("Image") and fields.get("Row") == "2":
            ys[int(fields["FieldID"])] = float(fields["PositionY"])
    assert ys[3] < ys[1]
    assert positions[3][0] > 0


def test_read_returns_generated_tile(plates, small_spec):
    reader = open_plate(plates["phenix"])
    truth = synthesize_well(small_spec, "A01")
    np.testing.assert_array_equal(reader.read(ImageKey("A01", 4, "1")), truth.tiles[(4, "1", 1, 1)])
    path = reader.image_path(ImageKey("A01", 4, "1"))
    assert path.endswith("Images/r01c01f04p01-ch1sk1fk1fl1.tiff")


def test_operetta_index_name(plate):
    (plate / "Images" / "Index.idx.xml").rename(plate / "Images" / "Index.xml")
    assert detect_format(plate) == "phenix"
    assert open_plate(plate).read(ImageKey("B02", 2, "2")).shape == (64, 64)


def test_planes_and_timepoints(tmp_path, small_spec):
    spec = replace(small_spec, wells=("D05",), z=2, timepoints=2, channels=("DAPI", "Actin"))
    root = write_sample_plate(tmp_path / "zt", "phenix", spec)
    assert (root / "Images" / "r04c05f01p02-ch2sk2fk1fl1.tiff").is_file()
    reader = open_plate(root)
    assert reader.layout.z == (1, 2)
    assert reader.layout.timepoints == (1, 2)  # TimepointID 0, 1 in the XML
    assert reader.layout.channel_names == {"1": "DAPI", "2": "Actin"}
    truth = synthesize_well(spec, "D05")
    np.testing.assert_array_equal(
        reader.read(ImageKey("D05", 1, "2", z=2, timepoint=2)), truth.tiles[(1, "Actin", 2, 2)]
    )


def test_missing_image_named_when_read(plate):
    (plate / "Images" / "r02c02f03p01-ch2sk1fk1fl1.tiff").unlink()
    reader = open_plate(plate)
    assert reader.layout.sites == (1, 2, 3, 4)
    with pytest.raises(PlateError, match=r"missing image .*r02c02f03p01-ch2sk1fk1fl1\.tiff"):
        reader.read(ImageKey("B02", 3, "2"))


def test_truncated_image_named(plate):
    path = plate / "Images" / "r01c01f02p01-ch1sk1fk1fl1.tiff"
    path.write_bytes(path.read_bytes()[:4000])
    with pytest.raises(PlateError, match=r"truncated image .*r01c01f02p01-ch1sk1fk1fl1\.tiff"):
        open_plate(plate).read(ImageKey("A01", 2, "1"))


def test_broken_index_named(plate):
    index = plate / "Images" / "Index.idx.xml"
    index.write_text(index.read_text()[:500])
    with pytest.raises(PlateError, match=r"cannot parse Harmony index .*Index\.idx\.xml"):
        _ = open_plate(plate).layout


def test_index_without_images(tmp_path):
    (tmp_path / "Images").mkdir()
    (tmp_path / "Images" / "Index.idx.xml").write_text("<EvaluationInputData/>")
    with pytest.raises(PlateError, match="lists no images"):
        _ = open_plate(tmp_path).layout


def _with_plate_size(plate: Path, rows: str, columns: str) -> Path:
    index = plate / "Images" / "Index.idx.xml"
    text = index.read_text()
    start, end = text.index("<PlateRows>"), text.index("</PlateColumns>") + len("</PlateColumns>")
    index.write_text(text[:start] + f"<PlateRows>{rows}</PlateRows><PlateColumns>{columns}"
                     "</PlateColumns>" + text[end:])
    return plate


def test_the_plate_size_comes_from_the_index(plate):
    assert (open_plate(plate).layout.rows, open_plate(plate).layout.columns) == (8, 12)
    layout = open_plate(_with_plate_size(plate, "16", "24")).layout
    assert (layout.rows, layout.columns) == (16, 24)  # a 384-well plate with two wells imaged


def test_an_index_without_a_plate_size_leaves_it_open(plate):
    index = plate / "Images" / "Index.idx.xml"
    text = index.read_text()
    start, end = text.index("<PlateRows>"), text.index("</PlateColumns>") + len("</PlateColumns>")
    index.write_text(text[:start] + text[end:])
    layout = open_plate(plate).layout
    assert (layout.rows, layout.columns) == (None, None)


@pytest.mark.parametrize(("rows", "columns", "message"), [
    ("1", "12", r"lists well B02, outside its plate of <PlateRows> 1 x <PlateColumns> 12"),
    ("2e9", "12", r"<PlateRows> is '2e9', not a whole number"),
    ("8", "100000", r"<PlateColumns> is 100000, outside 1\.\.72"),
])
def test_a_plate_size_that_contradicts_the_wells_or_the_bounds_is_named(plate, rows, columns,
                                                                        message):
    with pytest.raises(PlateError, match=message):
        _ = open_plate(_with_plate_size(plate, rows, columns)).layout
