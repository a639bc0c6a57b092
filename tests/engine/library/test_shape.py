"""Measurements over labelled pixels and per-object shape equal regionprops' values exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
from library_data import real_nuclei
from scipy import ndimage as ndi
from skimage import measure
from skimage.morphology import convex_hull_image

from napari_hcs.engine.functions.library import _shape
from napari_hcs.engine.functions.library.measure import measure_nuclei


def _random_labels(seed: int, shape: tuple[int, int] = (160, 190)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blobs = ndi.binary_opening(ndi.gaussian_filter(rng.random(shape), 3) > 0.52)
    labels, _ = ndi.label(blobs)
    labels[labels % 7 == 3] = 0  # gaps in the numbering, as after filtering
    return labels


def test_perimeter_and_convex_area_equal_regionprops() -> None:
    _, truth = real_nuclei()  # 125 annotated nuclei, touching ones included
    for labels in (truth.astype(np.int32), _random_labels(0), _random_labels(1)):
        where = np.flatnonzero(labels)
        perimeter = _shape.perimeters(labels, where, int(labels.max()))
        for region in measure.regionprops(labels):
            assert perimeter[region.label] == region.perimeter, region.label
            assert _shape.convex_area(region.image) == region.area_convex, region.label


def test_convex_areas_of_all_labels_at_once() -> None:
    _, truth = real_nuclei()
    yy, xx = np.mgrid[:900, :500]  # and one label taller than the batched envelope takes
    tall = ((yy - 450) / 440.0) ** 2 + ((xx - 250) / 120.0) ** 2 <= 1
    for labels in (truth.astype(np.int32), _random_labels(2), np.where(tall, 7, 0)):
        areas = _shape.convex_areas(labels, np.flatnonzero(labels), int(labels.max()))
        for region in measure.regionprops(labels):
            assert areas[region.label] == region.area_convex, region.label


def test_convex_area_of_odd_shapes() -> None:
    rng = np.random.default_rng(3)
    shapes = [np.ones((1, 1), bool), np.ones((1, 9), bool), np.ones((9, 1), bool),
              np.eye(6, dtype=bool) | np.eye(6, k=1, dtype=bool)]
    for _ in range(300):
        image = ndi.binary_opening(rng.random(tuple(rng.integers(3, 25, 2))) < 0.7)
        labels, count = ndi.label(image)
        shapes += [labels[box] == k + 1 for k, box in enumerate(ndi.find_objects(labels))]
    for image in shapes:
        assert _shape.convex_area(image) == convex_hull_image(image).sum()


def _regionprops_table(stack: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    props = measure.regionprops_table(
        labels, intensity_image=np.moveaxis(stack, 0, -1),
        properties=("label", "area", "centroid", "intensity_mean", "eccentricity", "solidity",
                    "perimeter"))
    return pd.DataFrame(props)


def test_measure_nuclei_equals_regionprops() -> None:
    img, truth = real_nuclei()
    stack = np.stack([img, img[::-1]]).astype(np.float32)
    _, table = measure_nuclei(stack, truth.astype(np.int32), channel_names=["dna", "other"])
    ref = _regionprops_table(stack, truth)
    np.testing.assert_array_equal(table["label"], ref["label"])
    for ours, theirs in (("area", "area"), ("solidity", "solidity"),
                         ("perimeter", "perimeter")):
        np.testing.assert_array_equal(table[ours], ref[theirs])
    for ours, theirs in (("centroid_y", "centroid-0"), ("centroid_x", "centroid-1"),
                         ("eccentricity", "eccentricity")):
        np.testing.assert_allclose(table[ours], ref[theirs], rtol=1e-9, atol=1e-9)
    for ours, theirs in (("mean_dna", "intensity_mean-0"), ("mean_other", "intensity_mean-1")):
        # regionprops sums float32 intensities in float32; ours in float64.
        np.testing.assert_allclose(table[ours], ref[theirs], rtol=1e-6)
    assert table.attrs["units"]["area"] == "pixel**2"
