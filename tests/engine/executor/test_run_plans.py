"""run_plans end to end on generated plates: outputs, events, specials, memory types, workers."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import zarr
from executor_helpers import compile_for, segment_pipeline, stitch_pipeline
from ome_zarr_models.v05.hcs import HCS
from ome_zarr_models.v05.image import Image

from napari_hcs.engine.executor import run_plans
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate import open_plate
from napari_hcs.engine.vfs import omezarr


def test_segment_pipeline_writes_plate_tables_and_run_json(plate, tmp_path):
    out = tmp_path / "out"
    events, results = [], []
    report = run_plans(compile_for(segment_pipeline(), plate), out,
                       on_event=events.append, on_result=results.append,
                       channel_names={"1": "DAPI", "2": "GFP"}, pixel_size_um=0.65)
    assert report.all_ok and report.ok == ["A01", "A02", "B01", "B02"]
    # Fields = sites, channels on the c axis, labels from the `labels` special output.
    source = open_plate(plate).read(open_plate(plate).layout.keys("A02")[1])
    field = omezarr.read_field(out / "plate.zarr", "A02", 1)
    assert field.shape == (2, 64, 64)
    np.testing.assert_array_equal(field[0], (source * 0.5).astype(source.dtype))
    labels = omezarr.read_labels(out / "plate.zarr", "A02", 1, "nuclei_labels")
    assert labels.shape == (64, 64) and labels.max() > 0
    assert omezarr.field_channel_names(out / "plate.zarr", "A01", 0) == ["DAPI", "GFP"]
    HCS.from_zarr(zarr.open_group(str(out / "plate.zarr"), mode="r"))
    Image.from_zarr(zarr.open_group(str(out / "plate.zarr" / "A" / "2" / "3"), mode="r"))
    # One table per name over all wells, the keys first. Each stack held four sites, so a
    # row's field (and label image) is not known; `area` declared no unit.
    nuclei = pd.read_parquet(out / "tables" / "nuclei.parquet")
    assert list(nuclei.columns) == ["plate", "well", "field", "label", "plane", "area"]
    assert nuclei.field.isna().all() and set(nuclei.plate) == {"plate"}
    assert set(nuclei.well) == {"A01", "A02", "B01", "B02"}
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "ok" and run["pipeline"]["source"] is None
    assert {w: e["status"] for w, e in run["wells"].items()} == dict.fromkeys(report.ok, "ok")
    assert run["versions"]["numpy"] == np.__version__
    assert set(run["wells"]["A01"]["steps"]) == {"scale", "segment"}
    # Progress: each well started, ran both steps, ended ok; results came with images.
    a01 = [(e.step, e.state) for e in events if e.well == "A01"]
    assert a01 == [("", "started"), ("scale", "running"), ("scale", "done"),
                   ("segment", "running"), ("segment", "done"), ("", "ok")]
    assert [r.image.shape for r in results] == [(2, 64, 64)] * 4
    assert results[0].labels["nuclei_labels"].shape == (64, 64)
    assert len(results[0].rois["nuclei_rois"]) > 0
    assert results[0].tables["nuclei"].well.unique().tolist() == ["A01"]


def test_stitching_is_field_zero_with_positions_table(plate, tmp_path):
    out = tmp_path / "out"
    plans = compile_for(stitch_pipeline(), plate, wells=["A01"])
    report = run_plans(plans, out)
    assert report.all_ok
    mosaic = omezarr.read_field(out / "plate.zarr", "A01", 0)
    layout = open_plate(plate).layout
    ys = [p[0] for p in layout.site_positions.values()]
    # The plate's field shape: nominal extent + a margin (ex_positions has no max_shift:
    # 5% of the tile); the mosaic sits at the top-left, zeros below and right of it.
    extent = round(max(ys)) + 64
    assert mosaic.shape == (2, *plans["A01"].output.field_shape) == (2, extent + 4, extent + 4)
    assert mosaic[:, :extent, :extent].all() and not mosaic[:, extent:].any()
    assert not (out / "plate.zarr" / "A" / "1" / "1").exists()
    positions = pd.read_parquet(out / "tables" / "positions.parquet")
    assert list(positions.columns) == ["plate", "well", "field", "site", "y", "x", "y_um",
                                       "x_um"]
    assert positions.site.tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(positions[["y", "x"]].to_numpy(),
                               [layout.site_positions[s] for s in (1, 2, 3, 4)])
    np.testing.assert_allclose(positions.y_um, positions.y * 0.65)
    assert positions.attrs["units"] == {"y": "pixel", "x": "pixel", "y_um": "micrometer",
                                        "x_um": "micrometer"}


def test_torch_step_materialize_and_no_output_dir(plate, tmp_path):
    from executor_funcs import ex_max_project, ex_torch_invert

    pipeline = Pipeline([Step(ex_torch_invert, name="invert", materialize=True),
                         Step(ex_max_project, name="project")])
    plans = compile_for(pipeline, plate, wells=["B01"])
    out = tmp_path / "out"
    assert run_plans(plans, out).all_ok
    inter = out / "intermediate.zarr" / "01_invert" / "B01"
    assert sorted(p.name for p in inter.iterdir() if p.is_dir())[:2] == ["s1_c1_z1_t1",
                                                                          "s1_c2_z1_t1"]
    reader = open_plate(plate)
    tiles = np.stack([reader.read(k) for k in reader.layout.keys("B01")
                      if k.channel == "1"])
    final = omezarr.read_field(out / "plate.zarr", "B01", 0)
    np.testing.assert_array_equal(final[0], (65535 - tiles).max(axis=0))
    # Without an output folder nothing is written; results still reach on_result.
    got = []
    report = run_plans(plans, None, on_result=got.append)
    assert report.all_ok and got[0].image.shape == (2, 64, 64)


def test_wrong_stack_size_names_step_and_well(plate, tmp_path):
    from executor_funcs import ex_drop_one

    plans = compile_for(Pipeline([Step(ex_drop_one, name="drop")]), plate, wells=["A01"])
    report = run_plans(plans, tmp_path / "out")
    error = report.failed["A01"]
    assert "step 1 'drop'" in error and "returned 3" in error
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["wells"]["A01"]["status"] == "failed" and "'drop'" in run["wells"]["A01"]["error"]


def test_a_step_after_stitching_names_the_stitched_well_not_a_site(plate, tmp_path):
    """The mosaic is the whole well (its key keeps site 1 only because a key needs one): an
    error after stitching says so; an error before it names the site it happened on."""
    from executor_funcs import ex_require_env

    fail = (ex_require_env, {"name": "NAPARI_HCS_NEVER_SET", "value": "x"})
    after = stitch_pipeline()
    after.steps.append(Step(fail, name="after", variable_components=("channel",)))
    error = run_plans(compile_for(after, plate, wells=["A01"]), tmp_path / "a").failed["A01"]
    assert error.startswith("step 3 'after': stitched well, z 1, timepoint 1, function "
                            "ex_require_env: ValueError: NAPARI_HCS_NEVER_SET"), error
    assert "site" not in error

    before = stitch_pipeline()
    before.steps.insert(0, Step(fail, name="before", variable_components=("channel",)))
    error = run_plans(compile_for(before, plate, wells=["A01"]), tmp_path / "b").failed["A01"]
    assert error.startswith("step 1 'before': site 1, z 1, timepoint 1, function"), error


def test_cancel_skips_pending_wells(plate, tmp_path):
    cancel = threading.Event()
    report = run_plans(compile_for(segment_pipeline(), plate), tmp_path / "out",
                       on_result=lambda r: cancel.set(), cancel=cancel)
    assert report.ok == ["A01"] and report.not_run == ["A02", "B01", "B02"] and report.cancelled
    assert not report.all_ok
    assert json.loads((tmp_path / "out" / "run.json").read_text())["status"] == "cancelled"


def test_two_spawn_workers(plate, tmp_path):
    events = []
    report = run_plans(compile_for(segment_pipeline(), plate), tmp_path / "out", workers=2,
                       on_event=events.append)
    assert report.all_ok and sorted(report.ok) == ["A01", "A02", "B01", "B02"]
    # Events came from the worker processes through the queue.
    assert {e.well for e in events if e.state == "ok"} == {"A01", "A02", "B01", "B02"}
    assert len(pd.read_parquet(tmp_path / "out" / "tables" / "nuclei.parquet").well.unique()) == 4
