"""Tiled inference: tiles cover the plane, cores partition it, and objects cut by a seam come
out whole and once, checked against a "model" whose answer is known (threshold + label)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

from napari_hcs.engine.functions.deep.tiles import (
    core_bounds,
    relabel_sequential,
    segment_tiled,
    tile_starts,
)


def threshold_model(tile: np.ndarray) -> np.ndarray:
    """The known model: every connected bright region is one object."""
    return ndi.label(tile > 0.5)[0]


def discs(shape: tuple[int, int], centres: list[tuple[float, float]], radius: float) -> np.ndarray:
    yy, xx = np.indices(shape)
    image = np.zeros(shape, np.float32)
    for cy, cx in centres:
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = 1.0
    return image


def same_objects(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two label images hold the same objects (ids may differ)."""
    if a.max() != b.max():
        return False
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    # a one-to-one map between ids: every id of each side meets exactly one id of the other
    return len(pairs[0]) == len(np.unique(pairs[0])) == len(np.unique(pairs[1]))


@pytest.mark.parametrize(("length", "tile", "overlap"),
                         [(100, 100, 10), (101, 100, 10), (6480, 2048, 96), (500, 64, 32)])
def test_tiles_cover_and_cores_partition(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and min(starts[-1] + tile, length) == length
    for a, b in zip(starts, starts[1:], strict=False):
        assert a + tile - b >= overlap  # neighbours share at least the overlap
    cores = core_bounds(starts, tile, length)
    assert cores[0][0] == 0 and cores[-1][1] == length
    for (_, end), (begin, _) in zip(cores, cores[1:], strict=False):
        assert end == begin
    for start, (begin, end) in zip(starts, cores, strict=True):
        # half the overlap on each side of a core still lies in the tile
        assert start <= begin - (overlap // 2 if begin else 0)
        assert end + (overlap // 2 if end < length else 0) <= start + tile


def test_tile_must_be_larger_than_overlap():
    with pytest.raises(ValueError, match="larger than the overlap"):
        tile_starts(500, 64, 64)


def test_objects_on_seams_and_corners_come_out_whole_and_once():
    shape = (300, 300)
    tile, overlap = 128, 40
    starts = tile_starts(300, tile, overlap)
    cuts = [end for _, end in core_bounds(starts, tile, 300)][:-1]
    # on a vertical seam, on a horizontal one, on a four-tile corner, and away from seams
    centres = [(60.0, cuts[0]), (cuts[0] + 0.5, 220.0), (cuts[1], cuts[1]), (250.0, 40.0)]
    image = discs(shape, centres, radius=12)
    tiled = segment_tiled(image, threshold_model, tile, overlap)
    assert tiled.tiles == len(starts) ** 2 and tiled.cut == 0
    assert tiled.labels.dtype == np.int32 and tiled.labels.max() == 4
    assert same_objects(tiled.labels, threshold_model(image))
    for cy, cx in centres:  # each disc is one label, all of it
        ids = np.unique(tiled.labels[image.astype(bool) & (discs(shape, [(cy, cx)], 12) > 0)])
        assert len(ids) == 1 and ids[0] > 0


def test_objects_larger_than_the_overlap_are_counted_as_cut():
    image = discs((200, 200), [(100.0, 100.0)], radius=40)
    tiled = segment_tiled(image, threshold_model, 110, 20)
    assert tiled.cut >= 1


def test_a_model_answering_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="labels of shape"):
        segment_tiled(np.zeros((50, 50)), lambda tile: np.zeros((3, 3), int), 32, 8)


def test_relabel_sequential_closes_gaps():
    labels = np.array([[0, 5, 5], [9, 0, 2]], np.int32)
    assert relabel_sequential(labels).tolist() == [[0, 2, 2], [3, 0, 1]]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), tile=st.integers(48, 90), radius=st.integers(2, 9))
def test_tiled_equals_whole_plane_for_objects_smaller_than_the_overlap(seed, tile, radius):
    rng = np.random.default_rng(seed)
    # separated discs on a jittered grid (touching ones would merge into larger objects)
    step = 2 * radius + 6
    grid = [(y, x) for y in range(radius + 1, 200 - radius - 1, step)
            for x in range(radius + 1, 170 - radius - 1, step)]
    keep = rng.random(len(grid)) < 0.6
    centres = [(y + rng.uniform(-2, 2), x + rng.uniform(-2, 2))
               for (y, x), k in zip(grid, keep, strict=True) if k]
    image = discs((200, 170), centres, radius)
    overlap = 2 * radius + 4
    tiled = segment_tiled(image, threshold_model, tile, overlap)
    assert tiled.cut == 0
    assert same_objects(tiled.labels, threshold_model(image))


def test_an_object_whose_pixels_a_neighbour_claimed_leaves_no_gap_in_the_ids():
    def model(tile):  # tile 0 sees x 30..59; tile 1 sees a smaller object inside that
        lab = np.zeros(tile.shape, np.int32)
        if tile[0, 0] == 0:  # the first tile (x from 0)
            lab[:, 30:60] = 1
            lab[:, 5:10] = 2
        else:
            lab[:, 10:20] = 7  # x 50..59: centre in tile 1's core, every pixel already taken
            lab[:, 40:50] = 3
        return lab

    plane = np.ones((40, 100), np.float32)
    plane[0, 0] = 0
    result = segment_tiled(plane, model, 60, 20)
    assert sorted(np.unique(result.labels)) == [0, 1, 2, 3]
    assert (result.labels[:, 30:60] > 0).all() and len(np.unique(result.labels[:, 30:60])) == 1
