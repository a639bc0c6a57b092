"""Run results -> layers: executor `WellResult`s and wire `Message`s become napari layers.

The conversion (`well_result_layers`, `message_layers`) is pure; `ResultSink` applies it to a
viewer and must be called on the GUI thread (the Run dock relays results there). Each well's
layers are placed at the well's position on the plate grid, so the plate fills in as wells
finish; a well that arrives again replaces its layers' data instead of adding new layers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..engine.functions.rois import as_outlines
from ..engine.plate.wells import parse_well
from .plate_layers import META_KEY, LayerData, channel_colormap

#: Empty space between wells on the result grid, as a fraction of the well size.
WELL_GAP = 0.1


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


def _meta(well: str, kind: str, name: str) -> dict[str, Any]:
    return {META_KEY: {"well": well, "result": kind, "name": name}}


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
                    "metadata": _meta(well, "image", name)}, "image")
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


class ResultSink:
    """Puts result layers into a viewer, each well at its place on the plate grid.

    Tables go to the session (the Plate dock colours wells by them, the Run dock lists them);
    progress and status update the session's well states.
    """

    def __init__(self, viewer: Any, session: Any) -> None:
        self.viewer = viewer
        self.session = session
        self._pitch: tuple[float, float] | None = None

    def offset(self, well: str, size: tuple[float, float]) -> tuple[float, float]:
        """Top-left of `well` on the result grid; the first well seen fixes the grid pitch."""
        if self._pitch is None:
            self._pitch = (size[0] * (1 + WELL_GAP), size[1] * (1 + WELL_GAP))
        try:
            row, col = parse_well(well)
        except ValueError:  # a well name outside the plate grammar goes top-left
            row = col = 0
        return row * self._pitch[0], col * self._pitch[1]

    @staticmethod
    def _size(data: Any, layer_type: str) -> tuple[float, float]:
        if layer_type == "shapes":  # polygons: their bounding box stands in for the well size
            points = np.concatenate(data) if len(data) else np.ones((1, 2))
            return float(points[:, 0].max()), float(points[:, 1].max())
        shape = np.shape(data)
        return float(shape[-2]), float(shape[-1])

    def show(self, layers: Iterable[LayerData]) -> list[Any]:
        """Add or update layers; returns the napari layers touched."""
        from napari.layers import Layer

        touched = []
        for data, kwargs, layer_type in layers:
            kwargs = dict(kwargs)
            well = kwargs["metadata"][META_KEY].get("well", "?")
            oy, ox = self.offset(well, self._size(data, layer_type))
            ndim = 2 if layer_type == "shapes" else np.ndim(data)
            kwargs["translate"] = (0.0,) * (ndim - 2) + (oy, ox)
            if kwargs["name"] in self.viewer.layers:
                layer = self.viewer.layers[kwargs["name"]]
                layer.data = data
                if layer_type == "shapes":
                    layer.features = kwargs["features"]
                layer.translate = kwargs["translate"]
            else:
                layer = Layer.create(data, kwargs, layer_type)
                self.viewer.add_layer(layer)
            touched.append(layer)
        return touched

    def add_result(self, result: Any) -> list[Any]:
        """One executor WellResult: its layers, its tables, its state."""
        for name, table in (result.tables or {}).items():
            if isinstance(table, pd.DataFrame):
                self.session.add_table(name, result.well, table)
        self.session.set_well_state(result.well, "ok" if result.status == "ok" else "failed")
        return self.show(well_result_layers(result))

    def add_message(self, message: Any) -> list[Any]:
        """One wire message (on the GUI thread)."""
        kind, well = message.kind, message.well
        if kind == "table" and well:
            self.session.add_table(message.name, well, message.to_dataframe())
        elif kind == "progress" and well:
            self.session.set_well_state(well, "running")
        elif kind == "status" and well:
            ok = message.header.get("status") == "ok"
            self.session.set_well_state(well, "ok" if ok else "failed")
        return self.show(message_layers(message))
