"""Every dock is usable on a 1366 x 768 screen: its minimum size leaves room for the canvas;
the napari HCS dock keeps the canvas at 60 % of the window or more."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_hcs.napari.docks.config_dock import ConfigDock
from napari_hcs.napari.docks.hcs_dock import HcsDock
from napari_hcs.napari.docks.pipeline_dock import PipelineDock
from napari_hcs.napari.docks.plate_dock import PlateDock
from napari_hcs.napari.docks.run_dock import RunDock
from napari_hcs.napari.session import session_for

SCREENSHOTS = Path(__file__).parents[2] / "docs" / "images"
#: The height a dock may ask for: two docks stacked in a 768 px screen, minus napari's menus.
MAX_HEIGHT = 340
MAX_WIDTH = 420


@pytest.mark.parametrize("dock_class", [PlateDock, PipelineDock, ConfigDock, RunDock])
def test_docks_fit_a_small_screen(make_napari_viewer, qtbot, sample_plate, dock_class):
    viewer = make_napari_viewer()
    viewer.open(str(sample_plate), plugin="napari-hcs")
    session_for(viewer).ensure_pipeline()
    dock = dock_class(viewer)
    qtbot.addWidget(dock)
    if dock_class is PipelineDock:
        dock.add_step("segment_nuclei")  # the tallest parameter form of the library
    hint = dock.minimumSizeHint()
    assert hint.height() <= MAX_HEIGHT, f"{dock_class.__name__} needs {hint.height()} px"
    assert hint.width() <= MAX_WIDTH, f"{dock_class.__name__} needs {hint.width()} px"


def _visible_box(viewer) -> tuple[float, float, float, float]:
    (cy, cx), zoom = viewer.camera.center[-2:], viewer.camera.zoom
    h, w = viewer.canvas.size
    return cy - h / 2 / zoom, cx - w / 2 / zoom, cy + h / 2 / zoom, cx + w / 2 / zoom


def test_the_hcs_dock_at_1366_x_768(make_napari_viewer, qtbot, plate96):
    """What a new user sees: the canvas keeps >= 60 % of the width, the acquired wells are in
    view after the dock appears, Run's buttons are on screen, the cursor names well and site."""
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1366, 768)
    viewer.open(str(plate96), plugin="napari-hcs")
    dock = HcsDock(viewer)
    viewer.window.add_dock_widget(dock, name="napari HCS")
    qtbot.waitUntil(lambda: dock._placed, timeout=5000)
    qtbot.wait(300)
    canvas = viewer.window._qt_viewer.canvas.native
    assert canvas.width() >= 0.6 * 1366, f"canvas {canvas.width()} px of 1366"
    assert dock.isVisible() and dock.width() >= 240
    session = session_for(viewer)
    top, left, bottom, right = _visible_box(viewer)
    for well in session.reader.layout.wells:  # framed for the canvas as it is now
        y0, x0, y1, x1 = session.geometry.well_box(well)
        assert top <= y0 and left <= x0 and y1 <= bottom and x1 <= right, well

    y0, x0, y1, x1 = session.geometry.well_box("B02")
    dock._cursor_moved(viewer, type("Event", (), {"position": (y0 + 1, x0 + 1)})())
    assert dock.cursor.text() == "B02, site 1"

    dock.tabs.setCurrentWidget(dock.tabs.widget(2))  # Run
    qtbot.wait(100)
    for button in (dock.run.compile_button, dock.run.run_button, dock.run.cancel_button):
        assert button.isVisible() and not button.visibleRegion().isEmpty(), button.text()
    dock.tabs.setCurrentIndex(0)
    qtbot.wait(200)
    window.grab().save(str(SCREENSHOTS / "hcs_dock_1366x768.png"))


def test_the_hcs_dock_added_as_users_do(make_napari_viewer, qtbot, plate96):
    """Plugins > napari HCS: napari hands the widget a proxied viewer (public attributes only).
    The dock still makes room, with Qt's own widgets, and the canvas keeps >= 60 %."""
    import warnings

    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1366, 768)
    viewer.open(str(plate96), plugin="napari-hcs")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # napari warns on private access
        _, dock = viewer.window.add_plugin_dock_widget("napari-hcs", "napari HCS")
        assert isinstance(dock, HcsDock)
        qtbot.waitUntil(lambda: dock._placed, timeout=5000)
        qtbot.wait(300)
    canvas = viewer.window._qt_viewer.canvas.native
    assert canvas.width() >= 0.6 * 1366, f"canvas {canvas.width()} px of 1366"
    assert dock.isVisible() and dock.width() >= 240


def _white_runs(shot) -> list[tuple[int, int]]:
    """(first, last) canvas rows of each band of white text (well names, the scale bar), top
    down; the images are blue and green, never white."""
    import numpy as np

    rows = np.flatnonzero((shot[..., :3].min(axis=2) > 200).any(axis=1))
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row <= runs[-1][1] + 2:
            runs[-1] = (runs[-1][0], int(row))
        else:
            runs.append((int(row), int(row)))
    return runs


@pytest.mark.parametrize("height", [768, 560])
def test_the_top_rows_well_names_are_on_the_canvas(make_napari_viewer, qtbot, sample_plate,
                                                   height):
    """Framed, the plate's top row names (A01, A02) are whole on the canvas, as tall as the
    next row's (B01, B02), also in a shorter window where the 5 % margin is shorter than the
    20 pt names (560 px: the canvas is 514 px tall); and so after going to well A01."""
    from napari_hcs.napari.plate_view.navigation import go_to_well

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1366, height)
    dock = HcsDock(viewer)
    viewer.window.add_dock_widget(dock, name="napari HCS")
    qtbot.waitUntil(lambda: dock._placed, timeout=5000)
    viewer.open(str(sample_plate), plugin="napari-hcs")
    qtbot.wait(500)
    assert viewer.layers["wells"].text.size == 20  # the largest names: the hardest case
    a_row, b_row = _white_runs(viewer.screenshot(canvas_only=True, flash=False))[:2]
    whole = b_row[1] - b_row[0]  # B01's name, between the rows
    assert a_row[0] > 0, f"A01's name starts above the canvas (rows {a_row})"
    assert abs((a_row[1] - a_row[0]) - whole) <= 1, (a_row, b_row)

    go_to_well(viewer, session_for(viewer).geometry, "A01")
    qtbot.wait(300)
    assert viewer.layers["wells"].text.size == 20
    a_row = _white_runs(viewer.screenshot(canvas_only=True, flash=False))[0]
    assert a_row[0] > 0 and abs((a_row[1] - a_row[0]) - whole) <= 1, (a_row, whole)
