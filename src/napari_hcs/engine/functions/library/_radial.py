"""CellProfiler's radial intensity distribution with the objects' geometry computed once.

`cp_measure.core.measureobjectintensitydistribution.get_radial_distribution` (scaled bins)
computes, for every image it is given, each object's centre (the point farthest from its
edge), every pixel's distance from that centre and from the edge, its ring and its wedge.
None of that depends on the image: here it is computed once per label image
(`RadialGeometry`) and each channel only adds its pixels into the rings and wedges
(`radial_features`). The distances are computed one object at a time in its box grown by one
pixel, instead of over the whole image once per colour of a map colouring: the nearest pixel
outside an object is always one of its 8-neighbours, and CellProfiler's colouring keeps
8-adjacent objects apart, so both give the same distances. The arithmetic is otherwise
cp-measure's, step for step, so the features are equal to its own (the tests compare them with
cp-measure called directly).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_FEATURES = ("FracAtD", "MeanFrac", "RadialCV")


@dataclass(frozen=True)
class RadialGeometry:
    """Where each object's pixels lie: ring (`bins`) and wedge (`wedges`) of the pixels of
    `good` (the pixels reached from their object's centre), their objects (`labels`, 0-based)."""

    nobjects: int
    bin_count: int
    good: np.ndarray  # bool (Y, X)
    labels: np.ndarray  # object index (0-based) of each good pixel
    bins: np.ndarray  # ring of each good pixel (bin_count: none, scaled bins never overflow)
    wedges: np.ndarray  # 0..7 of each good pixel
    fraction_at_bin: np.ndarray  # (nobjects, bin_count + 1) share of pixels in each ring


def radial_geometry(labels: np.ndarray, bin_count: int) -> RadialGeometry:
    """The geometry of `labels` (contiguous ids 1..N) for `bin_count` scaled rings."""
    import centrosome.propagate
    import scipy.sparse
    from cp_measure.core.measureobjectintensitydistribution import (
        _maximum_position_of_labels,
    )

    nobjects = int(labels.max())
    d_to_edge, boxes = _distance_to_edge(labels, nobjects)
    i, j = _maximum_position_of_labels(d_to_edge, labels, nobjects)
    d_from_center = np.zeros(labels.shape)
    cl = np.zeros(labels.shape, int)
    for index, box in enumerate(boxes):
        if box is None:
            continue
        own = labels[box] == index + 1
        center = np.zeros(own.shape, int)
        center[i[index] - box[0].start, j[index] - box[1].start] = index + 1
        l_, d = centrosome.propagate.propagate(np.zeros(own.shape), center, own, 1)
        d_from_center[box][own] = d[own]
        cl[box][own] = l_[own]
    good = cl > 0
    i_center = np.zeros(cl.shape)
    i_center[good] = i[cl[good] - 1]
    j_center = np.zeros(cl.shape)
    j_center[good] = j[cl[good] - 1]
    normalized = np.zeros(labels.shape)
    total = d_from_center + d_to_edge
    normalized[good] = d_from_center[good] / (total[good] + 0.001)
    bin_indexes = (normalized * bin_count).astype(int)
    bin_indexes[bin_indexes > bin_count] = bin_count
    good_labels = labels[good] - 1
    bins = bin_indexes[good]
    count = scipy.sparse.coo_matrix((np.ones(int(np.sum(good))), (good_labels, bins)),
                                    (nobjects, bin_count + 1)).toarray()
    per_object = np.dstack([np.sum(count, 1)] * (bin_count + 1))[0]
    ii, jj = np.mgrid[0:labels.shape[0], 0:labels.shape[1]]
    imask = ii[good] > i_center[good]
    jmask = jj[good] > j_center[good]
    absmask = abs(ii[good] - i_center[good]) > abs(jj[good] - j_center[good])
    wedges = imask.astype(int) + jmask.astype(int) * 2 + absmask.astype(int) * 4
    return RadialGeometry(nobjects, bin_count, good, good_labels, bins, wedges,
                          count / per_object)


def _distance_to_edge(labels: np.ndarray, nobjects: int) -> tuple[np.ndarray, list]:
    """centrosome's `distance_to_edge` (each pixel's distance to the nearest pixel outside its
    object), one object at a time in its box grown by one pixel; and those boxes."""
    import scipy.ndimage

    result = np.zeros(labels.shape)
    boxes = [_grown(box, labels.shape) if box is not None else None
             for box in scipy.ndimage.find_objects(labels, nobjects)]
    for index, box in enumerate(boxes):
        if box is not None:
            own = labels[box] == index + 1
            result[box][own] = scipy.ndimage.distance_transform_edt(own)[own]
    return result, boxes


def _grown(box: tuple[slice, slice], shape: tuple[int, ...]) -> tuple[slice, slice]:
    return tuple(slice(max(s.start - 1, 0), min(s.stop + 1, n))  # type: ignore[return-value]
                 for s, n in zip(box, shape, strict=True))


def radial_features(geometry: RadialGeometry, pixels: np.ndarray) -> dict[str, np.ndarray]:
    """cp-measure's `RadialDistribution_<FracAtD|MeanFrac|RadialCV>_<k>of<n>` of one image."""
    import scipy.sparse

    g = geometry
    n, shape = g.nobjects, (g.nobjects, g.bin_count + 1)
    values = pixels[g.good]
    histogram = scipy.sparse.coo_matrix((values, (g.labels, g.bins)), shape).toarray()
    per_object = np.dstack([np.sum(histogram, 1)] * (g.bin_count + 1))[0]
    fraction_at_distance = histogram / per_object
    mean_fraction = fraction_at_distance / (g.fraction_at_bin + np.finfo(float).eps)
    results: dict[str, np.ndarray] = {}
    for ring in range(g.bin_count):
        in_ring = g.bins == ring
        where = (g.labels[in_ring], g.wedges[in_ring])
        radial = scipy.sparse.coo_matrix((values[in_ring], where), (n, 8)).toarray()
        count = scipy.sparse.coo_matrix((np.ones(int(in_ring.sum())), where), (n, 8)).toarray()
        empty = count == 0
        means = np.ma.MaskedArray(radial / count, empty)
        cv = np.std(means, 1) / np.mean(means, 1)
        cv[np.sum(~empty, 1) == 0] = 0
        suffix = f"{ring + 1}of{g.bin_count}"
        for feature, measured in zip(_FEATURES, (fraction_at_distance[:, ring],
                                                 mean_fraction[:, ring], np.array(cv)),
                                     strict=True):
            results[f"RadialDistribution_{feature}_{suffix}"] = measured
    return results
