"""Object-by-object nuclei splitting equals the whole-image recipe, pixel for pixel."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from library_data import real_nuclei, well_stack
from scipy import ndimage as ndi
from skimage import morphology, segmentation
from skimage.feature import peak_local_max

from napari_hcs.engine.functions.library import _objects
from napari_hcs.engine.functions.library._shared import histogram_centers, otsu_from_histogram
from napari_hcs.engine.functions.library.assembly import assemble_mosaic
from napari_hcs.engine.functions.library.illumination import correct_illumination
from napari_hcs.engine.functions.library.segmentation import outlines, segment_nuclei


def whole_image_recipe(mask: np.ndarray, intensity: np.ndarray, min_area: int,
                       min_distance: int) -> np.ndarray:
    """The recipe `_objects.split_touching` stands for, over the whole image (its docstring)."""
    mask = ndi.binary_fill_holes(mask)
    mask = morphology.remove_small_objects(mask, max_size=max(int(min_area) - 1, 0))
    components, _ = ndi.label(mask)
    distance = ndi.distance_transform_edt(mask)
    surface = ndi.gaussian_filter(distance, 1.0) * (intensity - intensity.min())
    peaks = peak_local_max(surface, min_distance=int(min_distance), labels=components,
                           exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
    unseeded = np.setdiff1d(np.unique(components[mask]), components[tuple(peaks.T)])
    for k, comp in enumerate(unseeded, start=len(peaks) + 1):
        markers[tuple(np.argwhere(components == comp)[0])] = k
    labels = segmentation.watershed(-surface, markers, mask=mask)
    areas = np.bincount(labels.ravel())
    labels[areas[labels] < min_area] = 0
    return segmentation.relabel_sequential(labels)[0].astype(np.int32)


def _threshold_mask(image: np.ndarray, sigma: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """`segment_nuclei`'s mask, written out: smoothing, Otsu of the square root."""
    smooth = ndi.gaussian_filter(image.astype(np.float32), sigma, mode="nearest")
    roots = np.sqrt(smooth - smooth.min())
    hi = float(roots.max())
    hist, _ = np.histogram(roots, bins=256, range=(0.0, hi))
    return roots > otsu_from_histogram(hist, histogram_centers(0.0, hi, 256)), smooth


@functools.lru_cache(maxsize=1)
def _dense_mosaic() -> np.ndarray:
    stack, truth = well_stack(1, "B03", grid=(3, 3), tile=(384, 384), nuclei_per_tile=60.0)
    return assemble_mosaic(correct_illumination(stack), truth["positions"])[0]


def _assert_same(mask: np.ndarray, intensity: np.ndarray, min_area: int = 30,
                 min_distance: int = 4) -> np.ndarray:
    expected = whole_image_recipe(mask, intensity, min_area, min_distance)
    found = _objects.split_touching(mask, intensity, min_area, min_distance)
    assert found.dtype == np.int32
    np.testing.assert_array_equal(found, expected)
    return found


@pytest.mark.parametrize("min_distance", [1, 4, 7])
def test_equal_on_a_dense_synthetic_mosaic(min_distance: int) -> None:
    mosaic = _dense_mosaic()
    mask, smooth = _threshold_mask(mosaic)
    labels = _assert_same(mask, smooth, min_distance=min_distance)
    assert labels.max() > 300  # many objects, touching pairs among them


def test_equal_on_the_sample_wells(sample_wells) -> None:
    for stack, truth in sample_wells.values():
        mosaic = assemble_mosaic(correct_illumination(stack), truth["positions"])[0]
        mask, smooth = _threshold_mask(mosaic)
        _assert_same(mask, smooth)


@pytest.mark.parametrize("min_area", [0, 1, 30, 80])
def test_equal_on_a_real_nuclei_image(min_area: int) -> None:
    img, _ = real_nuclei()
    mask, smooth = _threshold_mask(img, sigma=1.0)
    _assert_same(mask, smooth, min_area=min_area, min_distance=3)


def test_equal_at_the_edges_holes_and_plateaus() -> None:
    rng = np.random.default_rng(5)
    mask = np.zeros((120, 150), bool)
    mask[:30, :40] = True  # a corner object, cut by two edges
    mask[10:20, 15:25] = False  # ... with a hole
    mask[50:90, 140:] = True  # a large object on the right edge (distances beyond the margin)
    mask[100:, 60:100] = True  # on the bottom edge
    # A ring of two 4-separate pieces touching diagonally: its hole is enclosed only jointly.
    mask[40:48, 60:70] = True
    mask[48:56, 70:80] = True
    mask[44:52, 64:76] = False
    mask[48, 70] = False
    mask[47, 69] = True
    mask[60:64, 20:24] = True  # small: removed
    yy, xx = np.mgrid[:120, :150]
    for cy, cx in [(70, 30), (70, 44), (25, 110), (31, 118)]:  # touching pairs
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 64
    intensity = (rng.random(mask.shape) * 100 + 50).astype(np.float32)
    # At the intensity's minimum the surface is flat (0): one label, by peak_local_max's rule
    # for flat objects (only isolated pixels are peaks) and the seed of a component without.
    intensity[50:90, 140:] = 49.0
    for min_distance in (1, 4):
        _assert_same(mask, intensity, min_area=20, min_distance=min_distance)
    _assert_same(np.ones((40, 50), bool), intensity[:40, :50])
    _assert_same(np.zeros((40, 50), bool), intensity[:40, :50])


def test_fill_holes_equals_scipy() -> None:
    rng = np.random.default_rng(2)
    for density in (0.3, 0.55, 0.7):
        mask = ndi.binary_opening(rng.random((90, 110)) < density)
        np.testing.assert_array_equal(_objects.fill_holes(mask), ndi.binary_fill_holes(mask))


def test_segment_nuclei_and_outlines_unchanged() -> None:
    # The whole function, against the recipe and skimage's regionprops outlines.
    from skimage import measure

    mosaic = _dense_mosaic()
    _, labels, rois = segment_nuclei(mosaic[np.newaxis])
    mask, smooth = _threshold_mask(mosaic)
    np.testing.assert_array_equal(labels[0], whole_image_recipe(mask, smooth, 30, 4))
    regions = measure.regionprops(labels[0])
    assert rois.labels == [r.label for r in regions]
    for poly, region in list(zip(rois, regions, strict=True))[::25]:
        contours = measure.find_contours(np.pad(region.image, 1).astype(np.float32), 0.5)
        expected = max(contours, key=len)[:-1] + np.array(region.bbox[:2]) - 1
        np.testing.assert_array_equal(poly, expected.astype(np.float32))
    assert len(outlines(labels)) == len(rois)


def test_rois_are_traced_when_read_and_pickle_as_outlines() -> None:
    import pickle

    from napari_hcs.engine.functions.rois import Outlines, as_outlines

    mosaic = _dense_mosaic()[:300, :300]
    _, labels, rois = segment_nuclei(mosaic[np.newaxis])
    assert rois.__dict__.get("_source") is not None  # nothing traced yet
    expected = outlines(labels)
    again = pickle.loads(pickle.dumps(rois))  # what a worker sends back
    assert type(again) is Outlines
    for value in (rois, again, as_outlines(rois)):
        assert len(value) == len(expected) and value.labels == expected.labels
        assert all(np.array_equal(a, b) for a, b in zip(value, expected, strict=True))
