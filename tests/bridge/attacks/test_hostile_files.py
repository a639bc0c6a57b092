"""Plate files that lie: a TIFF whose IFD chain loops, one with 100,000 pages, a 152-byte tile
that declares 65000 x 65000 pixels, a strip of 0 bytes, a zarr array that claims 60000 x 60000,
a FIFO named like a tile or a chunk, NaN pixel sizes. Each is refused with one line naming the
file (and key) before anything is allocated, and nothing blocks: every wait is bounded."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from attack_arena import fresh, spec
from attack_functions import attack_tag
from hostile_files import tiff_pages

from napari_hcs.bridge.client import ServerError
from napari_hcs.bridge.server import VALIDATOR_THREADS
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate import PlateError, open_plate
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.engine.plate.model import ImageKey

SPEC = SampleSpec(wells=("A01", "A02"), grid=(1, 2), tile=(32, 32), nuclei_per_tile=2.0)
WAIT = 60  # seconds: an upper bound for a refusal, never an expected duration
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("hostile")
    return {fmt: write_sample_plate(base / fmt / ("plate.zarr" if fmt == "zarr" else "plate"),
                                    fmt, SPEC) for fmt in ("imagexpress", "phenix", "zarr")}


def copy(templates, fmt: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(templates[fmt], tmp_path / templates[fmt].name))


def tile(plate: Path, well: str = "A02", site: int = 2) -> Path:
    return next((plate / "TimePoint_1").glob(f"*_{well}_s{site}_w1.TIF"))


def cli(*argv: str) -> subprocess.CompletedProcess:
    """`napari-hcs ...` in its own process, killed after WAIT seconds (a hang fails the test)."""
    return subprocess.run([sys.executable, "-m", "napari_hcs.cli", *argv], capture_output=True,
                          text=True, timeout=WAIT)


def small_memory():
    """Run the child with 2 GiB of address space: a multi-GiB allocation fails instead of
    swapping the test machine."""
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


HOSTILE = {
    "loop": (dict(pages=3, loop=True), r"chain of image directories \(IFDs\) loops"),
    "pages": (dict(pages=100_000), r"has more than 64 pages"),
    "giant": (dict(pages=1, height=65000, width=65000, pixel_bytes=16, compression=8),
              r"\(65000, 65000\) pixels would decode to 7\.9 GiB"),
    "empty strip": (dict(pages=1, height=32, width=32, byte_count=0),
                    r"strip 0 of its pixels has 0 bytes"),
    "short strip": (dict(pages=1, height=32, width=32, pixel_bytes=64),
                    r"truncated image .*strips hold 64 bytes"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_tile_is_refused_by_name_before_decoding(templates, tmp_path, case):
    plate = copy(templates, "imagexpress", tmp_path)
    options, message = HOSTILE[case]
    victim = tiff_pages(tile(plate), **options)
    reader = open_plate(plate)
    with pytest.raises(PlateError, match=message) as caught:
        reader.read(ImageKey("A02", 2, "1"))
    assert str(victim) in str(caught.value)


def test_a_run_over_hostile_tiles_fails_those_wells_only(tmp_path):
    """One run, a hostile tile in three of four wells: those fail naming their file, the
    fourth is ok, and the run ends (in 2 GiB of address space)."""
    plate = write_sample_plate(tmp_path / "plate", "imagexpress", SampleSpec(
        wells=("A01", "A02", "B01", "B02"), grid=(1, 2), tile=(32, 32), nuclei_per_tile=2.0))
    victims = {well: tiff_pages(tile(plate, well), **HOSTILE[case][0])
               for well, case in (("A02", "loop"), ("B01", "giant"), ("B02", "empty strip"))}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "napari_hcs.cli", "run", "stitch_segment", str(plate),
         "--out", str(out), "--no-progress"], capture_output=True, text=True, timeout=WAIT * 2,
        preexec_fn=small_memory)
    assert proc.returncode == 1, proc.stderr
    wells = json.loads((out / "run.json").read_text())["wells"]
    assert wells["A01"]["status"] == "ok"
    for well, victim in victims.items():
        assert wells[well]["status"] == "failed" and str(victim) in wells[well]["error"]


def test_a_fifo_named_like_a_tile_does_not_block_info(templates, tmp_path):
    plate = copy(templates, "imagexpress", tmp_path)
    first = tile(plate, "A01", 1)
    first.unlink()
    os.mkfifo(first)
    proc = cli("info", str(plate))
    assert proc.returncode == 2
    assert f"{first} is a FIFO (named pipe), not a regular file" in proc.stderr


def test_a_fifo_as_a_harmony_image_does_not_block(templates, tmp_path):
    plate = copy(templates, "phenix", tmp_path)
    first = sorted((plate / "Images").glob("*.tiff"))[0]
    first.unlink()
    os.mkfifo(first)
    proc = cli("info", str(plate))
    assert proc.returncode == 2 and f"{first} is a FIFO" in proc.stderr


def test_a_fifo_as_a_zarr_chunk_does_not_block(templates, tmp_path):
    plate = copy(templates, "zarr", tmp_path)
    reader = open_plate(plate)
    array = Path(reader.image_path(ImageKey("A01", 1, "1")))
    chunk = next(p for p in sorted(array.rglob("*")) if p.is_file() and p.name != "zarr.json"
                 and p.name[0] not in "._")
    chunk.unlink()
    os.mkfifo(chunk)
    with pytest.raises(PlateError, match="is not a regular file") as caught:
        reader.read(ImageKey("A01", 1, "1"))
    assert str(chunk) in str(caught.value)


def _array_meta(plate: Path) -> Path:
    """The metadata file of the first image array (NGFF 0.4 `.zarray` or 0.5 `zarr.json`)."""
    for meta in sorted([*plate.rglob(".zarray"), *plate.rglob("zarr.json")]):
        doc = json.loads(meta.read_text())
        if (meta.name == ".zarray" or doc.get("node_type") == "array") \
                and "labels" not in str(meta):
            return meta
    raise AssertionError("no array in the sample plate")


def test_a_zarr_array_claiming_a_giant_plane_is_refused_before_reading(templates, tmp_path):
    plate = copy(templates, "zarr", tmp_path)
    meta = _array_meta(plate)
    doc = json.loads(meta.read_text())
    doc["shape"] = [*doc["shape"][:-2], 60000, 60000]
    meta.write_text(json.dumps(doc))
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30));"
            "from napari_hcs.engine.plate import open_plate, ImageKey;"
            f"r = open_plate({str(plate)!r});"
            "[r.read(ImageKey(w, s, '1')) for w in r.layout.wells for s in r.layout.sites]")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=WAIT)
    assert proc.returncode != 0
    assert "PlateError" in proc.stderr
    assert "(60000, 60000) pixels would decode to 6.7 GiB" in proc.stderr
    assert str(meta.parent) in proc.stderr


@pytest.mark.parametrize("fmt,edit,key", [
    ("imagexpress", lambda p: (p / "Plate.HTD").write_text(
        (p / "Plate.HTD").read_text().replace('"EndFile"', '"PixelSizeUM", NaN\n"EndFile"')),
     "PixelSizeUM"),
    ("phenix", lambda p: (p / "Images" / "Index.idx.xml").write_text(
        _replace_first_text(p / "Images" / "Index.idx.xml", "ImageResolutionX", "NaN")),
     "<ImageResolutionX>"),
    ("zarr", lambda p: _nan_scale(p), "scale[x]"),
])
def test_nan_metadata_is_refused_naming_file_and_key(templates, tmp_path, fmt, edit, key):
    plate = copy(templates, fmt, tmp_path)
    if fmt == "imagexpress":  # MetaSeries calibration would win over the HTD's: drop it
        for path in (plate / "TimePoint_1").glob("*.TIF"):
            _strip_description(path)
    edit(plate)
    proc = cli("info", str(plate))
    assert proc.returncode == 2, proc.stdout
    assert key in proc.stderr and str(plate) in proc.stderr and "nan" in proc.stderr.lower()
    assert proc.stdout == ""  # no half-printed (invalid) JSON


def _replace_first_text(path: Path, tag: str, value: str) -> str:
    text = path.read_text()
    start = text.index(f"<{tag}")
    start = text.index(">", start) + 1
    return text[:start] + value + text[text.index("<", start):]


def _nan_scale(plate: Path) -> None:
    for meta in sorted([*plate.rglob(".zattrs"), *plate.rglob("zarr.json")]):
        doc = json.loads(meta.read_text())
        attrs = doc.get("attributes", {}).get("ome", {}) if meta.name == "zarr.json" else doc
        for ms in attrs.get("multiscales", []):
            for dataset in ms["datasets"]:
                for transform in dataset.get("coordinateTransformations", []):
                    if transform["type"] == "scale":
                        transform["scale"][-1] = float("nan")
        meta.write_text(json.dumps(doc))


def _strip_description(path: Path) -> None:
    import tifffile

    data = tifffile.imread(path)
    tifffile.imwrite(path, data)


def test_fifo_tiles_submitted_to_the_server_do_not_block_its_validators(client, arena):
    """More FIFO plates than the server has validator threads: each is refused by name and
    the server still answers (before #25 each one held a validator thread forever)."""
    identity = Pipeline([Step((attack_tag, {"note": "x"}), name="x")])
    for _ in range(VALIDATOR_THREADS + 1):
        plate = write_sample_plate(fresh(arena, "fifo") / "plate", "phenix", spec())
        first = sorted((plate / "Images").glob("*.tiff"))[0]
        first.unlink()
        os.mkfifo(first)
        with pytest.raises(ServerError, match="is a FIFO") as caught:
            client.submit(identity, plate, plate.parent / "out")
        assert str(first.name) in str(caught.value)
    assert client.list_runs() == []
