"""The execution server next to OMERO: it reads the plate from OMERO itself (with its own
credentials), writes outputs under its roots or back to OMERO, and the viewer still gets the
stream; only OMERO hosts it was started with are reachable. Against the file-backed stand-in of
omero-py (no OMERO server can run on the test machine)."""

from __future__ import annotations

import queue
import time

import pytest

from napari_hcs.bridge.client import ExecutionClient, ServerError
from napari_hcs.bridge.omero.source import OmeroPlateReader
from napari_hcs.bridge.server import ExecutionServer, ServerConfig
from napari_hcs.bridge.stream import StreamReceiver
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.pipeline import Pipeline, Step

PIPELINE = Pipeline([Step((segment_nuclei, {"min_diameter_um": 4.0}), name="segment")], name="seg")
TOKEN = "omero-token-0123456789"


def test_server_runs_an_omero_plate_and_streams_results(seeded, tmp_path):
    config = ServerConfig(port=0, token=TOKEN, roots=(tmp_path,), omero_hosts=("omero.test",))
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


def test_server_writes_results_back_to_an_allowed_omero_host(seeded, tmp_path):
    root = tmp_path / "root"  # the stand-in keeps its state in tmp_path
    root.mkdir()
    config = ServerConfig(port=0, token=TOKEN, roots=(root,), omero_hosts=("omero.test:4064",))
    with ExecutionServer(config) as server, \
            ExecutionClient(server.address, config.token, timeout_s=30) as client:
        run = client.submit(PIPELINE, seeded.url, seeded.url + "?target=wells")
        assert client.wait(run, timeout_s=180)["status"] == "ok"
    assert OmeroPlateReader(seeded.url).layout.sites == (1, 2, 3, 4, 5)  # a fifth field each
    assert list(root.iterdir()) == []  # nothing written locally


@pytest.mark.parametrize("hosts", [(), ("omero.example.org",), ("omero.test:4065",)])
def test_omero_hosts_not_configured_are_refused(seeded, tmp_path, hosts):
    root = tmp_path / "root"
    root.mkdir()
    config = ServerConfig(port=0, token=TOKEN, roots=(root,), omero_hosts=hosts)
    with ExecutionServer(config) as server, \
            ExecutionClient(server.address, config.token, timeout_s=30) as client:
        with pytest.raises(ServerError, match="OMERO host omero.test:4064 is not one"):
            client.submit(PIPELINE, seeded.url, root / "out")
        with pytest.raises(ServerError, match="OMERO host omero.test:4064 is not one"):
            client.submit(PIPELINE, root, seeded.url)
        assert client.list_runs() == []
    assert list(root.iterdir()) == []
