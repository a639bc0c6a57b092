"""Profiling results in napari: CellProfiler features on the labels layers of nuclei, cells and
cytoplasm (what napari's status/tooltips and feature plugins read, `layer.features`), and the
Plate dock's wells coloured by any well-level feature (`tables/wells.parquet`'s columns)."""

from __future__ import annotations

import numpy as np
import pytest
from viewer_helpers import wait_until_shown

from napari_hcs.engine.executor import WellResult
from napari_hcs.engine.functions.library.aggregate import aggregate_profiles
from napari_hcs.engine.functions.library.cells import identify_cells
from napari_hcs.engine.functions.library.profiles import measure_profiles
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.plate.synthetic import SampleSpec, synthesize_well
from napari_hcs.napari.plate_view.well_colours import colourings, values_of
from napari_hcs.napari.results.canvas import ResultCanvas
from napari_hcs.napari.results.layers import result_parts
from napari_hcs.napari.results.stream_sink import ResultSink
from napari_hcs.napari.session import HcsSession, session_for

pytest.importorskip("cp_measure")
CHANNELS = ["DAPI", "Actin"]
WELLS = ("A01", "B02")


def _profiled(well: str) -> WellResult:
    """One sample well through the profiling functions, as a worker returns it."""
    data = synthesize_well(SampleSpec(grid=(1, 1)), well)
    image = np.stack([data.tiles[(1, c, 1, 1)] for c in ("1", "2")]).astype(np.float32)
    _, nuclei, _ = segment_nuclei(image[:1])
    _, cells, cytoplasm, rois = identify_cells(image, nuclei, CHANNELS, channel="Actin")
    _, *objects = measure_profiles(image, nuclei, cells, cytoplasm, CHANNELS,
                                   groups=("sizeshape", "intensity"))
    _, wells = aggregate_profiles(image, *objects)
    tables = dict(zip(("nuclei", "cells", "cytoplasm", "wells"), (*objects, wells),
                      strict=True))
    return WellResult(
        well=well, status="ok", image=image, channel_names=CHANNELS,
        labels={"nuclei_labels": nuclei[0], "cells_labels": cells,
                "cytoplasm_labels": cytoplasm},
        rois={"cells_rois": rois}, tables={n: t.assign(well=well) for n, t in tables.items()})


@pytest.fixture(scope="module")
def results() -> list[WellResult]:
    return [_profiled(w) for w in WELLS]


def test_labels_layers_carry_each_objects_features(results) -> None:
    canvas = ResultCanvas()
    for result in results:
        update = canvas.add(result_parts(result))
    for name in ("nuclei", "cells", "cytoplasm"):
        features = update.features[name]
        table = {w: r.tables[name] for w, r in zip(WELLS, results, strict=True)}
        assert len(features) == sum(len(t) for t in table.values())
        assert features["index"].is_unique  # napari's row of each plate-wide label value
        prefix = name.capitalize()
        for column in (f"{prefix}_AreaShape_Area", f"{prefix}_AreaShape_Eccentricity",
                       f"{prefix}_Intensity_MeanIntensity_DAPI",
                       f"{prefix}_Intensity_MedianIntensity_Actin"):
            for well in WELLS:
                mine = features[features["well"] == well].set_index("well_label")[column]
                theirs = table[well].set_index("label")[column]
                np.testing.assert_allclose(mine.loc[theirs.index], theirs, err_msg=column)


def test_wells_are_coloured_by_any_well_level_feature(results) -> None:
    session = HcsSession()
    for result in results:
        for name, table in result.tables.items():
            session.add_table(name, result.well, table)
    choices = colourings(session)
    for feature in ("Median_Cells_AreaShape_Area", "MAD_Nuclei_Intensity_MeanIntensity_DAPI",
                    "Count_Cells"):
        expected = {r.well: float(r.tables["wells"][feature].iloc[0]) for r in results}
        assert values_of(choices[f"wells: {feature}"]) == pytest.approx(expected)
    assert "wells: count" not in choices  # one row per well: nothing to count
    assert "cells: count" in choices and "cells: Cells_AreaShape_Area (mean)" in choices


def test_a_viewer_shows_the_features_of_the_object_under_the_cursor(
        results, make_napari_viewer, qtbot) -> None:
    viewer = make_napari_viewer()
    sink = ResultSink(viewer, session_for(viewer))
    for result in results:
        sink.add_result(result)
    wait_until_shown(qtbot, sink)
    layer = viewer.layers["cells"]
    qtbot.waitUntil(lambda: len(layer.features) == sum(len(r.tables["cells"])
                                                       for r in results), timeout=20_000)
    assert {"index", "well", "label", "Cells_AreaShape_Area"} <= set(layer.features.columns)
    layer.visible = True  # cells start hidden under nuclei; napari reports shown layers only
    # napari's status line for a pixel of a cell lists that cell's features.
    # (a pixel of the level napari has loaded: a small cell can vanish from a coarse level)
    level = layer.data_level if layer.multiscale else 0
    data = np.asarray(layer.data[level] if layer.multiscale else layer.data)
    y, x = np.argwhere(data > 0)[0]
    value = int(data[y, x])
    if layer.multiscale:
        y, x = (int(c * f) for c, f in zip((y, x), layer.downsample_factors[level][-2:],
                                             strict=True))
    status = layer.get_status(layer.data_to_world((y, x)), world=True)
    text = status["coordinates"] if isinstance(status, dict) else str(status)
    row = layer.features[layer.features["index"] == value].iloc[0]
    assert int(row["label"]) == value and row["well"] in WELLS
    assert f"label: {value}" in text and "Cells_AreaShape_Area" in text  # label = pixel value


def test_live_results_show_the_first_label_image_only(results, make_napari_viewer, qtbot):
    """Nuclei, cells and cytoplasm filled over each other hide each other: the first label
    image is shown, the others start hidden (a reopened output does the same)."""
    viewer = make_napari_viewer()
    sink = ResultSink(viewer, session_for(viewer))
    for result in results:
        sink.add_result(result)
    wait_until_shown(qtbot, sink)
    assert viewer.layers["nuclei"].visible
    assert not viewer.layers["cells"].visible and not viewer.layers["cytoplasm"].visible
