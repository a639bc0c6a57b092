"""The Dask backend on a real `LocalCluster` (worker processes), against the local backend."""

from __future__ import annotations

import json
import threading

import dask
import numpy as np
import pandas as pd
import pytest
from executor_helpers import compile_for, segment_pipeline

from napari_hcs.engine.executor import BackendUnavailable, get_backend, run_plans
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.vfs import omezarr

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as running:
        yield running


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_dask_outputs_equal_local_outputs_byte_for_byte(plate, tmp_path, cluster):
    plans = compile_for(segment_pipeline(), plate)
    local, remote = tmp_path / "local", tmp_path / "dask"
    assert run_plans(plans, local, backend=get_backend("local", in_process=True)).all_ok
    events = []
    report = run_plans(plans, remote, workers=2, on_event=events.append,
                       backend=get_backend("dask", scheduler=cluster.scheduler_address))
    assert report.all_ok and sorted(report.ok) == sorted(plans)
    # Tables and labels byte for byte; images equal (zarr chunks are deterministic too).
    for sub in ("tables", "plate.zarr"):
        assert _files(local / sub) == _files(remote / sub)
    pd.testing.assert_frame_equal(pd.read_parquet(local / "tables" / "nuclei.parquet"),
                                  pd.read_parquet(remote / "tables" / "nuclei.parquet"))
    well = sorted(plans)[0]
    np.testing.assert_array_equal(
        omezarr.read_labels(local / "plate.zarr", well, 0, "nuclei_labels"),
        omezarr.read_labels(remote / "plate.zarr", well, 0, "nuclei_labels"))
    # Progress travelled back from the workers, one well's steps in order.
    steps = [(e.step, e.state) for e in events if e.well == well]
    assert steps[0] == ("", "started") and steps[-1] == ("", "ok")
    assert ("segment", "done") in steps
    record = json.loads((remote / "run.json").read_text())
    assert record["options"]["backend"] == "dask"


def test_killed_dask_worker_marks_the_well_failed_and_the_rest_finish(plate, tmp_path):
    import tifffile
    from executor_funcs import SENTINEL, ex_kill_on_sentinel

    victim = plate / "TimePoint_1" / "Plate_A02_s1_w1.TIF"
    image = tifffile.imread(victim)
    image[0, :2] = SENTINEL  # the mark that makes ex_kill_on_sentinel kill its worker
    tifffile.imwrite(victim, image)
    plans = compile_for(Pipeline([Step(ex_kill_on_sentinel, name="kill")]), plate)
    # One retry on another worker, then KilledWorker: the run ends, it does not hang.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        report = run_plans(plans, tmp_path / "out", workers=2, backend=get_backend("dask"))
    assert list(report.failed) == ["A02"], (report.ok, report.failed, report.not_run)
    assert "worker running this well died" in report.failed["A02"]
    assert sorted(report.ok) == sorted(w for w in plans if w != "A02")
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["wells"]["A02"]["status"] == "failed"


def test_cancel_before_start_runs_nothing(plate, tmp_path, cluster):
    cancel = threading.Event()
    cancel.set()
    plans = compile_for(segment_pipeline(), plate)
    report = run_plans(plans, tmp_path / "out", cancel=cancel,
                       backend=get_backend("dask", scheduler=cluster.scheduler_address))
    assert report.ok == [] and report.cancelled and sorted(report.not_run) == sorted(plans)


def test_cancel_mid_run_stops_the_remaining_wells(plate, tmp_path):
    from executor_funcs import ex_sleep

    cancel = threading.Event()
    # Each well waits a second first: the wells after the first cannot all be done by the
    # time its result cancels the run, however fast the segmentation is.
    slow = Pipeline([Step((ex_sleep, {"seconds": 1.0}), name="wait"),
                     *segment_pipeline().steps])
    plans = compile_for(slow, plate)
    report = run_plans(plans, tmp_path / "out", workers=1, cancel=cancel,
                       on_result=lambda result: cancel.set(), backend=get_backend("dask"))
    assert report.cancelled and 1 <= len(report.ok) < len(plans)
    assert sorted([*report.ok, *report.failed, *report.not_run]) == sorted(plans)
    assert json.loads((tmp_path / "out" / "run.json").read_text())["status"] == "cancelled"


def test_cli_runs_a_plate_on_dask(plate, tmp_path, cluster, capsys):
    from napari_hcs.cli import main

    pipeline = tmp_path / "blur.py"
    pipeline.write_text(
        "from napari_hcs.engine.functions.library.filters import gaussian_blur\n"
        "from napari_hcs.engine.pipeline import Pipeline, Step\n"
        "pipeline = Pipeline([Step((gaussian_blur, {'sigma': 1.0}), name='blur')])\n")
    rc = main(["run", str(pipeline), str(plate), "--out", str(tmp_path / "out"), "--backend",
               "dask", "--scheduler", cluster.scheduler_address, "--wells", "A01,B01",
               "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["options"]["backend"] == "dask" and set(record["wells"]) == {"A01", "B01"}


def test_gpu_run_needs_gpu_workers(plate, cluster):
    backend = get_backend("dask", scheduler=cluster.scheduler_address)
    with pytest.raises(BackendUnavailable, match="--resources GPU=1"):
        backend._connect(1, "cuda")


def test_unreachable_scheduler_is_a_clear_error(plate, tmp_path):
    backend = get_backend("dask", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(BackendUnavailable, match="cannot reach the Dask scheduler"):
        run_plans(compile_for(segment_pipeline(), plate), tmp_path / "out", backend=backend)
