"""Run results -> the viewer's plate-wide result layers.

The per-well conversion is `result_layers` (pure); `ResultSink` applies it to a viewer on the
GUI thread (the Run dock relays results there). The sink keeps ONE layer per channel / labels /
ROI name for the whole plate ("results 1", "results nuclei labels", "results nuclei_rois
rois"): each well is written into its cell of a plate-sized canvas (images, labels) or appended
to the plate's Shapes layer (ROIs, with a `well` column in the features), so the plate fills in
as wells finish. Why: adding a napari layer costs 0.2-1 s of GUI time under software OpenGL (Qt
controls, vispy visual, shader) and every extra layer slows each repaint, while writing a slice
and refreshing an existing layer costs 5-60 ms; see docs/performance.md, "Streaming". A well
that arrives again replaces its cell / its shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from psygnal import Signal

from ..engine.plate.model import PlateError
from ..engine.plate.wells import parse_well
from .plate_layers import META_KEY, LayerData
from .result_layers import message_layers, rois_layer, table_for_rois, well_result_layers

#: Empty space between wells on the result grid, as a fraction of the well size.
WELL_GAP = 0.1

#: Prefix of the plate-wide result layers' names.
PLATE_PREFIX = "results"

# Plate formats (rows, columns) a result canvas grows through, so it is reallocated rarely.
_PLATE_GRIDS: tuple[tuple[int, int], ...] = ((2, 3), (4, 6), (8, 12), (16, 24), (32, 48))


def grid_for(row: int, col: int, known: tuple[int, int] | None = None) -> tuple[int, int]:
    """Rows and columns of the smallest plate format holding well (row, col) (0-based)."""
    for rows, cols in ((known,) if known else ()) + _PLATE_GRIDS:
        if row < rows and col < cols:
            return rows, cols
    return row + 1, col + 1


def _limits(data: np.ndarray) -> tuple[float, float]:
    """Contrast limits from a strided sample: napari would otherwise scan the whole canvas."""
    sample = np.asarray(data[..., ::4, ::4], dtype=np.float64)
    finite = sample[np.isfinite(sample)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return (lo, hi if hi > lo else lo + 1.0)


class ResultSink:
    """Puts result layers into a viewer: one layer per channel / labels / ROIs for the plate.

    Tables go to the session (the Plate dock colours wells by them, the Run dock lists them);
    progress and status update the session's well states. Stream messages are queued and
    applied together on the next turn of the event loop, so the parts of a well (and wells that
    queued up behind a slow repaint) cost one refresh per layer and one repaint.
    """

    #: (well, layer name) once a well's data is in that layer (on the GUI thread).
    shown = Signal(str, str)

    def __init__(self, viewer: Any, session: Any) -> None:
        self.viewer = viewer
        self.session = session
        self._pitch: tuple[int, int] | None = None
        self._limits: dict[str, tuple[float, float]] = {}  # image layer -> limits we set
        self._features: dict[str, pd.DataFrame] = {}  # shapes layer -> features, well column
        self._pending: list[Any] = []

    # -- geometry -------------------------------------------------------------------------------
    def offset(self, well: str, size: tuple[float, float]) -> tuple[int, int]:
        """Top-left of `well` on the result grid; the first well seen fixes the grid pitch."""
        if self._pitch is None:
            self._pitch = (round(size[0] * (1 + WELL_GAP)), round(size[1] * (1 + WELL_GAP)))
        row, col = self._cell(well)
        return row * self._pitch[0], col * self._pitch[1]

    @staticmethod
    def _cell(well: str) -> tuple[int, int]:
        try:
            return parse_well(well)
        except PlateError:  # a well name outside the plate grammar ("?") goes top-left
            return 0, 0

    def _known_grid(self) -> tuple[int, int] | None:
        layout = getattr(getattr(self.session, "reader", None), "layout", None)
        rows, cols = getattr(layout, "rows", None), getattr(layout, "columns", None)
        return (int(rows), int(cols)) if rows and cols else None

    @staticmethod
    def _size(data: Any, layer_type: str) -> tuple[float, float]:
        if layer_type == "shapes":  # polygons: their bounding box stands in for the well size
            points = np.concatenate(data) if len(data) else np.ones((1, 2))
            return float(points[:, 0].max()), float(points[:, 1].max())
        shape = np.shape(data)
        return float(shape[-2]), float(shape[-1])

    def _layer(self, name: str) -> Any:
        return self.viewer.layers[name] if name in self.viewer.layers else None

    # -- applying layers --------------------------------------------------------------------------
    def show(self, layers: Iterable[LayerData]) -> list[Any]:
        """Write per-well layer data into the plate layers; returns the napari layers touched.

        Images and labels go first so the grid pitch comes from pixels, not polygons; each
        touched layer is refreshed once, however many wells were written into it.
        """
        items = sorted(layers, key=lambda item: item[2] == "shapes")
        touched: dict[str, Any] = {}
        done: list[tuple[str, str]] = []
        rois: dict[str, list[tuple[str, list[np.ndarray], dict[str, Any]]]] = {}
        for data, kwargs, layer_type in items:
            well = kwargs["metadata"][META_KEY].get("well", "?")
            name = self._plate_name(kwargs["name"], well)
            oy, ox = self.offset(well, self._size(data, layer_type))
            if layer_type == "shapes":
                moved = [np.asarray(p) + (oy, ox) for p in data]
                rois.setdefault(name, []).append((well, moved, kwargs))
                continue
            layer = self._write_cell(name, np.asarray(data), kwargs, layer_type, (oy, ox))
            if layer is None:  # does not fit the plate canvas: a layer of its own
                layer = self._own_layer(data, kwargs, layer_type, (oy, ox))
                name = layer.name
            touched[name] = layer
            done.append((well, name))
        for name, wells in rois.items():
            touched[name] = self._add_rois(name, wells)
            done += [(well, name) for well, _, _ in wells]
        for layer in touched.values():
            if layer_type_of(layer) != "shapes":
                layer.refresh()
        for well, name in done:
            self.shown.emit(well, name)
        return list(touched.values())

    @staticmethod
    def _plate_name(name: str, well: str) -> str:
        rest = name[len(well) + 1:] if name.startswith(f"{well} ") else name
        return f"{PLATE_PREFIX} {rest}"

    def _write_cell(self, name: str, data: np.ndarray, kwargs: dict[str, Any],
                    layer_type: str, origin: tuple[int, int]) -> Any:
        """Write one well into the plate canvas of layer `name` (created or grown as needed)."""
        assert self._pitch is not None
        layer = self._layer(name)
        canvas = None if layer is None else layer.data
        if canvas is not None and canvas.shape[:-2] != data.shape[:-2]:
            return None
        row, col = origin[0] // self._pitch[0], origin[1] // self._pitch[1]
        if canvas is None or canvas.shape[-2] <= origin[0] or canvas.shape[-1] <= origin[1]:
            rows, cols = grid_for(row, col, self._known_grid())
            if canvas is not None:  # never shrink: keep what is there
                rows = max(rows, canvas.shape[-2] // self._pitch[0])
                cols = max(cols, canvas.shape[-1] // self._pitch[1])
            grown = np.zeros(data.shape[:-2] + (rows * self._pitch[0], cols * self._pitch[1]),
                             dtype=data.dtype if canvas is None else canvas.dtype)
            if canvas is not None:
                grown[..., :canvas.shape[-2], :canvas.shape[-1]] = canvas
            canvas = grown
        h, w = min(data.shape[-2], self._pitch[0]), min(data.shape[-1], self._pitch[1])
        oy, ox = origin
        canvas[..., oy:oy + self._pitch[0], ox:ox + self._pitch[1]] = 0  # a well seen again
        canvas[..., oy:oy + h, ox:ox + w] = data[..., :h, :w]
        if layer is None:
            layer = self._new_layer(name, canvas, kwargs, layer_type, data)
        elif layer.data is not canvas:
            layer.data = canvas
        if layer_type == "image":
            self._widen_limits(layer, data)
        self._note_well(layer, kwargs, origin, (h, w))
        return layer

    def _new_layer(self, name: str, canvas: np.ndarray, kwargs: dict[str, Any],
                   layer_type: str, first: np.ndarray) -> Any:
        from napari.layers import Layer

        kwargs = {**kwargs, "name": name, "metadata": {META_KEY: {
            **kwargs["metadata"][META_KEY], "well": None, "wells": {}}}}
        if layer_type == "image":  # given limits: napari would scan the whole canvas
            kwargs["contrast_limits"] = self._limits[name] = _limits(first)
        layer = Layer.create(canvas, kwargs, layer_type)
        self.viewer.add_layer(layer)
        return layer

    def _widen_limits(self, layer: Any, data: np.ndarray) -> None:
        """Widen the contrast range to a new well's values, unless the user set the limits."""
        ours = self._limits.get(layer.name)
        lo, hi = _limits(data)
        if ours is None or (lo >= ours[0] and hi <= ours[1]):
            return
        wide = (min(lo, ours[0]), max(hi, ours[1]))
        current = tuple(layer.contrast_limits)
        layer.contrast_limits_range = (min(wide[0], current[0]), max(wide[1], current[1]))
        if np.allclose(current, ours):
            layer.contrast_limits = wide
            self._limits[layer.name] = wide

    @staticmethod
    def _note_well(layer: Any, kwargs: dict[str, Any], origin: tuple[int, int],
                   size: tuple[int, int]) -> None:
        """Record where each well sits in a plate layer's metadata (well -> y, x, h, w)."""
        well = kwargs["metadata"][META_KEY].get("well", "?")
        layer.metadata.setdefault(META_KEY, {}).setdefault("wells", {})[well] = (*origin, *size)

    def _own_layer(self, data: Any, kwargs: dict[str, Any], layer_type: str,
                   origin: tuple[int, int]) -> Any:
        """A well whose shape does not fit the plate canvas gets its own layer, placed."""
        from napari.layers import Layer

        ndim = np.ndim(data)
        kwargs = {**kwargs, "translate": (0.0,) * (ndim - 2) + tuple(map(float, origin))}
        layer = self._layer(kwargs["name"])
        if layer is not None:
            layer.data, layer.translate = data, kwargs["translate"]
            return layer
        layer = Layer.create(data, kwargs, layer_type)
        self.viewer.add_layer(layer)
        return layer

    def _add_rois(self, name: str, wells: list[tuple[str, list[np.ndarray], dict]]) -> Any:
        """Append wells' polygons (already at their plate place) to the plate's Shapes layer."""
        from napari.layers import Shapes

        layer = self._layer(name)
        features = self._features.get(name) if layer is not None else None
        polygons: list[np.ndarray] = []
        for well, moved, kwargs in wells:
            if features is not None and (features["well"] == well).any():  # arrived again
                gone = set(np.flatnonzero((features["well"] == well).to_numpy()).tolist())
                layer.selected_data = gone
                layer.remove_selected()
                features = features[features["well"] != well].reset_index(drop=True)
            rows = kwargs["features"].assign(well=well)
            features = rows if features is None else pd.concat([features, rows],
                                                               ignore_index=True)
            polygons += moved
        columns = ["well"] + [c for c in features.columns if c != "well"]
        self._features[name] = features = features[columns]
        if layer is None:
            kwargs = {k: v for k, v in wells[0][2].items() if k != "features"}
            meta = {**kwargs["metadata"][META_KEY], "well": None}
            layer = Shapes(polygons, **{**kwargs, "name": name, "metadata": {META_KEY: meta}},
                           features=features)
            self.viewer.add_layer(layer)
        elif polygons:
            layer.add_polygons(polygons, edge_width=1, edge_color="yellow",
                               face_color="transparent")
            layer.features = features
        return layer

    # -- entry points -----------------------------------------------------------------------------
    def add_result(self, result: Any) -> list[Any]:
        """One executor WellResult: its tables, its layers, its state (applied at once)."""
        for name, table in (result.tables or {}).items():
            if isinstance(table, pd.DataFrame):
                self.session.add_table(name, result.well, table)
        touched = self.show(well_result_layers(result))
        self.session.set_well_state(result.well, "ok" if result.status == "ok" else "failed")
        return touched

    def add_message(self, message: Any) -> None:
        """One wire message (on the GUI thread): queued, applied with the others queued."""
        self._pending.append(message)
        if len(self._pending) == 1:
            from qtpy.QtCore import QTimer

            # Runs after the queued signals already posted: the rest of this well's messages
            # and any wells that piled up while the GUI thread was busy.
            QTimer.singleShot(0, self.flush)

    def flush(self) -> list[Any]:
        """Apply the queued messages: tables, then every layer at once, then well states."""
        pending, self._pending = self._pending, []
        layers: list[LayerData] = []
        for message in pending:
            if message.kind == "table" and message.well:
                self.session.add_table(message.name, message.well, message.to_dataframe())
        for message in pending:
            if message.kind == "rois":
                layers += self._rois_with_table(message)
            else:
                layers += message_layers(message)
        touched = self.show(layers) if layers else []
        for message in pending:
            if message.kind == "progress" and message.well:
                self.session.set_well_state(message.well, "running")
            elif message.kind == "status" and message.well:
                ok = message.header.get("status") == "ok"
                self.session.set_well_state(message.well, "ok" if ok else "failed")
        return touched

    def _rois_with_table(self, message: Any) -> list[LayerData]:
        """A rois message joined with its well's measurement table when that has arrived."""
        tables = {name: df[df["well"] == message.well] if "well" in df.columns else df
                  for name, df in getattr(self.session, "measurements", {}).items()}
        return [rois_layer(message.polygons(), message.well or "?", message.name,
                           labels=message.arrays["labels"].tolist(),
                           table=table_for_rois(message.name, tables))]


def layer_type_of(layer: Any) -> str:
    return getattr(layer, "_type_string", "")
