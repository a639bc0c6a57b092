"""Run results on the plate view, prepared off the GUI thread.

`ResultCanvas` keeps one plate-wide `TiledPyramid` per result layer (a channel's processed
image, each label image, each ROI set's outlines) in the plate view's frame, so results overlay
the raw wells. `ResultConverter` runs it in a thread: every well's parts become pyramid blocks
(cropped to the well's cell, downsampled per level), plate-unique label ids (each well's ids
shifted past the previous wells', so one labels layer can carry every well's measurements as
`features`), merged tables; the GUI thread then only creates a layer the first time, assigns
features and tables, and refreshes what changed (`stream_sink.ResultSink`).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...engine.plate.model import PlateError
from ...engine.plate.wells import parse_well, sort_wells
from ..plate_view.geometry import PlateGeometry, grid_holding
from ..plate_view.layers import META_KEY, channel_colormap
from ..plate_view.loader import pyramid_blocks
from ..plate_view.tiled_pyramid import BlockStore, TiledPyramid
from .features import default_hover, hover_order
from .layers import (
    WellParts,
    image_layer_name,
    object_features,
    outline_pixels,
    outlines_layer_name,
    table_for,
)

log = logging.getLogger(__name__)


@dataclass
class LayerSpec:
    """A result layer the GUI must create: its pyramid and napari keyword arguments."""

    name: str
    kind: str  # "image" | "labels"
    pyramid: TiledPyramid
    kwargs: dict[str, Any]


@dataclass
class CanvasUpdate:
    """What one batch of wells changed, for the GUI thread to apply."""

    new_layers: list[LayerSpec] = field(default_factory=list)
    regridded: dict[str, TiledPyramid] = field(default_factory=dict)  # the plate grid grew
    touched: set[str] = field(default_factory=set)
    contrast: dict[str, tuple[float, float]] = field(default_factory=dict)
    features: dict[str, pd.DataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    states: list[tuple[str, str, str | None]] = field(default_factory=list)
    shown: list[tuple[str, str]] = field(default_factory=list)

    def merge(self, other: CanvasUpdate) -> None:
        self.new_layers += other.new_layers
        self.regridded.update(other.regridded)
        self.touched |= other.touched
        self.contrast.update(other.contrast)
        self.features.update(other.features)
        self.tables.update(other.tables)
        self.states += other.states
        self.shown += other.shown


def _limits(data: np.ndarray) -> tuple[float, float]:
    sample = np.asarray(data[..., ::4, ::4], dtype=np.float64)
    finite = sample[np.isfinite(sample)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return lo, hi if hi > lo else lo + 1.0


class ResultCanvas:
    """Result pyramids for one viewer; `add(parts)` is called from one thread at a time."""

    def __init__(self, geometry: PlateGeometry | None = None) -> None:
        self.geometry = geometry
        self.store = BlockStore()
        self.pyramids: dict[str, TiledPyramid] = {}
        self.kinds: dict[str, str] = {}
        self.contrast: dict[str, tuple[float, float]] = {}
        self._ids: dict[tuple[str, str], tuple[int, int]] = {}  # (base, well) -> first, count
        self._next_id: dict[str, int] = {}
        self._objects: dict[tuple[str, str], np.ndarray] = {}  # (base, well) -> ids present
        self._tables: dict[str, dict[str, pd.DataFrame]] = {}  # table -> well -> rows
        self._features: dict[str, dict[str, pd.DataFrame]] = {}  # base -> well -> rows
        #: The features hover shows (`results.hover`): they come first in `features`.
        self.hover: Callable[[], list[str]] = list

    # -- geometry ---------------------------------------------------------------------------------
    def set_geometry(self, geometry: PlateGeometry | None) -> None:
        """A plate was opened: results from now on land in its frame (earlier ones are kept
        only if the frame is the same)."""
        if geometry != self.geometry and self.pyramids:
            self.store = BlockStore()
            self.pyramids.clear()
        self.geometry = geometry

    def _place(self, well: str, shape: tuple[int, int], pixel_size: float | None,
               update: CanvasUpdate) -> None:
        """Make sure the plate frame holds `well` (created or grown as needed)."""
        try:
            row, col = parse_well(well)
        except PlateError:
            row, col = 0, 0
        if self.geometry is None:  # a stream with no plate open: the first well sets the cell
            rows, cols = grid_holding([(row, col)])
            self.geometry = PlateGeometry.for_wells(shape, rows, cols, pixel_size)
        elif row >= self.geometry.rows or col >= self.geometry.columns:
            self.geometry = self.geometry.grown_to(row, col)
            for name, old in list(self.pyramids.items()):
                new = self._pyramid(name, old.dtype, old.lead_shape)
                update.regridded[name] = new

    def _pyramid(self, name: str, dtype: Any, lead_shape: tuple[int, ...]) -> TiledPyramid:
        pyramid = TiledPyramid(self.geometry, dtype, lead_shape=lead_shape, store=self.store,
                               key=name, upsample_missing=False)
        self.pyramids[name] = pyramid
        return pyramid

    def _kwargs(self, name: str, kind: str, ndim: int, **extra: Any) -> dict[str, Any]:
        geometry = self.geometry
        return {"name": name, "multiscale": True,
                "scale": (1.0,) * (ndim - 2) + geometry.scale,
                "units": ("pixel",) * (ndim - 2) + geometry.units,
                "metadata": {META_KEY: {"result": kind, "name": name}}, **extra}

    # -- wells ------------------------------------------------------------------------------------
    def add(self, parts: WellParts) -> CanvasUpdate:
        update = CanvasUpdate()
        well = parts.well
        for channel, image in parts.images.items():
            index = list(parts.images).index(channel)
            self._put(image_layer_name(channel), "image", well, image, parts, update,
                      colormap=channel_colormap(channel, index), blending="additive")
        for base, labels in parts.labels.items():
            first = self._first_id(base, well, int(labels.max(initial=0)))
            ids = np.where(labels > 0, labels.astype(np.uint32) + np.uint32(first), 0)
            self._put(base, "labels", well, ids.astype(np.uint32), parts, update, opacity=0.5)
            self._objects[(base, well)] = np.unique(labels[labels > 0])
            self._refresh_features(base, well, update)
        for base, (polygons, labels) in parts.outlines.items():
            first = self._first_id(base, well, max(labels, default=0))
            shape = self._well_shape(parts, base)
            drawn = outline_pixels(polygons, [v + first for v in labels], shape)
            self._put(outlines_layer_name(base), "outlines", well, drawn, parts, update)
            if (base, well) not in self._objects:
                self._objects[(base, well)] = np.asarray(sorted(set(labels)), np.int64)
                self._refresh_features(base, well, update)
        for name, table in parts.tables.items():
            self._tables.setdefault(name, {})[well] = table.assign(well=well)
            merged = self._tables[name]
            update.tables[name] = pd.concat([merged[w] for w in sort_wells(merged)],
                                            ignore_index=True)
            for base in {b for b, w in self._objects if w == well}:
                if table_for(base, {name: table}) is not None:
                    self._refresh_features(base, well, update)
        if parts.state is not None:
            update.states.append((well, parts.state, parts.error))
        return update

    def _well_shape(self, parts: WellParts, base: str) -> tuple[int, int]:
        """The size to draw a well's outlines at: its labels' or image's, else its cell's."""
        for array in (parts.labels.get(base), *parts.images.values()):
            if array is not None:
                return tuple(array.shape[-2:])  # type: ignore[return-value]
        for name in (base, *self.pyramids):
            pyramid = self.pyramids.get(name)
            block = pyramid.block(parts.well, (), 0) if pyramid is not None else None
            if block is not None:
                return block.shape[-2:]
        return self.geometry.cell(0) if self.geometry else (1, 1)

    def _first_id(self, base: str, well: str, largest: int) -> int:
        """Where `well`'s ids start on the plate-wide layers of `base` (kept when it fits)."""
        first, count = self._ids.get((base, well), (0, -1))
        if largest > count:
            first = self._next_id.get(base, 0)
            self._next_id[base] = first + largest
            self._ids[(base, well)] = (first, largest)
        return first

    def _put(self, name: str, kind: str, well: str, data: np.ndarray, parts: WellParts,
             update: CanvasUpdate, **kwargs: Any) -> None:
        data = np.asarray(data)
        if data.ndim < 2:
            return
        self._place(well, data.shape[-2:], parts.pixel_size_um, update)
        lead = tuple(data.shape[:-2])
        pyramid = self.pyramids.get(name)
        if pyramid is not None and pyramid.lead_shape != lead:
            log.warning("result %s of well %s: shape %s does not match the earlier wells' %s; "
                        "not shown", name, well, data.shape, pyramid.lead_shape)
            return
        if pyramid is None:
            dtype = np.uint32 if kind != "image" else data.dtype
            pyramid = self._pyramid(name, dtype, lead)
            self.kinds[name] = kind
            if kind == "image":
                kwargs["contrast_limits"] = self.contrast[name] = _limits(data)
            layer_type = "image" if kind == "image" else "labels"
            update.new_layers.append(LayerSpec(name, layer_type, pyramid,
                                               self._kwargs(name, kind, data.ndim, **kwargs)))
        elif kind == "image":
            lo, hi = _limits(data)
            old = self.contrast[name]
            if lo < old[0] or hi > old[1]:
                update.contrast[name] = self.contrast[name] = (min(lo, old[0]), max(hi, old[1]))
        ch, cw = self.geometry.cell(0)
        block = data[..., :ch, :cw].astype(pyramid.dtype, copy=False)
        mode = {"image": "mean", "labels": "nearest", "outlines": "max"}[kind]
        for index in np.ndindex(*lead):
            plane = block[index]
            levels = pyramid_blocks(plane, self.geometry.levels, mode=mode)
            pyramid.put_well(well, levels, tuple(index))
        update.touched.add(name)
        update.shown.append((well, name))

    def _refresh_features(self, base: str, well: str, update: CanvasUpdate) -> None:
        ids = self._objects.get((base, well))
        if ids is None:
            return
        tables = {n: t[w] for n, t in self._tables.items() for w in (well,) if w in t}
        first = self._ids.get((base, well), (0, 0))[0]
        per_well = self._features.setdefault(base, {})
        per_well[well] = object_features(well, first, ids, table_for(base, tables))
        frame = pd.concat(per_well.values(), ignore_index=True)
        columns = list(frame.columns)
        ordered = hover_order(columns, self.hover() or default_hover(columns))
        if ordered != columns:
            frame = frame[ordered]
        for name in (base, outlines_layer_name(base)):
            if name in self.pyramids:
                update.features[name] = frame


class ResultConverter:
    """Runs `canvas.add` in one background thread; `deliver(update)` gets one merged update
    per batch of whatever arrived while the previous batch was being prepared."""

    def __init__(self, canvas: ResultCanvas, deliver: Callable[[CanvasUpdate], None]) -> None:
        self.canvas = canvas
        self.deliver = deliver
        self._queue: queue.Queue[Callable[[], WellParts]] = queue.Queue()
        self._busy = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, make_parts: Callable[[], WellParts]) -> None:
        """Queue one conversion (`make_parts` runs in the converter thread)."""
        with self._lock:
            self._busy += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="napari-hcs result converter")
                self._thread.start()
        self._queue.put(make_parts)

    @property
    def idle(self) -> bool:
        with self._lock:
            return self._busy == 0

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            update = CanvasUpdate()
            for make_parts in batch:
                try:
                    update.merge(self.canvas.add(make_parts()))
                except Exception:  # one bad result must not stop the others
                    log.exception("result converter: a result could not be shown")
            try:
                self.deliver(update)
            finally:
                with self._lock:
                    self._busy -= len(batch)

