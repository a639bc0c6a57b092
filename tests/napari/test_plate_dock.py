"""The Plate dock in a real viewer: well grid, click -> lazy layers, colours."""

from __future__ import annotations

import pandas as pd
from qtpy.QtCore import Qt

from napari_hcs.napari._qt.plate_dock import PlateDock
from napari_hcs.napari._qt.well_grid import ABSENT, STATE_COLOURS
from napari_hcs.napari.session import session_for


def test_clicking_a_well_loads_its_sites(make_napari_viewer, qtbot, tiff_plate):
    viewer = make_napari_viewer()
    dock = PlateDock(viewer)
    qtbot.addWidget(dock)
    session_for(viewer).set_plate(tiff_plate)
    assert set(dock.grid.buttons) == {f"{r}{c:02d}" for r in "AB" for c in (1, 2, 3)}
    assert dock.grid.buttons["A01"].isEnabled() and not dock.grid.buttons["A02"].isEnabled()
    assert dock.grid.colour("A02") == ABSENT

    qtbot.mouseClick(dock.grid.buttons["A01"], Qt.MouseButton.LeftButton)
    assert len(viewer.layers) == 8
    assert tuple(viewer.layers["A01 s4 2 (GFP)"].translate) == (28.0, 36.0)
    assert session_for(viewer).well == "A01"

    dock.stitched.setChecked(True)
    qtbot.mouseClick(dock.grid.buttons["B02"], Qt.MouseButton.LeftButton)
    assert [ly.name for ly in viewer.layers] == ["B02 1 (DAPI)", "B02 2 (GFP)"]
    assert viewer.layers[0].data.shape == (60, 76)


def test_wells_are_coloured_by_state_then_by_measurement(make_napari_viewer, qtbot, tiff_plate):
    viewer = make_napari_viewer()
    dock = PlateDock(viewer)
    qtbot.addWidget(dock)
    session = session_for(viewer)
    session.set_plate(tiff_plate)
    session.set_well_state("A01", "running")
    assert dock.grid.colour("A01") == STATE_COLOURS["running"]
    session.set_well_state("A01", "ok")
    assert dock.grid.colour("A01") == STATE_COLOURS["ok"]

    session.add_table("nuclei", "A01", pd.DataFrame({"label": [1, 2], "area": [10.0, 30.0]}))
    session.add_table("nuclei", "B02", pd.DataFrame({"label": [1], "area": [50.0]}))
    items = [dock.colour_by.itemText(i) for i in range(dock.colour_by.count())]
    assert items == ["run status", "nuclei: count", "nuclei: area (mean)"]
    dock.colour_by.setCurrentText("nuclei: area (mean)")
    assert dock.grid.colour("A01") != dock.grid.colour("B02")
    assert "20" in dock.grid.buttons["A01"].toolTip()
