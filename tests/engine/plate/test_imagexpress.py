import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_hcs.engine.plate import ImageKey, PlateError, open_plate
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.engine.plate.imagexpress import DEFAULT_OVERLAP, OVERLAP_KEY, parse_htd
from napari_hcs.engine.plate.synthetic import synthesize_well


@pytest.fixture
def plate(plates, tmp_path) -> Path:
    """A private copy of the small ImageXpress plate, free to damage."""
    return Path(shutil.copytree(plates["imagexpress"], tmp_path / "ix"))


def test_layout(plates, small_spec):
    reader = open_plate(plates["imagexpress"])
    layout = reader.layout
    assert layout.info() == {
        "format": "imagexpress",
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
    assert layout.channel_names == {"1": "1", "2": "2"}
    assert layout.pixel_size_um == pytest.approx(0.65)
    # Positions from the tiles' MetaSeries stage positions (the generator's nominal grid).
    step = round(64 * (1 - 0.1))
    assert layout.site_positions == {1: (0, 0), 2: (0, step), 3: (step, 0), 4: (step, step)}
    assert (layout.rows, layout.columns) == (8, 12)  # the plate (YWells x XWells)
    # The one _thumb per well is on disk but is not an image of the plate.
    on_disk = list((plates["imagexpress"] / "TimePoint_1").iterdir())
    assert len(on_disk) == 2 * 4 * 2 + 2
    assert len(reader.files) == 2 * 4 * 2


@pytest.mark.parametrize(("wells", "grid"), [(("A01", "H12"), (8, 12)),
                                             (("A01", "C07", "P24"), (16, 24))])
def test_plate_grid_comes_from_ywells_xwells_not_the_site_grid(tmp_path, wells, grid):
    spec = SampleSpec(wells=wells, grid=(1, 3), tile=(32, 32), nuclei_per_tile=1.0,
                      nucleus_radius=(2.0, 3.0))
    layout = open_plate(write_sample_plate(tmp_path / "ix", "imagexpress", spec)).layout
    assert (layout.rows, layout.columns) == grid
    assert layout.wells == wells and len(layout.sites) == 3


def test_read_returns_generated_tile(plates, small_spec):
    reader = open_plate(plates["imagexpress"])
    truth = synthesize_well(small_spec, "B02")
    img = reader.read(ImageKey("B02", site=3, channel="2"))
    np.testing.assert_array_equal(img, truth.tiles[(3, "2", 1, 1)])
    assert reader.image_path(ImageKey("B02", 3, "2")).endswith("TimePoint_1/Plate_B02_s3_w2.TIF")


def test_single_site_single_wavelength_names(tmp_path, small_spec):
    spec = replace(small_spec, grid=(1, 1), channels=("DAPI",))
    root = write_sample_plate(tmp_path / "one", "imagexpress", spec)
    assert (root / "TimePoint_1" / "Plate_A01.TIF").is_file()
    layout = open_plate(root).layout
    assert layout.sites == (1,)
    assert layout.channels == ("1",)
    assert layout.channel_names == {"1": "DAPI"}
    assert open_plate(root).read(ImageKey("A01")).shape == (64, 64)


def test_guid_suffix_and_lowercase_extension(plate):
    guid = "{8C5C9B2E-1D3A-4F6B-9E7D-2A1B3C4D5E6F}"
    for f in (plate / "TimePoint_1").iterdir():
        if "_thumb" not in f.name:
            f.rename(f.with_name(f.stem + guid + ".tif"))
    reader = open_plate(plate)
    assert reader.layout.sites == (1, 2, 3, 4)
    assert reader.read(ImageKey("A01", 2, "1")).shape == (64, 64)
    assert guid in reader.image_path(ImageKey("A01", 2, "1"))


def test_z_steps_and_timepoints(tmp_path, small_spec):
    spec = replace(small_spec, wells=("C07",), z=3, timepoints=2)
    root = write_sample_plate(tmp_path / "zt", "imagexpress", spec)
    assert (root / "TimePoint_2" / "ZStep_3" / "Plate_C07_s4_w2.TIF").is_file()
    # MetaXpress puts a projection beside the ZStep folders: not a plane of the stack.
    shutil.copy(root / "TimePoint_1" / "ZStep_1" / "Plate_C07_s1_w1.TIF",
                root / "TimePoint_1" / "Plate_C07_s1_w1.TIF")
    reader = open_plate(root)
    assert reader.layout.z == (1, 2, 3)
    assert reader.layout.timepoints == (1, 2)
    truth = synthesize_well(spec, "C07")
    np.testing.assert_array_equal(
        reader.read(ImageKey("C07", 4, "2", z=3, timepoint=2)), truth.tiles[(4, "2", 3, 2)]
    )


def _edit_htd(plate: Path, old: str, new: str) -> None:
    htd = plate / "Plate.HTD"
    text = htd.read_text()
    assert old in text
    htd.write_text(text.replace(old, new))


def test_overlap_key_and_fallback(plate):
    for tif in plate.rglob("*.TIF"):  # no MetaSeries stage positions: the HTD grid decides
        tifffile.imwrite(tif, tifffile.imread(tif))
    _edit_htd(plate, f'"{OVERLAP_KEY}", 0.1', f'"{OVERLAP_KEY}", 0.25')
    assert open_plate(plate).layout.site_positions[4] == (48.0, 48.0)
    _edit_htd(plate, f'"{OVERLAP_KEY}", 0.25\n', "")
    assert OVERLAP_KEY not in parse_htd(plate / "Plate.HTD")
    step = 64 * (1 - DEFAULT_OVERLAP)
    assert open_plate(plate).layout.site_positions[4] == (step, step)


def test_htd_says_more_sites_than_files(plate):
    for f in (plate / "TimePoint_1").glob("*_s4_*"):
        f.unlink()
    with pytest.raises(PlateError, match=r"Plate\.HTD says 4 sites but the image files have 3"):
        _ = open_plate(plate).layout


def test_htd_lists_well_without_images(plate):
    for f in (plate / "TimePoint_1").glob("Plate_B02_*"):
        f.unlink()
    with pytest.raises(PlateError, match=r"Plate\.HTD lists wells B02 but .* has no images"):
        _ = open_plate(plate).layout


def test_images_for_well_the_htd_does_not_select(plate):
    for f in (plate / "TimePoint_1").glob("Plate_A01_*"):
        shutil.copy(f, f.with_name(f.name.replace("A01", "H12")))
    with pytest.raises(PlateError, match=r"Plate\.HTD does not select wells H12"):
        _ = open_plate(plate).layout


def test_htd_says_more_wavelengths(plate):
    _edit_htd(plate, '"NWavelengths", 2', '"NWavelengths", 3')
    with pytest.raises(PlateError, match="says 3 wavelengths but the image files have 2"):
        _ = open_plate(plate).layout


def test_missing_image_named_when_read(plate):
    (plate / "TimePoint_1" / "Plate_B02_s2_w1.TIF").unlink()
    reader = open_plate(plate)
    assert reader.layout.sites == (1, 2, 3, 4)  # other wells still have site 2
    expected = r"missing image .* expected .*TimePoint_1/Plate_B02_s2_w1\.TIF"
    with pytest.raises(PlateError, match=expected):
        reader.read(ImageKey("B02", 2, "1"))


def test_truncated_tiff_named(plate):
    path = plate / "TimePoint_1" / "Plate_A01_s3_w2.TIF"
    path.write_bytes(path.read_bytes()[:3000])
    reader = open_plate(plate)
    with pytest.raises(PlateError, match=r"truncated image .*Plate_A01_s3_w2\.TIF"):
        reader.read(ImageKey("A01", 3, "2"))


def test_garbage_tiff_named(plate):
    (plate / "TimePoint_1" / "Plate_A01_s1_w1.TIF").write_bytes(b"not a tiff at all")
    with pytest.raises(PlateError, match=r"unreadable image .*Plate_A01_s1_w1\.TIF"):
        _ = open_plate(plate).layout  # the first image gives shape and dtype


def test_key_outside_plate(plates):
    with pytest.raises(PlateError, match="no channel '3'"):
        open_plate(plates["imagexpress"]).read(ImageKey("A01", 1, "3"))


def test_two_htd_files(plate):
    shutil.copy(plate / "Plate.HTD", plate / "Other.HTD")
    with pytest.raises(PlateError, match="several .HTD files"):
        _ = open_plate(plate).layout


def test_htd_without_images(tmp_path):
    (tmp_path / "Empty.HTD").write_text('"HTSInfoFile", Version 1.0\r\n"EndFile"\r\n')
    with pytest.raises(PlateError, match="no ImageXpress images"):
        _ = open_plate(tmp_path).layout
