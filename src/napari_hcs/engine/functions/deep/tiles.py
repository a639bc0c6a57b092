"""Tiled inference over a large plane, with objects cut by tile seams put back whole.

A stitched well (3 x 3 fields of 2048-2160 px) is too large for one pass of a network and of
its post-processing (Cellpose's flow dynamics, StarDist's non-maximum suppression), so the
plane is cut into overlapping tiles that are segmented one at a time.

Merging is by ownership, the rule StarDist's `predict_instances_big` uses: the overlap between
two neighbouring tiles is split at its middle, which cuts the plane into *cores*, one per
tile, that cover every pixel once. An object found in a tile is kept, with its whole mask as
that tile saw it, only when its centre (of its bounding box: one C pass of
`ndimage.find_objects`) lies in the tile's core; the neighbour that sees the same object finds
its centre outside its own core and drops it. An object reaching at most
`overlap / 2` past a core edge is therefore never cut by a seam and never counted twice, so the
overlap must be at least the largest object's diameter. Objects that still touch an inner tile
edge (larger than that) are kept as the owning tile saw them and counted in `TiledLabels.cut`.
Where two kept objects claim a pixel (the same object found off-centre by both tiles), the one
pasted first keeps it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

#: segment(tile) -> labels of the tile (same (Y, X) shape, integers, 0 = background)
Segmenter = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TiledLabels:
    """The labels of a plane (int32, 1..count, 0 background) and what tiling did."""

    labels: np.ndarray
    tiles: int  # tiles segmented
    cut: int  # kept objects that touched an inner tile edge (overlap smaller than them)


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start of each tile along one axis: as few tiles of `tile` px as cover `length` with at
    least `overlap` px shared between neighbours, spread evenly (the last ends at `length`)."""
    if tile <= overlap:
        raise ValueError(f"tile size {tile} must be larger than the overlap {overlap}")
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / (tile - overlap)) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def core_bounds(starts: list[int], tile: int, length: int) -> list[tuple[int, int]]:
    """The core of each tile along one axis: neighbours' overlaps split at their middle."""
    cuts = [(starts[i + 1] + min(starts[i] + tile, length)) // 2 for i in range(len(starts) - 1)]
    edges = [0, *cuts, length]
    return [(edges[i], edges[i + 1]) for i in range(len(starts))]


def _tiles(shape: tuple[int, int], tile: int, overlap: int
           ) -> Iterator[tuple[tuple[slice, slice], tuple[tuple[int, int], tuple[int, int]]]]:
    axes = []
    for length in shape:
        starts = tile_starts(length, tile, overlap)
        axes.append(list(zip(starts, core_bounds(starts, tile, length), strict=True)))
    for y0, core_y in axes[0]:
        for x0, core_x in axes[1]:
            box = (slice(y0, min(y0 + tile, shape[0])), slice(x0, min(x0 + tile, shape[1])))
            yield box, (core_y, core_x)


def _boxes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box `(y0, y1, x0, x1)` of every label id 1..max (one C pass,
    `ndimage.find_objects`), and which ids are present."""
    from scipy import ndimage as ndi

    found = ndi.find_objects(labels)
    boxes = np.zeros((len(found), 4), np.int64)
    present = np.zeros(len(found), bool)
    for i, box in enumerate(found):
        if box is not None:
            boxes[i] = (box[0].start, box[0].stop, box[1].start, box[1].stop)
            present[i] = True
    return boxes, present


def segment_tiled(plane: np.ndarray, segment: Segmenter, tile: int, overlap: int) -> TiledLabels:
    """Segment a (Y, X) plane tile by tile and merge the tiles' objects (module docstring)."""
    if plane.ndim != 2:
        raise ValueError(f"segment_tiled needs a (Y, X) plane, got shape {plane.shape}")
    out = np.zeros(plane.shape, np.int32)
    next_id, tiles, cut, clashes = 1, 0, 0, False
    for box, (core_y, core_x) in _tiles(plane.shape, tile, overlap):
        lab = np.asarray(segment(plane[box]))
        if lab.shape != plane[box].shape:
            raise ValueError(f"the model returned labels of shape {lab.shape} for a tile of "
                             f"shape {plane[box].shape}")
        lab = lab.astype(np.int64, copy=False)
        tiles += 1
        if not lab.any():
            continue
        boxes, present = _boxes(lab)
        # the centre of the bounding box stands for the object's centroid: one C pass
        cy = (boxes[:, 0] + boxes[:, 1] - 1) / 2 + box[0].start
        cx = (boxes[:, 2] + boxes[:, 3] - 1) / 2 + box[1].start
        keep = (present & (cy >= core_y[0]) & (cy < core_y[1])
                & (cx >= core_x[0]) & (cx < core_x[1]))
        kept = np.flatnonzero(keep) + 1
        if not kept.size:
            continue
        height, width = lab.shape
        inner = ((boxes[:, 0] == 0) & (box[0].start > 0)) | \
                ((boxes[:, 1] == height) & (box[0].stop < plane.shape[0])) | \
                ((boxes[:, 2] == 0) & (box[1].start > 0)) | \
                ((boxes[:, 3] == width) & (box[1].stop < plane.shape[1]))
        cut += int((keep & inner).sum())
        lut = np.zeros(len(keep) + 1, np.int32)
        lut[kept] = np.arange(next_id, next_id + kept.size, dtype=np.int32)
        next_id += kept.size
        ids = lut[lab]
        view = out[box]
        claimed = ids > 0
        free = claimed & (view == 0)
        clashes = clashes or np.count_nonzero(free) != np.count_nonzero(claimed)
        view[free] = ids[free]
    # only a clash can leave an id without pixels
    return TiledLabels(relabel_sequential(out) if clashes else out, tiles, cut)


def relabel_sequential(labels: np.ndarray) -> np.ndarray:
    """The ids of `labels` renumbered 1..count in order (gaps left by lost claims closed)."""
    if not labels.size:
        return labels
    present = np.bincount(labels.ravel()) > 0
    present[0] = False
    if present[1:].all():
        return labels
    lut = np.cumsum(present, dtype=np.int64).astype(labels.dtype)
    lut[0] = 0
    return lut[labels]
