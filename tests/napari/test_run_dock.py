"""The whole plugin in one viewer: open the sample plate, build a pipeline in the dock, run it
on two wells, watch labels and shapes arrive, cancel a run, save and reload the pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from hcs_test_functions import threshold_spots

from napari_hcs.engine.functions.library.filters import gaussian_blur
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.napari._qt.pipeline_dock import PipelineDock
from napari_hcs.napari._qt.plate_dock import PlateDock
from napari_hcs.napari._qt.run_dock import RunDock
from napari_hcs.napari._qt.well_grid import STATE_COLOURS
from napari_hcs.napari.session import session_for


@pytest.fixture
def docks(make_napari_viewer, qtbot, sample_plate):
    viewer = make_napari_viewer()
    plate, pipeline, run = PlateDock(viewer), PipelineDock(viewer), RunDock(viewer)
    for dock in (plate, pipeline, run):
        qtbot.addWidget(dock)
    viewer.open(str(sample_plate), plugin="napari-hcs")
    return viewer, plate, pipeline, run


def _build_two_step_pipeline(dock: PipelineDock) -> None:
    dock.add_step("gaussian_blur")
    dock.form["sigma"].value = 1.0
    dock.add_step("threshold_spots")
    dock.group_by.setCurrentText("channel")  # one chain per channel: "1" and "2"
    dock.group.setCurrentText("2")
    dock._remove_call()  # the second stain is not segmented


def _wait_for_run(qtbot, run: RunDock) -> None:
    qtbot.waitUntil(lambda: run.worker is None, timeout=120_000)


def test_build_run_and_see_results(docks, qtbot, tmp_path):
    viewer, plate, pipeline_dock, run = docks
    session = session_for(viewer)
    assert session.reader is not None and plate.grid.buttons["A01"].isEnabled()
    _build_two_step_pipeline(pipeline_dock)
    assert session.pipeline == Pipeline([
        Step((gaussian_blur, {"sigma": 1.0})),
        Step({"1": threshold_spots}, group_by="channel"),
    ])

    run.wells.setText("A01, B02")
    run.output.setText(str(tmp_path / "out"))
    assert run.start() is not None
    _wait_for_run(qtbot, run)
    assert run.report.ok == ["A01", "B02"], run.report.failed

    # One plate-wide layer per labels / ROIs; each well sits in its cell of the plate grid.
    labels = viewer.layers["results spots labels"]
    shapes = viewer.layers["results spots_rois rois"]
    assert shapes._type_string == "shapes"
    assert {"well", "label", "area", "plane"} <= set(shapes.features.columns)
    assert (shapes.features["area"] > 0).all()
    cells = labels.metadata["napari_hcs"]["wells"]
    for well in ("A01", "B02"):
        y, x, h, w = cells[well]
        assert np.asarray(labels.data[y:y + h, x:x + w]).max() > 0
        assert (shapes.features["well"] == well).sum() > 0
        assert plate.grid.colour(well) == STATE_COLOURS["ok"]
    # B02 sits one row and one column away from A01 on the result grid.
    assert cells["B02"][0] > cells["A01"][0] and cells["B02"][1] > cells["A01"][1]
    assert (tmp_path / "out" / "plate.zarr").is_dir()
    assert set(session.measurements["spots_table"]["well"]) == {"A01", "B02"}
    assert run.table_choice.currentText() == "spots_table" and run.table.rowCount() > 0


def test_compile_problems_are_shown_before_running(docks):
    viewer, _, pipeline_dock, run = docks
    pipeline_dock.add_step("gaussian_blur")
    pipeline_dock.add_step("median_filter")
    pipeline_dock.group_by.setCurrentText("channel")
    pipeline_dock.new_group.setText("9")  # the plate has channels 1 and 2 only
    pipeline_dock.new_group.returnPressed.emit()
    run.wells.setText("A01, Z99")
    assert run.start() is None and run.worker is None
    assert run.problems.count() >= 2
    text = "\n".join(run.problems.item(i).text() for i in range(run.problems.count()))
    assert "Z99" in text and "'9'" in text
    assert "'9'" in pipeline_dock.steps.item(1).toolTip()
    assert pipeline_dock.steps.item(0).toolTip() == ""


def test_cancel_a_run(docks, qtbot):
    viewer, plate, pipeline_dock, run = docks
    pipeline_dock.add_step("slow_copy")
    run.relay.result.connect(lambda _: run.cancel())  # cancel once the first well is in
    run.start()
    _wait_for_run(qtbot, run)
    report = run.report
    assert report.cancelled and report.not_run and len(report.ok) < 4
    assert plate.grid.colour(report.not_run[0]) == STATE_COLOURS["cancelled"]
    assert "cancelled" in run.status.text()


def test_preview_runs_the_selected_site_only(docks, qtbot):
    viewer, plate, pipeline_dock, run = docks
    pipeline_dock.add_step("gaussian_blur")
    plate.load_well("A02")
    plate.site.setValue(3)
    run.preview()
    _wait_for_run(qtbot, run)
    names = [ly.name for ly in viewer.layers]
    assert "preview before A02 s3 1" in names and "preview after A02 1" in names
    before = np.asarray(viewer.layers["preview before A02 s3 1"].data)
    after = viewer.layers["preview after A02 1"].data
    assert after.shape == before.shape and not np.array_equal(after, before)


def test_save_and_reload_the_pipeline(docks, tmp_path):
    viewer, _, pipeline_dock, _ = docks
    _build_two_step_pipeline(pipeline_dock)
    built = session_for(viewer).pipeline
    path = pipeline_dock.save(tmp_path / "my_pipeline.py")
    assert "threshold_spots" in path.read_text()
    session_for(viewer).set_pipeline(Pipeline([]))
    assert pipeline_dock.steps.count() == 0
    assert pipeline_dock.load(path) == built
    assert pipeline_dock.steps.count() == 2
