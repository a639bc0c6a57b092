"""Results -> layers: pure conversions, and a real stream received by the Run dock."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_hcs.bridge import protocol
from napari_hcs.bridge.stream import StreamPublisher
from napari_hcs.engine.executor import WellResult
from napari_hcs.engine.functions.rois import Outlines
from napari_hcs.napari._qt.run_dock import RunDock
from napari_hcs.napari.result_layers import (
    message_layers,
    polygon_area,
    roi_polygons,
    well_result_layers,
)
from napari_hcs.napari.session import session_for
from napari_hcs.napari.stream_sink import ResultSink, grid_for

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
        qtbot.waitUntil(lambda: "results nuclei_rois rois" in viewer.layers, timeout=10_000)
        qtbot.waitUntil(lambda: session_for(viewer).well_states.get("B03") == "ok",
                        timeout=10_000)
        assert "nuclei" in session_for(viewer).measurements
        labels = viewer.layers["results nuclei labels"]
        # B03 = row 1, column 2; the pitch is the 20 x 30 well plus 10%: (22, 33).
        np.testing.assert_array_equal(labels.data[22:42, 66:96], _result().labels["nuclei"])
        shapes = viewer.layers["results nuclei_rois rois"]
        assert len(shapes.data) == 2
        np.testing.assert_array_equal(shapes.data[0].min(axis=0), (22.0, 66.0))
        # The table arrived in the same batch as the ROIs, so its measurements are joined.
        assert shapes.features["mean_DAPI"].tolist() == [5.0, 7.0]
        assert set(shapes.features["well"]) == {"B03"}
    finally:
        dock.stream.setChecked(False)
    assert dock.receiver is None


def test_grid_for_grows_through_plate_formats():
    assert grid_for(0, 0) == (2, 3) and grid_for(1, 11) == (8, 12)
    assert grid_for(0, 0, known=(16, 24)) == (16, 24) and grid_for(40, 0) == (41, 1)


def test_sink_keeps_one_plate_layer_per_channel_labels_and_rois(make_napari_viewer):
    viewer = make_napari_viewer()
    session = session_for(viewer)
    sink = ResultSink(viewer, session)
    shown: list[tuple[str, str]] = []
    sink.shown.connect(lambda well, name: shown.append((well, name)))
    sink.add_result(_result("A01"))
    sink.add_result(_result("B03"))  # row 1, column 2: inside the first 2 x 3 grid
    sink.add_result(_result("C05"))  # row 2: the canvases grow to the next plate format
    assert [ly.name for ly in viewer.layers] == [
        "results DAPI", "results GFP", "results nuclei labels", "results nuclei_rois rois"]
    dapi = viewer.layers["results DAPI"]
    assert dapi.data.shape == (4 * 22, 6 * 33)
    assert dapi.data[44:64, 132:162].min() == 1 and dapi.data[20:22].max() == 0  # gap stays 0
    assert dapi.metadata["napari_hcs"]["wells"]["C05"] == (44, 132, 20, 30)
    shapes = viewer.layers["results nuclei_rois rois"]
    assert shapes.features["well"].tolist() == ["A01"] * 2 + ["B03"] * 2 + ["C05"] * 2
    assert len(shapes.data) == 6 and len({tuple(d.min(axis=0)) for d in shapes.data}) == 6
    assert ("C05", "results nuclei_rois rois") in shown and len(shown) == 12
    # A well that arrives again replaces its cell and its shapes, it does not add to them.
    again = _result("B03")
    again.image = again.image * 3
    again.rois = {"nuclei_rois": [SQUARE]}
    again.tables["nuclei"] = again.tables["nuclei"].iloc[:1]
    sink.add_result(again)
    assert dapi.data[22:42, 66:96].min() == 3 and dapi.contrast_limits[1] >= 3
    assert shapes.features["well"].tolist() == ["A01"] * 2 + ["C05"] * 2 + ["B03"]
    assert len(shapes.data) == 5
    assert session.well_states == {"A01": "ok", "B03": "ok", "C05": "ok"}


def test_stream_message_without_a_well_goes_top_left(make_napari_viewer):
    viewer = make_napari_viewer()
    sink = ResultSink(viewer, session_for(viewer))
    image = np.full((1, 20, 30), 5, dtype=np.uint16)
    sink.add_message(protocol.decode(protocol.encode_image(image, name="image", well=None)))
    sink.flush()
    layer = next(ly for ly in viewer.layers if ly.data.max() == 5)
    assert layer.data[:20, :30].min() == 5
