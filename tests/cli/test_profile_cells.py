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
              for n in ("nuclei", "cells", "cytoplasm", "wells", "qc")}
    nuclei, cells, cytoplasm, wells, qc = tables.values()
    for name, objects in (("nuclei", nuclei), ("cells", cells), ("cytoplasm", cytoplasm)):
        assert objects.columns[:5].tolist() == ["plate", "well", "field", "label_image", "label"]
        assert not objects.duplicated(["well", "label"]).any()
        # Each table points at its own label image; lengths in micrometres (0.65 µm pixels).
        assert objects["label_image"].str.endswith(f"/0/labels/{name}_labels").all()
        assert objects.attrs["units"]["AreaShape_Area"] == "micrometer**2"
        assert objects.attrs["units"]["AreaShape_MajorAxisLength"] == "micrometer"
    # The same object ids in the three sets (a cytoplasm may be missing, never extra).
    pairs = {n: set(map(tuple, t[["well", "label"]].to_numpy())) for n, t in
             (("nuclei", nuclei), ("cells", cells), ("cytoplasm", cytoplasm))}
    assert pairs["nuclei"] == pairs["cells"] and pairs["cytoplasm"] <= pairs["cells"]
    assert (cells["Parent_Nuclei"] == cells["label"]).all()
    # One profile per well, its counts those of the object tables.
    assert wells["well"].tolist() == list(WELLS)
    per_well = cells.groupby("well").size()
    assert wells.set_index("well")["Count_Cells"].to_dict() == per_well.astype(float).to_dict()
    median = cells.groupby("well")["AreaShape_Area"].median()
    np.testing.assert_allclose(wells.set_index("well")["Median_Cells_AreaShape_Area"], median)
    assert wells.attrs["units"]["MAD_Cells_AreaShape_Area"] == "micrometer**2"
    # A cell's area in µm² is its pixel count times 0.65².
    pixels = np.bincount(_cells_of(out, WELLS[0]).ravel())[1:]
    np.testing.assert_allclose(
        np.sort(cells[cells["well"] == WELLS[0]]["AreaShape_Area"]),
        np.sort(pixels[pixels > 0] * 0.65**2))
    # Image quality per site, before stitching: 4 sites per well.
    assert qc.groupby("well")["site"].apply(list).to_dict() == {w: [1, 2, 3, 4] for w in WELLS}
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
