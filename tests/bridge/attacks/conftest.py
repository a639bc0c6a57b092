"""The arena for the attack suite: a real server on 127.0.0.1 whose only root is `root/`, and
an `outside/` folder beside it holding secrets (a TIFF whose pixels are all `SECRET_VALUE`, a
text file with `SECRET_TEXT`, a whole plate of such TIFFs) that no attack may read, change or
add to."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile

sys.path.insert(0, str(Path(__file__).parent))  # attack_functions, for client and server

from attack_arena import SECRET_TEXT, SECRET_VALUE, TILE, TOKEN, RawPeer, snapshot, spec  # noqa: E402

from napari_hcs.bridge.client import ExecutionClient  # noqa: E402
from napari_hcs.bridge.server import ExecutionServer, ServerConfig  # noqa: E402
from napari_hcs.engine.plate.generator import write_sample_plate  # noqa: E402


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    base = tmp_path_factory.mktemp("arena")
    root, outside = base / "root", base / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET_TEXT)
    (outside / "victim").mkdir()  # where planted output links point
    (outside / "victim" / "keep.txt").write_bytes(SECRET_TEXT)
    secret = np.full((TILE, TILE), SECRET_VALUE, np.uint16)
    tifffile.imwrite(outside / "secret.tif", secret, description=SECRET_TEXT.decode())
    plate = write_sample_plate(outside / "their_plate", "imagexpress", spec(("A01", "A02")))
    for tif in plate.rglob("*.TIF"):  # their plate's pixels are secret too
        tifffile.imwrite(tif, secret, description=SECRET_TEXT.decode())
    return SimpleNamespace(base=base, root=root, outside=outside, sentinel=base / "SENTINEL")


@pytest.fixture(autouse=True)
def nothing_outside_changes(arena):
    """Every attack: no file outside the root is added, changed or removed, and the sentinel
    that injected code would create does not exist."""
    before = snapshot(arena.outside)
    yield
    assert snapshot(arena.outside) == before
    assert not arena.sentinel.exists()


@pytest.fixture(scope="module")
def server(arena):
    config = ServerConfig(port=0, token=TOKEN, roots=(arena.root,),
                          allowed_modules=("attack_functions",))
    with ExecutionServer(config) as running:
        yield running


@pytest.fixture
def client(server):
    with ExecutionClient(server.address, TOKEN, timeout_s=30) as connected:
        yield connected


@pytest.fixture
def raw(server):
    peer = RawPeer(server.address)
    yield peer
    peer.close()
