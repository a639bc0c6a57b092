"""The Results panel's screenshot for docs/plugin.md (`docs/images/results_panel.png`).

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python docs/make_results_screenshot.py

Runs the shipped `stitch_segment` on twelve wells of a 96-well sample plate from the Run dock,
then, in the Results panel: nuclei coloured by area (colour bar), the median area per well as
the plate heatmap, a scatter plot of area against the nuclear stain with the large nuclei
selected (yellow marks on the canvas, rows in the table), and the camera on one well; and the
plate with the heatmap (`docs/images/results_heatmap.png`); and nuclei clicked into two size
classes, trained and classified (`docs/images/results_classify.png`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import napari
import numpy as np
from make_screenshots import _settle, _wait
from qtpy.QtWidgets import QApplication

from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.engine.plate.wells import format_well
from napari_hcs.napari.docks.plate_dock import PlateDock
from napari_hcs.napari.docks.results_panel import ResultsPanel
from napari_hcs.napari.docks.run_dock import RunDock

OUT = Path(__file__).parent / "images"


def main() -> None:
    wells = tuple(format_well(r, c) for r in range(2) for c in range(6))
    plate = write_sample_plate(Path(tempfile.mkdtemp()) / "results_plate", "imagexpress",
                               SampleSpec(wells=wells, tile=(192, 192), nuclei_per_tile=10.0))
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1700, 1000)
    plate_dock, run, panel = PlateDock(viewer), RunDock(viewer), ResultsPanel(viewer)
    viewer.window.add_dock_widget(plate_dock, name="Plate", area="right")
    viewer.window.add_dock_widget(run, name="Run", area="right", tabify=True)
    viewer.window.add_dock_widget(panel, name="Results", area="right", tabify=True)
    plate_dock.open_plate(plate)
    _settle(2)
    run.wells.setText(", ".join(wells))
    run.start()
    _wait(lambda: run.worker is None)
    _wait(lambda: run.sink.idle)
    _settle(3)
    _wait(lambda: panel.frame is not None and "area" in panel.frame.columns and panel.idle)
    panel.parent().raise_()

    # The plate: median nuclear area per well as the heatmap, its colour bar.
    panel.picker.search.setText("area")
    panel.picker.choose("area")
    panel.show_heatmap("area")
    _wait(lambda: panel.idle)
    viewer.layers["channel 2"].visible = False
    viewer.reset_view()
    _settle(3)
    viewer.screenshot(str(OUT / "results_heatmap.png"), canvas_only=False)

    # One well: nuclei coloured by area, the large ones selected in the scatter plot.
    viewer.layers["well heatmap"].visible = False
    panel.colour_by("area")
    _wait(lambda: panel.idle)
    panel.set_axis(0, "area")
    panel.set_axis(1, "mean_1")
    panel.tabs.setCurrentIndex(1)
    area = panel.frame["area"].to_numpy()
    panel.select_rows(np.flatnonzero(area > np.percentile(area, 85)))
    viewer.layers["nuclei"].opacity = 0.9
    plate_dock.load_well("A02")
    _settle(3)
    QApplication.processEvents()
    viewer.screenshot(str(OUT / "results_panel.png"), canvas_only=False)

    # Classes: a few clicked nuclei of each size, trained, every nucleus classified.
    box = panel.classify
    box.annotations.classes = ["small", "large"]
    box._show_classes(select="small")
    box.annotating.setChecked(True)
    low, high = np.percentile(area, (30, 70))
    for name, rows in (("small", np.flatnonzero(area < low)[:12]),
                       ("large", np.flatnonzero(area > high)[:12])):
        box._show_classes(select=name)
        for row in rows:
            panel._clicked(tuple(panel.lookup.positions[row]))
    box.train_button.click()
    _wait(lambda: panel.idle)
    panel.select_rows(np.zeros(0, int))
    panel.tabs.setCurrentIndex(2)
    _settle(2)
    viewer.screenshot(str(OUT / "results_classify.png"), canvas_only=False)
    viewer.close()


if __name__ == "__main__":
    main()
