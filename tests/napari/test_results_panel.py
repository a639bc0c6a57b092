"""The Results panel in a real viewer over live results of the sample plate: feature search,
hover, colours, the plate heatmap, a scatter lasso and table rows linked to objects, and
classes clicked, trained and counted per well."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backend_bases import MouseEvent
from qtpy.QtCore import Qt
from viewer_helpers import wait_until_shown

from napari_hcs.engine.classify import ObjectClassifier
from napari_hcs.engine.executor import WellResult
from napari_hcs.engine.executor.tables import to_physical
from napari_hcs.engine.functions.library.measure import measure_nuclei
from napari_hcs.engine.plate.synthetic import SampleSpec, synthesize_well
from napari_hcs.napari.docks.object_canvas import SELECTION_LAYER
from napari_hcs.napari.docks.results_panel import ResultsPanel
from napari_hcs.napari.results.heatmap import HEATMAP_LAYER
from napari_hcs.napari.results.stream_sink import ResultSink
from napari_hcs.napari.session import session_for

WELLS = ("A01", "A02", "B01", "B02")
SPEC = SampleSpec(tile=(64, 64), nuclei_per_tile=4.0)  # the sample_plate fixture's plate


def _result(well: str) -> WellResult:
    """A well as a run returns it: the true nuclei, measured, lengths in µm."""
    truth = synthesize_well(SPEC, well)
    labels = truth.nuclei_labels.astype(np.int32)
    rng = np.random.default_rng(len(well))
    stack = np.stack([(labels > 0) * (800 + labels * 7.0), rng.random(labels.shape) * 100])
    _, table = measure_nuclei(stack.astype(np.float32), labels, ["DAPI", "GFP"])
    return WellResult(well=well, status="ok", labels={"nuclei_labels": labels},
                      tables={"nuclei": to_physical(table, SPEC.pixel_size_um)})


@pytest.fixture
def panel(make_napari_viewer, qtbot, sample_plate):
    viewer = make_napari_viewer()
    viewer.open(str(sample_plate), plugin="napari-hcs")
    session = session_for(viewer)
    session.adopt_layer(viewer.layers[0])
    panel = ResultsPanel(viewer)
    qtbot.addWidget(panel)
    sink = ResultSink(viewer, session)
    for well in WELLS:
        sink.add_result(_result(well))
    wait_until_shown(qtbot, sink)
    qtbot.waitUntil(lambda: "area" in viewer.layers["nuclei"].features.columns, timeout=20_000)
    qtbot.waitUntil(lambda: panel.frame is not None and "area" in panel.frame.columns
                    and panel.idle, timeout=20_000)
    return viewer, panel


def _wait(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: panel.idle, timeout=20_000)
    qtbot.wait(20)


def test_search_hover_colours_and_heatmap(panel, qtbot) -> None:
    viewer, panel = panel
    layer = viewer.layers["nuclei"]
    assert panel.objects.currentText() == "nuclei"
    panel.picker.search.setText("dapi MEAN")
    assert panel.picker.shown() == ["mean_DAPI"]
    panel.picker.search.setText("")
    assert len(panel.picker.shown()) > 5

    # Hover: the panel's line, and napari's status line (chosen features first).
    row = 3
    world = panel.lookup.positions[row]
    panel._moved(viewer, type("Event", (), {"position": tuple(world)})())
    record = panel.frame.iloc[row]
    assert panel.hovered.text().startswith(f"{record['well']} #{record['label']}: area ")
    assert "mean_DAPI" in panel.hovered.text()
    status = layer.get_status(tuple(world), world=True)["coordinates"]
    features = status.split("; ", 1)[1].split(", ")
    assert [f.split(":")[0] for f in features[:4]] == ["well", "label", "area", "mean_DAPI"]

    panel.picker.choose("area")
    panel.colour_by(panel.picker.current())
    _wait(qtbot, panel)
    colours = layer.colormap.color_dict
    assert len(colours) >= len(panel.frame) and panel.key.key.limits is not None
    biggest = panel.frame.loc[panel.frame["area"].idxmax(), "index"]
    smallest = panel.frame.loc[panel.frame["area"].idxmin(), "index"]
    assert not np.allclose(colours[biggest], colours[smallest])

    panel.show_heatmap("area")
    _wait(qtbot, panel)
    heat = viewer.layers[HEATMAP_LAYER]
    medians = pd.concat([_result(w).tables["nuclei"].assign(well=w) for w in WELLS]
                        ).groupby("well")["area"].median()
    for well, median in medians.items():
        r, c = ord(well[0]) - 65, int(well[1:]) - 1
        assert heat.data[r, c] == pytest.approx(median, rel=1e-6)
        # The heatmap pixel lies over the well's cell.
        top, left, bottom, right = panel.geometry().well_box(well)
        centre = ((top + bottom) / 2, (left + right) / 2)
        assert heat.world_to_data(centre) == pytest.approx((r, c), abs=0.5)


def _drag(canvas, points) -> None:
    """A real lasso: press, moves, release through matplotlib's event processing."""
    kinds = ["button_press_event"] + ["motion_notify_event"] * (len(points) - 2) + [
        "button_release_event"]
    for kind, (x, y) in zip(kinds, points, strict=True):
        MouseEvent(kind, canvas, x, y, button=1)._process()


def test_lasso_selects_objects_and_rows_and_a_row_goes_to_its_object(panel, qtbot) -> None:
    viewer, panel = panel
    panel.set_axis(0, "area")
    panel.set_axis(1, "mean_DAPI")
    plot = panel.plot
    assert plot.mode == "scatter"
    plot.canvas.draw()
    # A lasso around the larger half of the objects (in data coordinates, then screen).
    x, y = panel.frame["area"].to_numpy(), panel.frame["mean_DAPI"].to_numpy()
    cut = float(np.median(x))
    corners = [(cut, y.min() - 1), (x.max() + 1, y.min() - 1), (x.max() + 1, y.max() + 1),
               (cut, y.max() + 1), (cut, y.min() - 1)]
    screen = plot.ax.transData.transform(corners)
    path = np.concatenate([np.linspace(a, b, 6)[:-1] for a, b in zip(screen, screen[1:],
                                                                     strict=False)])
    _drag(plot.canvas, [*path, screen[-1]])
    expected = np.flatnonzero(x > cut)
    assert set(panel.selection) == set(expected)
    rows = {i.row() for i in panel.table.selectionModel().selectedRows()}
    assert rows == set(expected)
    assert len(viewer.layers[SELECTION_LAYER].data) == len(expected)

    # A click on a table row selects that object and takes the camera to it.
    row = int(expected[0])
    panel.table.scrollTo(panel.table.model_.index(row, 0))
    rect = panel.table.visualRect(panel.table.model_.index(row, 1))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert list(panel.selection) == [row]
    assert np.allclose(viewer.camera.center[-2:], panel.lookup.positions[row])
    # A click on the canvas over an object selects its row.
    other = int(expected[-1])
    panel._clicked(tuple(panel.lookup.positions[other]))
    assert list(panel.selection) == [other]


def test_objects_clicked_into_classes_are_learned_and_counted_per_well(panel, qtbot,
                                                                       tmp_path) -> None:
    viewer, panel = panel
    box = panel.classify
    frame = panel.frame
    cut = float(frame["area"].median())
    box.annotating.setChecked(True)
    for name, rows in (("small", frame.index[frame["area"] < 0.8 * cut][::2]),
                       ("large", frame.index[frame["area"] > 1.2 * cut][::2])):
        box.new_class.setText(name)
        box.new_class.returnPressed.emit()
        for row in rows:
            panel._clicked(tuple(panel.lookup.positions[row]))
    assert set(box.annotations.objects.values()) == {"small", "large"}
    assert panel.selection.size == 0  # annotating clicks do not select
    box.train_button.click()
    _wait(qtbot, panel)
    layer = viewer.layers["nuclei"]
    assert "class" in layer.features.columns
    assert panel.key.key.categorical
    counts = session_for(viewer).measurements["nuclei_class_counts"].set_index("well")
    classified = panel.frame
    for well, group in classified.groupby("well"):
        for name in ("small", "large"):
            assert counts.loc[well, f"Count_{name}"] == (group["class"] == name).sum()
    assert (classified["class"] == np.where(classified["area"] > cut, "large", "small")
            ).mean() > 0.8
    # Saved and loaded: the same classes (a JSON file of training rows, retrained).
    path = box.save(tmp_path / "classes.json")
    loaded = ObjectClassifier.load(path)
    assert (loaded.predict(classified) == classified["class"].astype(str).to_numpy()).all()


def test_hover_shows_the_chosen_features_before_the_table_keys(make_napari_viewer,
                                                              qtbot) -> None:
    """A reopened output's tables start with plate, field, label_image: napari's status line
    was cut before any feature. The panel puts the chosen features first."""
    viewer = make_napari_viewer()
    labels = np.zeros((20, 20), np.uint32)
    labels[2:6, 2:6], labels[10:15, 10:15] = 1, 2
    features = pd.DataFrame({"index": [1, 2], "plate": "p", "well": "A01", "field": 0,
                             "label_image": "A/1/0/labels/nuclei_labels", "label": [1, 2],
                             "area": [16.0, 25.0], "mean_DAPI": [3.0, 4.0]})
    layer = viewer.add_labels(labels, name="nuclei", features=features)
    panel = ResultsPanel(viewer)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.frame is not None and panel.idle, timeout=20_000)
    assert list(layer.features.columns[:5]) == ["index", "well", "label", "area", "mean_DAPI"]
    status = layer.get_status((12, 12), world=True)["coordinates"]
    assert status.split("; ", 1)[1].startswith("well: A01, label: 2, area: 25")
    panel.picker.choose("mean_DAPI")
    panel.toggle_hover("mean_DAPI")  # out of the hover set
    qtbot.waitUntil(lambda: panel.idle, timeout=20_000)
    assert "mean_DAPI" not in panel.hover_list.text()
    assert list(layer.features.columns[:4]) == ["index", "well", "label", "area"]


def test_a_hidden_results_page_reads_features_once_it_is_shown(make_napari_viewer, qtbot,
                                                               sample_plate):
    """A live run refreshes its labels' features every 2 s: the Results page, behind another
    tab of the shown dock, reads them only when it is shown."""
    from napari_hcs.napari.docks.hcs_dock import HcsDock

    viewer = make_napari_viewer(show=True)
    viewer.open(str(sample_plate), plugin="napari-hcs")
    dock = HcsDock(viewer)
    viewer.window.add_dock_widget(dock, name="napari HCS")
    dock.tabs.setCurrentIndex(2)  # Run, as during a run
    qtbot.waitUntil(lambda: dock.isVisible() and not dock.results.isVisible(), timeout=5000)
    sink = ResultSink(viewer, session_for(viewer))
    for well in WELLS:
        sink.add_result(_result(well))
    wait_until_shown(qtbot, sink)
    qtbot.waitUntil(lambda: "area" in viewer.layers["nuclei"].features.columns, timeout=20_000)
    qtbot.wait(800)  # past the panel's reload delay
    assert dock.results.frame is None and dock.results._stale
    dock.tabs.setCurrentWidget(dock.tabs.widget(3))  # Results
    qtbot.waitUntil(lambda: dock.results.frame is not None and dock.results.idle,
                    timeout=20_000)
    assert "area" in dock.results.frame.columns and not dock.results._stale
