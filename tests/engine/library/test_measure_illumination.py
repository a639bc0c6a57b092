"""Measurements against scikit-image, and illumination correction against a known flat field."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from library_data import real_nuclei
from skimage import measure

from napari_hcs.engine.functions.library.illumination import correct_illumination
from napari_hcs.engine.functions.library.measure import measure_nuclei, measure_nuclei_torch


def test_measure_matches_regionprops() -> None:
    img, truth = real_nuclei()
    labels = truth[:256, :256].astype(np.int32)
    stack = np.stack([img[:256, :256], 2 * img[:256, :256] + 1])
    out, table = measure_nuclei(stack, labels[np.newaxis], ["DAPI", "GFP"])
    assert out is stack
    assert list(table.columns) == ["label", "area", "centroid_y", "centroid_x", "mean_DAPI",
                                   "mean_GFP", "eccentricity", "solidity", "perimeter"]
    ref = measure.regionprops_table(labels, intensity_image=img[:256, :256],
                                    properties=("label", "area", "centroid", "intensity_mean",
                                                "eccentricity", "solidity", "perimeter"))
    np.testing.assert_array_equal(table["label"], ref["label"])
    np.testing.assert_allclose(table["area"], ref["area"])
    np.testing.assert_allclose(table["centroid_y"], ref["centroid-0"])
    np.testing.assert_allclose(table["centroid_x"], ref["centroid-1"])
    np.testing.assert_allclose(table["mean_DAPI"], ref["intensity_mean"])
    np.testing.assert_allclose(table["mean_GFP"], 2 * ref["intensity_mean"] + 1)
    np.testing.assert_allclose(table["eccentricity"], ref["eccentricity"], atol=1e-6)
    np.testing.assert_allclose(table["solidity"], ref["solidity"])
    np.testing.assert_allclose(table["perimeter"], ref["perimeter"])
    _, table_t = measure_nuclei_torch(torch.from_numpy(stack.astype(np.float32)),
                                      torch.from_numpy(labels[np.newaxis]), ["DAPI", "GFP"])
    np.testing.assert_allclose(table_t.to_numpy(float), table.to_numpy(float), rtol=1e-6)


def test_measure_errors_name_the_problem() -> None:
    stack = np.zeros((2, 8, 8), np.float32)
    with pytest.raises(ValueError, match="2 'channel_names'|1 'channel_names'"):
        measure_nuclei(stack, np.zeros((8, 8), np.int32), ["1"])
    with pytest.raises(ValueError, match="one \\(Y, X\\) plane"):
        measure_nuclei(stack, np.zeros((2, 8, 8), np.int32), ["1", "2"])


def test_flat_field_is_recovered_from_the_tiles() -> None:
    img, _ = real_nuclei()
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:200, 0:200]
    flat = 1 - 0.4 * (((yy - 99.5) ** 2 + (xx - 99.5) ** 2) / (2 * 99.5**2))
    signals = []
    for _ in range(9):  # nine views of the real image, each seen through the same vignetting
        y, x = rng.integers(0, 312, 2)
        signals.append(img[y:y + 200, x:x + 200].astype(np.float32) + 20)
    signal = np.stack(signals)
    stack = signal * flat
    corrected = correct_illumination(stack)

    def falloff(a: np.ndarray) -> float:  # corner / centre of the gain a / signal
        gain = (a / signal).mean(axis=0)
        return gain[:30, :30].mean() / gain[85:115, 85:115].mean()

    assert falloff(stack) < 0.75
    assert abs(falloff(corrected) - 1) < 0.1
