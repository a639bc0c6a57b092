"""Screenshots of the plate view and the napari-hcs docks for docs/plugin.md and the README.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python docs/make_screenshots.py

Writes a 96-well ImageXpress sample plate (four rows imaged, 2 x 2 sites of 192 px), opens it
as the plate view, runs the shipped `stitch_segment` on a few wells from the napari HCS dock's
Run tab, and saves into docs/images/: the window at plate zoom (`plate_view.png`), at one
well's zoom after the run (`well_view.png`), and one PNG per tab (`plate_dock.png`, ...).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.engine.plate.wells import format_well
from napari_hcs.napari.docks.hcs_dock import HcsDock
from napari_hcs.napari.plate_view.loader import JOBS
from napari_hcs.napari.session import session_for

OUT = Path(__file__).parent / "images"
RUN_WELLS = ("A01", "A02", "B03", "C05", "D07", "D12")


def _wait(condition, seconds: float = 600.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        QApplication.processEvents()
        if time.monotonic() > end:
            raise TimeoutError("timed out waiting for the viewer")
        time.sleep(0.02)


def _settle(seconds: float) -> None:
    end = time.monotonic() + seconds
    _wait(lambda: time.monotonic() > end and JOBS.pending() == 0, seconds + 120)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    wells = tuple(format_well(r, c) for r in range(4) for c in range(12))
    plate = write_sample_plate(Path(tempfile.mkdtemp()) / "screenshot_plate", "imagexpress",
                               SampleSpec(wells=wells, tile=(192, 192), nuclei_per_tile=10.0))
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1600, 900)
    hcs = HcsDock(viewer)
    viewer.window.add_dock_widget(hcs, name="napari HCS", area="right")
    docks = {"plate": hcs.plate, "pipeline": hcs.pipeline, "config": hcs.config,
             "run": hcs.run, "results": hcs.results}
    docks["plate"].open_plate(plate)
    session = session_for(viewer)
    viewer.reset_view()
    _settle(3)
    viewer.screenshot(str(OUT / "plate_view.png"), canvas_only=False)

    docks["pipeline"].files.use_template("stitch_segment")
    docks["pipeline"].steps.setCurrentRow(3)  # the segmentation step: a per-channel pattern
    run = docks["run"]
    run.wells.setText(", ".join(RUN_WELLS))
    run.start()
    _wait(lambda: run.worker is None)
    _wait(lambda: run.sink.idle)
    _settle(3)
    docks["plate"].colour_by.setCurrentText("nuclei: count")
    docks["plate"].load_well("B03")
    _settle(3)
    viewer.screenshot(str(OUT / "well_view.png"), canvas_only=False)
    hcs.results.table_choice.setCurrentText("nuclei")
    for name, widget in docks.items():
        page = hcs.run if name == "config" else widget  # Settings: a tab of the Run tab
        hcs.tabs.setCurrentIndex([hcs.plate, hcs.pipeline, hcs.run, hcs.results].index(page))
        if name == "config":
            hcs.run.tabs.setCurrentWidget(hcs.config)
        QApplication.processEvents()
        hcs.grab().save(str(OUT / f"{name}_dock.png"))
    hcs.run.tabs.setCurrentIndex(0)
    hcs.tabs.setCurrentIndex(2)
    viewer.screenshot(str(OUT / "viewer.png"), canvas_only=False)
    print(run.status.text(), session.well_states)
    viewer.close()


if __name__ == "__main__":
    main()
