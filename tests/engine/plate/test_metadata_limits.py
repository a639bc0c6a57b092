"""Absurd or self-contradicting plate metadata fails at once, naming the file and the key
(`engine/plate/limits.py`); values real instruments write still open."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tifffile

from napari_hcs.engine.plate import PlateError, open_plate
from napari_hcs.engine.plate.imagexpress import MAX_HTD_BYTES
from napari_hcs.engine.plate.limits import count


def _copy(plates, name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(plates[name], tmp_path / name))


def _set_htd(plate: Path, key: str, value: str) -> Path:
    htd = plate / "Plate.HTD"
    lines = [line for line in htd.read_text().splitlines() if not line.startswith(f'"{key}"')]
    htd.write_text("\n".join([*lines[:-1], f'"{key}", {value}', lines[-1]]) + "\n")
    return htd


def test_count_accepts_whole_numbers_in_range_only():
    assert count(3, "K", "f", 10) == 3 and count(2.0, "K", "f", 10) == 2
    assert count(" 7 ", "K", "f", 10) == 7 and count(0, "K", "f", 10, minimum=0) == 0
    for bad in (True, 2.5, "x", None, [3]):
        with pytest.raises(PlateError, match="f: K is .*not a whole number"):
            count(bad, "K", "f", 10)
    with pytest.raises(PlateError, match=r"f: K is 11, outside 1\.\.10"):
        count(11, "K", "f", 10)


@pytest.mark.parametrize("key,value,message", [
    ("XSites", "100000", r"XSites is 100000, outside 1\.\.10000"),
    ("NWavelengths", "2e8", r"NWavelengths is 200000000, outside 1\.\.100"),
    ("YWells", "2e9", r"YWells is 2000000000, outside 1\.\.48"),
    ("ZSteps", "0", r"ZSteps is 0, outside 1\.\.10000"),
    ("napari-hcs:Overlap", "1.5", r"napari-hcs:Overlap is 1\.5; expected a fraction"),
])
def test_absurd_htd_values(plates, tmp_path, key, value, message):
    plate = _copy(plates, "imagexpress", tmp_path)
    if key == "ZSteps":
        _set_htd(plate, "ZSeries", "TRUE")
    htd = _set_htd(plate, key, value)
    with pytest.raises(PlateError, match=f"{htd}: {message}"):
        _ = open_plate(plate).layout


def test_htd_grid_of_too_many_sites_and_oversized_rows(plates, tmp_path):
    plate = _copy(plates, "imagexpress", tmp_path)
    _set_htd(plate, "XSites", "200")
    _set_htd(plate, "YSites", "200")
    with pytest.raises(PlateError, match=r"XSites x YSites is 200 x 200, more than 10000"):
        _ = open_plate(plate).layout
    plate = _copy(plates, "imagexpress", tmp_path / "b")
    _set_htd(plate, "WellsSelection1", ", ".join(["FALSE"] * 13))
    with pytest.raises(PlateError, match=r"WellsSelection1 has 13 columns, more than XWells"):
        _ = open_plate(plate).layout


def test_an_oversized_htd_is_not_read(plates, tmp_path):
    plate = _copy(plates, "imagexpress", tmp_path)
    with (plate / "Plate.HTD").open("a") as f:
        f.write(" " * MAX_HTD_BYTES)
    with pytest.raises(PlateError, match="too large for an ImageXpress HTD"):
        _ = open_plate(plate).layout


def test_a_tiff_header_claiming_a_giant_image_is_refused(plates, tmp_path):
    plate = _copy(plates, "imagexpress", tmp_path)
    first = sorted((plate / "TimePoint_1").glob("*.TIF"))[0]
    with tifffile.TiffWriter(first) as tif:  # a header that says 70000 x 16 (data is small)
        tif.write(shape=(70000, 16), dtype="uint8")
    with pytest.raises(PlateError, match=r"image size \(70000, 16\) is not a 2-D image of "
                                         r"1\.\.65536 pixels per side"):
        _ = open_plate(plate).layout


def test_phenix_sizes_that_disagree_with_each_other_or_the_files(plates, tmp_path):
    plate = _copy(plates, "phenix", tmp_path)
    index = plate / "Images" / "Index.idx.xml"
    text = index.read_text()
    index.write_text(text.replace("<ImageSizeX>64</ImageSizeX>", "<ImageSizeX>65</ImageSizeX>", 1))
    with pytest.raises(PlateError, match=r"lists images of several sizes \(64 x 64, 64 x 65\)"):
        _ = open_plate(plate).layout
    index.write_text(text.replace("<ImageSizeX>64</ImageSizeX>", "<ImageSizeX>32</ImageSizeX>"))
    with pytest.raises(PlateError, match=r"ImageSizeY x ImageSizeX = 64 x 32, but .*\.tiff is "
                                         r"64 x 64 pixels"):
        _ = open_plate(plate).layout


@pytest.mark.parametrize("tag,value,message", [
    ("Row", "100", r"<Row> is 100, outside 1\.\.48"),
    ("ChannelID", "0", r"<ChannelID> is 0, outside 1\.\.100"),
    ("PlaneID", "x", r"<PlaneID> is 'x', not a whole number"),
    ("TimepointID", "99999", r"<TimepointID> is 99999, outside 0\.\.9999"),
    ("ImageSizeY", "100000", r"<ImageSizeY> is 100000, outside 1\.\.65536"),
])
def test_absurd_phenix_values(plates, tmp_path, tag, value, message):
    plate = _copy(plates, "phenix", tmp_path)
    index = plate / "Images" / "Index.idx.xml"
    text = index.read_text()
    start = text.index(f"<{tag}>", text.index("<Images>"))
    end = text.index(f"</{tag}>", start)
    index.write_text(text[:start] + f"<{tag}>{value}" + text[end:])
    with pytest.raises(PlateError, match=f"{index}: image .*: {message}"):
        _ = open_plate(plate).layout


def test_absurd_ome_zarr_metadata(plates, tmp_path):
    plate = _copy(plates, "zarr", tmp_path)  # NGFF 0.5: zarr.json, the plate under "ome"
    attrs = json.loads((plate / "zarr.json").read_text())
    broken = json.loads(json.dumps(attrs))
    broken["attributes"]["ome"]["plate"]["wells"][0]["path"] = "A1"
    (plate / "zarr.json").write_text(json.dumps(broken))
    with pytest.raises(PlateError, match=r"wells\[0\]\.path is 'A1'; expected ROW/COLUMN"):
        _ = open_plate(plate).layout
    (plate / "zarr.json").write_text(json.dumps(attrs))
    array = plate / "A" / "1" / "0" / "0" / "zarr.json"
    meta = json.loads(array.read_text())
    meta["shape"] = [500, *meta["shape"][1:]]  # claims 500 channels (metadata only)
    array.write_text(json.dumps(meta))
    with pytest.raises(PlateError, match=r"size of axis c is 500, outside 1\.\.100"):
        _ = open_plate(plate).layout
