"""The Run dock against a real execution server on 127.0.0.1: results stream back as layers,
cancel reaches the server, compile errors and a wrong token are shown in the dock."""

from __future__ import annotations

import hcs_test_functions  # noqa: F401  (registers threshold_spots and slow_copy)
import numpy as np
import pytest

from napari_hcs.bridge.server import ExecutionServer, ServerConfig
from napari_hcs.napari.docks.pipeline_dock import PipelineDock
from napari_hcs.napari.docks.plate_dock import PlateDock
from napari_hcs.napari.docks.run_dock import REMOTE, RunDock
from napari_hcs.napari.docks.well_grid import STATE_COLOURS
from napari_hcs.napari.remote_run import problems_from_server
from napari_hcs.napari.session import session_for

TOKEN = "remote-dock-token-0123456789"


@pytest.fixture
def server(sample_plate):
    config = ServerConfig(port=0, token=TOKEN, roots=(sample_plate.parent,),
                          allowed_modules=("napari_hcs", "hcs_test_functions"))
    with ExecutionServer(config) as running:
        yield running


@pytest.fixture
def docks(make_napari_viewer, qtbot, sample_plate, server):
    viewer = make_napari_viewer()
    plate, pipeline, run = PlateDock(viewer), PipelineDock(viewer), RunDock(viewer)
    for dock in (plate, pipeline, run):
        qtbot.addWidget(dock)
    viewer.open(str(sample_plate), plugin="napari-hcs")
    run.server.setCurrentText(REMOTE)
    run.server_address.setText(server.address)
    run.server_token.setText(TOKEN)
    return viewer, plate, pipeline, run


def _wait_for_run(qtbot, run: RunDock) -> None:
    qtbot.waitUntil(lambda: run.worker is None, timeout=120_000)


def test_remote_run_streams_layers_into_the_viewer(docks, qtbot, sample_plate):
    viewer, plate, pipeline_dock, run = docks
    pipeline_dock.add_step("gaussian_blur")
    pipeline_dock.add_step("threshold_spots")
    run.wells.setText("A01, B02")
    run.output.setText(str(sample_plate.parent / "remote-out"))
    assert run.start() is not None
    assert run.receiver is not None and run.stream.isChecked()  # started for the results
    _wait_for_run(qtbot, run)
    assert run.remote_result["status"] == "ok", run.status.text()
    assert "ok" in run.status.text()

    session = session_for(viewer)

    def arrived() -> bool:  # the stream may trail the last event a little
        return {"channel 1 (result)", "spots", "spots outlines"} <= {
            layer.name for layer in viewer.layers} and run.sink.idle and all(
            plate.grid.colour(w) == STATE_COLOURS["ok"] for w in ("A01", "B02"))

    qtbot.waitUntil(arrived, timeout=30_000)
    qtbot.wait(100)
    image, labels = viewer.layers["channel 1 (result)"], viewer.layers["spots"]
    assert image._type_string == "image" and image.multiscale and image.data[0].ndim == 2
    for well in ("A01", "B02"):  # each well in its cell of the plate view
        y, x = session.geometry.origin(well)
        h, w = session.geometry.well_shape
        assert np.asarray(image.data[0][y:y + h, x:x + w]).max() > 0
        assert np.asarray(labels.data[0][y:y + h, x:x + w]).max() > 0
    assert set(session_for(viewer).measurements["spots_table"]["well"]) == {"A01", "B02"}
    assert (sample_plate.parent / "remote-out" / "plate.zarr").is_dir()


def test_cancel_a_remote_run(docks, qtbot, sample_plate, server):
    viewer, plate, pipeline_dock, run = docks
    pipeline_dock.add_step("slow_copy")
    pipeline_dock.form["seconds"].value = 2.0
    run.output.setText(str(sample_plate.parent / "remote-cancel"))
    run.start()
    states = session_for(viewer).well_states
    qtbot.waitUntil(lambda: "running" in states.values(), timeout=60_000)  # mid-run

    run.cancel()
    _wait_for_run(qtbot, run)
    assert run.remote_result["status"] == "cancelled", run.status.text()
    assert server.runs[run.remote_run].status == "cancelled"
    not_run = run.remote_result["not_run"]
    assert not_run and plate.grid.colour(not_run[0]) == STATE_COLOURS["cancelled"]
    assert "cancelled" in run.status.text()


def test_wrong_token_is_a_clear_error(docks, qtbot, sample_plate, server):
    viewer, _, pipeline_dock, run = docks
    pipeline_dock.add_step("gaussian_blur")
    run.server_token.setText("not-the-token")
    run.output.setText(str(sample_plate.parent / "remote-denied"))
    run.start()
    _wait_for_run(qtbot, run)
    text = run.status.text()
    assert "refused the token" in text and server.address in text
    assert not server.runs and run.remote_run is None


def test_server_compile_errors_mark_the_steps(docks, qtbot, sample_plate):
    viewer, _, pipeline_dock, run = docks
    pipeline_dock.add_step("gaussian_blur")
    run.wells.setText("A01, Z99")  # no such well on the plate
    run.output.setText(str(sample_plate.parent / "remote-bad"))
    run.start()
    _wait_for_run(qtbot, run)
    assert run.problems.count() >= 1 and "reported by the server" in run.status.text()
    assert "Z99" in "\n".join(run.problems.item(i).text() for i in range(run.problems.count()))
    assert session_for(viewer).problems and run.remote_run is None


def test_missing_output_or_token_never_submits(docks, server):
    _, _, pipeline_dock, run = docks
    pipeline_dock.add_step("gaussian_blur")
    assert run.start() is None and "output folder" in run.status.text()
    run.output.setText("/somewhere/on/the/server")
    run.server_token.setText("")
    assert run.start() is None and "token" in run.status.text()
    assert not server.runs


def test_problems_from_server_text_keep_step_and_parameter():
    text = ("the pipeline does not compile:\npipeline 'p' has 3 problems:\n"
            "  - step 2 'blur', parameter 'sigma': must be positive\n"
            "  - parameter 'wells': no well 'Z99' on this plate\n"
            "  - the plate has no channel 9\n")
    problems = problems_from_server(text)
    assert [(p.step_index, p.step_name, p.parameter) for p in problems] == [
        (1, "blur", "sigma"), (None, None, "wells"), (None, None, None)]
    assert problems[0].message == "must be positive"
    assert str(problems[1]) == "parameter 'wells': no well 'Z99' on this plate"
