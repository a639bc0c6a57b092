"""The Fiji plugin, headless in a real JVM with ImageJ, receiving a real stream.

Python binds PUSH (`--stream-bind`), the Java receiver connects PULL, and writes a report of
what it built (titles, dimensions, pixel checksums, ROI counts, LUT colours and display ranges)
that is compared here with the Python side. Skipped only when a JDK or Debian's imagej /
libjeromq-java / libgoogle-gson-java jars are missing.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from napari_hcs.bridge.display import contrast_limits
from napari_hcs.bridge.stream import StreamPublisher

ROOT = Path(__file__).resolve().parents[2]
JARS = [Path("/usr/share/java/ij.jar"), Path("/usr/share/java/jeromq.jar"),
        Path("/usr/share/java/gson.jar")]
MAIN = "napari_hcs.fiji.HcsReceiverMain"

pytestmark = pytest.mark.java

_HEAD = '{"v": 1, "kind": "labels", "name": "x", "well": "A01", "axes": "yx", "shape": [2, 2]'
GARBAGE = [
    [b"\x80\x04 not json"],
    [b'{"v": 1, "kind": "image", "name": "x", "well": "A01"}'],  # no shape/dtype/axes
    [b'{"v": 7, "kind": "status", "name": "s", "well": "A01", "status": "ok"}'],
    [(_HEAD + ', "dtype": "uint16"}').encode(), b"\x00" * 6],  # 6 bytes for 2x2 uint16
    [(_HEAD + ', "dtype": "object"}').encode(), b"\x00" * 4],
    [b'{"v": 1, "kind": "image", "name": "x", "well": "A01", "axes": "cyx", "shape": [1, 1, 2],'
     b' "dtype": "uint8", "channel_colors": ["red"]}', b"\x00" * 2],  # not #RRGGBB
    [b'{"v": 1, "kind": "image", "name": "x", "well": "A01", "axes": "cyx", "shape": [1, 1, 2],'
     b' "dtype": "uint8", "contrast_limits": [[5, 5]]}', b"\x00" * 2],  # lo == hi
    [b"[" * 100_000],  # nested past any sane depth: rejected, the receiver keeps going
]


@pytest.fixture(scope="session")
def plugin_jar() -> Path:
    if not (shutil.which("java") and shutil.which("javac") and shutil.which("make")):
        pytest.skip("needs a JDK (java, javac) and make")
    if not all(jar.exists() for jar in JARS):
        pytest.skip("needs Debian's imagej and libjeromq-java (/usr/share/java)")
    subprocess.run(["make", "-s", "-C", str(ROOT / "fiji")], check=True, timeout=300)
    return ROOT / "fiji" / "build" / "napari_hcs_fiji.jar"


def start_receiver(jar: Path, address: str, report: Path, wells: int) -> subprocess.Popen:
    classpath = ":".join(str(p) for p in [jar, *JARS])
    return subprocess.Popen(["java", "-cp", classpath, MAIN, address, str(report), str(wells),
                             "120"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def finish(proc: subprocess.Popen, report: Path) -> dict:
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, output
    return json.loads(report.read_text())


def imagej_checksum(array: np.ndarray) -> float:
    """What the plugin reports: the sum of pixel values as ImageJ stores them (8/16-bit kept,
    everything else as 32-bit float)."""
    if array.dtype not in (np.uint8, np.uint16, np.bool_):
        array = array.astype(np.float32)
    return float(array.astype(np.float64).sum())


def test_hyperstack_calibration_rois_tables_and_failures_arrive_in_imagej(plugin_jar, tmp_path):
    rng = np.random.default_rng(1)
    image = rng.normal(100, 20, (2, 3, 40, 56)).astype(np.float32)  # (C, Z, Y, X)
    labels = np.zeros((40, 56), np.int32)
    labels[5:15, 5:20], labels[25:35, 30:50] = 1, 2
    ok = SimpleNamespace(
        well="A01", status="ok", error=None, image=image, channel_names=["DAPI", "GFP"],
        pixel_size_um=0.65, labels={"nuclei": labels},
        rois={"nuclei": [np.array([[5, 5], [5, 19], [14, 19], [14, 5]], float),
                         np.array([[25, 30], [34, 30], [34, 49]], float)]},
        tables={"nuclei": pd.DataFrame({"well": ["A01", "A01"], "area": [150.0, 200.0]})},
        positions=None)
    failed = SimpleNamespace(well="A02", status="failed", error="step 'segment': no nuclei",
                             image=None, channel_names=[], labels={}, rois={}, tables={},
                             positions=None)
    report = tmp_path / "report.json"
    with StreamPublisher("tcp://127.0.0.1:0", bind=True, send_timeout_ms=10000) as publisher:
        proc = start_receiver(plugin_jar, publisher.address, report, wells=2)
        assert publisher.wait_for_peer(60), "the Java receiver never connected"
        for garbage in GARBAGE:  # the plugin logs and drops these, and keeps receiving
            publisher.send(garbage)
        publisher.send_well_result(ok)
        publisher.send_well_result(failed)
        got = finish(proc, report)

    assert got["complete"] and got["rejected"] == len(GARBAGE)
    images = {entry["title"]: entry for entry in got["images"]}
    assert set(images) == {"image A01", "nuclei A01"}
    stack = images["image A01"]
    assert (stack["width"], stack["height"], stack["channels"], stack["slices"]) == (56, 40, 2, 3)
    assert stack["slice_labels"] == ["DAPI", "GFP"]
    assert stack["pixel_width"] == 0.65 and stack["unit"] == "micron"
    assert stack["checksum"] == pytest.approx(imagej_checksum(image), rel=1e-9)
    assert stack["rois"] == 2
    assert stack["channel_colors"] == ["#0000FF", "#00FF00"]  # DAPI blue, GFP green, as napari
    assert np.allclose(stack["display_ranges"], contrast_limits(image), rtol=1e-6)
    label_image = images["nuclei A01"]
    assert label_image["checksum"] == imagej_checksum(labels)
    assert label_image["bit_depth"] == 16  # ids fit 0..65535
    assert label_image["lut_zero"] == "#000000" and label_image["lut_distinct"] == 255
    assert label_image["display_ranges"] == [[0, 255]]
    assert label_image["pixel_width"] == 0.65 and label_image["unit"] == "micron"
    assert got["tables"] == [{"name": "nuclei", "well": "A01", "rows": 2,
                              "columns": ["well", "area"]}]
    assert got["statuses"] == [
        {"well": "A01", "status": "ok", "error": None},
        {"well": "A02", "status": "failed", "error": "step 'segment': no nuclei"}]


def test_jar_declares_the_menu_commands(plugin_jar):
    with zipfile.ZipFile(plugin_jar) as jar:
        config = jar.read("plugins.config").decode()
        names = set(jar.namelist())
    commands = [line for line in config.splitlines() if line.startswith("Plugins>napari-hcs")]
    assert [c.split('"')[1] for c in commands] == ["Start stream receiver", "Stop stream receiver"]
    for command in commands:
        class_name = command.rsplit(",", 1)[1].strip().split("(")[0]
        assert class_name.replace(".", "/") + ".class" in names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sample_plate_run_streams_into_the_fiji_plugin(plugin_jar, sample_plate, plate_wells,
                                                       pipeline_file, tmp_path):
    from napari_hcs.engine.functions.library.segmentation import outlines
    from napari_hcs.engine.vfs.omezarr import read_field, read_labels

    address = f"tcp://127.0.0.1:{free_port()}"
    report, out = tmp_path / "report.json", tmp_path / "out"
    receiver = start_receiver(plugin_jar, address, report, wells=len(plate_wells))
    run = subprocess.run(
        [sys.executable, "-m", "napari_hcs.cli", "run", str(pipeline_file), str(sample_plate),
         "--out", str(out), "--stream-bind", address, "--no-progress"],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    got = finish(receiver, report)

    assert got["rejected"] == 0
    assert [s["status"] for s in got["statuses"]] == ["ok"] * len(plate_wells)
    images = {entry["title"]: entry for entry in got["images"]}
    for well in plate_wells:
        image = read_field(out / "plate.zarr", well, 0)
        image = image.reshape(image.shape[-3:])  # (C, Y, X) as the run streams it
        entry = images[f"image {well}"]
        assert (entry["channels"], entry["height"], entry["width"]) == image.shape
        assert entry["slices"] == 1 and entry["slice_labels"] == ["1", "2"]
        assert entry["checksum"] == pytest.approx(imagej_checksum(image), rel=1e-9)
        # Calibrated from the wire header, itself from the plate's MetaSeries XML only.
        assert (entry["pixel_width"], entry["unit"]) == (pytest.approx(0.65), "micron")
        assert entry["channel_colors"] == ["#0000FF", "#00FF00"]  # as napari shows channels 1, 2
        assert np.allclose(entry["display_ranges"], contrast_limits(image), rtol=1e-6)
        label_titles = [t for t in images if t.endswith(f" {well}") and t != f"image {well}"]
        assert len(label_titles) == 1
        name = label_titles[0].rsplit(" ", 1)[0]
        labels = read_labels(out / "plate.zarr", well, 0, name)
        labels = labels.reshape(labels.shape[-2:])
        assert images[label_titles[0]]["checksum"] == imagej_checksum(labels)
        assert images[label_titles[0]]["unit"] == "micron"
        assert images[label_titles[0]]["lut_distinct"] == 255
        assert entry["rois"] == len(outlines(labels[None])) > 0
