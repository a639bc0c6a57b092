"""A ROI message from the wire is drawn within the image: a 338-byte message whose polygon
reaches 3e8 pixels used to make the viewer sample 3e8-point edges (6.7 GiB); edges are now cut
to the image before sampling, NaN vertices dropped, and memory stays small."""

from __future__ import annotations

import tracemalloc

import numpy as np
from viewer_helpers import wait_until_shown

from napari_hcs.bridge import protocol
from napari_hcs.napari.results.layers import message_parts, outline_pixels
from napari_hcs.napari.results.stream_sink import ResultSink
from napari_hcs.napari.session import session_for

FAR = 3e8
HOSTILE = np.array([[5, 5], [5, FAR], [FAR, FAR], [FAR, 5]], float)


def hostile_message():
    return protocol.decode(protocol.encode_rois([HOSTILE], name="cells_rois", well="A01",
                                                labels=[7]))


def test_a_polygon_reaching_3e8_is_drawn_within_the_image_in_little_memory():
    polygons, labels = message_parts(hostile_message()).outlines["cells"]
    tracemalloc.start()
    try:
        drawn = outline_pixels(polygons, labels, (20, 30))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak / 2**20:.0f} MiB"
    # The visible part: row 5 from x = 5, column 5 from y = 5, to the image's edges.
    assert (drawn[5, 5:] == 7).all() and (drawn[5:, 5] == 7).all()
    assert np.count_nonzero(drawn) == (30 - 5) + (20 - 5) - 1


def test_clipping_keeps_polygons_inside_the_image_unchanged_and_drops_nan():
    square = np.array([[2, 2], [2, 6], [6, 6], [6, 2]], float)
    crossing = np.array([[-50, 10], [50, 10]], float)  # enters and leaves the image
    broken = np.array([[10, 20], [np.nan, 24], [13, 23]], float)
    drawn = outline_pixels([square, crossing, broken], [1, 2, 3], (20, 30))
    assert drawn[2, 2:7].tolist() == [1] * 5 and drawn[4, 4] == 0
    assert (drawn[:, 10][drawn[:, 10] != 1] == 2).all() and (drawn[:, 10] > 0).all()
    assert drawn[13, 23] == drawn[11, 21] == 3  # its finite edge (13, 23) -> (10, 20)


def test_the_sink_draws_a_hostile_roi_message(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    sink = ResultSink(viewer, session_for(viewer))
    sink.add_message(protocol.decode(protocol.encode_image(
        np.ones((1, 20, 20), np.uint16), name="image", well="A01", pixel_size_um=0.5)))
    sink.add_message(hostile_message())
    wait_until_shown(qtbot, sink)
    layer = viewer.layers["cells outlines"]
    y, x = sink.canvas.geometry.origin("A01")
    cell = np.asarray(layer.data[0][y:y + 20, x:x + 20])
    assert (cell[5, 5:] > 0).all() and (cell[5:, 5] > 0).all() and cell[6:, 6:].max() == 0
