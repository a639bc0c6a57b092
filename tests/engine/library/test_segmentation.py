"""Nuclei segmentation: counts within 10% on synthetic wells and on a real annotated image."""

from __future__ import annotations

import pickle

import numpy as np
import torch
from library_data import real_nuclei

from napari_hcs.engine.functions.library.assembly import assemble_mosaic
from napari_hcs.engine.functions.library.illumination import correct_illumination
from napari_hcs.engine.functions.library.segmentation import segment_nuclei, segment_nuclei_torch


def test_sample_plate_counts_within_ten_percent(sample_wells) -> None:
    for well, (stack, truth) in sample_wells.items():
        mosaic = assemble_mosaic(correct_illumination(stack), truth["positions"])
        out, labels, rois = segment_nuclei(mosaic)
        assert out is mosaic
        assert labels.dtype == np.int32 and labels.shape == mosaic.shape
        count = len(np.unique(labels)) - 1
        assert abs(count - truth["count"]) <= 0.1 * truth["count"], (well, count, truth["count"])
        assert labels.max() == count  # sequential ids


def _matched(labels: np.ndarray, truth: np.ndarray, iou: float = 0.5) -> int:
    """Ground-truth nuclei matched by a predicted label with IoU above `iou`."""
    hits = 0
    for t in np.unique(truth)[1:]:
        inside = labels[truth == t]
        ids, counts = np.unique(inside[inside > 0], return_counts=True)
        if len(ids):
            best = ids[np.argmax(counts)]
            inter = counts.max()
            union = (truth == t).sum() + (labels == best).sum() - inter
            hits += inter / union > iou
    return hits


def test_real_image_count_within_ten_percent() -> None:
    img, truth = real_nuclei()
    expected = len(np.unique(truth)) - 1  # 125 annotated nuclei
    _, labels, rois = segment_nuclei(img[np.newaxis], pixel_size_um=0.5)
    count = int(labels.max())
    assert abs(count - expected) <= 0.1 * expected, (count, expected)
    # Not only the count: most nuclei are found where the annotators drew them.
    assert _matched(labels[0], truth) >= 0.75 * expected  # 98 of 125 measured


def test_sizes_are_micrometres() -> None:
    # The same nuclei imaged 1.25x larger: with the pixel size adjusted, the same objects.
    from scipy import ndimage as ndi

    img, _ = real_nuclei()
    _, labels, _ = segment_nuclei(img[np.newaxis], pixel_size_um=0.5)
    big = ndi.zoom(img.astype(np.float32), 1.25, order=1)
    _, labels_big, _ = segment_nuclei(big[np.newaxis], pixel_size_um=0.4)
    assert abs(int(labels_big.max()) - int(labels.max())) <= 0.05 * labels.max()
    area = np.median(np.bincount(labels.ravel())[1:]) * 0.5**2
    area_big = np.median(np.bincount(labels_big.ravel())[1:]) * 0.4**2
    assert abs(area_big / area - 1) < 0.05
    # Read as pixels (no pixel size), the 4 µm minimum diameter keeps objects of 4 px.
    _, as_pixels, _ = segment_nuclei(img[np.newaxis])
    assert as_pixels.max() > labels.max()


def test_torch_matches_numpy_on_real_image() -> None:
    img, _ = real_nuclei()
    stack = img[np.newaxis, :256, :256].astype(np.float32)
    _, labels, rois = segment_nuclei(stack, pixel_size_um=0.5)
    out, labels_t, rois_t = segment_nuclei_torch(torch.from_numpy(stack), pixel_size_um=0.5)
    assert isinstance(out, torch.Tensor)
    agree = np.mean((labels > 0) == (labels_t > 0))
    assert agree > 0.999
    assert abs(int(labels.max()) - int(labels_t.max())) <= 1


def test_rois_outline_each_label() -> None:
    img, _ = real_nuclei()
    stack = np.stack([img[:200, :200], img[300:500, 300:500]])
    _, labels, rois = segment_nuclei(stack, pixel_size_um=0.5)
    # Ids are unique over the stack, one outline each, on the plane holding the label.
    assert isinstance(rois, list) and len(rois) == len(rois.labels) == len(rois.planes)
    assert sorted(rois.labels) == list(range(1, int(labels.max()) + 1))
    for poly, label, plane in list(zip(rois, rois.labels, rois.planes, strict=True))[::7]:
        assert poly.dtype == np.float32 and poly.ndim == 2 and poly.shape[1] == 2
        assert len(poly) >= 4
        cy, cx = np.round(poly.mean(axis=0)).astype(int)
        ys, xs = np.nonzero(labels[plane] == label)
        assert ys.min() - 1 <= cy <= ys.max() + 1 and xs.min() - 1 <= cx <= xs.max() + 1
    # Worker processes pickle it: the ids survive.
    again = pickle.loads(pickle.dumps(rois))
    assert again.labels == rois.labels and len(again) == len(rois)
