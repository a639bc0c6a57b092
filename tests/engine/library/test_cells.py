"""Cells from nuclei: accuracy against the sample plate's truth, label consistency, versions."""

from __future__ import annotations

import numpy as np
import pytest
from profile_data import true_mosaic

from napari_hcs.engine.functions.library.cells import identify_cells, identify_cells_torch
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.plate.synthetic import SampleSpec
from napari_hcs.engine.plate.truth import match_objects

pytest.importorskip("centrosome")


def _cells(mosaic: np.ndarray, **kwargs: object) -> tuple[np.ndarray, ...]:
    _, nuclei, _ = segment_nuclei(mosaic[:1])
    _, cells, cytoplasm, rois = identify_cells(mosaic, nuclei, ["1", "2"], **kwargs)
    return nuclei[0], cells, cytoplasm, rois


@pytest.mark.parametrize("well", SampleSpec().wells)
def test_cells_match_the_sample_truth(well: str) -> None:
    mosaic, truth = true_mosaic(well)
    _, cells, _, _ = _cells(mosaic, channel="2")
    score = match_objects(truth.cell_labels, cells)
    assert score.f1 >= 0.85, score


def test_cells_match_the_truth_of_a_crowded_well() -> None:
    # Five times the default density: most cells touch, propagation must split them.
    mosaic, truth = true_mosaic("B02", nuclei_per_tile=60.0, wells=("B02",))
    _, cells, _, _ = _cells(mosaic, channel="2")
    touching = np.count_nonzero(np.diff(truth.cell_labels, axis=1)
                                & (truth.cell_labels[:, 1:] > 0) & (truth.cell_labels[:, :-1] > 0))
    assert touching > 500  # the truth really has cells sharing borders
    assert match_objects(truth.cell_labels, cells).f1 >= 0.85


def test_labels_are_consistent_across_nuclei_cells_and_cytoplasm() -> None:
    mosaic, _ = true_mosaic("A02")
    nuclei, cells, cytoplasm, rois = _cells(mosaic, channel="2")
    inside = nuclei > 0
    assert np.array_equal(cells[inside], nuclei[inside])  # nucleus k lies in cell k
    assert np.array_equal(cytoplasm, np.where(inside, 0, cells))  # cytoplasm = cell - nucleus
    assert set(np.unique(cells)) == set(np.unique(nuclei))  # one cell per nucleus
    assert set(np.unique(cytoplasm)) <= set(np.unique(cells))
    assert sorted(rois.labels) == sorted(set(np.unique(cells)) - {0})
    # Cells are bigger than their nuclei: the cell stain's foreground was reached.
    assert np.bincount(cells.ravel())[1:].sum() > 3 * np.count_nonzero(inside)


def test_channel_is_chosen_by_name_or_position() -> None:
    mosaic, _ = true_mosaic("A01")
    _, nuclei, _ = segment_nuclei(mosaic[:1])
    by_name = identify_cells(mosaic, nuclei, ["DAPI", "Actin"], channel="Actin")[1]
    by_position = identify_cells(mosaic, nuclei, ["DAPI", "Actin"], channel="2")[1]
    without_names = identify_cells(mosaic, nuclei, None, channel="2")[1]
    assert np.array_equal(by_name, by_position)
    assert np.array_equal(by_name, without_names)
    with pytest.raises(ValueError, match="parameter 'channel' is 'Mito'.*DAPI, Actin"):
        identify_cells(mosaic, nuclei, ["DAPI", "Actin"], channel="Mito")


def test_a_higher_threshold_gives_smaller_cells() -> None:
    mosaic, _ = true_mosaic("A01")
    loose = _cells(mosaic, channel="2")[1]
    strict = _cells(mosaic, channel="2", threshold_correction=2.0)[1]
    assert np.count_nonzero(strict) < np.count_nonzero(loose)


def test_watershed_method_keeps_the_label_contract() -> None:
    mosaic, truth = true_mosaic("A01")
    nuclei, cells, cytoplasm, _ = _cells(mosaic, channel="2", method="watershed")
    assert np.array_equal(cells[nuclei > 0], nuclei[nuclei > 0])
    assert set(np.unique(cells)) == set(np.unique(nuclei))
    # Propagation is the better default on a stain without membranes (docs/functions.md).
    propagated = _cells(mosaic, channel="2")[1]
    assert (match_objects(truth.cell_labels, propagated).f1
            > match_objects(truth.cell_labels, cells).f1)


def test_torch_version_agrees_with_numpy() -> None:
    torch = pytest.importorskip("torch")
    mosaic, _ = true_mosaic("B01")
    nuclei, cells, cytoplasm, _ = _cells(mosaic, channel="2")
    _, t_cells, t_cyto, _ = identify_cells_torch(torch.from_numpy(mosaic),
                                                  torch.from_numpy(nuclei[None]), ["1", "2"],
                                                  channel="2")
    # Smoothing in float32 on another library may move a boundary pixel; nothing more.
    assert np.count_nonzero(t_cells != cells) <= 0.001 * cells.size
    assert set(np.unique(t_cells)) == set(np.unique(cells))


@pytest.mark.parametrize(("labels", "message"), [
    (np.zeros((2, 8, 8), np.int32), "one \\(Y, X\\) plane"),
    (np.zeros((9, 9), np.int32), "differ"),
    (None, "no 'nuclei_labels'"),
])
def test_bad_nuclei_labels_are_named(labels: object, message: str) -> None:
    stack = np.zeros((2, 8, 8), np.float32)
    with pytest.raises(ValueError, match=message):
        identify_cells(stack, labels, ["1", "2"])


def test_bad_parameters_are_named() -> None:
    stack, labels = np.zeros((2, 8, 8), np.float32), np.zeros((8, 8), np.int32)
    with pytest.raises(ValueError, match="'regularization' must be >= 0"):
        identify_cells(stack, labels, regularization=-1.0)
    with pytest.raises(ValueError, match="'method'"):
        identify_cells(stack, labels, method="voronoi")
    with pytest.raises(ValueError, match="'threshold_method'"):
        identify_cells(stack, labels, threshold_method="kmeans")
    with pytest.raises(ValueError, match="'threshold_correction' must be > 0"):
        identify_cells(stack, labels, threshold_correction=0.0)


def test_distance_method_grows_each_nucleus_by_micrometres() -> None:
    stack = np.zeros((2, 40, 40), np.float32)
    nuclei = np.zeros((40, 40), np.int32)
    nuclei[18:22, 18:22] = 1
    _, cells, _, _ = identify_cells(stack, nuclei, method="distance", distance_um=3.0,
                                    pixel_size_um=0.5)
    assert cells[20, 21 + 6] == 1 and cells[20, 21 + 8] == 0  # 6 px = 3 µm past the edge


def test_a_flat_image_gives_each_nucleus_its_own_cell() -> None:
    stack = np.full((2, 32, 32), 7.0, np.float32)
    nuclei = np.zeros((32, 32), np.int32)
    nuclei[5:9, 5:9], nuclei[20:25, 20:25] = 1, 2
    _, cells, cytoplasm, _ = identify_cells(stack, nuclei)
    assert np.array_equal(cells, nuclei)
    assert not cytoplasm.any()


@pytest.mark.slow
def test_cells_on_a_camera_sized_tile() -> None:
    # One 2160 x 2160 field (a full sCMOS frame) with 500 cells.
    mosaic, truth = true_mosaic("A01", wells=("A01",), grid=(1, 1), tile=(2160, 2160),
                                overlap=0.0, jitter=0, nuclei_per_tile=500.0)
    _, cells, _, _ = _cells(mosaic, channel="2")
    assert len(truth.nuclei) == 500
    assert match_objects(truth.cell_labels, cells).f1 >= 0.85
