"""A token holder tries to read or write outside the server's roots: paths that leave them,
links inside a root that point out (a `TimePoint_1` folder, an image, a zarr chunk, Harmony
`<URL>`s), links planted in an output folder, OMERO hosts the server was not given. Each is
refused with one line naming the file; nothing outside changes (`nothing_outside_changes`) and
no reply or streamed byte carries an outside file's content."""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path

import pytest
from attack_arena import assert_no_secret, fresh, spec
from attack_functions import attack_tag

from napari_hcs.bridge.client import ServerError
from napari_hcs.bridge.stream import StreamReceiver
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.generator import write_sample_plate

IDENTITY = Pipeline([Step((attack_tag, {"note": "x"}), name="identity")], name="identity")


def outside_refused(text: str, name: str) -> None:
    assert "outside" in text and name in text, text


def run_and_collect(client, plate, out, **options) -> tuple[dict, list]:
    """Submit with a stream receiver; the final status and every message received."""
    with StreamReceiver() as viewer:
        run = client.submit(IDENTITY, plate, out, stream=viewer.address, **options)
        status = client.wait(run, timeout_s=180)
        received, deadline = [], time.monotonic() + 5
        while time.monotonic() < deadline and sum(m.kind == "status" for m in received) < len(
                status["wells"]):
            try:
                received.append(viewer.messages.get(timeout=0.1))
            except queue.Empty:
                pass
    for message in received:
        assert_no_secret(message.header)
        for array in message.arrays.values():
            assert_no_secret(array.tobytes())
    assert_no_secret(status)
    return status, received


@pytest.fixture(scope="module")
def plate(arena):
    return write_sample_plate(arena.root / "plate", "imagexpress", spec())


def test_plate_and_output_paths_outside_the_roots_are_refused(client, arena, plate):
    theirs = arena.outside / "their_plate"
    link = arena.root / "link-to-their-plate"
    link.symlink_to(theirs)
    out_link = arena.root / "link-to-outside"
    out_link.symlink_to(arena.outside)
    for plate_path, out in [
        (theirs, arena.root / "o1"),
        (arena.root / ".." / "outside" / "their_plate", arena.root / "o2"),
        (link, arena.root / "o3"),
        (plate, arena.outside / "out"),
        (plate, arena.root / ".." / "outside" / "out"),
        (plate, out_link / "out"),
        (plate, "/"),
    ]:
        with pytest.raises(ServerError, match="outside the server's roots") as info:
            client.submit(IDENTITY, plate_path, out)
        assert_no_secret(str(info.value).encode())
    assert client.list_runs() == []


def test_a_symlinked_timepoint_folder_is_refused(client, arena):
    plate = write_sample_plate(fresh(arena, "tp") / "plate", "imagexpress", spec())
    for tif in (plate / "TimePoint_1").iterdir():
        tif.unlink()
    (plate / "TimePoint_1").rmdir()
    (plate / "TimePoint_1").symlink_to(arena.outside / "their_plate" / "TimePoint_1")
    with pytest.raises(ServerError) as info:
        client.submit(IDENTITY, plate, plate.parent / "out")
    outside_refused(str(info.value), "TimePoint_1")
    assert_no_secret(str(info.value).encode())


def test_a_symlinked_image_fails_its_well_and_streams_nothing_of_it(client, arena):
    plate = write_sample_plate(fresh(arena, "img") / "plate", "imagexpress", spec())
    image = plate / "TimePoint_1" / "Plate_A02_w1.TIF"  # one site: no _s1
    image.unlink()
    image.symlink_to(arena.outside / "secret.tif")
    status, received = run_and_collect(client, plate, plate.parent / "out")
    assert status["status"] == "failed" and status["wells"] == {"A01": "ok", "A02": "failed"}
    error = next(m.header["error"] for m in received if m.kind == "status" and m.well == "A02")
    outside_refused(error, "Plate_A02_w1.TIF")
    assert not [m for m in received if m.well == "A02" and m.kind != "status"]
    assert {m.kind for m in received if m.well == "A01"} >= {"image", "status"}


def _phenix_with_urls(arena, variant: str) -> Path:
    plate = write_sample_plate(fresh(arena, f"phenix-{variant}") / "plate", "phenix", spec())
    index = plate / "Images" / "Index.idx.xml"
    secret = arena.outside / "secret.tif"
    text = index.read_text()
    for channel in (1, 2):
        url = f"r01c02f01p01-ch{channel}sk1fk1fl1.tiff"
        if variant == "absolute":
            target = str(secret)
        elif variant == "dotdot":
            target = os.path.relpath(secret, index.parent)
        else:  # a link inside Images that points outside
            (index.parent / url).unlink()
            (index.parent / url).symlink_to(secret)
            target = url
        text = text.replace(f"<URL>{url}</URL>", f"<URL>{target}</URL>")
    index.write_text(text)
    return plate


@pytest.mark.parametrize("variant", ["absolute", "dotdot", "symlink"])
def test_phenix_urls_that_leave_the_roots_are_refused(client, arena, variant):
    plate = _phenix_with_urls(arena, variant)
    status, received = run_and_collect(client, plate, plate.parent / "out")
    assert status["wells"] == {"A01": "ok", "A02": "failed"}
    error = next(m.header["error"] for m in received if m.kind == "status" and m.well == "A02")
    outside_refused(error, "secret.tif" if variant != "symlink" else "r01c02f01p01-ch1")
    assert not [m for m in received if m.well == "A02" and m.kind != "status"]


def test_a_phenix_index_whose_first_url_leaves_the_roots_is_refused_at_submit(client, arena):
    plate = write_sample_plate(fresh(arena, "phenix-first") / "plate", "phenix", spec())
    index = plate / "Images" / "Index.idx.xml"
    index.write_text(index.read_text().replace("<URL>r01c01f01p01-ch1sk1fk1fl1.tiff</URL>",
                                               f"<URL>{arena.outside / 'secret.tif'}</URL>"))
    with pytest.raises(ServerError) as info:
        client.submit(IDENTITY, plate, plate.parent / "out")
    outside_refused(str(info.value), "secret.tif")


@pytest.mark.parametrize("target", ["chunk", "well metadata"])
def test_zarr_links_that_leave_the_roots_are_refused(client, arena, target):
    plate = write_sample_plate(fresh(arena, "zarr") / "plate.zarr", "zarr", spec())
    # NGFF 0.5: field 0, level 0, its first shard; the well's zarr.json
    planted = plate / "A" / "2" / ("0/0/c/0/0/0" if target == "chunk" else "zarr.json")
    planted.unlink()
    planted.symlink_to(arena.outside / ("secret.tif" if target == "chunk" else "secret.txt"))
    if target == "well metadata":  # read while opening the plate: the submit is refused
        with pytest.raises(ServerError) as info:
            client.submit(IDENTITY, plate, plate.parent / "out")
        return outside_refused(str(info.value), "zarr.json")
    status, received = run_and_collect(client, plate, plate.parent / "out")
    assert status["wells"] == {"A01": "ok", "A02": "failed"}
    error = next(m.header["error"] for m in received if m.kind == "status" and m.well == "A02")
    outside_refused(error, "c/0/0/0")
    return None


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize("entry", ["tables", ".parts", "plate.zarr", "run.json",
                                   "plate.zarr/A/2", ".parts/A01"])
def test_links_planted_in_an_output_folder_are_refused(client, arena, plate, entry, resume):
    out = fresh(arena, "out")
    if resume:  # a complete earlier run, then the link
        first = client.submit(IDENTITY, plate, out)
        assert client.wait(first, timeout_s=180)["status"] == "ok"
    planted = out / entry
    if planted.is_dir():
        import shutil

        shutil.rmtree(planted)
    elif planted.exists():
        planted.unlink()
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.symlink_to(arena.outside / ("secret.txt" if entry == "run.json" else "victim"))
    run = client.submit(IDENTITY, plate, out, resume=resume)
    status = client.wait(run, timeout_s=180)
    assert status["status"] == "error", status
    outside_refused(status["error"], entry)
    assert_no_secret(status)


@pytest.mark.parametrize("field", ["plate", "out"])
def test_omero_hosts_the_server_was_not_given_are_refused(client, plate, arena, field):
    url = "omero://omero.evil.example:4064/plate/1"
    values = {"plate": plate, "out": fresh(arena, "omero-out"), field: url}
    with pytest.raises(ServerError, match="OMERO host omero.evil.example:4064 is not one this "
                       "server may reach \\(allowed: none"):
        client.submit(IDENTITY, values["plate"], values["out"])
