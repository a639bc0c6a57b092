"""`napari-hcs run --out s3://...` against a real S3 server on 127.0.0.1 (moto's), started here.

The plate is written to the bucket by the same writer as on disk, reopens through our napari
reader and ome-zarr-models, and the tables and run.json follow it; a scheme we cannot write is
one error before any work (never a local folder named `s3:`); the lock object of a run that
is still writing refuses a second one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_hcs.cli import main
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

SPEC = SampleSpec(wells=("A01", "B02"), grid=(2, 2), tile=(64, 64), nuclei_per_tile=4.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on 127.0.0.1; the AWS variables point every process (workers too) at
    it. Yields an s3fs filesystem with the bucket `results`."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                   "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"moto server did not start: {log.read_text()}") from None
                time.sleep(0.2)
        import s3fs

        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        fs.mkdir("results")
        yield fs
    finally:
        server.terminate()
        server.wait(timeout=30)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def plate(tmp_path_factory) -> Path:
    return write_sample_plate(tmp_path_factory.mktemp("s3") / "plate", "imagexpress", SPEC)


@pytest.fixture(scope="module")
def s3_run(s3, plate, tmp_path_factory) -> str:
    """`napari-hcs run stitch_segment PLATE --out s3://results/screen1`, from an empty folder."""
    url = "s3://results/screen1"
    cwd = tmp_path_factory.mktemp("cwd")
    before = os.getcwd()
    os.chdir(cwd)  # a mistaken local "s3:" folder would appear here
    try:
        assert main(["run", "stitch_segment", str(plate), "--out", url, "--no-progress"]) == 0
    finally:
        os.chdir(before)
    assert not list(cwd.iterdir())
    return url


def test_run_writes_the_plate_tables_and_run_json_to_the_bucket(s3, s3_run):
    url = s3_run
    s3.invalidate_cache()
    names = set(s3.ls("results/screen1"))
    assert {"results/screen1/plate.zarr", "results/screen1/tables",
            "results/screen1/run.json"} <= names
    assert "results/screen1/.napari-hcs.lock" not in names  # released at the end
    run = json.loads(s3.cat_file("results/screen1/run.json"))
    assert run["status"] == "ok" and set(run["wells"]) == {"A01", "B02"}
    with s3.open("results/screen1/tables/nuclei.parquet", "rb") as fh:
        nuclei = pd.read_parquet(fh)
    assert set(nuclei.well) == {"A01", "B02"} and len(nuclei) > 0
    assert s3.exists("results/screen1/plate.zarr/A/1/0/tables/nuclei/table.parquet")

    # Reopens in napari through our reader (lazy dask arrays read from the bucket).
    from napari_hcs.napari.results.output_zarr import read_output_plate

    opened = read_output_plate(f"{url}/plate.zarr")
    assert sorted(w.name for w in opened.wells) == ["A01", "B02"]
    assert opened.label_names == ["nuclei_labels"] and opened.pixel_size_um == pytest.approx(
        SPEC.pixel_size_um)
    image = np.asarray(opened.wells[0].image[0][1])
    assert image.ndim == 3 and image.shape[0] == 2 and image.any()

    # And validates as NGFF 0.5 with ome-zarr-models, read through zarr from the bucket.
    import zarr
    from ome_zarr_models.v05.hcs import HCS

    hcs = HCS.from_zarr(zarr.open_group(f"{url}/plate.zarr", mode="r"))
    assert [w.path for w in hcs.ome_attributes.plate.wells] == ["A/1", "B/2"]


def test_the_bucket_plate_opens_in_a_napari_viewer(s3_run, make_napari_viewer):
    from napari_hcs.napari.results.output_layers import plate_zarr_layers

    viewer = make_napari_viewer()
    for data, kwargs, kind in plate_zarr_layers(f"{s3_run}/plate.zarr"):
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    kinds = [type(layer).__name__ for layer in viewer.layers]
    assert kinds.count("Image") == 2 and "Labels" in kinds, kinds
    image = viewer.layers[0]
    assert image.multiscale and np.asarray(image.data[-1]).any()  # pixels from the bucket


def test_a_scheme_we_cannot_write_is_one_error_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    plate = tmp_path / "nowhere"  # not even read: the output is checked first
    assert main(["run", "stitch_segment", str(plate), "--out", "http://host/res",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot write outputs to http://host/res") and "\n" not in err
    assert not list(tmp_path.iterdir())


def test_a_held_prefix_and_resume_are_refused(s3, plate, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    s3.pipe_file("results/busy/.napari-hcs.lock", b'{"pid": 1, "host": "elsewhere"}')
    assert main(["run", "stitch_segment", str(plate), "--out", "s3://results/busy",
                 "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert "in use by another napari-hcs run" in err and "delete" in err
    s3.invalidate_cache()
    assert s3.ls("results/busy") == ["results/busy/.napari-hcs.lock"]  # nothing else written
    assert main(["run", "stitch_segment", str(plate), "--out", "s3://results/other",
                 "--resume", "--no-progress"]) != 0
    assert "--resume needs a local output folder" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_an_ome_zarr_plate_on_the_store_is_an_input(s3, tmp_path, capsys):
    zarr_spec = SampleSpec(wells=("A01",), grid=(2, 2), tile=(64, 64), nuclei_per_tile=4.0)
    local = write_sample_plate(tmp_path / "plate.zarr", "zarr", zarr_spec)  # NGFF 0.5
    s3.put(str(local), "results/inputs/plate.zarr", recursive=True)
    url = "s3://results/inputs/plate.zarr"
    assert main(["info", url]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "zarr" and info["wells"] == ["A01"] and info["sites"] == [1, 2, 3, 4]
    out = tmp_path / "out"
    assert main(["run", "stitch_segment", url, "--out", str(out), "--no-progress"]) == 0
    from napari_hcs.engine.plate import open_plate
    from napari_hcs.engine.vfs import omezarr

    local_reader = open_plate(local)
    mosaic = omezarr.read_field(out / "plate.zarr", "A01", 0)
    assert mosaic.shape[0] == 2 and mosaic.shape[1] > 64  # stitched from the bucket's tiles
    key = local_reader.layout.keys("A01")[0]
    np.testing.assert_array_equal(open_plate(url).read(key), local_reader.read(key))


def test_a_file_url_is_the_local_folder(plate, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main(["run", "stitch_segment", str(plate), "--out", f"file://{out}", "--wells", "A01",
                 "--no-progress"]) == 0
    assert (out / "plate.zarr" / "zarr.json").is_file() and (out / "run.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no folder named "file:"


def test_a_store_without_credentials_names_the_url_and_what_to_set(s3, plate, tmp_path,
                                                                   monkeypatch, capsys):
    import s3fs

    monkeypatch.chdir(tmp_path)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup
    s3fs.S3FileSystem.clear_instance_cache()  # the cached filesystem holds the keys
    try:
        assert main(["run", "stitch_segment", str(plate), "--out", "s3://results/nokeys",
                     "--no-progress"]) != 0
    finally:
        s3fs.S3FileSystem.clear_instance_cache()  # nor may one without them stay cached
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert err.startswith("error: cannot write outputs to s3://results/nokeys: Unable to locate "
                          "credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), err
    assert "AWS_PROFILE" in err and "AWS_ENDPOINT_URL" in err
    assert not list(tmp_path.iterdir())
