"""ROIs: outline polygons, the value of every `rois` special output.

An `Outlines` is a plain list of (K, 2) float32 (y, x) polygons (what any consumer of `rois`
can read) that also carries `.labels` (each polygon's label id) and `.planes` (the index, in the
producing call's stack, of the image it outlines). It pickles with its attributes, so worker
processes hand it back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


class Outlines(list):
    def __init__(self, polygons: Iterable[np.ndarray] = (), labels: Iterable[int] = (),
                 planes: Iterable[int] = ()) -> None:
        super().__init__(polygons)
        self.labels = list(labels)
        self.planes = list(planes)

    def select(self, keep: Iterable[bool]) -> Outlines:
        """The polygons (with their labels and planes) where `keep` is true."""
        picked = [i for i, k in enumerate(keep) if k]
        return Outlines([self[i] for i in picked], [self.labels[i] for i in picked],
                        [self.planes[i] for i in picked])


def as_outlines(value: Any) -> Outlines:
    """Any accepted `rois` value as Outlines: Outlines, a list of polygons (labels 1..n, plane
    0), or a list of `{"polygon", "label", "plane"}` dicts. Polygons become float32 numpy."""
    items = list(value or [])
    if isinstance(value, Outlines):
        labels, planes = value.labels, value.planes
        polygons = list(value)
    elif items and isinstance(items[0], dict):
        polygons = [item["polygon"] for item in items]
        labels = [int(item.get("label", i + 1)) for i, item in enumerate(items)]
        planes = [int(item.get("plane", 0)) for item in items]
    else:
        polygons, labels, planes = items, range(1, len(items) + 1), [0] * len(items)
    labels, planes = list(labels), list(planes)
    if len(labels) != len(polygons) or len(planes) != len(polygons):
        raise ValueError(f"rois: {len(polygons)} polygons but {len(labels)} labels and "
                         f"{len(planes)} planes")
    return Outlines((_host(p) for p in polygons), labels, planes)


def _host(polygon: Any) -> np.ndarray:
    if hasattr(polygon, "detach"):  # torch
        polygon = polygon.detach().cpu().numpy()
    elif hasattr(polygon, "get"):  # cupy
        polygon = polygon.get()
    return np.asarray(polygon, dtype=np.float32).reshape(-1, 2)
