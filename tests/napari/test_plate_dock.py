"""The Plate dock in a real viewer on a 96-well plate: the grid, a click takes the camera to
the well, double-click on the canvas, colours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import Qt

from napari_hcs.napari.docks.plate_dock import PlateDock
from napari_hcs.napari.docks.well_grid import ABSENT, PRESENT, STATE_COLOURS
from napari_hcs.napari.plate_view.layers import WELLS_LAYER
from napari_hcs.napari.plate_view.well_colours import register_colouring
from napari_hcs.napari.session import session_for


@pytest.fixture
def plate_view(make_napari_viewer, qtbot, plate96):
    viewer = make_napari_viewer()
    dock = PlateDock(viewer)
    qtbot.addWidget(dock)
    viewer.open(str(plate96), plugin="napari-hcs")
    return viewer, dock


def _camera_in(viewer, box) -> bool:
    top, left, bottom, right = box
    y, x = viewer.camera.center[-2:]
    return top <= y <= bottom and left <= x <= right


def test_the_grid_is_the_plates_and_h12_goes_to_h12(plate_view, qtbot):
    viewer, dock = plate_view
    session = session_for(viewer)
    assert (dock.grid._layout.rowCount() - 1, dock.grid._layout.columnCount() - 1) == (8, 12)
    assert len(dock.grid.buttons) == 96
    assert dock.grid.buttons["H12"].isEnabled() and not dock.grid.buttons["H11"].isEnabled()
    assert dock.grid.colour("H11") == ABSENT and dock.grid.colour("H12") == PRESENT
    names = [layer.name for layer in viewer.layers]
    assert names == ["channel 1", "channel 2", WELLS_LAYER]  # one layer per channel, no slider
    assert viewer.dims.ndim == 2

    qtbot.mouseClick(dock.grid.buttons["H12"], Qt.MouseButton.LeftButton)
    assert session.well == "H12" and dock.grid.selected == "H12"
    assert [layer.name for layer in viewer.layers] == names  # nothing added or removed
    box = session.geometry.well_box("H12")
    qtbot.waitUntil(lambda: _camera_in(viewer, box), timeout=5000)  # once its pixels are read
    # The camera shows the whole well and not much more.
    shown = min(viewer.canvas.size) / viewer.camera.zoom
    assert (box[2] - box[0]) <= shown <= 2 * (box[2] - box[0])
    # H12's pixels arrive in the background and are where the camera looks.
    raw = viewer.layers["channel 1"]
    y, x = (int(v) for v in session.geometry.origin("H12"))
    h, w = session.geometry.well_shape
    qtbot.waitUntil(lambda: np.asarray(raw.data[0][y:y + h, x:x + w]).max() > 0, timeout=30_000)

    qtbot.mouseClick(dock.grid.buttons["A01"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _camera_in(viewer, session.geometry.well_box("A01")), timeout=5000)


def test_a_clicked_well_is_read_before_the_camera_moves_there(plate_view, qtbot, monkeypatch):
    """One repaint per click: the well's pixels at the framed zoom's level are in the plate
    view when the camera arrives (the wait bounded only by a slow disk)."""
    from napari_hcs.napari.docks import well_prefetch

    monkeypatch.setattr(well_prefetch, "WAIT_MS", 30_000)
    viewer, dock = plate_view
    session = session_for(viewer)
    level = well_prefetch.level_for(viewer, session.geometry, "H12")
    pyramids = well_prefetch.plate_pyramids(viewer)
    assert len(pyramids) == 2 and all(p.block("H12", lead, level) is None
                                      for p, lead in pyramids)
    arrived: list[bool] = []
    viewer.camera.events.center.connect(lambda _: arrived.append(
        all(p.block("H12", lead, level) is not None for p, lead in pyramids)))
    qtbot.mouseClick(dock.grid.buttons["H12"], Qt.MouseButton.LeftButton)
    assert not arrived  # not before its pixels
    qtbot.waitUntil(lambda: _camera_in(viewer, session.geometry.well_box("H12")),
                    timeout=30_000)
    assert arrived and all(arrived)
    arrived.clear()
    dock.grid._clicked("H12")  # read already: the camera does not wait
    assert all(arrived)


def test_double_click_on_the_canvas_selects_well_and_site(plate_view):
    viewer, dock = plate_view
    session = session_for(viewer)
    top, left, bottom, right = session.geometry.well_box("B02")
    point = (bottom - 1.0, right - 1.0)  # the bottom-right corner: site 4 of a 2 x 2 grid

    class Event:
        position = point

    session.navigator.on_double_click(viewer, Event())
    assert (session.well, session.site) == ("B02", 4)
    assert dock.grid.selected == "B02" and dock.site.value() == 4
    assert _camera_in(viewer, (top, left, bottom, right))
    Event.position = (0.0, right + 5 * (right - left))  # an empty well: nothing happens
    session.navigator.on_double_click(viewer, Event())
    assert session.well == "B02"


def test_layers_are_in_micrometres(plate_view):
    viewer, _ = plate_view
    for layer in viewer.layers:
        assert tuple(layer.scale[-2:]) == pytest.approx((0.65, 0.65))
        assert [str(u) for u in layer.units[-2:]] == ["micrometer", "micrometer"]
    assert viewer.scale_bar.visible  # in µm, from the layers' units


def test_wells_are_coloured_by_state_then_by_measurement(plate_view):
    viewer, dock = plate_view
    session = session_for(viewer)
    session.set_well_state("A01", "running")
    assert dock.grid.colour("A01") == STATE_COLOURS["running"]
    session.set_well_state("A01", "failed", "step 2 'blur': boom")
    assert dock.grid.colour("A01") == STATE_COLOURS["failed"]
    assert "boom" in dock.grid.buttons["A01"].toolTip()
    session.clear_well_states(["A01"])
    assert dock.grid.colour("A01") == PRESENT

    session.add_table("nuclei", "A01", pd.DataFrame({"label": [1, 2], "area": [10.0, 30.0]}))
    session.add_table("nuclei", "B02", pd.DataFrame({"label": [1], "area": [50.0]}))
    items = [dock.colour_by.itemText(i) for i in range(dock.colour_by.count())]
    assert items[:3] == ["run status", "nuclei: count", "nuclei: area (mean)"]
    dock.colour_by.setCurrentText("nuclei: area (mean)")
    assert dock.grid.colour("A01") != dock.grid.colour("B02")
    assert "20" in dock.grid.buttons["A01"].toolTip()


def test_a_colouring_source_adds_choices(plate_view):
    viewer, dock = plate_view
    source = register_colouring(lambda session: {"cells per well": {"A01": 5.0, "H12": 9.0}})
    session_for(viewer).add_table("t", "A01", pd.DataFrame({"label": [1]}))  # lists refresh
    dock.colour_by.setCurrentText("cells per well")
    assert dock.grid.colour("A01") != dock.grid.colour("H12") != PRESENT
    from napari_hcs.napari.plate_view import well_colours

    well_colours._SOURCES.remove(source)
