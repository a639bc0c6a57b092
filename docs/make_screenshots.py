"""Screenshots of the napari-hcs docks for docs/plugin.md and the README (headless).

    xvfb-run -a .venv/bin/python docs/make_screenshots.py

Opens the sample plate with the plugin's reader, loads the default pipeline
(stitch_segment) in the Pipeline dock, runs it on two wells from the Run dock and
saves one PNG per dock plus the whole window into docs/images/.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.napari._qt.config_dock import ConfigDock
from napari_hcs.napari._qt.pipeline_dock import PipelineDock
from napari_hcs.napari._qt.plate_dock import PlateDock
from napari_hcs.napari._qt.run_dock import RunDock
from napari_hcs.pipelines import path_of

OUT = Path(__file__).parent / "images"


def _wait(condition, seconds: float = 180.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        QApplication.processEvents()
        if time.monotonic() > end:
            raise TimeoutError("the run did not finish")
        time.sleep(0.02)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    plate = write_sample_plate(Path(tempfile.mkdtemp()) / "demo_plate", "imagexpress",
                               SampleSpec(tile=(128, 128), nuclei_per_tile=8.0))
    viewer = napari.Viewer(show=True)
    viewer.window.resize(1700, 1000)
    docks = {"plate": PlateDock(viewer), "pipeline": PipelineDock(viewer),
             "config": ConfigDock(viewer), "run": RunDock(viewer)}
    for name, widget in docks.items():
        viewer.window.add_dock_widget(widget, name=name.capitalize(), area="right",
                                      tabify=name != "plate")
    viewer.open(str(plate), plugin="napari-hcs")

    pipeline = docks["pipeline"]
    pipeline.load(path_of("stitch_segment"))
    pipeline.steps.setCurrentRow(3)  # the segmentation step: a per-channel pattern
    docks["config"].set_value("global", "device", "cpu")
    docks["config"].set_value("step", "materialize_intermediates", True)

    run = docks["run"]
    run.wells.setText("A01, B02")
    run.start()
    _wait(lambda: run.worker is None)
    viewer.reset_view()
    QApplication.processEvents()
    docks["plate"].colour_by.setCurrentText("nuclei: count")
    for name, widget in docks.items():
        widget.parent().raise_()  # the QDockWidget's tab, so the dock is laid out and painted
        widget.resize(480, 900)
        QApplication.processEvents()
        widget.grab().save(str(OUT / f"{name}_dock.png"))
    docks["run"].parent().raise_()
    viewer.screenshot(str(OUT / "viewer.png"), canvas_only=False)
    print(run.status.text())
    viewer.close()


if __name__ == "__main__":
    main()
