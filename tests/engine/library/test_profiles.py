"""CellProfiler features: equal to cp-measure called directly on the same objects, named as
CellProfiler names them, with units; per-well profiles."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from profile_data import true_mosaic

from napari_hcs.engine.functions.library._profile_columns import (
    channel_column,
    correlation_column,
    shape_column,
    units_of,
)
from napari_hcs.engine.functions.library.aggregate import aggregate_profiles, well_profile
from napari_hcs.engine.functions.library.cells import identify_cells
from napari_hcs.engine.functions.library.profiles import (
    GROUPS,
    measure_profiles,
    object_features,
    scaled_images,
)
from napari_hcs.engine.functions.library.segmentation import segment_nuclei

cp_bulk = pytest.importorskip("cp_measure.bulk")
colocalization = pytest.importorskip("cp_measure.core.measurecolocalization")
from cp_measure._sanitize import sanitize  # noqa: E402  (after the skip)

# The direct cp-measure calls warn for undefined features (NaN, as in our tables).
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
CHANNELS = ("DAPI", "Actin")
SCALES = (3, 5)


@pytest.fixture(scope="module")
def objects() -> dict[str, object]:
    """A corner of a sample well: its channels, nuclei, cells and cytoplasm (ids not 1..N)."""
    mosaic, _ = true_mosaic("A01")
    crop = np.ascontiguousarray(mosaic[:, :260, :260])
    _, nuclei, _ = segment_nuclei(crop[:1])
    _, cells, cytoplasm, _ = identify_cells(crop, nuclei, CHANNELS, channel="Actin")
    # Gaps in the ids: tables must keep the ids of the label image.
    gapped = {k: np.where(v > 0, v * 3 + 1, 0) for k, v in
              (("nuclei", nuclei[0]), ("cells", cells), ("cytoplasm", cytoplasm))}
    return {"stack": crop, **gapped}


def _reference(labels: np.ndarray, images: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """cp-measure's own functions (default backend, relabelling on), named with our names."""
    core = cp_bulk.get_core_measurements()
    found: dict[str, np.ndarray] = {}
    for group in ("sizeshape", "zernike", "feret"):
        found.update({shape_column(k): v for k, v in core[group](labels, None).items()})
    for name, pixels in images.items():
        calls = [("intensity", {}), ("granularity", {}), ("radial_distribution", {}),
                 ("radial_zernikes", {}), *[("texture", {"scale": s}) for s in SCALES]]
        for group, kwargs in calls:
            for key, values in core[group](labels, pixels, **kwargs).items():
                if (column := channel_column(key, name)) is not None:
                    found[column] = values
    pairs = cp_bulk.get_correlation_measurements()
    for (a, first), (b, second) in itertools.combinations(images.items(), 2):
        results = [pairs["pearson"](first, second, labels),
                   pairs["manders_fold"](first, second, labels),
                   pairs["rwc"](first, second, labels),
                   pairs["costes"](first, second, labels, scale_max=65535),
                   sanitize(colocalization.get_correlation_overlap)(first, second, labels)]
        for result in results:
            found.update({correlation_column(k, a, b): v for k, v in result.items()})
    return found


@pytest.mark.parametrize("name", ["nuclei", "cells", "cytoplasm"])
def test_features_equal_cp_measure_called_directly(objects: dict, name: str) -> None:
    images = scaled_images(objects["stack"], CHANNELS, 65535.0)
    ours = object_features(objects[name], images, texture_scales=SCALES)
    reference = _reference(objects[name], images)
    ids = np.unique(objects[name])[1:]
    assert ours["label"].tolist() == ids.tolist()
    assert set(ours.columns) - {"label"} == set(reference)
    for column, expected in reference.items():
        if column.startswith("Location_MaxIntensity_"):
            continue  # ties: any brightest pixel is right (checked below)
        np.testing.assert_allclose(ours[column].to_numpy(), np.asarray(expected, float),
                                   rtol=1e-6, atol=1e-9, equal_nan=True, err_msg=column)
    for channel, pixels in images.items():
        # The two backends may pick different pixels among equally bright ones.
        at = [np.asarray(t[f"Location_MaxIntensity_{axis}_{channel}"], float).round()
              .astype(int) for t in (ours, reference) for axis in ("Y", "X")]
        np.testing.assert_array_equal(pixels[at[0], at[1]], pixels[at[2], at[3]])


def test_columns_are_named_as_cellprofiler_names_them(objects: dict) -> None:
    _, nuclei, cells, cytoplasm = measure_profiles(
        objects["stack"], objects["nuclei"], objects["cells"], objects["cytoplasm"],
        list(CHANNELS), texture_scales=(3,))
    for column in ("label", "AreaShape_Area", "AreaShape_Zernike_2_0",
                   "AreaShape_MaxFeretDiameter", "Intensity_MeanIntensity_DAPI",
                   "Intensity_UpperQuartileIntensity_Actin", "Intensity_MeanIntensityEdge_DAPI",
                   "Intensity_MassDisplacement_Actin", "Location_CenterMassIntensity_X_DAPI",
                   "Texture_Contrast_DAPI_3_00_256", "Texture_InfoMeas2_Actin_3_03_256",
                   "Granularity_1_DAPI", "Granularity_16_Actin",
                   "RadialDistribution_FracAtD_DAPI_1of4",
                   "RadialDistribution_ZernikeMagnitude_Actin_2_0",
                   "Correlation_Correlation_DAPI_Actin", "Correlation_Manders_Actin_DAPI",
                   "Correlation_K_DAPI_Actin", "Correlation_Overlap_DAPI_Actin"):
        assert column in cells.columns, column
    assert "Location_CenterMassIntensity_Z_DAPI" not in cells.columns  # constant in 2-D
    assert cells.columns[:2].tolist() == ["label", "Parent_Nuclei"]
    assert (cells["label"] == cells["Parent_Nuclei"]).all()
    assert "Parent_Nuclei" not in nuclei.columns
    assert [t.attrs["labels"] for t in (nuclei, cells, cytoplasm)] == [
        "nuclei_labels", "cells_labels", "cytoplasm_labels"]
    # A cell is its nucleus plus its cytoplasm (areas add up, object by object).
    merged = cells.merge(nuclei, on="label", suffixes=("", "_n")).merge(
        cytoplasm, on="label", how="left", suffixes=("", "_c")).fillna(0)
    np.testing.assert_array_equal(merged["AreaShape_Area"],
                                  merged["AreaShape_Area_n"] + merged["AreaShape_Area_c"])


def test_length_like_columns_declare_units(objects: dict) -> None:
    table = object_features(objects["nuclei"], scaled_images(objects["stack"], CHANNELS, 65535),
                            groups=("sizeshape", "feret", "intensity"))
    units = table.attrs["units"]
    assert units["AreaShape_Area"] == "pixel**2"
    assert units["AreaShape_MajorAxisLength"] == units["AreaShape_MaxFeretDiameter"] == "pixel"
    assert units["Location_MaxIntensity_Y_Actin"] == "pixel"
    assert units["Intensity_MassDisplacement_DAPI"] == "pixel"
    assert units["AreaShape_CentralMoment_1_1"] == "pixel**4"
    for plain in ("AreaShape_Eccentricity", "AreaShape_FormFactor", "AreaShape_Orientation",
                  "Intensity_MeanIntensity_DAPI", "label"):
        assert plain not in units
    assert set(units) <= set(table.columns)
    assert units_of("Texture_Contrast_DAPI_3_00_256") is None


def test_intensity_scale_and_groups(objects: dict) -> None:
    images = scaled_images(objects["stack"], CHANNELS, 65535.0)
    brighter = scaled_images(objects["stack"], CHANNELS, 6553.5)
    a = object_features(objects["cells"], images, groups=("intensity",))
    b = object_features(objects["cells"], brighter, groups=("intensity",))
    np.testing.assert_allclose(b["Intensity_MeanIntensity_DAPI"],
                               10 * a["Intensity_MeanIntensity_DAPI"], rtol=1e-9)
    assert not any(c.startswith(("AreaShape", "Texture")) for c in a.columns)
    with pytest.raises(ValueError, match="unknown \\['shape'\\]"):
        measure_profiles(objects["stack"], objects["nuclei"], objects["cells"],
                         objects["cytoplasm"], list(CHANNELS), groups=("shape",))
    with pytest.raises(ValueError, match="'texture_scales'"):
        measure_profiles(objects["stack"], objects["nuclei"], objects["cells"],
                         objects["cytoplasm"], list(CHANNELS), texture_scales=(0,))


def test_no_objects_give_an_empty_table() -> None:
    images = {"DAPI": np.zeros((16, 16))}
    table = object_features(np.zeros((16, 16), np.int32), images)
    assert table.columns.tolist() == ["label"] and len(table) == 0


def test_all_groups_are_known() -> None:
    assert set(GROUPS) == {"sizeshape", "zernike", "feret", "intensity", "texture",
                           "granularity", "radial_distribution", "radial_zernikes",
                           "correlation"}


def test_well_profile_counts_medians_and_mads() -> None:
    cells = pd.DataFrame({"label": [1, 2, 3, 4], "Parent_Nuclei": [1, 2, 3, 4],
                          "AreaShape_Area": [10.0, 20.0, 30.0, 100.0],
                          "Correlation_Costes_A_B": [np.nan] * 4,
                          "Intensity_MeanIntensity_A": [0.1, np.nan, 0.3, 0.5]})
    cells.attrs["units"] = {"AreaShape_Area": "pixel**2"}
    nuclei = cells.iloc[:3][["label", "AreaShape_Area"]]
    _, profile = aggregate_profiles(np.zeros((1, 2, 2)), nuclei, cells, cells.iloc[:0])
    row = profile.iloc[0]
    assert row["Count_Cells"] == 4 and row["Count_Nuclei"] == 3 and row["Count_Cytoplasm"] == 0
    assert row["Median_Cells_AreaShape_Area"] == 25.0
    assert row["MAD_Cells_AreaShape_Area"] == 10.0  # |10-25|, |20-25|, |30-25|, |100-25|
    assert row["Median_Cells_Intensity_MeanIntensity_A"] == pytest.approx(0.3)  # NaN left out
    assert np.isnan(row["Median_Cells_Correlation_Costes_A_B"])
    assert np.isnan(row["Median_Cytoplasm_AreaShape_Area"])
    assert "Median_Cells_label" not in profile and "Median_Cells_Parent_Nuclei" not in profile
    units = profile.attrs["units"]
    assert units["Median_Cells_AreaShape_Area"] == units["MAD_Cells_AreaShape_Area"] == "pixel**2"
    assert "Median_Cells_Intensity_MeanIntensity_A" not in units and "Count_Cells" not in units
    assert len(profile) == 1


def test_well_profile_of_one_table() -> None:
    table = pd.DataFrame({"label": [1, 2], "X": [1.0, 3.0]})
    profile = well_profile({"nuclei": table})
    assert profile.columns.tolist() == ["Count_Nuclei", "Median_Nuclei_X", "MAD_Nuclei_X"]
    assert profile.iloc[0].tolist() == [2.0, 2.0, 1.0]
