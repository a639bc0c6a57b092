"""The shipped profiling pipeline end to end on the sample plate: cells against the truth,
the tables it writes and their keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr

from napari_hcs.cli import main
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.engine.plate.truth import load_truth_labels, match_objects

pytest.importorskip("cp_measure")
WELLS = ("A01", "B02")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("profile")
    plate = write_sample_plate(base / "plate", "imagexpress", SampleSpec(wells=WELLS))
    out = base / "out"
    assert main(["run", "profile_cells", str(plate), "--out", str(out), "--workers", "2",
                 "--no-progress"]) == 0
    return plate, out


def _cells_of(out: Path, well: str) -> np.ndarray:
    group = zarr.open_group(str(out / "plate.zarr" / well[0] / str(int(well[1:])) / "0"),
                            mode="r")
    assert {"nuclei_labels", "cells_labels", "cytoplasm_labels"} <= set(group["labels"])
    return np.asarray(group["labels/cells_labels/0"]).reshape(group["0"].shape[-2:])


@pytest.mark.slow
def test_cells_of_the_run_match_the_truth(run) -> None:
    plate, out = run
    for well in WELLS:
        cells = _cells_of(out, well)
        truth = load_truth_labels(plate, well, "cells")
        # Stitched in the truth's frame; the plate's one field shape pads bottom-right.
        h, w = truth.shape
        assert cells.shape[0] >= h and cells.shape[1] >= w
        assert not cells[h:].any() and not cells[:, w:].any()
        assert match_objects(truth, cells[:h, :w]).f1 >= 0.85


@pytest.mark.slow
def test_run_writes_object_well_and_quality_tables(run) -> None:
    _, out = run
    tables = {n: pd.read_parquet(out / "tables" / f"{n}.parquet")
              for n in ("nuclei", "cells", "cytoplasm", "wells", "qc", "image")}
    nuclei, cells, cytoplasm, wells, qc, image = tables.values()
    keys = ["plate", "well", "field", "label_image", "Metadata_Plate", "Metadata_Well",
            "Metadata_Site", "ImageNumber", "ObjectNumber", "label"]
    for name, objects in (("nuclei", nuclei), ("cells", cells), ("cytoplasm", cytoplasm)):
        compartment = name.capitalize()
        assert objects.columns[:len(keys)].tolist() == keys
        assert (objects["ObjectNumber"] == objects["label"]).all()
        assert not objects.duplicated(["ImageNumber", "ObjectNumber"]).any()
        # Each table points at its own label image.
        assert objects["label_image"].str.endswith(f"/0/labels/{name}_labels").all()
        # CellProfiler's names in CellProfiler's units (pixels), µm beside them (0.65 µm px).
        units = objects.attrs["units"]
        assert units[f"{compartment}_AreaShape_Area"] == "pixel**2"
        assert units[f"{compartment}_AreaShape_Area_um2"] == "micrometer**2"
        assert units[f"{compartment}_AreaShape_MajorAxisLength_um"] == "micrometer"
        np.testing.assert_allclose(objects[f"{compartment}_AreaShape_Area_um2"],
                                   objects[f"{compartment}_AreaShape_Area"] * 0.65**2)
        all_nan = [c for c in objects.columns if objects[c].isna().all()]
        assert not all_nan, all_nan
    # The same object ids in the three sets (a cytoplasm may be missing, never extra), and
    # a cell, its nucleus and its cytoplasm share the site (ImageNumber) they link on.
    linked = cells.merge(nuclei, on=["ImageNumber", "ObjectNumber"], suffixes=("", "_n"))
    assert len(linked) == len(cells) == len(nuclei)
    assert (cells["Cells_Parent_Nuclei"] == cells["ObjectNumber"]).all()
    assert cytoplasm.merge(cells, left_on=["ImageNumber", "Cytoplasm_Parent_Cells"],
                           right_on=["ImageNumber", "ObjectNumber"]).shape[0] == len(cytoplasm)
    # A stitched well's objects come from its 4 sites, each its own ImageNumber.
    assert set(nuclei["Metadata_Site"]) == {1, 2, 3, 4}
    assert image["ImageNumber"].tolist() == list(range(1, 9))
    assert image[["Metadata_Well", "Metadata_Site"]].to_numpy().tolist() == [
        [w, s] for w in WELLS for s in (1, 2, 3, 4)]
    counts = nuclei.groupby("ImageNumber").size()
    assert image.set_index("ImageNumber")["Count_Nuclei"].to_dict() == {
        i: int(counts.get(i, 0)) for i in range(1, 9)}
    assert image.filter(like="ImageQuality_ThresholdOtsu_").notna().all().all()
    # One profile per well, its counts those of the object tables.
    assert wells["Metadata_Well"].tolist() == list(WELLS)
    per_well = cells.groupby("well").size()
    assert wells.set_index("well")["Count_Cells"].to_dict() == per_well.astype(float).to_dict()
    median = cells.groupby("well")["Cells_AreaShape_Area"].median()
    np.testing.assert_allclose(wells.set_index("well")["Median_Cells_AreaShape_Area"], median)
    assert wells.attrs["units"]["MAD_Cells_AreaShape_Area_um2"] == "micrometer**2"
    # A cell's area is its pixel count in the stored labels.
    pixels = np.bincount(_cells_of(out, WELLS[0]).ravel())[1:]
    np.testing.assert_array_equal(np.sort(cells[cells["well"] == WELLS[0]]["Cells_AreaShape_Area"]),
                                  np.sort(pixels[pixels > 0]))
    # Image quality per site, before stitching: 4 sites per well.
    assert qc.groupby("well")["Metadata_Site"].apply(list).to_dict() == {
        w: [1, 2, 3, 4] for w in WELLS}
    assert qc.filter(like="ImageQuality_PowerLogLogSlope_").notna().all().all()


def test_without_the_profiles_extra_the_run_fails_at_compile_time(tmp_path: Path) -> None:
    """cp-measure missing (its import made to fail in a fresh interpreter): exit code 2 and
    the install line, before any well runs (no output folder is made)."""
    import subprocess
    import sys

    plate = write_sample_plate(tmp_path / "plate", "imagexpress",
                               SampleSpec(wells=("A01",), grid=(1, 1)))
    out = tmp_path / "out"
    script = ("import sys; sys.modules['cp_measure'] = None\n"
              "from napari_hcs.cli import main\n"
              f"sys.exit(main(['run', 'profile_cells', {str(plate)!r}, '--out', {str(out)!r},"
              " '--no-progress']))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert 'measure_profiles needs cp_measure, which is not installed: ' \
           'pip install "napari-hcs[profiles]"' in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert not (out / "tables").exists()


@pytest.mark.slow
def test_pycytominer_runs_on_the_tables_as_they_are(run) -> None:
    """pycytominer's aggregate, normalize and feature_select on the written Parquet files,
    unchanged: its `infer` finds the Metadata_ keys and the compartment-prefixed features."""
    pycytominer = pytest.importorskip("pycytominer")
    _, out = run
    for name in ("nuclei", "cells", "cytoplasm"):
        compartment = name.capitalize()
        single = pd.read_parquet(out / "tables" / f"{name}.parquet")
        profiles = pycytominer.aggregate(single, strata=["Metadata_Plate", "Metadata_Well"],
                                         features="infer", operation="median")
        assert profiles["Metadata_Well"].tolist() == list(WELLS)
        np.testing.assert_allclose(
            profiles[f"{compartment}_AreaShape_Area"],
            single.groupby("Metadata_Well")[f"{compartment}_AreaShape_Area"].median())
        normalized = pycytominer.normalize(single, features="infer", meta_features="infer",
                                           samples="all", method="standardize")
        assert {"Metadata_Plate", "Metadata_Well", "Metadata_Site"} <= set(normalized.columns)
        features = [c for c in normalized.columns if c.startswith(f"{compartment}_")]
        assert f"{compartment}_Intensity_MeanIntensity_1" in features
        selected = pycytominer.feature_select(
            normalized, features="infer",
            operation=["variance_threshold", "correlation_threshold", "drop_na_columns",
                       "blocklist"])
        kept = [c for c in selected.columns if c.startswith(f"{compartment}_")]
        assert 0 < len(kept) < len(features)
        assert not any("_Parent_" in c or "_Children_" in c for c in kept)  # blocklisted


@pytest.mark.slow
def test_features_are_cp_measures_on_the_stored_image_and_labels(run) -> None:
    """What plate.zarr holds (the uint16 field, cropped of its padding, and the cells' labels)
    measured by cp-measure called directly gives the table's CellProfiler columns."""
    from cp_measure.bulk import get_core_measurements

    from napari_hcs.engine.functions.library._profile_columns import (
        channel_column,
        shape_column,
    )

    _, out = run
    well = WELLS[1]
    group = zarr.open_group(str(out / "plate.zarr" / well[0] / str(int(well[1:])) / "0"),
                            mode="r")
    stored = np.asarray(group["0"])
    shape = stored.shape[-2:]
    field = stored.reshape(-1, *shape)
    labels = np.asarray(group["labels/cells_labels/0"]).reshape(shape)
    rows, cols = np.nonzero(field.any(axis=0))  # the padding is zeros at the bottom/right
    field, labels = field[:, :rows.max() + 1, :cols.max() + 1], labels[:rows.max() + 1,
                                                                      :cols.max() + 1]
    assert field.dtype == np.uint16
    table = pd.read_parquet(out / "tables" / "cells.parquet")
    table = table[table["well"] == well].set_index("label")
    ids = np.unique(labels)[1:]
    assert table.index.sort_values().tolist() == ids.tolist()
    core = get_core_measurements()
    expected = {shape_column(k): v for k, v in
                core["sizeshape"](labels, None, calculate_advanced=False).items()}
    for channel, pixels in zip(("1", "2"), field / 65535.0, strict=True):
        for group_name, kwargs in (("intensity", {}), ("granularity", {}),
                                   ("radial_distribution", {}), ("texture", {"scale": 3})):
            for key, values in core[group_name](labels, pixels, **kwargs).items():
                if (column := channel_column(key, channel)) is not None:
                    expected[column] = values
    for column, values in expected.items():
        np.testing.assert_allclose(table.loc[ids, f"Cells_{column}"], values, rtol=1e-6,
                                   atol=1e-9, equal_nan=True, err_msg=column)
