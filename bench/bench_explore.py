"""The Results panel on a large object table: the longest event-loop stall of each action.

A labels layer of a 96-well plate with N objects x F features (defaults: 100,000 x 650, a
profiled plate's nuclei), the Results panel over it, and for each action the longest gap
between the ticks of a 10 ms timer minus its period (`bench_gui.StallMeter`), from the action
until its worker's result is in: reading the features, a feature search, colouring the
objects, the plate heatmap, a scatter plot, selecting 5,000 objects, clicking a table row.
`floor` is napari's own repaint on this machine (`bench_gui.floor`).

    python -m bench explore [--objects 100000] [--features 650] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_gui import ROOT, StallMeter, _loop_until, _settle, floor


def _table(objects: int, features: int):  # noqa: ANN202 (pandas imported lazily)
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    wells = [f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13)]
    per = max(1, objects // len(wells))
    frame = pd.DataFrame(rng.random((per * len(wells), features)),
                         columns=[f"Feature_{i}_DAPI" for i in range(features)])
    frame.insert(0, "index", np.arange(1, len(frame) + 1))
    frame.insert(1, "well", np.repeat(wells, per))
    frame.insert(2, "label", np.tile(np.arange(1, per + 1), len(wells)))
    frame["centroid_y"] = rng.random(len(frame)) * 1000
    frame["centroid_x"] = rng.random(len(frame)) * 1000
    return frame


def measure(objects: int, features: int) -> dict[str, float]:
    import napari
    import numpy as np

    from napari_hcs.napari.docks.results_panel import ResultsPanel
    from napari_hcs.napari.plate_view.geometry import PlateGeometry
    from napari_hcs.napari.session import session_for

    viewer = napari.Viewer(show=True)
    session_for(viewer).geometry = PlateGeometry.for_wells((2048, 2048), 8, 12, 0.65)
    frame = _table(objects, features)
    labels = np.zeros((1024, 1024), np.uint32)
    side = int(np.sqrt(min(len(frame), 128 * 128)))
    labels[: side * 8 : 8, : side * 8 : 8] = np.arange(1, side * side + 1).reshape(side, side)
    layer = viewer.add_labels(labels, name="nuclei")
    layer.features = frame
    meter = StallMeter()
    out: dict[str, float] = {}
    panel = None

    def load() -> None:
        nonlocal panel
        panel = ResultsPanel(viewer)
        viewer.window.add_dock_widget(panel, name="Results")

    actions = [
        ("read features", load),
        ("search", lambda: panel.picker.search.setText("feature 12 dapi")),
        ("colour objects", lambda: panel.colour_by("Feature_3_DAPI")),
        ("plate heatmap", lambda: panel.show_heatmap("Feature_3_DAPI")),
        ("scatter plot", lambda: (panel.set_axis(0, "Feature_1_DAPI"),
                                  panel.set_axis(1, "Feature_2_DAPI"))),
        ("select 5,000", lambda: panel.select_rows(np.arange(0, 50_000, 10))),
        ("table row click", lambda: panel.go_to_row(123)),
    ]
    for name, action in actions:
        _settle(0.5)
        meter.start()
        started = time.perf_counter()
        action()
        _loop_until(lambda: panel is not None and panel.frame is not None and panel.idle, 300)
        _settle(0.3)
        out[name] = meter.stop()["max_ms"]
        out[f"{name} s"] = round(time.perf_counter() - started, 2)
    viewer.close()
    return out


def _reexec_under_xvfb(argv: list[str]) -> int | None:
    if os.environ.get("DISPLAY") or os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return None
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        raise SystemExit("bench explore needs a display: set DISPLAY or install xvfb")
    return subprocess.call([xvfb, "-a", "-s", "-screen 0 1920x1080x24", sys.executable, "-m",
                            "bench", "explore", *argv], cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench explore", description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--features", type=int, default=650)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    rc = _reexec_under_xvfb(list(sys.argv[1:] if argv is None else argv))
    if rc is not None:
        return rc
    result = measure(args.objects, args.features)
    reference = floor()
    print(f"Results panel, {args.objects} objects x {args.features} features: longest "
          "event-loop stall (ms) from the action until its result is in, and wall (s)")
    for name, value in result.items():
        if not name.endswith(" s"):
            print(f"  {name:18} {value:8.1f} ms {result[name + ' s']:7.2f} s")
    print(f"  {'floor (repaint)':18} {reference['max_ms']:8.1f} ms")
    if args.json:
        args.json.write_text(json.dumps({"results": result, "floor": reference}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
