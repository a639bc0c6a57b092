"""Outline polygons of label images: what viewers and later steps read as `rois`.

`outlines(labels)` traces one polygon per label of an (N, Y, X) stack: an `Outlines` (a plain
list of (K, 2) float32 (y, x) polygons) that also carries `.labels` (the label id of each
polygon) and `.planes`. `TracedOnRead` defers the tracing to the first read (a viewer's
stream, a later step): a run that only writes its outputs never reads them, and tracing
thousands of outlines is much of a segmentation step.
"""

from __future__ import annotations

import numpy as np

from ..rois import Outlines
from ._lazy import ndi


def outlines(labels: np.ndarray) -> Outlines:
    """One outline polygon per label of an (N, Y, X) label stack (see the module docstring)."""
    from skimage.measure import find_contours

    rois = Outlines()
    for plane, lab in enumerate(labels):
        for index, box in enumerate(ndi.find_objects(lab), start=1):
            if box is None:
                continue
            # Pad so that contours of objects touching the box edge close.
            padded = np.pad(lab[box] == index, 1).astype(np.float32)
            contours = find_contours(padded, 0.5)
            if not contours:
                continue
            poly = max(contours, key=len)[:-1] + np.array([box[0].start - 1, box[1].start - 1])
            rois.append(poly.astype(np.float32))
            rois.labels.append(index)
            rois.planes.append(plane)
    return rois


class TracedOnRead(Outlines):
    """`outlines(labels)`, traced the first time it is read; pickles as plain `Outlines`."""

    def __init__(self, labels: np.ndarray) -> None:
        self._source: np.ndarray | None = labels
        super().__init__()

    def _trace(self) -> None:
        if self.__dict__.get("_source") is not None:
            traced, self._source = outlines(self._source), None
            list.extend(self, traced)
            self.__dict__["labels"], self.__dict__["planes"] = traced.labels, traced.planes

    def __getattribute__(self, name: str) -> object:
        if name in ("labels", "planes"):
            object.__getattribute__(self, "_trace")()
        return object.__getattribute__(self, name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._trace()
        return list.__iter__(self)

    def __len__(self) -> int:
        self._trace()
        return list.__len__(self)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        self._trace()
        return list.__getitem__(self, index)

    def __contains__(self, item: object) -> bool:
        self._trace()
        return list.__contains__(self, item)

    def __reversed__(self):  # type: ignore[no-untyped-def]
        self._trace()
        return list.__reversed__(self)

    def __eq__(self, other: object) -> bool:
        self._trace()
        return list.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]  # a list

    def __repr__(self) -> str:
        self._trace()
        return list.__repr__(self)

    def __reduce__(self) -> tuple:
        self._trace()
        return Outlines, (list(self), self.labels, self.planes)
