"""The sample plate's cell truth, and object matching (F1 at an IoU threshold)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_hcs.engine.plate import PlateError, open_plate
from napari_hcs.engine.plate.generator import load_ground_truth
from napari_hcs.engine.plate.synthetic import synthesize_well
from napari_hcs.engine.plate.truth import load_truth_labels, match_objects


@pytest.mark.parametrize("fmt", ["imagexpress", "phenix", "zarr"])
def test_truth_labels_are_written_beside_every_format(plates, fmt) -> None:
    truth = load_ground_truth(plates[fmt])
    for well, entry in truth["wells"].items():
        nuclei = load_truth_labels(plates[fmt], well, "nuclei")
        cells = load_truth_labels(plates[fmt], well, "cells")
        assert nuclei.shape == cells.shape == tuple(entry["mosaic_shape"])
        assert nuclei.max() == cells.max() == entry["nuclei_count"] == entry["cells_count"]
    # The plate still reads as a plate: the truth folder is not mistaken for images.
    assert open_plate(plates[fmt]).layout.wells == tuple(sorted(truth["wells"]))


def test_nucleus_k_lies_inside_cell_k(small_spec) -> None:
    data = synthesize_well(small_spec, "A01")
    nuclei, cells = data.nuclei_labels, data.cell_labels
    inside = nuclei > 0
    assert np.array_equal(cells[inside], nuclei[inside])
    # Every cell has cytoplasm around its nucleus, and cells are the stained territories.
    areas_n, areas_c = np.bincount(nuclei.ravel()), np.bincount(cells.ravel())
    assert (areas_c[1:] > areas_n[1:]).all()
    # Nucleus k is the k-th listed centre.
    for k, (cy, cx) in enumerate(data.nuclei, start=1):
        assert nuclei[int(round(cy)), int(round(cx))] == k


def test_truth_of_another_plate_is_refused(tmp_path) -> None:
    with pytest.raises(PlateError, match="not a napari-hcs sample plate"):
        load_truth_labels(tmp_path, "A01")


def test_match_objects_scores_iou_matches() -> None:
    truth = np.zeros((20, 20), np.int32)
    truth[0:10, 0:10], truth[10:20, 10:20], truth[0:4, 15:19] = 1, 2, 3
    found = np.zeros_like(truth)
    found[0:10, 0:9] = 7  # IoU 0.9 with 1
    found[10:20, 10:13] = 8  # IoU 0.3 with 2: no match
    found[15:18, 0:3] = 9  # nothing there
    score = match_objects(truth, found)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 2, 2)
    assert score.f1 == pytest.approx(2 / (2 + 2 + 2))
    assert score.precision == pytest.approx(1 / 3) and score.recall == pytest.approx(1 / 3)
    assert match_objects(truth, truth).f1 == 1.0
    assert match_objects(truth, np.zeros_like(truth)).f1 == 0.0
    assert match_objects(np.zeros_like(truth), np.zeros_like(truth)).f1 == 1.0
    assert match_objects(truth, found, iou=0.25).true_positives == 2


def test_a_found_object_matches_once() -> None:
    truth = np.zeros((10, 10), np.int32)
    truth[:, :5], truth[:, 5:] = 1, 2
    found = np.ones_like(truth)  # one object over both: IoU 0.5 with each
    score = match_objects(truth, found, iou=0.5)
    assert score.true_positives == 1 and score.false_negatives == 1
    with pytest.raises(ValueError, match="differ in shape"):
        match_objects(truth, found[:5])
