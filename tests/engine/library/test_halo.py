"""Condensed nuclei cut at the typical nucleus's relative height (library/halo.py)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from napari_hcs.engine.functions.library.halo import background_level
from napari_hcs.engine.functions.library.segmentation import segment_nuclei

# (centre y, centre x, radius, brightness over a background of 10): six typical nuclei, one
# 1.8x as bright (a G2 nucleus: still the threshold's contour) and one condensed, 6x as bright.
_DISCS = [(30, 30, 9, 100), (30, 90, 9, 110), (30, 150, 9, 90), (90, 30, 9, 100),
          (90, 90, 9, 95), (90, 150, 9, 105), (150, 30, 9, 180), (150, 120, 6, 600)]


def _blurred_discs() -> tuple[np.ndarray, np.ndarray]:
    """A blurred image of `_DISCS` (uint16) and the discs' own labels."""
    yy, xx = np.mgrid[:190, :190]
    truth = np.zeros((190, 190), np.int32)
    image = np.zeros((190, 190))
    for k, (cy, cx, r, value) in enumerate(_DISCS, start=1):
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        truth[disc] = k
        image[disc] = value
    image = ndi.gaussian_filter(image, 3.0) + 10.0
    noise = np.random.default_rng(0).normal(0, 1.0, image.shape)
    return np.clip(image + noise, 0, None).astype(np.uint16), truth


def _areas(labels: np.ndarray, truth: np.ndarray) -> dict[int, int]:
    """Area of the label found at each disc's centre, by disc number."""
    out = {}
    for k, (cy, cx, _, _) in enumerate(_DISCS, start=1):
        found = labels[cy, cx]
        out[k] = int((labels == found).sum()) if found else 0
    return out


def test_a_condensed_nucleus_is_cut_where_the_typical_one_is() -> None:
    image, truth = _blurred_discs()
    _, plain, _ = segment_nuclei(image[np.newaxis], trim_halos=False)
    _, trimmed, _ = segment_nuclei(image[np.newaxis])
    before, after = _areas(plain[0], truth), _areas(trimmed[0], truth)
    true = {k: int((truth == k).sum()) for k in before}
    typical = np.median([after[k] / true[k] for k in range(1, 7)])
    # The threshold's contour runs far out on the condensed nucleus's halo...
    assert before[8] / true[8] > 1.5 * typical, (before[8], true[8], typical)
    # ...and, cut at the typical relative height, it measures as the typical ones do.
    assert abs(after[8] / true[8] / typical - 1) < 0.25, (after[8], true[8], typical)
    # Nuclei within twice the typical peak keep the threshold's contour, pixel for pixel.
    for k in range(1, 8):
        assert np.array_equal(plain[0] == plain[0][_DISCS[k - 1][:2]],
                              trimmed[0] == trimmed[0][_DISCS[k - 1][:2]]), k


def test_background_level_leaves_a_mosaics_padding_out() -> None:
    rng = np.random.default_rng(1)
    image = 20.0 + rng.normal(0, 1.0, (200, 200))
    image[:, :60] = 0.0  # where no tile lies
    image[80:120, 100:140] = 200.0  # a nucleus, above the threshold
    assert abs(background_level(image, 100.0) - 20.0) < 0.5
    # An adaptive threshold (an image) reads the same pixels.
    assert abs(background_level(image, np.full(image.shape, 100.0)) - 20.0) < 0.5
