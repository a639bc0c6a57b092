"""A token holder cannot take the server's run slots, its memory or its network for ever:
runaway steps end on cancel, on the well time limit and on SIGTERM (with run.json written);
stream binds and OMERO hosts stay what the operator allowed. Real server, real sockets on
127.0.0.1, real worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from attack_arena import TOKEN, fresh, spec

from napari_hcs.bridge.client import ExecutionClient, ServerError
from napari_hcs.bridge.server import ExecutionServer, ServerConfig
from napari_hcs.bridge.submission import RequestError, omero_host_allowed
from napari_hcs.engine.plate.generator import write_sample_plate

WAIT = 60.0


def _spin_document(folder: Path) -> dict:
    return {"format": "napari-hcs-pipeline", "version": 1, "name": "spin", "steps": [
        {"name": "spin", "func": {"function": "attack_spin",
                                  "parameters": {"folder": str(folder)}}}]}


@pytest.fixture(scope="module")
def limited(arena):
    config = ServerConfig(port=0, token=TOKEN, roots=(arena.root,), max_runs=2,
                          allowed_modules=("limit_functions",), cancel_grace_s=0.5,
                          well_timeout_s=None)
    with ExecutionServer(config) as running:
        yield running


@pytest.fixture
def plate(arena):
    folder = fresh(arena, "plate")
    return write_sample_plate(folder / "plate", "imagexpress", spec(("A01",)))


def _wait_finished(client: ExecutionClient, run: str, seconds: float = WAIT) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.status(run)
        if status["status"] not in ("queued", "running"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"run {run} still {status['status']} after {seconds} s")


def _started(folder: Path, count: int = 1) -> None:
    deadline = time.monotonic() + WAIT
    while len(list(folder.glob("started-*"))) < count:
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)


def test_cancel_ends_runaway_steps_and_frees_the_run_slots(arena, limited, plate):
    gate = fresh(arena, "gate")
    with ExecutionClient(limited.address, TOKEN, timeout_s=30) as client:
        runs = [client.submit(_spin_document(gate), plate, fresh(arena, "out")) for _ in range(2)]
        with pytest.raises(ServerError, match="runs queued or running"):
            client.submit(_spin_document(gate), plate, fresh(arena, "out"))
        _started(gate, 2)
        start = time.monotonic()
        for run in runs:
            client.cancel(run)
        for run in runs:
            assert _wait_finished(client, run, 30)["status"] == "cancelled"
        assert time.monotonic() - start < 20  # the grace (0.5 s), not the step (120 s)
        third = client.submit(_spin_document(gate), plate, fresh(arena, "out"))  # a slot is free
        client.cancel(third)
        assert _wait_finished(client, third, 30)["status"] == "cancelled"


def test_a_well_past_the_time_limit_fails_and_the_run_ends(arena, plate):
    gate = fresh(arena, "gate")
    config = ServerConfig(port=0, token=TOKEN, roots=(arena.root,),
                          allowed_modules=("limit_functions",), well_timeout_s=1.0)
    out = fresh(arena, "out")
    with ExecutionServer(config) as server, \
            ExecutionClient(server.address, TOKEN, timeout_s=30) as client:
        run = client.submit(_spin_document(gate), plate, out)
        status = _wait_finished(client, run, 40)
    assert status["status"] == "failed" and status["wells"] == {"A01": "failed"}
    error = json.loads((out / "run.json").read_text())["wells"]["A01"]["error"]
    assert "step 1 'spin'" in error and "time limit" in error, error


def test_sigterm_ends_the_server_with_its_runs_cancelled_and_recorded(arena, plate, tmp_path):
    (tmp_path / "token").write_text(TOKEN)
    here = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(here), str(here.parents[2] / "src"), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen(
        [sys.executable, "-m", "napari_hcs.cli", "serve", "--port", "0", "--root",
         str(arena.root), "--token-file", str(tmp_path / "token"), "--allow-module",
         "limit_functions", "--cancel-grace", "0.5"],
        stdout=subprocess.PIPE, text=True, env=env)
    gate, out = fresh(arena, "gate"), fresh(arena, "out")
    try:
        address = server.stdout.readline().split()[-1]
        with ExecutionClient(address, TOKEN, timeout_s=30) as client:
            client.submit(_spin_document(gate), plate, out)
            _started(gate)
        start = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert server.wait(WAIT) == 0
        assert time.monotonic() - start < 30
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(WAIT)
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "cancelled" and record["finished"], record
    assert "cancel grace" in record["wells"]["A01"]["error"]


@pytest.mark.parametrize("address", ["tcp://0.0.0.0:5999", "tcp://10.0.0.1:5999",
                                     "tcp://*:5999", "tcp://[::]:5999", "tcp://eth0:5999"])
def test_stream_bind_is_confined_to_loopback(raw, plate, arena, address):
    raw.request(op="submit", pipeline=_spin_document(arena.root), plate=str(plate),
                out=str(fresh(arena, "out")), stream_bind=address)
    reply = raw.replies(timeout_s=10)
    assert len(reply) == 1 and reply[0]["ok"] is False, reply
    assert "`stream_bind` may bind on" in reply[0]["error"], reply


def test_stream_bind_hosts_are_the_operators_choice():
    from napari_hcs.bridge.submission import bind_address

    assert bind_address("tcp://127.0.0.1:5999", ()) == "tcp://127.0.0.1:5999"
    assert bind_address("tcp://[::1]:5999", ()) == "tcp://[::1]:5999"
    assert bind_address("tcp://10.0.0.5:5999", ("10.0.0.5",)) == "tcp://10.0.0.5:5999"
    with pytest.raises(RequestError):
        bind_address("tcp://127.0.0.1:5999", ("10.0.0.5",))


@pytest.mark.parametrize("hosts, url, allowed", [
    (("omero.example",), "omero://omero.example/plate/1", True),
    (("omero.example",), "omero://omero.example:4064/plate/1", True),
    (("omero.example",), "omero://omero.example:22/plate/1", False),
    (("omero.example",), "omero://omero.example:6379/plate/1", False),
    (("omero.example:5000",), "omero://omero.example:5000/plate/1", True),
    (("omero.example:5000",), "omero://omero.example/plate/1", False),
    (("omero.example:5000",), "omero://other:5000/plate/1", False),
])
def test_omero_hosts_are_exact_host_port_pairs(hosts, url, allowed):
    if allowed:
        assert omero_host_allowed(url, hosts) == url
    else:
        with pytest.raises(RequestError, match="is not one this server may reach"):
            omero_host_allowed(url, hosts)
