"""Fixtures: a stand-in OMERO server on disk, reached through NAPARI_HCS_OMERO_GATEWAY."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `seed` and `fake_blitz` beside this file

from seed import upload_plate  # noqa: E402

from napari_hcs.bridge.omero.binding import BINDING_ENV, load_binding  # noqa: E402

FAKE = Path(__file__).with_name("fake_blitz.py")
USER, PASSWORD = "alice", "s3cret-Pa55word"


@pytest.fixture
def omero_env(tmp_path, monkeypatch):
    """Environment for the stand-in: binding, state dir, and alice's credentials."""
    for var in ("OMERO_HOST", "OMERO_PORT", "OMERO_SESSION_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(BINDING_ENV, str(FAKE))
    monkeypatch.setenv("NAPARI_HCS_FAKE_OMERO_DIR", str(tmp_path / "omero-server"))
    monkeypatch.setenv("OMERO_USER", USER)
    monkeypatch.setenv("OMERO_PASSWORD", PASSWORD)
    omero = load_binding()
    omero.FakeOmeroServer(tmp_path / "omero-server").create({USER: PASSWORD, "bob": "bobpw"})
    return omero


@pytest.fixture
def seeded(omero_env):
    """A 2-well, 2x2-field, 2-channel plate on the stand-in, and its URL."""
    conn = omero_env.BlitzGateway(USER, PASSWORD, host="omero.test", port=4064)
    assert conn.connect()
    plate = upload_plate(conn, omero_env, "screen-1 plate")
    conn.close()
    url = f"omero://omero.test:4064/plate/{plate.plate_id}"
    return SimpleNamespace(plate=plate, url=url, omero=omero_env)
