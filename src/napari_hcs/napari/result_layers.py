"""Run results -> per-well layer data: pure conversions, no viewer, no Qt.

An executor `WellResult` (`well_result_layers`) or a wire `Message` (`message_layers`) becomes
napari `(data, kwargs, layer_type)` tuples for one well: one image layer per channel, a labels
layer per label image, a Shapes layer per ROI set whose features join the well's measurement
table. `stream_sink.ResultSink` places them on the plate-wide layers of a viewer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..engine.functions.rois import as_outlines
from .plate_layers import META_KEY, LayerData, channel_colormap


def polygon_area(polygon: np.ndarray) -> float:
    """Area of a (K, 2) polygon in pixels (shoelace formula)."""
    y, x = polygon[:, 0], polygon[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2.0)


def roi_features(
    polygons: Sequence[np.ndarray],
    labels: Sequence[int] | None = None,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per polygon: `label`, `area`, plus the matching rows of a measurement table."""
    ids = list(labels) if labels is not None else list(range(1, len(polygons) + 1))
    features = pd.DataFrame({"label": np.asarray(ids, dtype=np.int64),
                             "area": [polygon_area(np.asarray(p)) for p in polygons]})
    if table is not None and "label" in table.columns:
        extra = table.drop(columns=[c for c in ("area", "well") if c in table.columns])
        extra = extra.drop_duplicates("label")
        features = features.merge(extra, on="label", how="left")
    return features


def roi_polygons(rois: Sequence[Any]) -> tuple[list[np.ndarray], list[int] | None]:
    """Polygons and label ids of a `rois` value (see `engine.functions.rois`)."""
    outlines = as_outlines(rois)
    return [np.asarray(p, dtype=float) for p in outlines], outlines.labels


def table_for_rois(name: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The measurement table describing ROIs `name` (`nuclei_rois` -> `nuclei`/`nuclei_table`)."""
    base = name.removesuffix("rois").rstrip("_") or name
    for candidate in (name, base, f"{base}_table"):
        if candidate in tables:
            return tables[candidate]
    return None


def _meta(well: str, kind: str, name: str, **extra: Any) -> dict[str, Any]:
    return {META_KEY: {"well": well, "result": kind, "name": name, **extra}}


def image_layers(
    image: np.ndarray, well: str, channel_names: Sequence[str] | None, *, name: str = "result"
) -> list[LayerData]:
    """A (C, Y, X) processed image -> one image layer per channel."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[None]
    names = list(channel_names or [str(i + 1) for i in range(image.shape[0])])
    return [
        (image[c], {"name": f"{well} {names[c]}",
                    "colormap": channel_colormap(names[c], c), "blending": "additive",
                    "metadata": _meta(well, "image", name, channel=names[c])}, "image")
        for c in range(image.shape[0])
    ]


def labels_layer(labels: np.ndarray, well: str, name: str) -> LayerData:
    return (np.asarray(labels), {"name": f"{well} {name} labels", "opacity": 0.6,
                                 "metadata": _meta(well, "labels", name)}, "labels")


def rois_layer(
    polygons: Sequence[np.ndarray],
    well: str,
    name: str,
    *,
    labels: Sequence[int] | None = None,
    table: pd.DataFrame | None = None,
) -> LayerData:
    """Polygons (each (K, 2) y, x) -> a Shapes layer whose features table has label and area."""
    if labels is None:
        polygons, labels = roi_polygons(polygons)
    keep = [i for i, p in enumerate(polygons) if len(p) >= 3]  # napari needs 3 vertices
    polygons = [np.asarray(polygons[i], dtype=float) for i in keep]
    labels = [labels[i] for i in keep]
    return (polygons, {
        "name": f"{well} {name} rois", "shape_type": "polygon", "edge_color": "yellow",
        "face_color": "transparent", "edge_width": 1,
        "features": roi_features(polygons, labels, table),
        "metadata": _meta(well, "rois", name),
    }, "shapes")


def well_result_layers(result: Any) -> list[LayerData]:
    """Every layer of one executor `WellResult` (nothing for a failed well)."""
    if getattr(result, "status", "ok") != "ok":
        return []
    layers: list[LayerData] = []
    if result.image is not None:
        layers += image_layers(result.image, result.well, result.channel_names)
    for name, labels in (result.labels or {}).items():
        layers.append(labels_layer(labels, result.well, name))
    tables: Mapping[str, pd.DataFrame] = result.tables or {}
    for name, rois in (result.rois or {}).items():
        layers.append(rois_layer(rois, result.well, name, table=table_for_rois(name, tables)))
    return layers


def message_layers(message: Any) -> list[LayerData]:
    """Layers of one wire message (image, labels, rois); other kinds carry no layer."""
    header, well = message.header, message.well or "?"
    if message.kind == "image":  # (C, Y, X) or (C, Z, Y, X): one layer per channel either way
        return image_layers(message.data, well, header.get("channel_names"), name=message.name)
    if message.kind == "labels":
        return [labels_layer(message.data, well, message.name)]
    if message.kind == "rois":
        return [rois_layer(message.polygons(), well, message.name,
                           labels=message.arrays["labels"].tolist())]
    return []
