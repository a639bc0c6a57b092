"""Calibration and stage positions from the MetaSeries XML in MetaXpress TIFFs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_hcs.engine.plate import open_plate
from napari_hcs.engine.plate.tiff import metaseries_plane

# As MetaXpress writes it (CRLF, top-level props, PlaneInfo, SetInfo), abridged.
XML = ('<MetaData>\r\n<prop id="Description" type="string" value=""/>\r\n'
       '<prop id="ApplicationName" type="string" value="MetaXpress"/>\r\n'
       '<prop id="ApplicationVersion" type="string" value="6.7.2.290"/>\r\n<PlaneInfo>\r\n'
       '<prop id="plane-type" type="string" value="plane"/>\r\n'
       '<prop id="pixel-size-x" type="int" value="2160"/>\r\n'
       '<prop id="spatial-calibration-state" type="bool" value="{state}"/>\r\n'
       '<prop id="spatial-calibration-x" type="float" value="{px}"/>\r\n'
       '<prop id="spatial-calibration-y" type="float" value="{px}"/>\r\n'
       '<prop id="spatial-calibration-units" type="string" value="{unit}"/>\r\n'
       '<prop id="stage-position-x" type="float" value="{x}"/>\r\n'
       '<prop id="stage-position-y" type="float" value="{y}"/>\r\n'
       '<prop id="acquisition-time-local" type="time" value="20240816 09:49:42.978"/>\r\n'
       '</PlaneInfo>\r\n<SetInfo>\r\n<prop id="number-of-planes" type="int" value="1"/>\r\n'
       '</SetInfo>\r\n</MetaData>')


def _write(path: Path, *, px="0.3225", unit="um", state="on", x="14380.5", y="11240.25",
           software="MetaSeries") -> Path:
    xml = XML.format(px=px, unit=unit, state=state, x=x, y=y)
    tifffile.imwrite(path, np.zeros((8, 8), np.uint16), description=xml, software=software,
                     metadata=None)
    return path


def test_calibration_and_stage_position(tmp_path):
    plane = metaseries_plane(_write(tmp_path / "a.tif"))
    assert plane.pixel_size_um == pytest.approx(0.3225)
    assert plane.stage_um == (11240.25, 14380.5)


@pytest.mark.parametrize(("unit", "px", "expected"), [
    ("nm", "650", 0.65), ("Microns", "0.65", 0.65), ("mm", "0.00065", 0.65),
    ("pixels", "1", None), ("um", "0", None), ("um", "nan", None)])
def test_units_and_uncalibrated_planes(tmp_path, unit, px, expected):
    plane = metaseries_plane(_write(tmp_path / "a.tif", unit=unit, px=px))
    assert plane.pixel_size_um == (pytest.approx(expected) if expected else None)


def test_calibration_off_other_software_and_plain_tiffs(tmp_path):
    assert metaseries_plane(_write(tmp_path / "off.tif", state="off")).pixel_size_um is None
    # A MetaSeries description written by software other than MetaSeries still counts.
    other = metaseries_plane(_write(tmp_path / "o.tif", software="MetaXpress"))
    assert other.pixel_size_um == pytest.approx(0.3225)
    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((4, 4), np.uint8))
    assert metaseries_plane(tmp_path / "plain.tif") is None
    tifffile.imwrite(tmp_path / "bad.tif", np.zeros((4, 4), np.uint8),
                     description="<MetaData><PlaneInfo><prop id=", metadata=None)
    assert metaseries_plane(tmp_path / "bad.tif") is None


def test_plate_calibrated_only_by_metaseries(plates, small_spec):
    """The generator writes what MetaXpress writes: no pixel size in the HTD, MetaSeries XML
    in every TIFF, whose stage positions give the sites' positions."""
    root = plates["imagexpress"]
    assert "PixelSize" not in (root / "Plate.HTD").read_text()
    layout = open_plate(root).layout
    assert layout.pixel_size_um == pytest.approx(small_spec.pixel_size_um)
    truth = json.loads((root / "ground_truth.json").read_text())["wells"]["A01"]
    nominal = {int(s): tuple(map(float, p)) for s, p in truth["nominal_positions"].items()}
    assert layout.site_positions == nominal


def test_stage_axis_pointing_up_is_flipped(plates, tmp_path):
    """Stages differ in which way y grows; the HTD's site grid (site 1 top-left) decides."""
    root = Path(shutil.copytree(plates["imagexpress"], tmp_path / "ix"))
    for tif in (t for t in root.rglob("*.TIF") if "thumb" not in t.name):
        plane, data = metaseries_plane(tif), tifffile.imread(tif)
        xml = XML.format(px="0.65", unit="um", state="on", x=plane.stage_um[1],
                         y=-plane.stage_um[0])
        tifffile.imwrite(tif, data, description=xml, software="MetaSeries", metadata=None)
    layout = open_plate(root).layout
    assert layout.site_positions == {1: (0, 0), 2: (0, 58), 3: (58, 0), 4: (58, 58)}


def test_missing_or_identical_stage_positions_fall_back_to_the_grid(plates, tmp_path):
    root = Path(shutil.copytree(plates["imagexpress"], tmp_path / "ix"))
    for tif in root.rglob("*.TIF"):  # every site at one stage position
        data = tifffile.imread(tif)
        tifffile.imwrite(tif, data, description=XML.format(px="0.65", unit="um", state="on",
                                                            x="100", y="200"),
                         software="MetaSeries", metadata=None)
    layout = open_plate(root).layout
    assert layout.pixel_size_um == pytest.approx(0.65)
    step = 64 * (1 - 0.1)  # the HTD's overlap key: the grid, not the stage
    assert layout.site_positions[4] == (step, step)
