"""Run results -> what one well adds to the viewer: pure conversions, no viewer, no Qt.

An executor `WellResult` (`result_parts`) or a wire `Message` (`message_parts`) becomes
`WellParts`: the well's processed image per channel, its label images, its ROI outlines drawn as
label pixels, its measurement tables and its state. `result_canvas` places them on the plate
view's result layers. Names say what a layer shows: `DAPI (result)`, `nuclei` (labels),
`nuclei outlines` (ROIs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...engine.functions.rois import as_outlines
from ..plate_view.layers import channel_name

_SUFFIXES = ("_labels", "_rois", "_table", " labels", " rois")


def base_name(name: str) -> str:
    """What a special output is about: `nuclei_labels`, `nuclei_rois` -> `nuclei`."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def image_layer_name(channel: str) -> str:
    return f"{channel_name(channel)} (result)"


def outlines_layer_name(name: str) -> str:
    return f"{base_name(name)} outlines"


def polygon_area(polygon: np.ndarray) -> float:
    """Area of a (K, 2) polygon in pixels (shoelace formula)."""
    y, x = polygon[:, 0], polygon[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2.0)


def roi_polygons(rois: Sequence[Any]) -> tuple[list[np.ndarray], list[int]]:
    """Polygons and label ids of a `rois` value (see `engine.functions.rois`)."""
    outlines = as_outlines(rois)
    return [np.asarray(p, dtype=float) for p in outlines], list(outlines.labels)


def outline_pixels(polygons: Sequence[np.ndarray], labels: Sequence[int],
                   shape: tuple[int, int]) -> np.ndarray:
    """The polygons' outlines drawn into a label image (pixel = the polygon's label id).

    Why pixels and not a Shapes layer: napari triangulates every polygon of a Shapes layer on
    the GUI thread (about 0.15 s per 200 polygons here, growing with the plate), while a label
    image is drawn here, off the GUI thread, and shown like any other pyramid. Every edge of
    every polygon is sampled at once (numpy, no per-polygon Python loop), so drawing holds the
    interpreter lock only briefly while the GUI thread runs.
    """
    out = np.zeros(shape, np.uint32)
    kept = [(np.asarray(p, dtype=np.float64).reshape(-1, 2), v)
            for p, v in zip(polygons, labels, strict=True) if len(p) >= 2]
    if not kept:
        return out
    counts = np.array([len(p) for p, _ in kept])
    a = np.concatenate([p for p, _ in kept])
    first = np.repeat(np.cumsum(counts) - counts, counts)  # each vertex's polygon start
    following = np.arange(len(a)) + 1
    following[np.cumsum(counts) - 1] = first[np.cumsum(counts) - 1]  # last -> first: closed
    a, b, ids = _clip_edges(a, a[following],
                            np.repeat(np.asarray([v for _, v in kept], np.uint32), counts), shape)
    steps = np.maximum(np.ceil(np.abs(b - a).max(axis=1)).astype(np.int64), 1)
    # Edges in batches of at most _SAMPLES points: memory stays bounded whatever arrives.
    ends = np.cumsum(steps)
    start = 0
    while start < len(a):
        stop = max(int(np.searchsorted(ends, ends[start] - steps[start] + _SAMPLES, "right")),
                   start + 1)
        _draw(out, a[start:stop], b[start:stop], ids[start:stop], steps[start:stop])
        start = stop
    return out


_SAMPLES = 1 << 22


def _clip_edges(a: np.ndarray, b: np.ndarray, ids: np.ndarray, shape: tuple[int, int]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each edge a -> b cut to the image (Liang-Barsky, one pixel of margin); edges outside
    it or with a NaN/infinite end dropped. A ROI message from the wire may hold coordinates
    of 3e8: sampled whole, one edge would be 3e8 points (gigabytes) for pixels never shown."""
    finite = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    a, b, ids = a[finite], b[finite], ids[finite]
    d = b - a
    t0, t1 = np.zeros(len(a)), np.ones(len(a))
    for axis, high in enumerate(shape):
        with np.errstate(divide="ignore", invalid="ignore"):
            ta = (-1.0 - a[:, axis]) / d[:, axis]
            tb = (float(high) - a[:, axis]) / d[:, axis]
        flat = d[:, axis] == 0
        outside = flat & ((a[:, axis] < -1.0) | (a[:, axis] > high))
        t0 = np.where(flat, t0, np.maximum(t0, np.minimum(ta, tb)))
        t1 = np.where(flat, t1, np.minimum(t1, np.maximum(ta, tb)))
        t1 = np.where(outside, -1.0, t1)
    keep = t0 <= t1
    a, d, t0, t1 = a[keep], d[keep], t0[keep], t1[keep]
    return a + d * t0[:, None], a + d * t1[:, None], ids[keep]


def _draw(out: np.ndarray, a: np.ndarray, b: np.ndarray, ids: np.ndarray,
          steps: np.ndarray) -> None:
    """Sample edges a -> b at `steps` points each into `out` (every edge at once)."""
    edge = np.repeat(np.arange(len(a)), steps)
    t = (np.arange(len(edge)) - np.repeat(np.cumsum(steps) - steps, steps)) / steps[edge]
    points = np.rint(a[edge] + (b[edge] - a[edge]) * t[:, None]).astype(np.int64)
    inside = ((points[:, 0] >= 0) & (points[:, 0] < out.shape[0])
              & (points[:, 1] >= 0) & (points[:, 1] < out.shape[1]))
    out[points[inside, 0], points[inside, 1]] = ids[edge[inside]]


@dataclass
class WellParts:
    """Everything one well (or one message of it) brings."""

    well: str
    images: dict[str, np.ndarray] = field(default_factory=dict)  # channel -> (..., Y, X)
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # base name -> (..., Y, X)
    outlines: dict[str, tuple[list[np.ndarray], list[int]]] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    state: str | None = None  # "ok" | "failed" | "cancelled" | "running"
    error: str | None = None
    pixel_size_um: float | None = None


def well_state(status: str | None, error: str | None, cancelling: bool = False) -> str:
    """A finished well's state for the Plate dock: a well stopped by Cancel is `cancelled`."""
    if status == "ok":
        return "ok"
    if (cancelling or error) and str(error or "").startswith("cancelled"):
        return "cancelled"
    return "failed"


def _channels(image: np.ndarray, names: Sequence[str] | None) -> dict[str, np.ndarray]:
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[None]
    names = list(names or [])
    names += [str(i + 1) for i in range(len(names), image.shape[0])]
    return {names[c]: image[c] for c in range(image.shape[0])}


def result_parts(result: Any, *, cancelling: bool = False) -> WellParts:
    """The parts of one executor `WellResult` (only its state when it failed)."""
    parts = WellParts(result.well, state=well_state(result.status, result.error, cancelling),
                      error=result.error)
    if result.status != "ok":
        return parts
    if result.image is not None:
        parts.images = _channels(result.image, result.channel_names)
    parts.labels = {base_name(n): np.asarray(a) for n, a in (result.labels or {}).items()}
    for name, rois in (result.rois or {}).items():
        parts.outlines[base_name(name)] = roi_polygons(rois)
    parts.tables = {n: t for n, t in (result.tables or {}).items()
                    if isinstance(t, pd.DataFrame)}
    return parts


def message_parts(message: Any) -> WellParts:
    """The parts of one wire message (validated by the receiver); a well-less message goes
    to the top-left well."""
    header = message.header
    parts = WellParts(message.well or "A01", pixel_size_um=header.get("pixel_size_um"))
    kind = message.kind
    if kind == "image":  # (C, Y, X) or (C, Z, Y, X)
        parts.images = _channels(message.data, header.get("channel_names"))
    elif kind == "labels":
        parts.labels = {base_name(message.name): np.asarray(message.data)}
    elif kind == "rois":
        parts.outlines[base_name(message.name)] = (
            [np.asarray(p, dtype=float) for p in message.polygons()],
            [int(v) for v in message.arrays["labels"]])
    elif kind == "table":
        parts.tables = {message.name: message.to_dataframe()}
    elif kind == "progress" and message.well:
        parts.state = "running"
    elif kind == "status" and message.well:
        parts.state = well_state(header.get("status"), header.get("error"))
        parts.error = header.get("error")
    return parts


def table_for(base: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The measurement table describing objects `base` (`nuclei` -> `nuclei`/`nuclei_table`)."""
    for candidate in (base, f"{base}_table", f"{base}_rois"):
        if candidate in tables:
            return tables[candidate]
    return None


def object_features(well: str, first_id: int, ids: np.ndarray,
                    table: pd.DataFrame | None) -> pd.DataFrame:
    """Rows for a labels layer's `features`: `index` and `label` (both the pixel value on the
    plate view, unique over the plate, so plugins matching features on `label` find the right
    object), `well`, `well_label` (the well's own id: the `label` of the run's tables) and the
    matching row of the well's measurement table."""
    ids = np.asarray(ids, dtype=np.int64)
    rows = pd.DataFrame({"index": ids + first_id, "label": ids + first_id, "well": well,
                         "well_label": ids})
    if table is not None and "label" in table.columns:
        extra = table.drop(columns=[c for c in ("well", "index", "well_label")
                                    if c in table.columns])
        extra = extra.drop_duplicates("label").rename(columns={"label": "well_label"})
        rows = rows.merge(extra, on="well_label", how="left")
    return rows
