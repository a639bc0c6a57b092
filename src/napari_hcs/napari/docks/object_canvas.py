"""Objects on the canvas: which one is under the cursor or a click, marks on selected ones,
the camera going to one.

A labels layer's value under the cursor is a plate-unique id for live results (the features'
`index`) and each well's own label for reopened outputs; `ObjectLookup` turns either into the
row of the objects' table (well from the plate geometry, then `label`). Built in a worker: a
hash index over 100,000 rows is not made on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..plate_view.layers import META_KEY
from ..results.features import object_positions, placement_for

#: The points layer marking selected objects.
SELECTION_LAYER = "selected objects"
#: Marks are this many plate pixels across.
MARK_PX = 24


@dataclass
class ObjectLookup:
    """Rows of an objects table by label value (and by well and label), and their positions."""

    by_index: pd.Index | None
    by_well_label: pd.MultiIndex | None
    positions: np.ndarray  # (N, 2) world coordinates, NaN where unknown

    @classmethod
    def build(cls, frame: pd.DataFrame, geometry: Any) -> ObjectLookup:
        by_index = None
        if "index" in frame.columns and frame["index"].is_unique:
            by_index = pd.Index(frame["index"].to_numpy(np.int64))
        by_well_label = None
        if {"well", "label"} <= set(frame.columns):
            by_well_label = pd.MultiIndex.from_arrays(
                [frame["well"].astype(str).to_numpy(), frame["label"].to_numpy(np.int64)])
        positions = np.full((len(frame), 2), np.nan)
        if geometry is not None and "well" in frame.columns:
            placement = placement_for(geometry, frame["well"].astype(str).unique(), True)
            positions = object_positions(frame, placement)
        return cls(by_index, by_well_label, positions)

    def row(self, value: int, well: str | None, unique_ids: bool) -> int | None:
        """The row of the object with label value `value` (in `well`, when ids repeat)."""
        if value <= 0:
            return None
        if unique_ids and self.by_index is not None:
            found = self.by_index.get_indexer([value])[0]
        elif self.by_well_label is not None and well is not None:
            found = self.by_well_label.get_indexer([(well, value)])[0]
        else:
            return None
        return int(found) if found >= 0 else None


def layer_geometry(info: dict[str, Any], session: Any) -> Any:
    """The plate frame a result layer lies in: its output's (reading plate.zarr's metadata,
    so: in a worker), else the open plate's."""
    if info.get("format") == "output" and info.get("root"):
        from ..results.output_canvas import output_geometry
        from ..results.output_zarr import read_output_plate

        return output_geometry(read_output_plate(info["root"]))
    return session.geometry


def object_layers(viewer: Any) -> list[Any]:
    """The labels layers whose features describe objects of wells (a `well` column)."""
    from napari.layers import Labels

    return [layer for layer in viewer.layers if isinstance(layer, Labels)
            and "well" in layer.features.columns]


def label_value(layer: Any, world: tuple[float, ...]) -> int:
    """The labels layer's value at a world position (0 outside or on background)."""
    value = layer.get_value(world, world=True)
    if isinstance(value, tuple):  # multiscale: (level, value)
        value = value[1]
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def ids_are_plate_unique(layer: Any) -> bool:
    """Live results shift each well's ids (unique); reopened outputs keep each well's own."""
    return layer.metadata.get(META_KEY, {}).get("format") != "output"


def show_marks(viewer: Any, positions: np.ndarray, scale: float,
               units: tuple[str, str] = ("pixel", "pixel")) -> Any:
    """Ring marks at `positions` (world, in `units`); the layer is created once, then
    reused."""
    points = positions[np.isfinite(positions).all(axis=1)] if len(positions) else positions
    points = np.asarray(points, float).reshape(-1, 2)
    if SELECTION_LAYER in viewer.layers:
        layer = viewer.layers[SELECTION_LAYER]
        layer.data = points
        return layer
    return viewer.add_points(points, name=SELECTION_LAYER, size=MARK_PX * scale, units=units,
                             face_color="transparent", border_color="#ffd700",
                             border_width=0.15, metadata={META_KEY: {"selection": True}})


def centre_on(viewer: Any, position: np.ndarray) -> None:
    if np.isfinite(position).all():
        viewer.camera.center = (*viewer.camera.center[:-2], *map(float, position))


def click_callback(on_click: Callable[[tuple[float, ...]], None]) -> Callable:
    """A viewer mouse-drag callback calling `on_click(world position)` for a click that did
    not move (a drag still pans)."""

    def callback(viewer: Any, event: Any) -> Any:
        if event.button != 1:
            return
        start = tuple(event.position)
        moved = False
        yield
        while event.type == "mouse_move":
            moved = True
            yield
        if not moved:
            on_click(start)

    return callback
