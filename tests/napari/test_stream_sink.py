"""Results -> layers: pure conversions, and a real stream received by the Run dock."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_hcs.bridge import protocol
from napari_hcs.bridge.stream import StreamPublisher
from napari_hcs.engine.executor import WellResult
from napari_hcs.engine.functions.rois import Outlines
from napari_hcs.napari._qt.run_dock import RunDock
from napari_hcs.napari.session import session_for
from napari_hcs.napari.stream_sink import (
    message_layers,
    polygon_area,
    roi_polygons,
    well_result_layers,
)

SQUARE = np.array([[0, 0], [0, 4], [4, 4], [4, 0]], float)


def _result(well: str = "B03") -> WellResult:
    labels = np.zeros((20, 30), np.int32)
    labels[2:6, 2:6] = 1
    return WellResult(
        well=well, status="ok", image=np.ones((2, 20, 30), np.uint16),
        channel_names=["DAPI", "GFP"], labels={"nuclei": labels},
        rois={"nuclei_rois": [SQUARE, SQUARE + 10]},
        tables={"nuclei": pd.DataFrame({"well": [well] * 2, "label": [1, 2],
                                        "mean_DAPI": [5.0, 7.0]})},
    )


def test_polygons_areas_and_roi_forms():
    assert polygon_area(SQUARE) == 16.0
    # The executor already keeps only the shown field's outlines; the sink keeps label ids.
    polys, labels = roi_polygons(Outlines([SQUARE, SQUARE + 10], labels=[7, 8], planes=[0, 0]))
    assert labels == [7, 8] and len(polys) == 2
    polys, labels = roi_polygons([{"label": 5, "plane": 0, "polygon": SQUARE}])
    assert labels == [5] and polys[0].shape == (len(SQUARE), 2)
    assert roi_polygons([SQUARE, SQUARE])[1] == [1, 2]


def test_well_result_layers():
    layers = well_result_layers(_result())
    assert [(kw["name"], t) for _, kw, t in layers] == [
        ("B03 DAPI", "image"), ("B03 GFP", "image"), ("B03 nuclei labels", "labels"),
        ("B03 nuclei_rois rois", "shapes")]
    features = layers[-1][1]["features"]
    assert features["area"].tolist() == [16.0, 16.0]
    assert features["mean_DAPI"].tolist() == [5.0, 7.0]  # joined from the nuclei table
    assert well_result_layers(WellResult(well="A01", status="failed", error="x")) == []


def test_message_layers_decode_the_wire():
    frames = protocol.encode_rois([SQUARE], name="cells", well="A01", labels=[3])
    (data, kwargs, kind), = message_layers(protocol.decode(frames))
    assert kind == "shapes" and kwargs["features"]["label"].tolist() == [3]


def test_run_dock_receives_a_stream(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    dock = RunDock(viewer)
    qtbot.addWidget(dock)
    dock.stream_address.setText("tcp://127.0.0.1:0")
    dock.stream.setChecked(True)
    try:
        address = dock.receiver.address
        assert address.startswith("tcp://127.0.0.1:") and address in dock.status.text()
        with StreamPublisher(address) as publisher:
            publisher.send_well_result(_result("B03"))
        qtbot.waitUntil(lambda: "B03 nuclei_rois rois" in viewer.layers, timeout=10_000)
        qtbot.waitUntil(lambda: "nuclei" in session_for(viewer).measurements, timeout=10_000)
        assert "B03 nuclei labels" in viewer.layers
        assert session_for(viewer).well_states.get("B03") == "ok"
        shapes = viewer.layers["B03 nuclei_rois rois"]
        assert len(shapes.data) == 2 and tuple(shapes.translate) == (22.0, 66.0)
    finally:
        dock.stream.setChecked(False)
    assert dock.receiver is None
