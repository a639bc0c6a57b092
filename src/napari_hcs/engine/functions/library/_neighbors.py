"""CellProfiler's MeasureObjectNeighbors of one object set with itself, through cp-measure.

cp-measure's `measureobjectneighbors` computes `NumberOfNeighbors`, `PercentTouching`, the
first and second closest distances and `AngleBetweenNeighbors` as CellProfiler does. Its two
object-number columns are not CellProfiler's: it ranks an object among its own neighbours, so
`FirstClosestObjectNumber` is the object itself and `SecondClosestObjectNumber` the nearest
other object (cp-measure 0.3). CellProfiler (neighbours are the same objects) reports the
nearest and second-nearest *other* objects; here they are computed from the same centres
(`centers_of_labels`, the pixels' mean position), nearest first, so that the number matches
its distance column, and given as label ids (the tables' `ObjectNumber`).

Columns are CellProfiler's: `Neighbors_<feature>_<distance>` for "within a distance" (pixels),
`Neighbors_<feature>_Adjacent` for touching objects.
"""

from __future__ import annotations

import numpy as np

ADJACENT = "Adjacent"
_FEATURES = ("NumberOfNeighbors", "FirstClosestObjectNumber", "FirstClosestDistance",
             "SecondClosestObjectNumber", "SecondClosestDistance", "AngleBetweenNeighbors",
             "PercentTouching")


def neighbor_features(clean: np.ndarray, ids: np.ndarray, distance: int | str
                      ) -> dict[str, np.ndarray]:
    """Neighbour features of the objects of `clean` (contiguous ids 1..N, which are `ids` in
    the label image) among themselves; `distance`: pixels, or "Adjacent"."""
    from cp_measure.multimask.measureobjectneighbors import (
        D_ADJACENT,
        D_WITHIN,
        measureobjectneighbors,
    )

    method = D_ADJACENT if distance == ADJACENT else D_WITHIN
    scale = ADJACENT if distance == ADJACENT else str(int(distance))
    if len(ids) < 2:  # cp-measure 0.3 fails on a lone object; CellProfiler reports zeros
        return {f"Neighbors_{feature}_{scale}": np.zeros(len(ids)) for feature in _FEATURES}
    found = measureobjectneighbors(clean, clean, method,
                                   5 if distance == ADJACENT else int(distance))
    columns = {k: np.asarray(v, np.float64) for k, v in found.items()}
    first, second = _closest(clean, len(ids))
    number = np.concatenate([[0], ids]).astype(np.int64)
    columns[f"Neighbors_FirstClosestObjectNumber_{scale}"] = number[first]
    columns[f"Neighbors_SecondClosestObjectNumber_{scale}"] = number[second]
    return columns


def _closest(clean: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(first, second) nearest other object of each object (1..N; 0 where there is none)."""
    from centrosome.cpmorphology import centers_of_labels
    from scipy.spatial import cKDTree

    first, second = np.zeros(n, np.int64), np.zeros(n, np.int64)
    if n < 2:
        return first, second
    centres = centers_of_labels(clean).transpose()
    k = min(n, 3)
    _, order = cKDTree(centres).query(centres, k=k)
    # An object is its own nearest (distance 0): a stable sort moves it behind the others,
    # which stay in distance order (even when another object has the very same centre).
    own = order == np.arange(n)[:, None]
    others = np.take_along_axis(order, np.argsort(own, axis=1, kind="stable"), axis=1)
    first[:] = others[:, 0] + 1
    if k > 2:
        second[:] = others[:, 1] + 1
    return first, second
