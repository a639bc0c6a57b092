"""Label images and polygon lists as OMERO shape geometry (pure numpy: no omero import).

OMERO polygons are a `points` string `"x1,y1 x2,y2 ..."` in pixel coordinates; masks are a
bounding box plus the bits of the box, row-major, packed 8 to a byte (`np.packbits`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from skimage.measure import find_contours, regionprops


@dataclass(frozen=True)
class MaskGeometry:
    """One label as an OMERO mask: box origin/size in pixels and its packed bits."""

    label: int
    x: float
    y: float
    width: int
    height: int
    bits: bytes


def polygon_points(yx: np.ndarray) -> str:
    """`(K, 2)` (y, x) vertices -> OMERO's `"x,y x,y ..."` (x first, as OMERO wants)."""
    yx = np.asarray(yx, dtype=float)
    if yx.ndim != 2 or yx.shape[1] != 2 or len(yx) < 3:
        raise ValueError(f"a polygon needs (K>=3, 2) vertices, got shape {yx.shape}")
    return " ".join(f"{x:.2f},{y:.2f}" for y, x in yx)


def parse_points(points: str) -> np.ndarray:
    """OMERO's `"x,y x,y ..."` -> `(K, 2)` (y, x) vertices (the inverse of polygon_points)."""
    xy = np.array([[float(v) for v in p.split(",")] for p in points.split()], dtype=float)
    return xy[:, ::-1]


def label_polygons(labels: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(label, (K, 2) y/x outline) for each label of a 2-D label image, in label order.

    The outline is the longest iso-contour of the label's mask at 0.5, traced on a one-pixel
    padded crop so labels touching the image border still close.
    """
    for region in regionprops(np.asarray(labels)):
        crop = np.pad(region.image, 1).astype(float)
        contours = find_contours(crop, 0.5)
        if not contours:
            continue
        outline = max(contours, key=len)
        if len(outline) < 3:
            continue
        top, left = region.bbox[0], region.bbox[1]
        yield int(region.label), outline + np.array([top - 1, left - 1], dtype=float)


def label_masks(labels: np.ndarray) -> Iterator[MaskGeometry]:
    """One MaskGeometry per label of a 2-D label image, in label order."""
    for region in regionprops(np.asarray(labels)):
        top, left, bottom, right = region.bbox
        yield MaskGeometry(
            label=int(region.label),
            x=float(left),
            y=float(top),
            width=right - left,
            height=bottom - top,
            bits=np.packbits(region.image.astype(bool)).tobytes(),
        )


def unpack_mask(bits: bytes, width: int, height: int) -> np.ndarray:
    """Packed mask bits -> `(height, width)` bool array (the inverse of label_masks' bits)."""
    flat = np.unpackbits(np.frombuffer(bits, dtype=np.uint8))[: width * height]
    return flat.reshape(height, width).astype(bool)
