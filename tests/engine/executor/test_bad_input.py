"""Bad input through whole runs: healthy wells written, bad ones named, input untouched,
`resume` finishing the job once the input is fixed."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import tifffile
from executor_funcs import SENTINEL
from executor_helpers import compile_for, segment_pipeline, tree_hash

from napari_hcs.engine.executor import run_plans
from napari_hcs.engine.pipeline import Pipeline, Step


def _path(plans, well, site, channel):
    return next(p for k, p in plans[well].inputs if k.site == site and k.channel == channel)


def _statuses(out):
    run = json.loads((out / "run.json").read_text())
    return {w: (e["status"], e["error"]) for w, e in run["wells"].items()}


def test_truncated_missing_and_wrong_shape(plate, plate_template, tmp_path):
    plans = compile_for(segment_pipeline(), plate)
    truncated, missing, odd = (_path(plans, "A01", 2, "1"), _path(plans, "A02", 3, "2"),
                               _path(plans, "B01", 4, "1"))
    data = open(truncated, "rb").read()
    open(truncated, "wb").write(data[: len(data) // 3])
    open(missing, "wb").close()
    shutil.os.remove(missing)
    tifffile.imwrite(odd, np.zeros((32, 48), np.uint16))
    before = tree_hash(plate)

    out = tmp_path / "out"
    report = run_plans(plans, out, workers=1)
    assert report.ok == ["B02"]
    status = _statuses(out)
    assert status["B02"] == ("ok", None)
    assert status["A01"][0] == "failed" and truncated in status["A01"][1]
    assert status["A02"][0] == "failed" and f"missing image {missing}" in status["A02"][1]
    assert status["B01"][0] == "failed" and odd in status["B01"][1]
    assert "is 32 x 48 pixels, but the plate's images are 64 x 64" in status["B01"][1]
    assert tree_hash(plate) == before  # the input plate is never written
    # Only complete wells are in the plate; the bad wells' images never appear.
    plate_attrs = _plate_attrs(out)
    assert [w["path"] for w in plate_attrs["wells"]] == ["B/2"]

    for path in (truncated, missing, odd):  # fix the input, then resume
        shutil.copy(plate_template / shutil.os.path.relpath(path, plate), path)
    resumed = run_plans(plans, out, resume=True)
    assert resumed.all_ok and resumed.skipped == ["B02"]
    assert sorted(resumed.ok) == ["A01", "A02", "B01"]
    assert {s for s, _ in _statuses(out).values()} == {"ok"}
    plate_attrs = _plate_attrs(out)
    assert len(plate_attrs["wells"]) == 4


def test_worker_killed_mid_run(plate, plate_template, tmp_path):
    from executor_funcs import ex_kill_on_sentinel, ex_scale

    pipeline = Pipeline([Step((ex_scale, {"factor": 1.0}), name="scale"),
                         Step(ex_kill_on_sentinel, name="check")])
    plans = compile_for(pipeline, plate)
    poisoned = _path(plans, "A02", 1, "1")
    image = tifffile.imread(poisoned)
    image[0, :2] = SENTINEL  # the second step's worker kills itself on this well
    tifffile.imwrite(poisoned, image)

    out = tmp_path / "out"
    report = run_plans(plans, out, workers=2)
    assert sorted(report.ok) == ["A01", "B01", "B02"]
    error = _statuses(out)["A02"][1]
    assert "worker process died" in error and "step 2 'check'" in error
    assert (out / "plate.zarr" / "B" / "2" / "3").is_dir()

    shutil.copy(plate_template / shutil.os.path.relpath(poisoned, plate), poisoned)
    resumed = run_plans(plans, out, workers=2, resume=True)
    assert resumed.all_ok and resumed.ok == ["A02"]


def test_a_pool_that_broke_since_the_last_poll_is_restarted(plate, tmp_path, monkeypatch):
    # A worker may die between the poll that collects results and the next submit, which then
    # raises BrokenProcessPool itself: the run restarts the pool instead of aborting.
    import os
    import time

    from napari_hcs.engine.executor import local

    start = local._PoolRun._start_pool
    broken: list[bool] = []

    def start_then_break(self):
        start(self)
        if not broken:
            broken.append(True)
            self.pool.submit(os._exit, 1)
            deadline = time.monotonic() + 60
            while not self.pool._broken and time.monotonic() < deadline:
                time.sleep(0.05)
            assert self.pool._broken

    monkeypatch.setattr(local._PoolRun, "_start_pool", start_then_break)
    report = run_plans(compile_for(segment_pipeline(), plate), tmp_path / "out", workers=2)
    assert broken and report.all_ok and len(report.ok) == 4


def test_full_disk_then_resume(plate, tmp_path, tmpfs):
    out = tmpfs("3m") / "out"
    filler = out.parent / "filler"
    plans = compile_for(segment_pipeline(), plate)

    def fill_disk(result):
        if filler.exists():
            return
        filler.mkdir()
        chunks = 0
        try:
            while True:
                (filler / str(chunks)).write_bytes(b"\0" * 16384)
                chunks += 1
        except OSError:
            pass
        for i in range(chunks - 4, chunks):  # 64 KiB left: a well (~300 KiB) does not fit
            (filler / str(i)).unlink(missing_ok=True)

    report = run_plans(plans, out, on_result=fill_disk)
    assert report.ok == ["A01"]
    for well in ("A02", "B01", "B02"):
        assert "No space left" in report.failed[well]
        assert str(out) in report.failed[well]  # names the file it could not write
    # run.json is consistent: complete JSON, whichever wells it could still record. (A failed
    # well's first complete fields may take the last free pages, so later updates can fail;
    # the run then warns that run.json lists the wells finished before that.)
    status = _statuses(out)
    assert status["A01"] == ("ok", None)
    for well, (state, error) in status.items():
        assert well == "A01" or (state == "failed" and "No space left" in error)
    if len(status) < 4:
        assert any("could not update run.json" in w for w in report.warnings)
    # No half-written field anywhere: failed writes left no temporary folders behind.
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
    plate_attrs = _plate_attrs(out)
    if report.warnings:  # the disk was too full even for the final plate metadata
        assert "--resume" in report.warnings[0]
    else:
        assert [w["path"] for w in plate_attrs["wells"]] == ["A/1"]  # only complete wells
    shutil.rmtree(filler)
    resumed = run_plans(plans, out, resume=True)
    assert resumed.all_ok and resumed.skipped == ["A01"] and not resumed.warnings
    plate_attrs = _plate_attrs(out)
    assert len(plate_attrs["wells"]) == 4


def test_read_only_output_folder(plate, tmpfs):
    readonly = tmpfs("1m", read_only=True)
    before = tree_hash(plate)
    with pytest.raises(OSError, match="not writable|Read-only"):
        run_plans(compile_for(segment_pipeline(), plate), readonly / "out")
    assert tree_hash(plate) == before


def test_slightly_truncated_tiff_is_refused_not_read_as_zeros(plate, tmp_path):
    plans = compile_for(segment_pipeline(), plate, wells=["A01", "B01"])
    damaged = _path(plans, "B01", 2, "1")
    data = open(damaged, "rb").read()
    with open(damaged, "wb") as f:  # an interrupted copy: the last pixel rows are missing
        f.write(data[:-200])
    report = run_plans(plans, tmp_path / "out")
    assert report.ok == ["A01"]
    assert "truncated image" in report.failed["B01"] and str(damaged) in report.failed["B01"]


def _plate_attrs(out):
    """plate.zarr's NGFF `plate` (0.5, the default: under "ome" in zarr.json)."""
    return json.loads((out / "plate.zarr" / "zarr.json").read_text())["attributes"]["ome"][
        "plate"]
