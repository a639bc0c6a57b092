"""Outline polygons of label images: skimage's contours, traced when first read."""

from __future__ import annotations

import pickle

import numpy as np
from library_data import real_nuclei

from napari_hcs.engine.functions.library.outlines import outlines
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.functions.rois import Outlines, as_outlines


def test_outlines_are_skimage_contours_of_each_label() -> None:
    from skimage import measure

    img, _ = real_nuclei()
    _, labels, rois = segment_nuclei(img[np.newaxis], pixel_size_um=0.5)
    regions = measure.regionprops(labels[0])
    assert len(regions) > 50 and rois.labels == [r.label for r in regions]
    for poly, region in list(zip(rois, regions, strict=True))[::9]:
        contours = measure.find_contours(np.pad(region.image, 1).astype(np.float32), 0.5)
        expected = max(contours, key=len)[:-1] + np.array(region.bbox[:2]) - 1
        np.testing.assert_array_equal(poly, expected.astype(np.float32))
    assert len(outlines(labels)) == len(rois)


def test_rois_are_traced_when_read_and_pickle_as_outlines() -> None:
    img, _ = real_nuclei()
    _, labels, rois = segment_nuclei(img[np.newaxis, :300, :300], pixel_size_um=0.5)
    assert rois.__dict__.get("_source") is not None  # nothing traced yet
    expected = outlines(labels)
    again = pickle.loads(pickle.dumps(rois))  # what a worker sends back
    assert type(again) is Outlines
    for value in (rois, again, as_outlines(rois)):
        assert len(value) == len(expected) and value.labels == expected.labels
        assert all(np.array_equal(a, b) for a, b in zip(value, expected, strict=True))
