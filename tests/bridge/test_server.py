"""The execution server and client over real ZMQ sockets on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import server_slow_functions  # registers slow_identity here, and on the server
import zmq

from napari_hcs.bridge.client import ExecutionClient, ServerError
from napari_hcs.bridge.server import ExecutionServer, ServerConfig
from napari_hcs.engine.functions.library.filters import gaussian_blur
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.pipeline.document import pipeline_to_document
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

BLUR = Pipeline([Step((gaussian_blur, {"sigma": 1.0}), name="blur")], name="blur")
SLOW = Pipeline([Step((server_slow_functions.slow_identity, {"seconds": 0.4}), name="slow")],
                name="slow")

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def plate(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("server") / "plate"
    spec = SampleSpec(wells=("A01", "A02", "B01"), grid=(1, 2), tile=(64, 64))
    return write_sample_plate(root, "imagexpress", spec)


@pytest.fixture
def server(plate):
    config = ServerConfig(port=0, token=TOKEN, roots=(plate.parent,),
                          allowed_modules=("server_slow_functions",))
    with ExecutionServer(config) as running:
        yield running


@pytest.fixture
def client(server):
    with ExecutionClient(server.address, TOKEN, timeout_s=20) as connected:
        yield connected


def test_remote_run_writes_outputs_and_reports_progress(client, plate):
    out = plate.parent / "out-blur"
    run = client.submit(BLUR, plate, out, wells=["A01", "B01"], workers=2)
    events = list(client.events(run, timeout_s=120))
    assert events[-1]["state"] == "finished" and events[-1]["status"] == "ok"
    assert {e["well"] for e in events if e.get("state") == "ok"} == {"A01", "B01"}
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    record = json.loads((out / "run.json").read_text())
    assert {w: s["status"] for w, s in record["wells"].items()} == {"A01": "ok", "B01": "ok"}
    assert client.status(run)["wells"] == {"A01": "ok", "B01": "ok"}
    assert [r["run"] for r in client.list_runs()] == [run]


def test_client_reattaches_after_reconnecting(server, client, plate):
    run = client.submit(BLUR, plate, plate.parent / "out-reattach", wells=["A02"])
    first = next(client.events(run, timeout_s=60))
    client.close()  # the laptop goes away ...
    with ExecutionClient(server.address, TOKEN, timeout_s=20) as again:  # ... and comes back
        rest = list(again.events(run, since=first["seq"], timeout_s=120))
        assert rest[0]["seq"] == first["seq"] + 1
        assert rest[-1]["status"] == "ok"
        assert again.wait(run)["status"] == "ok"


def test_cancel_stops_a_remote_run(client, plate):
    run = client.submit(SLOW, plate, plate.parent / "out-cancel", workers=1)
    for event in client.events(run, timeout_s=120):
        if event.get("state") == "running" and event.get("well"):
            client.cancel(run)
        if event["state"] == "finished":
            break
    status = client.wait(run, timeout_s=60)
    assert status["status"] == "cancelled"
    assert list(status["wells"].values()).count("ok") < 3


def test_wrong_token_is_refused(server, plate):
    with ExecutionClient(server.address, "not-the-token", timeout_s=10) as intruder:
        with pytest.raises(ServerError, match="wrong token"):
            intruder.submit(BLUR, plate, plate.parent / "out-x")
        with pytest.raises(ServerError, match="wrong token"):
            intruder.list_runs()


def test_paths_outside_the_roots_are_refused(client, plate, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    with pytest.raises(ServerError, match="outside the server's roots"):
        client.submit(BLUR, plate, elsewhere / "out")
    with pytest.raises(ServerError, match="plate path .* outside"):
        client.submit(BLUR, "/etc", plate.parent / "out")
    with pytest.raises(ServerError, match="outside"):
        client.submit(BLUR, plate, str(plate.parent / ".." / "escape"))


def test_a_pipeline_file_is_sent_as_its_document(client, plate, tmp_path):
    from napari_hcs.engine.codegen import save_pipeline

    file = save_pipeline(BLUR, tmp_path / "blur.py")
    run = client.submit(file, plate, plate.parent / "out-file", wells=["A01"])
    assert client.wait(run, timeout_s=120)["status"] == "ok"
    record = json.loads((plate.parent / "out-file" / "run.json").read_text())
    assert record["pipeline"]["document"] == pipeline_to_document(BLUR)


def test_pipeline_source_text_is_refused(client, plate):
    with pytest.raises(ServerError, match="pipeline document"):
        client.request("submit", pipeline="from os import system\npipeline = system('true')\n",
                       plate=str(plate), out=str(plate.parent / "out-source"))


def test_compile_errors_come_back_before_anything_runs(client, plate):
    bad = pipeline_to_document(BLUR)
    bad["steps"][0]["func"]["parameters"] = {"sigmaa": 1.0}
    with pytest.raises(ServerError, match="sigmaa"):
        client.request("submit", pipeline=bad, plate=str(plate),
                       out=str(plate.parent / "out-bad"))
    with pytest.raises(ServerError, match="unknown well"):
        client.submit(BLUR, plate, plate.parent / "out-bad", wells=["H12"])
    assert client.list_runs() == []


def test_malformed_messages_are_rejected_and_the_server_survives(server):
    context = zmq.Context.instance()
    raw = context.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(server.address)
    try:
        for frames, reason in [
            ([b"\xff not json"], "not UTF-8 JSON"),
            ([b"[1, 2]"], "JSON object"),
            ([b"{}", b"extra"], "one JSON frame"),
            ([json.dumps({"v": 99, "token": TOKEN, "op": "ping"}).encode()], "version"),
            ([json.dumps({"v": 1, "token": TOKEN, "op": "explode"}).encode()], "unknown op"),
        ]:
            raw.send_multipart(frames)
            assert raw.poll(5000), reason
            reply = json.loads(raw.recv())
            assert reply["ok"] is False and reason in reply["error"]
    finally:
        raw.close()
    with ExecutionClient(server.address, TOKEN, timeout_s=10) as client:
        assert client.ping()["ok"]


def test_oversized_request_is_dropped_without_harm(server):
    raw = zmq.Context.instance().socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(server.address)
    raw.send(b"x" * (9 * 1024 * 1024))
    time.sleep(0.5)
    raw.close()
    with ExecutionClient(server.address, TOKEN, timeout_s=10) as client:
        assert client.ping()["ok"]


def test_serve_command_prints_address_and_token(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "napari_hcs.cli", "serve", "--port", "0", "--root", str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        address = lines[0].rsplit(" ", 1)[-1]
        token = lines[2].removeprefix("token: ")
        assert address.startswith("tcp://127.0.0.1:") and len(token) >= 24
        with ExecutionClient(address, token, timeout_s=20) as client:
            assert client.ping()["roots"] == [str(tmp_path.resolve())]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
