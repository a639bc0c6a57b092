"""Shared pieces of the attack suite (fixtures are in conftest.py): the plate spec, secrets,
a raw DEALER peer, and checks that nothing outside the root changed or leaked."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import numpy as np
import zmq

from napari_hcs.engine.plate.generator import SampleSpec

TOKEN = "attack-suite-token-0123456789abcdef"
SECRET_VALUE = 4242
SECRET_TEXT = b"OUTSIDE-SECRET-7f3a9c"
TILE = 32


def spec(wells=("A01", "A02")) -> SampleSpec:
    return SampleSpec(wells=wells, grid=(1, 1), tile=(TILE, TILE), nuclei_per_tile=3.0)


def fresh(arena, name: str) -> Path:
    """A new folder under the root for one test."""
    folder = arena.root / f"{name}-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    found = {}
    for dirpath, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[str(path)] = "dir" if path.is_dir() else "link"
    return found


class RawPeer:
    """A DEALER socket that sends anything and reads replies with a deadline."""

    def __init__(self, address: str) -> None:
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(address)

    def send(self, *frames: bytes) -> None:
        self.socket.send_multipart(list(frames))

    def request(self, **fields) -> None:
        self.send(json.dumps({"v": 1, "id": "r1", "token": TOKEN, **fields}).encode())

    def replies(self, timeout_s: float = 5.0, settle_s: float = 0.3) -> list[dict]:
        """Every message that arrives within `timeout_s`, waiting `settle_s` after the last."""
        got = []
        wait_ms = int(timeout_s * 1000)
        while self.socket.poll(wait_ms):
            got.append(json.loads(self.socket.recv()))
            wait_ms = int(settle_s * 1000)
        return got

    def close(self) -> None:
        self.socket.close()


def assert_no_secret(payload) -> None:
    """No server reply or streamed header/buffer carries bytes of an outside file."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    assert SECRET_TEXT not in data
    assert np.uint16(SECRET_VALUE).tobytes() * 4 not in data

