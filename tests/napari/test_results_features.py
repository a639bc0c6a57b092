"""The Results panel's pure parts: feature search, hover order, per-well medians, the heatmap's
placement, object rows and positions, colours and table row runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_hcs.napari.docks.object_canvas import ObjectLookup
from napari_hcs.napari.docks.table_view import row_runs
from napari_hcs.napari.plate_view.geometry import PlateGeometry
from napari_hcs.napari.results.annotations import ClassAnnotations, classify_frame
from napari_hcs.napari.results.features import (
    default_hover,
    feature_names,
    hover_order,
    search,
    well_medians,
)
from napari_hcs.napari.results.heatmap import heatmap_image, heatmap_kwargs
from napari_hcs.napari.results.object_colours import MISSING, colour_objects

GEOMETRY = PlateGeometry.for_wells((100, 120), 8, 12, 0.5)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "index": [1, 2, 3, 4, 5], "well": ["A01", "A01", "B03", "B03", "B03"],
        "label": [1, 2, 1, 2, 3], "plate": "p", "AreaShape_Area": [10.0, 30.0, 5.0, 7.0, 9.0],
        "Intensity_MeanIntensity_DAPI": [1.0, 2.0, np.nan, 4.0, 5.0],
        "centroid_y": [1.0, 2.0, 3.0, 4.0, 5.0], "centroid_x": [5.0, 4.0, 3.0, 2.0, 1.0]})


def test_search_hover_and_medians() -> None:
    frame = _frame()
    names = feature_names(frame)
    assert names == ["AreaShape_Area", "Intensity_MeanIntensity_DAPI", "centroid_y",
                     "centroid_x"]
    assert search(names, "dapi  INTENSITY") == ["Intensity_MeanIntensity_DAPI"]
    assert search(names, "") == names and search(names, "nothing") == []
    chosen = default_hover(names)
    assert chosen == ["AreaShape_Area", "Intensity_MeanIntensity_DAPI"]
    assert hover_order(list(frame.columns), chosen)[:5] == ["index", "well", "label",
                                                            *chosen]
    assert well_medians(frame, "AreaShape_Area") == {"A01": 20.0, "B03": 7.0}
    assert well_medians(frame, "Intensity_MeanIntensity_DAPI")["B03"] == 4.5  # NaN left out


def test_ids_metadata_and_links_are_not_features() -> None:
    """A reopened output's table starts with its keys and CellProfiler's metadata: none of
    them is a feature; a child count is, and so are the classes a classifier gave."""
    frame = pd.DataFrame({
        "index": [1, 2], "well": "B07", "label": [1, 2], "well_label": [1, 2], "plate": "p",
        "field": 0, "label_image": "B/7/0/labels/cells", "Metadata_Plate": "p",
        "Metadata_Well": "B07", "Metadata_Site": 1, "ImageNumber": 1, "ObjectNumber": [1, 2],
        "Number_Object_Number": [1, 2], "Cells_Parent_Nuclei": [1, 2],
        "Cells_Children_Cytoplasm_Count": [1, 1], "Cells_AreaShape_Area": [80.0, 90.0],
        "class": ["a", "b"]})
    assert feature_names(frame) == ["Cells_Children_Cytoplasm_Count", "Cells_AreaShape_Area",
                                    "class"]
    from napari_hcs.engine.classify import feature_columns

    assert feature_columns(frame) == ["Cells_Children_Cytoplasm_Count", "Cells_AreaShape_Area"]


def test_heatmap_pixels_cover_their_wells_cells() -> None:
    image = heatmap_image(GEOMETRY, {"A01": 1.0, "B03": 3.0, "Z99": 9.0, "bad": 1.0})
    assert image.shape == (8, 12) and image[0, 0] == 1 and image[1, 2] == 3
    assert np.isnan(image).sum() == 8 * 12 - 2
    kwargs = heatmap_kwargs(GEOMETRY, "x", image)
    (sy, sx), (ty, tx) = kwargs["scale"], kwargs["translate"]
    for well, (r, c) in (("A01", (0, 0)), ("B03", (1, 2)), ("H12", (7, 11))):
        top, left, bottom, right = GEOMETRY.well_box(well)
        # The heatmap pixel's world extent holds the well's mosaic.
        assert ty + (r - 0.5) * sy <= top and bottom <= ty + (r + 0.5) * sy
        assert tx + (c - 0.5) * sx <= left and right <= tx + (c + 0.5) * sx


def test_objects_are_found_by_unique_id_or_by_well_and_label() -> None:
    frame = _frame()
    lookup = ObjectLookup.build(frame, GEOMETRY)
    assert lookup.row(4, None, unique_ids=True) == 3
    assert lookup.row(2, "B03", unique_ids=False) == 3  # a reopened output's own labels
    assert lookup.row(9, "B03", unique_ids=False) is None and lookup.row(0, None, True) is None
    y0, x0 = GEOMETRY.origin("B03")
    assert lookup.positions[3] == pytest.approx((y0 * 0.5 + 4.0, x0 * 0.5 + 2.0))


def test_colours_by_number_and_by_category() -> None:
    frame = _frame()
    numbers = colour_objects(frame["index"].to_numpy(), frame["Intensity_MeanIntensity_DAPI"],
                             "dapi")
    assert numbers.key.limits is not None and numbers.colours[3] == MISSING
    assert numbers.colours[1] != numbers.colours[5] and numbers.colours[0][3] == 0
    classes = colour_objects(frame["index"].to_numpy(), frame["well"], "well")
    assert classes.key.categorical and [n for n, _ in classes.key.categories] == ["A01", "B03"]
    assert classes.colours[1] == classes.colours[2] != classes.colours[3]


def test_row_runs() -> None:
    assert row_runs(np.array([5, 1, 2, 3, 9, 10])) == [(1, 3), (5, 5), (9, 10)]
    assert row_runs(np.array([], int)) == []


def test_clicked_classes_train_and_count_per_well() -> None:
    rng = np.random.default_rng(1)
    n = 200
    frame = pd.DataFrame({"index": np.arange(1, n + 1), "well": np.repeat(["A01", "B02"], n // 2),
                          "label": np.tile(np.arange(1, n // 2 + 1), 2),
                          "area": rng.normal(50, 15, n)})
    notes = ClassAnnotations()
    for _, row in frame.iloc[::4].iterrows():
        notes.annotate(row["well"], row["label"], "big" if row["area"] > 50 else "small")
    notes.annotate("A01", 1, None)  # taken out again
    assert ("A01", 1) not in notes.objects and notes.counts()["big"] > 0
    classified, per_object, counts = classify_frame(frame, notes.train(frame))
    assert (per_object["class"].to_numpy() == classified["class"].astype(str)).all()
    for well, group in per_object.groupby("well"):
        row = counts.set_index("well").loc[well]
        assert row["Count_big"] + row["Count_small"] == len(group)
        assert row["Count_big"] == (group["class"] == "big").sum()
    # The classifier's classes only (unused names in the class list are not counted).
    assert sorted(counts.columns) == ["Count_big", "Count_small", "well"]


def test_a_long_choice_list_is_searchable(qtbot) -> None:
    from qtpy.QtWidgets import QComboBox

    from napari_hcs.napari.docks.scrolling import searchable

    combo = searchable(QComboBox())
    qtbot.addWidget(combo)
    names = [f"wells: Median_Cells_Feature_{i}_{c}" for i in range(2000) for c in ("DAPI", "Actin")]
    combo.addItems(["run status", *names])
    completer = combo.completer()
    completer.setCompletionPrefix("feature_1999_actin")
    assert completer.completionCount() == 1
    assert completer.currentCompletion() == "wells: Median_Cells_Feature_1999_Actin"
