"""OmeroPlateReader against the stand-in: layout, lazy planes, logins, worker processes."""

from __future__ import annotations

import multiprocessing as mp
import pickle

import numpy as np
import pytest

from napari_hcs.bridge.omero.credentials import OmeroLoginError
from napari_hcs.bridge.omero.source import OmeroPlateReader, length_to_pixels
from napari_hcs.engine.plate.model import ImageKey, PlateError


def test_layout_comes_from_the_omero_model(seeded):
    reader = OmeroPlateReader(seeded.url)
    layout = reader.layout
    assert layout.format == "omero"
    assert layout.wells == ("A01", "A02")
    assert layout.sites == (1, 2, 3, 4)
    assert layout.channels == ("1", "2")
    assert layout.channel_names == {"1": "DAPI", "2": "GFP"}
    assert (layout.z, layout.timepoints) == ((1,), (1,))
    assert layout.shape == (64, 64) and layout.dtype == "uint16"
    assert layout.site_positions.keys() == seeded.plate.positions.keys()
    for site, yx in seeded.plate.positions.items():
        assert layout.site_positions[site] == pytest.approx(yx)
    assert reader.detect(reader.root) and str(reader.root).startswith("omero:/")


def test_planes_are_read_per_key(seeded):
    reader = OmeroPlateReader(seeded.url)
    for (well, site), data in seeded.plate.planes.items():
        for c, channel in enumerate(("1", "2")):
            plane = reader.read(ImageKey(well, site, channel))
            np.testing.assert_array_equal(plane, data[c])
    assert reader.image_path(ImageKey("A02", 3, "2")).endswith("?z=0&c=1&t=0")


def test_missing_things_are_named(seeded):
    reader = OmeroPlateReader(seeded.url)
    with pytest.raises(PlateError, match="well B07 site 1"):
        reader.read(ImageKey("B07", 1, "1"))
    with pytest.raises(PlateError, match="no channel '9'"):
        reader.read(ImageKey("A01", 1, "9"))
    with pytest.raises(PlateError, match="no plate 999"):
        OmeroPlateReader("omero://omero.test/plate/999").layout  # noqa: B018


def test_a_refused_login_says_which_variables(seeded, monkeypatch):
    monkeypatch.setenv("OMERO_PASSWORD", "wrong")
    with pytest.raises(OmeroLoginError, match="OMERO_USER/OMERO_PASSWORD") as info:
        OmeroPlateReader(seeded.url).layout  # noqa: B018
    assert "wrong" not in str(info.value)


def test_session_key_login_leaves_the_session_alive(seeded, monkeypatch):
    owner = seeded.omero.BlitzGateway("alice", "s3cret-Pa55word", host="omero.test", port=4064)
    assert owner.connect()
    monkeypatch.delenv("OMERO_USER")
    monkeypatch.delenv("OMERO_PASSWORD")
    monkeypatch.setenv("OMERO_SESSION_KEY", owner.c.getSessionId())
    reader = OmeroPlateReader(seeded.url)
    assert reader.read(ImageKey("A01", 1, "1")).shape == (64, 64)
    reader.close()
    assert owner.isConnected()  # joining did not kill the owner's session on close
    owner.close()
    with pytest.raises(OmeroLoginError):
        OmeroPlateReader(seeded.url).layout  # noqa: B018


def test_reader_pickles_as_its_url(seeded):
    reader = OmeroPlateReader(seeded.url)
    reader.layout  # noqa: B018 - opens the connection
    clone = pickle.loads(pickle.dumps(reader))
    assert clone.address == reader.address and clone._conn is None
    np.testing.assert_array_equal(clone.read(ImageKey("A02", 4, "1")),
                                  seeded.plate.planes[("A02", 4)][0])


def _worker_sum(url: str, queue: mp.Queue) -> None:
    queue.put(float(OmeroPlateReader(url).read(ImageKey("A02", 2, "2")).sum()))


def test_a_spawned_worker_recreates_the_reader_from_url_and_environment(seeded):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_worker_sum, args=(str(OmeroPlateReader(seeded.url).root), queue))
    proc.start()
    total = queue.get(timeout=60)
    proc.join(timeout=30)
    assert proc.exitcode == 0
    assert total == float(seeded.plate.planes[("A02", 2)][1].sum())


def test_lengths_convert_to_pixels(omero_env):
    units, length = omero_env.UnitsLength, omero_env.model.LengthI
    assert length_to_pixels(length(6.5, units.MICROMETER), 0.65) == pytest.approx(10)
    assert length_to_pixels(length(650, units.NANOMETER), 0.65) == pytest.approx(1)
    assert length_to_pixels(length(12, units.REFERENCEFRAME), None) == 12
    assert length_to_pixels(length(6.5, units.MICROMETER), None) is None
    assert length_to_pixels(None, 0.65) is None
