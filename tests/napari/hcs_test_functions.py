"""Registered functions for the plugin tests: a threshold segmentation with labels, ROIs (as
(K, 2) polygons) and a measurement table, and a slow copy for cancelling runs."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from skimage import filters, measure, segmentation

from napari_hcs import register


@register(category="test", special_outputs={"spots": "labels", "spots_rois": "rois",
                                            "spots_table": "table"})
def threshold_spots(stack: np.ndarray, min_area: int = 5):
    """Otsu threshold and connected components of each plane (a test segmentation)."""
    labels = np.zeros(stack.shape, np.int32)
    rois, rows = [], []
    for k, plane in enumerate(stack):
        lab = measure.label(plane > filters.threshold_otsu(plane))
        for region in measure.regionprops(lab):
            if region.area < min_area:
                lab[lab == region.label] = 0
        lab = segmentation.relabel_sequential(lab)[0]
        labels[k] = lab
        for region in measure.regionprops(lab):
            if k == 0:
                y0, x0, _, _ = region.bbox
                contour = max(measure.find_contours(np.pad(region.image, 1).astype(float), 0.5),
                              key=len)
                rois.append(contour + [y0 - 1, x0 - 1])
            rows.append({"plane": k, "label": region.label, "area": float(region.area)})
    return stack, labels, rois, pd.DataFrame(rows)


@register(category="test")
def slow_copy(stack: np.ndarray, seconds: float = 0.5) -> np.ndarray:
    """Sleep, then return the stack unchanged (a test step that takes time)."""
    time.sleep(seconds)
    return stack
