"""The execution server next to OMERO: it reads the plate from OMERO itself (with its own
credentials), writes outputs under its roots, and the viewer still gets the stream. Against the
file-backed stand-in of omero-py (no OMERO server can run on the test machine)."""

from __future__ import annotations

import queue
import time

from napari_hcs.bridge.client import ExecutionClient
from napari_hcs.bridge.server import ExecutionServer, ServerConfig
from napari_hcs.bridge.stream import StreamReceiver

PIPELINE = """\
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.pipeline import Pipeline, Step

pipeline = Pipeline([Step((segment_nuclei, {"min_area": 10}), name="segment")], name="seg")
"""


def test_server_runs_an_omero_plate_and_streams_results(seeded, tmp_path):
    config = ServerConfig(port=0, token="omero-token-0123456789", roots=(tmp_path,))
    with ExecutionServer(config) as server, StreamReceiver() as viewer, \
            ExecutionClient(server.address, config.token, timeout_s=30) as client:
        run = client.submit(PIPELINE, seeded.url, tmp_path / "out", stream=viewer.address)
        status = client.wait(run, timeout_s=180)
        assert status["status"] == "ok" and status["wells"] == {"A01": "ok", "A02": "ok"}
        received, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline and sum(m.kind == "status" for m in received) < 2:
            try:
                received.append(viewer.messages.get(timeout=0.1))
            except queue.Empty:
                pass
        kinds = {(m.kind, m.well) for m in received}
        assert {("image", "A01"), ("labels", "A02"), ("rois", "A01"), ("status", "A02")} <= kinds
    assert (tmp_path / "out" / "run.json").exists()
