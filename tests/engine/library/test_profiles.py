"""CellProfiler features: equal to cp-measure called directly on the same objects, named as
CellProfiler names them, with units; per-well profiles."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from profile_data import true_mosaic

from napari_hcs.engine.functions.library._granularity import granularity
from napari_hcs.engine.functions.library._profile_columns import (
    channel_column,
    correlation_column,
    shape_column,
    units_of,
)
from napari_hcs.engine.functions.library._profile_features import (
    FeatureOptions,
    compartment_features,
)
from napari_hcs.engine.functions.library.aggregate import aggregate_profiles, well_profile
from napari_hcs.engine.functions.library.cells import identify_cells
from napari_hcs.engine.functions.library.profiles import (
    GROUPS,
    JUMP_GROUPS,
    as_stored,
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
    ours = object_features(objects[name], images, texture_scales=SCALES, groups=GROUPS,
                           costes=True, advanced_shape=True)
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


def test_granularity_is_shared_by_object_sets_and_equals_cp_measure(objects: dict) -> None:
    """One image pass for nuclei, cells and cytoplasm; JUMP's subsampling (0.5) as well."""
    from cp_measure.core.measuregranularity import get_granularity

    pixels = scaled_images(objects["stack"], CHANNELS, 65535.0)["Actin"]
    sets = [sanitize_labels(objects[n]) for n in ("nuclei", "cells", "cytoplasm")]
    for subsample in (0.25, 0.5):
        ours = granularity(pixels, sets, subsample_size=subsample, image_sample_size=subsample)
        for labels, spectrum in zip(sets, ours, strict=True):
            reference = get_granularity(labels, pixels, subsample, subsample)
            assert list(spectrum) == list(reference)
            for key, values in reference.items():
                np.testing.assert_allclose(spectrum[key], values, rtol=1e-9, atol=1e-12,
                                           err_msg=key)


def sanitize_labels(labels: np.ndarray) -> np.ndarray:
    from cp_measure._sanitize import sanitize_masks

    return sanitize_masks(labels)[0]


def test_jump_feature_set_by_default(objects: dict) -> None:
    images = scaled_images(objects["stack"], CHANNELS, 65535.0)
    tables = compartment_features({"cells": objects["cells"]}, images)
    columns = set(tables["cells"].columns)
    assert "Texture_Contrast_DAPI_10_00_256" in columns and "Granularity_16_DAPI" in columns
    assert not any("Costes" in c or "Zernike" in c and "Radial" in c for c in columns)
    assert "AreaShape_CentralMoment_1_1" not in columns  # JUMP: no advanced shape features
    assert FeatureOptions().groups == JUMP_GROUPS and "radial_zernikes" not in JUMP_GROUPS
    costes = compartment_features({"cells": objects["cells"]}, images,
                                  FeatureOptions(groups=("correlation",), costes=True))
    assert "Correlation_Costes_DAPI_Actin" in costes["cells"].columns


def test_columns_are_named_as_cellprofiler_names_them(objects: dict) -> None:
    _, nuclei, cells, cytoplasm = measure_profiles(
        objects["stack"], objects["nuclei"], objects["cells"], objects["cytoplasm"],
        list(CHANNELS), texture_scales=(3,), groups=GROUPS, costes=True)
    for column in ("label", "Cells_AreaShape_Area", "Cells_AreaShape_Zernike_2_0",
                   "Cells_AreaShape_MaxFeretDiameter", "Cells_Intensity_MeanIntensity_DAPI",
                   "Cells_Intensity_UpperQuartileIntensity_Actin",
                   "Cells_Intensity_MeanIntensityEdge_DAPI",
                   "Cells_Intensity_MassDisplacement_Actin",
                   "Cells_Location_CenterMassIntensity_X_DAPI",
                   "Cells_Texture_Contrast_DAPI_3_00_256", "Cells_Texture_InfoMeas2_Actin_3_03_256",
                   "Cells_Granularity_1_DAPI", "Cells_Granularity_16_Actin",
                   "Cells_RadialDistribution_FracAtD_DAPI_1of4",
                   "Cells_RadialDistribution_ZernikeMagnitude_Actin_2_0",
                   "Cells_Correlation_Correlation_DAPI_Actin",
                   "Cells_Correlation_Manders_Actin_DAPI",
                   "Cells_Correlation_K_DAPI_Actin", "Cells_Correlation_Overlap_DAPI_Actin",
                   "Cells_Correlation_Costes_DAPI_Actin"):
        assert column in cells.columns, column
    assert "Cells_Location_CenterMassIntensity_Z_DAPI" not in cells.columns  # constant in 2-D
    assert nuclei.columns[:3].tolist() == ["label", "Nuclei_Children_Cells_Count",
                                           "Nuclei_Children_Cytoplasm_Count"]
    assert cells.columns[:3].tolist() == ["label", "Cells_Parent_Nuclei",
                                          "Cells_Children_Cytoplasm_Count"]
    assert cytoplasm.columns[:3].tolist() == ["label", "Cytoplasm_Parent_Cells",
                                              "Cytoplasm_Parent_Nuclei"]
    assert (cells["label"] == cells["Cells_Parent_Nuclei"]).all()
    assert (cytoplasm["label"] == cytoplasm["Cytoplasm_Parent_Cells"]).all()
    has_cytoplasm = cells["label"].isin(cytoplasm["label"])
    assert (cells["Cells_Children_Cytoplasm_Count"] == has_cytoplasm).all()
    assert nuclei["Nuclei_Children_Cells_Count"].sum() == len(cells)
    assert [t.attrs["labels"] for t in (nuclei, cells, cytoplasm)] == [
        "nuclei_labels", "cells_labels", "cytoplasm_labels"]
    assert [t.attrs["compartment"] for t in (nuclei, cells, cytoplasm)] == [
        "Nuclei", "Cells", "Cytoplasm"]
    assert cells.attrs["units"]["Cells_AreaShape_Area"] == "pixel**2"
    # A cell is its nucleus plus its cytoplasm (areas add up, object by object).
    area = pd.DataFrame({"label": cells["label"], "cell": cells["Cells_AreaShape_Area"]}).merge(
        nuclei[["label", "Nuclei_AreaShape_Area"]], on="label").merge(
        cytoplasm[["label", "Cytoplasm_AreaShape_Area"]], on="label", how="left").fillna(0)
    np.testing.assert_array_equal(area["cell"], area["Nuclei_AreaShape_Area"]
                                  + area["Cytoplasm_AreaShape_Area"])


def test_features_are_those_of_the_stored_image(objects: dict) -> None:
    """A float mosaic in counts is measured as plate.zarr stores it: rounded to whole counts."""
    stack = objects["stack"].astype(np.float32) + np.float32(0.3)
    assert np.array_equal(as_stored(stack), np.rint(stack))
    unit = np.full((2, 4, 4), 0.25, np.float32)  # a normalised 0..1 image stays float
    assert as_stored(unit) is unit
    mixed = np.stack([np.full((4, 4), 300.5), np.full((4, 4), 0.25)])  # so does its stack
    assert as_stored(mixed) is mixed
    _, _, float_cells, _ = measure_profiles(stack, objects["nuclei"], objects["cells"],
                                            objects["cytoplasm"], list(CHANNELS),
                                            groups=("intensity",))
    _, _, rounded_cells, _ = measure_profiles(np.rint(stack).astype(np.uint16),
                                              objects["nuclei"], objects["cells"],
                                              objects["cytoplasm"], list(CHANNELS),
                                              groups=("intensity",))
    pd.testing.assert_frame_equal(float_cells, rounded_cells)


def test_length_like_columns_declare_units(objects: dict) -> None:
    table = object_features(objects["nuclei"], scaled_images(objects["stack"], CHANNELS, 65535),
                            groups=("sizeshape", "feret", "intensity"), advanced_shape=True)
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
                           "correlation", "neighbors"}
    assert set(JUMP_GROUPS) == set(GROUPS) - {"radial_zernikes"}


def test_well_profile_counts_medians_and_mads() -> None:
    cells = pd.DataFrame({"label": [1, 2, 3, 4], "Cells_Parent_Nuclei": [1, 2, 3, 4],
                          "Cells_Children_Cytoplasm_Count": [1, 1, 0, 1],
                          "Metadata_Site": [1, 1, 2, 2],
                          "Cells_Neighbors_FirstClosestObjectNumber_5": [2, 1, 4, 3],
                          "Cells_AreaShape_Area": [10.0, 20.0, 30.0, 100.0],
                          "Cells_Correlation_Costes_A_B": [np.nan] * 4,
                          "Cells_Intensity_MeanIntensity_A": [0.1, np.nan, 0.3, 0.5]})
    cells.attrs["units"] = {"Cells_AreaShape_Area": "pixel**2"}
    nuclei = pd.DataFrame({"label": [1, 2, 3], "AreaShape_Area": [10.0, 20.0, 30.0]})
    cytoplasm = cells.iloc[:0].rename(columns=lambda c: c.replace("Cells_", "Cytoplasm_"))
    _, profile = aggregate_profiles(np.zeros((1, 2, 2)), nuclei, cells, cytoplasm)
    row = profile.iloc[0]
    assert row["Count_Cells"] == 4 and row["Count_Nuclei"] == 3 and row["Count_Cytoplasm"] == 0
    assert row["Median_Cells_AreaShape_Area"] == 25.0
    assert row["Median_Nuclei_AreaShape_Area"] == 20.0  # unprefixed columns get the prefix
    assert row["MAD_Cells_AreaShape_Area"] == 10.0  # |10-25|, |20-25|, |30-25|, |100-25|
    assert row["Median_Cells_Intensity_MeanIntensity_A"] == pytest.approx(0.3)  # NaN left out
    assert np.isnan(row["Median_Cells_Correlation_Costes_A_B"])
    assert np.isnan(row["Median_Cytoplasm_AreaShape_Area"])
    for link in ("label", "Parent_Nuclei", "Children_Cytoplasm_Count", "Metadata_Site",
                 "ClosestObjectNumber"):  # a neighbour's id is no feature
        assert not any(link in c for c in profile.columns), link
    units = profile.attrs["units"]
    assert units["Median_Cells_AreaShape_Area"] == units["MAD_Cells_AreaShape_Area"] == "pixel**2"
    assert "Median_Cells_Intensity_MeanIntensity_A" not in units and "Count_Cells" not in units
    assert len(profile) == 1


def test_well_profile_of_one_table() -> None:
    table = pd.DataFrame({"label": [1, 2], "X": [1.0, 3.0]})
    profile = well_profile({"nuclei": table})
    assert profile.columns.tolist() == ["Count_Nuclei", "Median_Nuclei_X", "MAD_Nuclei_X"]
    assert profile.iloc[0].tolist() == [2.0, 2.0, 1.0]


def test_reconstruction_is_scikit_images_bit_for_bit() -> None:
    from skimage.morphology import disk, erosion, reconstruction

    from napari_hcs.engine.functions.library._reconstruction import reconstruct

    rng = np.random.default_rng(3)
    for shape in ((1, 1), (5, 7), (64, 80)):
        image = np.round(rng.random(shape) * 20) / 20  # plateaus: ties everywhere
        seed = erosion(erosion(image, disk(1)), disk(1))
        expected = reconstruction(seed, image, footprint=disk(1, dtype=bool))
        assert np.array_equal(reconstruct(seed, image), expected)


def test_neighbors_are_cellprofilers(objects: dict) -> None:
    """cp-measure's MeasureObjectNeighbors, called directly, for counts, touching, distances
    and angles; the closest objects' numbers are CellProfiler's: the nearest *other* objects,
    as label ids, at the distances reported (cp-measure's own rank the object itself first)."""
    from centrosome.cpmorphology import centers_of_labels
    from cp_measure.bulk import get_multimask_measurements
    from cp_measure.multimask.measureobjectneighbors import D_ADJACENT, D_WITHIN

    _, nuclei, cells, _ = measure_profiles(
        objects["stack"], objects["nuclei"], objects["cells"], objects["cytoplasm"],
        list(CHANNELS), groups=("neighbors",))
    clean = sanitize_labels(objects["cells"])
    direct = get_multimask_measurements()["neighbors"]
    for scale, method, distance in (("5", D_WITHIN, 5), ("Adjacent", D_ADJACENT, 5)):
        reference = direct(clean, clean, method, distance)
        for feature in ("NumberOfNeighbors", "PercentTouching", "FirstClosestDistance",
                        "SecondClosestDistance", "AngleBetweenNeighbors"):
            key = f"Neighbors_{feature}_{scale}"
            np.testing.assert_allclose(cells[f"Cells_{key}"], reference[key], rtol=1e-9,
                                       equal_nan=True, err_msg=key)
    assert cells["Cells_Neighbors_NumberOfNeighbors_Adjacent"].max() > 0  # touching cells
    centres = dict(zip(cells["label"], centers_of_labels(clean).transpose(), strict=True))
    for rank in ("First", "Second"):
        numbers = cells[f"Cells_Neighbors_{rank}ClosestObjectNumber_5"]
        assert numbers.isin(cells["label"]).all() and (numbers != cells["label"]).all()
        reached = [np.linalg.norm(centres[a] - centres[b])
                   for a, b in zip(cells["label"], numbers, strict=True)]
        np.testing.assert_allclose(reached, cells[f"Cells_Neighbors_{rank}ClosestDistance_5"])
    assert "Nuclei_Neighbors_NumberOfNeighbors_1" in nuclei.columns
    assert cells.attrs["units"]["Cells_Neighbors_FirstClosestDistance_5"] == "pixel"


def test_a_lone_object_has_no_neighbours() -> None:
    """cp-measure 0.3 fails on one object; CellProfiler reports zeros (and warming a worker
    measures a lone square)."""
    from napari_hcs.engine.functions.library.profiles import warm_up

    labels = np.zeros((12, 12), np.int32)
    labels[3:9, 3:9] = 5
    stack = np.stack([labels * 100.0, labels * 50.0]).astype(np.float32)
    _, nuclei, cells, _ = measure_profiles(stack, labels, labels, labels, ["a", "b"],
                                           groups=("neighbors",))
    assert nuclei["Nuclei_Neighbors_NumberOfNeighbors_1"].tolist() == [0.0]
    assert cells["Cells_Neighbors_FirstClosestObjectNumber_Adjacent"].tolist() == [0]
    warm_up()
