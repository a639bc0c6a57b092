"""The engine API (`run_plans`, used by the CLI, the napari Run dock and the server) refuses an
output folder that holds the input, one another run holds, and a resume of another run."""

from __future__ import annotations

import json

import pytest
from executor_helpers import compile_for, segment_pipeline, tree_hash

from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.executor import OutputBusy, OutputRefused, ResumeRefused, run_plans
from napari_hcs.engine.executor.fingerprint import check_resume, run_fingerprint
from napari_hcs.engine.executor.output_lock import OutputLock
from napari_hcs.engine.pipeline import GlobalConfig
from napari_hcs.engine.plate import open_plate


def test_output_holding_the_input_is_refused_before_anything_is_written(plate, tmp_path):
    plans = compile_for(segment_pipeline(), plate, wells=["A01"])
    before = tree_hash(plate.parent)
    for out in (plate, plate / "out", plate.parent):
        with pytest.raises(OutputRefused, match="never writes, moves or deletes its input"):
            run_plans(plans, out)
    assert tree_hash(plate.parent) == before


def test_a_held_folder_is_refused_and_free_again_once_released(plate, tmp_path):
    plans = compile_for(segment_pipeline(), plate, wells=["A01"])
    out = tmp_path / "out"
    lock = OutputLock(out)  # as another run (even in this process, e.g. the server) holds it
    with pytest.raises(OutputBusy, match=r"is in use by another napari-hcs run \(pid \d+ on "):
        run_plans(plans, out)
    assert not (out / "run.json").exists()
    lock.release()
    assert run_plans(plans, out).all_ok
    assert (out / ".napari-hcs.lock").read_text() == ""


def test_resume_refuses_other_storage_options(plate, tmp_path):
    reader = open_plate(plate)
    out = tmp_path / "out"
    plans = compile_pipeline(segment_pipeline(), reader, wells=["A01"]).plans
    assert run_plans(plans, out).all_ok
    other = compile_pipeline(segment_pipeline(), reader,
                             config=GlobalConfig(zarr_levels=2, workers=3)).plans
    with pytest.raises(ResumeRefused, match="option zarr_levels was 3, now 2"):
        run_plans(other, out, resume=True)
    same = compile_pipeline(segment_pipeline(), reader, config=GlobalConfig(workers=3)).plans
    report = run_plans(same, out, resume=True, workers=2)  # workers change no result
    assert report.all_ok and report.skipped == ["A01"]


def test_fingerprint_device_kind_counts_gpu_index_does_not(plate):
    plans = list(compile_for(segment_pipeline(), plate).values())
    args = {"channel_names": {"1": "DAPI"}, "pixel_size_um": 0.65}
    cpu = run_fingerprint(plans, device="cpu", **args)
    check_resume({"fingerprint": json.loads(json.dumps(cpu))},
                 run_fingerprint(plans[1:], device="cpu", **args), plate)  # other wells: fine
    gpu0 = run_fingerprint(plans, device="cuda:0", **args)
    check_resume({"fingerprint": gpu0}, run_fingerprint(plans, device="cuda:1", **args), plate)
    with pytest.raises(ResumeRefused, match='option device was "cpu", now "cuda"'):
        check_resume({"fingerprint": cpu}, gpu0, plate)
    with pytest.raises(ResumeRefused, match="the plate's pixel_size_um was 0.65, now 0.5"):
        check_resume({"fingerprint": cpu},
                     run_fingerprint(plans, device="cpu", channel_names={"1": "DAPI"},
                                     pixel_size_um=0.5), plate)


def test_resume_refuses_a_pipeline_with_another_step(plate, tmp_path):
    from executor_funcs import ex_scale

    from napari_hcs.engine.pipeline import Pipeline, Step

    out = tmp_path / "out"
    assert run_plans(compile_for(segment_pipeline(), plate, wells=["A01"]), out).all_ok
    longer = Pipeline([*segment_pipeline().steps, Step(ex_scale, name="again")])
    with pytest.raises(ResumeRefused, match="the pipeline has 3 steps, the run there had 2"):
        run_plans(compile_for(longer, plate), out, resume=True)
