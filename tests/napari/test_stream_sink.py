"""Results -> the plate view: pure conversions, the sink on a viewer, a real stream."""

from __future__ import annotations

import numpy as np
import pandas as pd
from viewer_helpers import wait_until_shown

from napari_hcs.bridge import protocol
from napari_hcs.bridge.stream import StreamPublisher
from napari_hcs.engine.executor import WellResult
from napari_hcs.engine.functions.rois import Outlines
from napari_hcs.napari.docks.run_dock import RunDock
from napari_hcs.napari.results.canvas import ResultCanvas
from napari_hcs.napari.results.layers import (
    base_name,
    message_parts,
    outline_pixels,
    polygon_area,
    result_parts,
    roi_polygons,
    well_state,
)
from napari_hcs.napari.results.stream_sink import ResultSink
from napari_hcs.napari.session import session_for

SQUARE = np.array([[2, 2], [2, 6], [6, 6], [6, 2]], float)


def _result(well: str = "B03") -> WellResult:
    labels = np.zeros((20, 30), np.int32)
    labels[2:7, 2:7] = 1
    labels[12:17, 12:17] = 2
    return WellResult(
        well=well, status="ok", image=np.ones((2, 20, 30), np.uint16),
        channel_names=["DAPI", "GFP"], labels={"nuclei_labels": labels},
        rois={"nuclei_rois": Outlines([SQUARE, SQUARE + 10], labels=[1, 2], planes=[0, 0])},
        tables={"nuclei": pd.DataFrame({"well": [well] * 2, "label": [1, 2],
                                        "mean_DAPI": [5.0, 7.0]})},
    )


def test_parts_names_and_outlines():
    assert polygon_area(SQUARE) == 16.0
    assert base_name("nuclei_labels") == base_name("nuclei_rois") == "nuclei"
    polys, labels = roi_polygons([{"label": 5, "plane": 0, "polygon": SQUARE}])
    assert labels == [5] and polys[0].shape == (4, 2)
    parts = result_parts(_result())
    assert list(parts.images) == ["DAPI", "GFP"] and list(parts.labels) == ["nuclei"]
    assert parts.state == "ok" and list(parts.outlines) == ["nuclei"]
    drawn = outline_pixels(*parts.outlines["nuclei"], (20, 30))
    assert drawn[2, 2:7].tolist() == [1] * 5 and drawn[4, 4] == 0  # the outline, not inside
    assert set(np.unique(drawn)) == {0, 1, 2}
    failed = result_parts(WellResult(well="A01", status="failed", error="step 1: boom"))
    assert failed.state == "failed" and not failed.images
    assert well_state("failed", "cancelled before step 2 'x'") == "cancelled"


def test_canvas_places_wells_on_the_plate_and_keeps_ids_unique():
    canvas = ResultCanvas()
    update = canvas.add(result_parts(_result("A01")))
    assert {s.name for s in update.new_layers} == {
        "DAPI (result)", "GFP (result)", "nuclei", "nuclei outlines"}
    canvas.add(result_parts(_result("B03")))
    geometry = canvas.geometry
    assert (geometry.rows, geometry.columns) == (8, 12)  # the smallest standard plate
    labels = canvas.pyramids["nuclei"]
    dense = np.asarray(labels.levels[0])
    (ay, ax), (by, bx) = geometry.origin("A01"), geometry.origin("B03")
    a = dense[ay:ay + 20, ax:ax + 30]
    b = dense[by:by + 20, bx:bx + 30]
    assert set(np.unique(a)) == {0, 1, 2} and set(np.unique(b)) == {0, 3, 4}
    frame = canvas.add(result_parts(_result("K05"))).features["nuclei"]  # grows the plate
    assert (canvas.geometry.rows, canvas.geometry.columns) == (16, 24)
    assert frame["index"].tolist() == [1, 2, 3, 4, 5, 6]
    assert frame["well"].tolist() == ["A01"] * 2 + ["B03"] * 2 + ["K05"] * 2
    assert np.asarray(canvas.pyramids["nuclei"].levels[0]).shape == canvas.geometry.shape(0)
    assert frame["mean_DAPI"].tolist() == [5.0, 7.0] * 3  # the measurement table, joined


def test_message_parts_decode_the_wire():
    frames = protocol.encode_rois([SQUARE], name="cells_rois", well="A01", labels=[3])
    parts = message_parts(protocol.decode(frames))
    assert parts.outlines["cells"][1] == [3]
    parts = message_parts(protocol.decode(protocol.encode_image(
        np.zeros((1, 4, 4), np.uint16), name="image", well=None, pixel_size_um=0.5)))
    assert parts.well == "A01" and parts.pixel_size_um == 0.5


def test_sink_keeps_one_plate_layer_per_channel_labels_and_outlines(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    session = session_for(viewer)
    sink = ResultSink(viewer, session)
    shown: list[tuple[str, str]] = []
    sink.shown.connect(lambda well, name: shown.append((well, name)))
    for well in ("A01", "B03", "K05"):
        sink.add_result(_result(well))
    wait_until_shown(qtbot, sink)
    assert [layer.name for layer in viewer.layers] == [
        "DAPI (result)", "GFP (result)", "nuclei", "nuclei outlines"]
    assert not viewer.layers["nuclei outlines"].visible  # the labels already show them
    dapi = viewer.layers["DAPI (result)"]
    assert dapi.multiscale and dapi.data[0].shape == sink.canvas.geometry.shape(0)
    assert ("K05", "nuclei outlines") in shown and len(shown) == 12
    assert dapi.data[0].shape == sink.canvas.geometry.shape(0)  # regridded to 384 wells
    # A well that arrives again replaces its cell.
    again = _result("B03")
    again.image = again.image * 3
    sink.add_result(again)
    wait_until_shown(qtbot, sink)
    y, x = sink.canvas.geometry.origin("B03")
    assert np.asarray(dapi.data[0][y:y + 20, x:x + 30]).min() == 3
    assert dapi.contrast_limits[1] >= 3
    assert session.well_states == {"A01": "ok", "B03": "ok", "K05": "ok"}
    qtbot.waitUntil(lambda: len(viewer.layers["nuclei"].features) == 6, timeout=10_000)


def test_result_layers_leave_the_users_active_layer_active(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    mine = viewer.add_image(np.zeros((8, 8)), name="mine")
    viewer.layers.selection.active = mine
    sink = ResultSink(viewer, session_for(viewer))
    sink.add_result(_result("A01"))
    wait_until_shown(qtbot, sink)
    assert "nuclei" in viewer.layers and len(viewer.layers) == 5
    assert viewer.layers.selection.active is mine and viewer.layers.selection == {mine}
    viewer.add_image(np.zeros((8, 8)), name="yours")  # napari's own adds still activate
    assert viewer.layers.selection.active.name == "yours"


def test_run_dock_receives_a_stream(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    dock = RunDock(viewer)
    qtbot.addWidget(dock)
    dock.stream_address.setText("tcp://127.0.0.1:0")
    dock.stream.setChecked(True)
    try:
        address = dock.receiver.address
        assert address.startswith("tcp://127.0.0.1:") and address in dock.status.text()
        with StreamPublisher(address, pixel_size_um=0.5) as publisher:
            publisher.send_well_result(_result("B03"))
        qtbot.waitUntil(lambda: session_for(viewer).well_states.get("B03") == "ok",
                        timeout=10_000)
        wait_until_shown(qtbot, dock.sink)
        labels = viewer.layers["nuclei"]
        y, x = dock.sink.canvas.geometry.origin("B03")
        assert np.asarray(labels.data[0][y:y + 20, x:x + 30]).max() == 2
        assert tuple(labels.scale) == (0.5, 0.5)  # the wire header's pixel size
        assert [str(u) for u in labels.units] == ["micrometer", "micrometer"]
        assert "nuclei" in session_for(viewer).measurements
    finally:
        dock.stream.setChecked(False)
    assert dock.receiver is None
