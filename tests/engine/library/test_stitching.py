"""Registration and assembly: positions within 1 px of the truth, on synthetic and real tiles."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from library_data import real_nuclei, well_stack
from scipy import ndimage as ndi

from napari_hcs.engine.functions.library.assembly import assemble_mosaic
from napari_hcs.engine.functions.library.illumination import correct_illumination
from napari_hcs.engine.functions.library.registration import (
    compute_positions,
    compute_positions_torch,
    measure_pair,
    neighbour_pairs,
)


def test_sample_plate_positions_within_one_pixel(sample_wells) -> None:
    for well, (stack, truth) in sample_wells.items():
        corrected = correct_illumination(stack)
        out, positions = compute_positions(corrected, truth["nominal"])
        assert out is corrected
        assert positions.shape == (4, 2) and positions.min() == pytest.approx(0.0)
        error = np.abs(positions - truth["positions"]).max()
        assert error <= 1.0, f"well {well}: {error:.2f} px from the truth"
        # The nominal grid alone is off by the stage jitter: registration did something.
        nominal = truth["nominal"] - truth["nominal"].min(axis=0)
        assert np.abs(nominal - truth["positions"]).max() >= 2


GRID_3X3 = {"grid": (3, 3), "tile": (384, 384)}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_3x3_grids_within_one_pixel(seed: int) -> None:
    # Nine 384 px tiles hold few nuclei per overlap strip: several strips hold none, and only
    # the specimen's faint texture between the cells lets those pairs be matched.
    for well in ("A01", "B03"):
        stack, truth = well_stack(seed, well, **GRID_3X3)
        corrected = correct_illumination(stack)
        _, positions = compute_positions(corrected, truth["nominal"])
        error = np.abs(positions - truth["positions"]).max()
        assert error <= 1.0, f"seed {seed} well {well}: {error:.2f} px from the truth"
        if well == "A01":
            tensor = torch.from_numpy(corrected)
            _, positions_t = compute_positions_torch(tensor, truth["nominal"])
            np.testing.assert_allclose(positions_t, positions, atol=1e-3)


def _nuclei_in_overlap(truth: dict, i: int, j: int, tile: int, margin: float = 10) -> int:
    lo = np.maximum(truth["positions"][i], truth["positions"][j]) - margin
    hi = np.minimum(truth["positions"][i], truth["positions"][j]) + tile + margin
    inside = (truth["nuclei"] >= lo) & (truth["nuclei"] <= hi)
    return int(inside.all(axis=1).sum())


def test_pairs_without_content_fall_back_to_the_stage_model() -> None:
    # A specimen without texture: overlap strips without a nucleus hold only noise. Their
    # phase correlation peaks are random, and NCC verification must reject every one of them
    # (below min_correlation), while the pairs it accepts are right.
    stack, truth = well_stack(0, "A01", texture=0.0, **GRID_3X3)
    highpassed = correct_illumination(stack).astype(np.float32)
    highpassed -= ndi.gaussian_filter(highpassed, (0, 5, 5), mode="nearest")
    nominal, true = truth["nominal"], truth["positions"]
    empty = 0
    for i, j in neighbour_pairs(nominal, (384, 384)):
        measured, ncc = measure_pair(highpassed[i], highpassed[j], tuple(nominal[j] - nominal[i]),
                                     np.fft, max_shift=40.0)
        if _nuclei_in_overlap(truth, i, j, 384) == 0:
            empty += 1
            assert ncc < 0.3, f"pair {i}-{j} has nothing to match but NCC {ncc:.2f}"
        elif ncc >= 0.3:
            assert np.abs(np.subtract(measured, true[j] - true[i])).max() <= 1.5
    assert empty >= 2
    # Tiles linked only by empty overlaps cannot be placed better than the stage does: each
    # stays within the stage's error of its nominal place instead of jumping to a noise peak.
    _, positions = compute_positions(correct_illumination(stack), nominal)
    offset = (positions - nominal).mean(axis=0) - (true - nominal).mean(axis=0)
    assert np.abs(positions - offset - true).max() <= 2 * 3 + 1


def _real_tiles(offsets: np.ndarray, tile: int = 280) -> np.ndarray:
    img, _ = real_nuclei()
    return np.stack([img[y:y + tile, x:x + tile] for y, x in offsets.astype(int)])


def test_real_image_tiles_within_one_pixel() -> None:
    # A real 512 px nuclei image cut into a 2x2 grid of overlapping tiles with known offsets:
    # the stage positions are off by up to 7 px.
    nominal = np.array([[0, 0], [0, 210], [210, 0], [210, 210]], float)
    true = nominal + np.array([[6, 5], [9, 0], [0, 7], [10, 12]])
    tiles = _real_tiles(true)
    _, positions = compute_positions(tiles, nominal)
    np.testing.assert_allclose(positions, true - true.min(axis=0), atol=1.0)
    _, positions_t = compute_positions_torch(torch.from_numpy(tiles.astype(np.float32)), nominal)
    np.testing.assert_allclose(positions_t, positions, atol=1e-3)
    # The mosaic rebuilt from the positions is the original image where tiles cover it.
    mosaic = assemble_mosaic(tiles, positions)[0]
    img, _ = real_nuclei()
    oy, ox = true.min(axis=0).astype(int)
    covered = img[oy:oy + mosaic.shape[0], ox:ox + mosaic.shape[1]]
    inside = np.zeros(mosaic.shape, bool)
    for y, x in (true - true.min(axis=0)).astype(int):
        inside[y:y + 280, x:x + 280] = True
    assert mosaic.dtype == img.dtype
    assert np.abs(mosaic[inside].astype(int) - covered[inside]).max() <= 1


def test_low_confidence_pair_falls_back_to_nominal() -> None:
    # Tile 1 is pure noise: its pair cannot be matched, so it keeps its nominal place.
    nominal = np.array([[0, 0], [0, 210]], float)
    tiles = _real_tiles(nominal).astype(np.float32)
    tiles[1] = np.random.default_rng(0).normal(50, 5, tiles[1].shape)
    _, positions = compute_positions(tiles, nominal)
    np.testing.assert_allclose(positions, nominal, atol=1e-3)


def test_neighbours_share_an_edge_not_a_corner() -> None:
    nominal = np.array([[0, 0], [0, 90], [90, 0], [90, 90]], float)
    assert neighbour_pairs(nominal, (100, 100)) == [(0, 1), (0, 2), (1, 3), (2, 3)]


def test_linear_blend_has_no_seam() -> None:
    tiles = np.stack([np.full((10, 10), 10.0), np.full((10, 10), 20.0)]).astype(np.float32)
    mosaic = assemble_mosaic(tiles, np.array([[0, 0], [0, 6]], float))[0]
    row = mosaic[5]
    assert row[0] == 10 and row[-1] == 20
    assert np.all(np.diff(row) >= 0) and 10 < row[7] < 20
    hard = assemble_mosaic(tiles, np.array([[0, 0], [0, 6]], float), blend="none")[0]
    assert hard[5, 6] == 20


def test_errors_name_the_parameter() -> None:
    tiles = np.zeros((3, 8, 8), np.float32)
    with pytest.raises(ValueError, match="'stage_positions' has 2 rows for 3 tiles"):
        compute_positions(tiles, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="'positions' has 2 rows"):
        assemble_mosaic(tiles, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="'blend'"):
        assemble_mosaic(tiles, np.zeros((3, 2)), blend="cubic")
