"""Thresholds, primary objects and the plate's pixel size reaching the segmentation."""

from __future__ import annotations

import numpy as np
import pytest

from napari_hcs.engine.functions.library._shared import gaussian_radius
from napari_hcs.engine.functions.library.declump import fill_holes, padding, primary_objects
from napari_hcs.engine.functions.library.thresholds import (
    METHODS,
    statistics_sample,
    threshold_image,
    threshold_of,
)


def _three_levels(rng: np.random.Generator) -> np.ndarray:
    # Background 100, a dim "cytoplasm" class 400, bright "nuclei" 2000, with noise.
    image = np.full((120, 120), 100.0)
    image[20:100, 20:100] = 400.0
    image[50:70, 50:70] = 2000.0
    return image + rng.normal(0, 10, image.shape)


def test_three_class_otsu_keeps_or_drops_the_middle_class() -> None:
    image = _three_levels(np.random.default_rng(0))
    low = threshold_of(image.ravel(), "otsu3_foreground")
    high = threshold_of(image.ravel(), "otsu3_background")
    assert 100 < low < 400 < high < 2000
    for method in ("otsu", "cross_entropy", "robust_background"):
        assert 100 < threshold_of(image.ravel(), method) < 2000, method
    # On log intensities the threshold is read back in the image's units.
    assert 100 < threshold_of(image.ravel(), "otsu3_foreground", log=True) < 400


def test_correction_bounds_and_adaptive() -> None:
    image = _three_levels(np.random.default_rng(1))
    base = threshold_image(image, "otsu3_foreground", scale=65535.0)
    assert threshold_image(image, "otsu3_foreground", correction=2.0,
                           scale=65535.0) == pytest.approx(2 * base)
    assert threshold_image(image, "otsu3_foreground", lower=0.1, scale=65535.0) == 6553.5
    local = threshold_image(image, "otsu3_foreground", strategy="adaptive", window=40,
                            scale=65535.0)
    assert local.shape == image.shape
    assert np.all(local >= 0.7 * base - 1e-6) and np.all(local <= 1.5 * base + 1e-6)


def test_a_mosaic_padding_is_left_out_and_counts_as_edge() -> None:
    image = _three_levels(np.random.default_rng(2))
    padded = np.zeros((140, 140))
    padded[:120, :120] = image  # what a stitched mosaic holds where no tile reached
    assert statistics_sample(padded).min() > 0
    pad = padding(padded)
    assert pad is not None and pad[130:, :].all() and not pad[:120, :120].any()
    mask = np.zeros(padded.shape, bool)
    mask[10:30, 10:30] = mask[100:121, 60:80] = True  # the second touches the padding
    labels = primary_objects(mask, padded, 5.0, 0.0, "none", discard_edge=True, edge=pad)
    assert labels.max() == 1 and labels[20, 20] == 1


@pytest.mark.parametrize("log", [False, True])
def test_a_mosaic_padding_and_its_smoothed_rim_are_left_out(log: bool) -> None:
    from scipy import ndimage as ndi

    # Zero padding smoothed as segment_nuclei smooths (sigma 1 px) leaves a rim of every value
    # between 0 and the background: on log intensities a class of its own (two-class Otsu's
    # threshold fell to 2 counts here), on linear ones it moved cross-entropy by 16 %.
    image = np.full((240, 240), 100.0)
    image[40:200, 40:200] = 400.0
    image[100:140, 100:140] = 2000.0
    image += np.random.default_rng(3).normal(0, 10, image.shape)
    padded = np.zeros((252, 252))
    padded[5:245, 7:247] = image
    excluded = padding(padded, gaussian_radius(1.0))
    assert excluded[:, :11].all() and not excluded[9:241, 11:243].any()  # reach: 4 px
    smooth, padded_smooth = (ndi.gaussian_filter(a, 1.0, mode="nearest") for a in (image, padded))
    for method in METHODS:
        unpadded = threshold_image(smooth, method, log, scale=65535.0)
        found = threshold_image(padded_smooth, method, log, scale=65535.0, excluded=excluded)
        assert found == pytest.approx(unpadded, rel=0.08), method


def test_padding_is_the_zero_runs_from_the_border_grown_by_a_square() -> None:
    from scipy import ndimage as ndi

    rng = np.random.default_rng(4)
    for _ in range(200):
        image = (rng.random(tuple(rng.integers(1, 30, 2))) < rng.random()).astype(np.uint16)
        zero = image == 0
        runs = np.zeros(image.shape, bool)
        for axis in (0, 1):  # from each border along rows / columns, up to a non-zero pixel
            runs |= np.logical_and.accumulate(zero, axis=axis)
            runs |= np.flip(np.logical_and.accumulate(np.flip(zero, axis), axis=axis), axis)
        for reach in (0, 1, 4):
            found = padding(image, reach)
            expected = ndi.maximum_filter(runs, 2 * reach + 1)
            if not runs.any():
                assert found is None
            else:
                np.testing.assert_array_equal(found, expected)


def test_shape_declumping_splits_two_touching_discs_not_an_ellipse() -> None:
    yy, xx = np.mgrid[:100, :160]
    pair = ((yy - 50) ** 2 + (xx - 55) ** 2 <= 400) | ((yy - 50) ** 2 + (xx - 90) ** 2 <= 400)
    ellipse = ((yy - 50) / 18.0) ** 2 + ((xx - 80) / 45.0) ** 2 <= 1
    for mask, expected in ((pair, 2), (ellipse, 1)):
        labels = primary_objects(mask, mask.astype(float), 30.0, 0.0, "shape")
        assert labels.max() == expected



def test_shape_split_is_undone_without_a_neck_or_a_darker_line() -> None:
    from scipy import ndimage as ndi

    from napari_hcs.engine.functions.library.declump import _rejoin

    # One 20 x 60 object cut in two halves along a slanted line (no neck: the border, 30
    # pixel pairs, is longer than the halves are wide, 20).
    yy, xx = np.mgrid[:24, :64]
    body = (yy >= 2) & (yy < 22) & (xx >= 2) & (xx < 62)
    halves = np.where(body, np.where(xx + yy // 2 < 38, 1, 2), 0).astype(np.int32)
    distance = ndi.distance_transform_edt(body)
    flat = body.astype(float)
    assert _rejoin(halves, distance, flat).max() == 1  # one elongated object
    line = flat.copy()
    line[np.abs(xx + yy / 2 - 37.5) < 1.5] = 0.5  # a darker line: two touching objects
    assert _rejoin(halves, distance, line * body).max() == 2
    necked = halves.copy()
    necked[2:9, 26:36] = necked[15:22, 26:36] = 0  # a neck a third as wide as the halves
    distance = ndi.distance_transform_edt(necked > 0)
    np.testing.assert_array_equal(_rejoin(necked, distance, (necked > 0) * 1.0), necked)


def test_fill_holes_equals_scipy() -> None:
    from scipy import ndimage as ndi

    rng = np.random.default_rng(2)
    for density in (0.3, 0.55, 0.7):
        mask = ndi.binary_opening(rng.random((90, 110)) < density)
        np.testing.assert_array_equal(fill_holes(mask), ndi.binary_fill_holes(mask))
