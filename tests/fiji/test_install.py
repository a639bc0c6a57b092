"""`napari-hcs fiji install`: into Fiji- and ImageJ-shaped folders, again, over an older plugin,
beside Fiji's own libraries; and a real ImageJ started on the installed folder (its own plugin
loading, menu command and dialog) receiving a run's stream with colours, LUTs and calibration.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from napari_hcs import __version__
from napari_hcs.bridge.display import contrast_limits

pytestmark = pytest.mark.java
PLUGIN = f"napari_hcs_fiji-{__version__}.jar"


def fiji_install(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "napari_hcs.cli", "fiji", "install", str(folder)],
                          capture_output=True, text=True, timeout=120)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_refuses_a_folder_that_is_not_fiji_and_writes_nothing(tmp_path):
    (tmp_path / "plugins").mkdir()  # plugins/ alone is no installation
    for folder in (tmp_path, tmp_path / "missing"):
        done = fiji_install(folder)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "is not a Fiji or ImageJ installation" in done.stderr
    assert tree(tmp_path) == {}


def test_installs_replaces_an_older_plugin_and_is_idempotent(fiji_app, fiji_dist):
    older = fiji_app / "plugins" / "napari_hcs_fiji-0.0.1.jar"
    older.write_bytes(b"an older build")
    first = fiji_install(fiji_app)
    assert first.returncode == 0, first.stderr
    assert not older.exists()
    assert (fiji_app / "plugins" / PLUGIN).read_bytes() == (
        fiji_dist / "napari_hcs_fiji.jar").read_bytes()
    libraries = sorted(p.name for p in (fiji_app / "jars").iterdir())
    assert [n.split("-")[0] for n in libraries] == ["gson", "ij", "jeromq"]
    assert all(n[:-4].split("-")[1][0].isdigit() for n in libraries)  # versioned names
    for line in ("removed plugins/napari_hcs_fiji-0.0.1.jar", f"installed plugins/{PLUGIN}",
                 "installed jars/jeromq-", "installed jars/gson-"):
        assert line in first.stdout

    installed = tree(fiji_app)
    again = fiji_install(fiji_app)
    assert again.returncode == 0, again.stderr
    assert tree(fiji_app) == installed
    lines = again.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["kept", "kept", "kept", "restart"], lines


def test_keeps_the_libraries_fiji_already_has(fiji_app, fiji_dist):
    own_gson = fiji_app / "jars" / "gson-2.11.0.jar"  # e.g. shipped by Fiji itself
    shutil.copyfile(fiji_dist / "gson.jar", own_gson)
    done = fiji_install(fiji_app)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (fiji_app / "jars").glob("gson*")) == ["gson-2.11.0.jar"]
    assert "kept jars/gson-2.11.0.jar" in done.stdout
    assert list((fiji_app / "jars").glob("jeromq-*.jar"))


def test_imagej1_gets_its_libraries_under_plugins_jars(tmp_path, fiji_dist):
    app = tmp_path / "ImageJ"
    (app / "plugins").mkdir(parents=True)
    shutil.copyfile("/usr/share/java/ij.jar", app / "ij.jar")
    done = fiji_install(app)
    assert done.returncode == 0, done.stderr
    assert (app / "plugins" / PLUGIN).is_file()
    assert sorted(p.name.split("-")[0] for p in (app / "plugins" / "jars").iterdir()) == [
        "gson", "jeromq"]


# The macro a user's clicks amount to: Plugins > napari-hcs > Start stream receiver (its dialog
# answered by the macro options), then what ImageJ shows of each image.
RECEIVE_MACRO = r"""
args = split(getArgument(), " ");
run("Start stream receiver", "address=" + args[0]);
for (waited = 0; nImages < parseInt(args[1]) && waited < 90000; waited += 100) wait(100);
wait(300);
for (i = 1; i <= nImages; i++) {
  selectImage(i);
  getDimensions(w, h, channels, slices, frames);
  getPixelSize(unit, pw, ph);
  line = "image|" + getTitle() + "|" + bitDepth() + "|" + channels + "|" + unit + "|" + pw;
  for (c = 1; c <= channels; c++) {
    if (channels > 1) Stack.setChannel(c);
    getLut(r, g, b);
    getMinAndMax(lo, hi);
    line = line + "|" + r[255] + "," + g[255] + "," + b[255] + "," + r[1] + "," + g[1] + ","
      + b[1] + "," + r[0] + "," + g[0] + "," + b[0] + "," + d2s(lo, 6) + "," + d2s(hi, 6);
  }
  print(line);
}
run("Stop stream receiver");
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_imagej_started_on_the_installed_folder_shows_a_runs_stream(fiji_app, tmp_path):
    from napari_hcs.engine.plate import open_plate
    from napari_hcs.engine.vfs.omezarr import read_field

    if not os.environ.get("DISPLAY"):
        pytest.skip("ImageJ's dialogs need a display (pytest-xvfb provides one)")
    assert fiji_install(fiji_app).returncode == 0
    plate, out, macro = tmp_path / "plate", tmp_path / "out", tmp_path / "receive.ijm"
    wells = ["A01", "B02"]
    subprocess.run([sys.executable, "-m", "napari_hcs.cli", "sample", str(plate), "--wells",
                    ",".join(wells), "--tile", "128"], check=True, capture_output=True)
    macro.write_text(RECEIVE_MACRO)
    address = f"tcp://127.0.0.1:{free_port()}"
    # As Fiji's launcher does: jars/ on the class path, plugins/ found by ImageJ itself.
    imagej = subprocess.Popen(
        ["java", f"-Duser.home={tmp_path}", f"-Dplugins.dir={fiji_app}", "-cp",
         str(fiji_app / "jars" / "*"), "ij.ImageJ", "-batch", str(macro),
         f"{address} {2 * len(wells)}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    run = subprocess.run([sys.executable, "-m", "napari_hcs.cli", "run", "stitch_segment",
                          str(plate), "--out", str(out), "--stream-bind", address,
                          "--no-progress"], capture_output=True, text=True, timeout=300)
    output, _ = imagej.communicate(timeout=180)
    assert run.returncode == 0, run.stderr
    assert imagej.returncode == 0, output

    shown = {}
    for line in output.splitlines():
        if line.startswith("image|"):
            _, title, bits, channels, unit, width, *luts = line.split("|")
            shown[title] = (int(bits), int(channels), unit, float(width),
                            [[float(v) for v in lut.split(",")] for lut in luts])
    assert len(shown) == 2 * len(wells), output
    pixel_size = open_plate(plate).layout.pixel_size_um
    for well in wells:
        bits, channels, unit, width, luts = shown[f"image {well}"]
        image = read_field(out / "plate.zarr", well, 0)
        image = image.reshape(image.shape[-3:])
        assert channels == image.shape[0] == 2
        # channels "1", "2" of the sample plate: blue and green, as in napari
        assert [lut[:3] for lut in luts] == [[0, 0, 255], [0, 255, 0]]
        assert np.allclose([lut[-2:] for lut in luts], contrast_limits(image), rtol=1e-5)
        # the run sends the plate's pixel size (its TIFFs' MetaSeries XML; docs/wire.md) and
        # the plugin calibrates in "micron", which a macro's getPixelSize reports as "microns"
        assert pixel_size == pytest.approx(0.65)
        assert (unit, width) == ("microns", pytest.approx(pixel_size))
        labels = [t for t in shown if t.endswith(f" {well}") and t != f"image {well}"]
        assert len(labels) == 1
        bits, channels, unit, width, luts = shown[labels[0]]
        assert bits == 16 and channels == 1 and unit == "microns"
        lut = luts[0]
        assert lut[6:9] == [0, 0, 0] and lut[3:6] != [0, 0, 0]  # black background, coloured ids
        assert lut[-2:] == [0, 255]


def test_the_plugin_jar_is_what_imagej_loads(fiji_dist):
    with zipfile.ZipFile(fiji_dist / "napari_hcs_fiji.jar") as jar:
        names = set(jar.namelist())
    assert "plugins.config" in names and "napari_hcs/fiji/HcsStreamPlugin.class" in names
    assert not any(n.startswith(("com/google/gson", "org/zeromq")) for n in names)  # not shaded
