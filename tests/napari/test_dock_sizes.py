"""Every dock is usable on a 1366 x 768 screen: its minimum size leaves room for the canvas."""

from __future__ import annotations

import pytest

from napari_hcs.napari.docks.config_dock import ConfigDock
from napari_hcs.napari.docks.pipeline_dock import PipelineDock
from napari_hcs.napari.docks.plate_dock import PlateDock
from napari_hcs.napari.docks.run_dock import RunDock
from napari_hcs.napari.session import session_for

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


def test_all_four_docks_open_in_a_1366_x_768_window(make_napari_viewer, qtbot, sample_plate):
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1366, 768)
    docks = {"Plate": PlateDock(viewer), "Pipeline": PipelineDock(viewer),
             "Config": ConfigDock(viewer), "Run": RunDock(viewer)}
    for name, dock in docks.items():
        viewer.window.add_dock_widget(dock, name=name, tabify=name in ("Config", "Run"))
    viewer.open(str(sample_plate), plugin="napari-hcs")
    qtbot.wait(200)
    assert window.height() <= 768 and window.width() <= 1366
    canvas = viewer.window._qt_viewer.canvas.native
    assert canvas.width() >= 500 and canvas.height() >= 400
