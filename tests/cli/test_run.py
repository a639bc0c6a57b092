"""`napari-hcs run` end to end on generated plates with the built-in library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import zarr

from napari_hcs.cli import main
from napari_hcs.engine.codegen import pipeline_to_source
from napari_hcs.engine.functions.library.assembly import assemble_mosaic
from napari_hcs.engine.functions.library.measure import measure_nuclei
from napari_hcs.engine.functions.library.registration import compute_positions
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

SPEC = SampleSpec(wells=("A01", "B02"), grid=(2, 2), tile=(64, 64), nuclei_per_tile=4.0)


@pytest.fixture(scope="module")
def plate(tmp_path_factory) -> Path:
    return write_sample_plate(tmp_path_factory.mktemp("cli") / "plate", "imagexpress", SPEC)


@pytest.fixture
def pipeline_file(tmp_path) -> Path:
    pipeline = Pipeline([
        Step({"1": compute_positions}, name="positions", group_by="channel"),
        Step(assemble_mosaic, name="stitch"),
        Step({"1": segment_nuclei}, name="segment", group_by="channel"),
        Step(measure_nuclei, name="measure", variable_components=("channel",)),
    ], name="stitch_segment")
    path = tmp_path / "pipeline.py"
    path.write_text(pipeline_to_source(pipeline))
    return path


def test_run_command_writes_outputs(plate, pipeline_file, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "napari_hcs.cli", "run", str(pipeline_file), str(plate),
         "--out", str(out), "--workers", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "2 wells ok, 0 failed" in done.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["pipeline"]["source"] == pipeline_file.read_text()
    assert run["options"]["workers"] == 2
    assert {e["status"] for e in run["wells"].values()} == {"ok"}
    # Mosaic = field 0 with the nuclei labels; tables with the key columns first.
    from ome_zarr_models.v05.hcs import HCS

    HCS.from_zarr(zarr.open_group(str(out / "plate.zarr"), mode="r"))
    assert (out / "plate.zarr" / "B" / "2" / "0" / "labels" / "nuclei_labels").is_dir()
    assert not (out / "plate.zarr" / "B" / "2" / "1").exists()
    nuclei = pd.read_parquet(out / "tables" / "nuclei.parquet")
    assert list(nuclei.columns[:5]) == ["plate", "well", "field", "label_image", "label"]
    assert set(nuclei.well) == {"A01", "B02"}
    positions = pd.read_parquet(out / "tables" / "positions.parquet")
    assert list(positions.columns) == ["plate", "well", "field", "site", "y", "x", "y_um",
                                       "x_um"] and len(positions) == 8


def test_compile_errors_one_line_each_exit_2(plate, tmp_path, capsys):
    path = tmp_path / "bad.py"
    path.write_text(pipeline_to_source(Pipeline([Step(assemble_mosaic, name="stitch")])))
    code = main(["run", str(path), str(plate), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err and all(line.startswith("error: ") for line in err)
    assert "positions" in err[0] and "Traceback" not in "\n".join(err)


def test_bad_well_exit_1_and_resume(plate, pipeline_file, tmp_path, capsys):
    import shutil

    broken = tmp_path / "plate"
    shutil.copytree(plate, broken)
    tif = next(p for p in sorted(broken.rglob("*.TIF")) if "_B02_s3_w1" in p.name)
    original = tif.read_bytes()
    tif.write_bytes(original[:100])
    args = ["run", str(pipeline_file), str(broken), "--out", str(tmp_path / "o"),
            "--no-progress"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"error: well B02: reading input: cannot read {tif}" in err
    assert "Traceback" not in err
    tif.write_bytes(original)
    assert main([*args, "--resume"]) == 0
    assert "1 wells ok, 0 failed, 1 already done" in capsys.readouterr().err


def test_missing_plate_and_unwritable_output(plate, pipeline_file, tmp_path, capsys):
    assert main(["run", str(pipeline_file), str(tmp_path / "nope"), "--out",
                 str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: no such plate folder")
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where the output folder should go: nothing is writable
    assert main(["run", str(pipeline_file), str(plate), "--out", str(blocker / "out"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1


def test_dask_backend_error_is_clear(plate, pipeline_file, tmp_path, capsys):
    code = main(["run", str(pipeline_file), str(plate), "--out", str(tmp_path / "o"),
                 "--backend", "dask", "--no-progress"])
    err = capsys.readouterr().err
    if code == 2:
        assert "dask" in err and "Traceback" not in err
    else:  # the Dask backend has landed
        assert code == 0


def test_a_refused_run_prints_its_one_line_and_no_progress_bar(plate, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    assert main(["run", "stitch_segment", str(plate), "--out", str(afile)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: output folder {afile} is a file, not a folder: choose a folder"]
    assert afile.read_text() == "not a folder"
    assert main(["run", "stitch_segment", str(plate), "--out", str(plate / "results")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lies inside the input plate" in err[0]


def test_run_json_names_the_plate_by_its_absolute_path(plate, tmp_path, monkeypatch):
    monkeypatch.chdir(plate.parent)
    out = tmp_path / "out"
    assert main(["run", "stitch_segment", plate.name, "--out", str(out), "--no-progress"]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["plate"]["root"] == str(plate.resolve())
    assert record["fingerprint"]["plate"]["root"] == str(plate.resolve())


def test_a_second_run_into_a_folder_says_it_replaced_the_first(plate, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", "stitch_segment", str(plate), "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    assert "replaced" not in capsys.readouterr().err
    assert main(argv) == 0
    assert capsys.readouterr().err.strip().endswith(
        f": {out} (the earlier run's results there were replaced)")
    assert main([*argv, "--resume"]) == 0
    assert "replaced" not in capsys.readouterr().err
