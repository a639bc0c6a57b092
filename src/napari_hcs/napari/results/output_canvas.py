"""A run's wells on the plate frame: the frame live results used, and lazy plate-wide levels.

Live results land in the frame of the plate the session opened (`plate_geometry(reader)`, see
`result_canvas`). A run's output records that plate in its `run.json`, so reopening the output
builds the very same frame from the plate's metadata (no pixel is read): the raw plate, live
results and reopened results overlay exactly. When the plate is not there any more (moved, on
another machine, a URL), or the plate.zarr came from another writer, the frame is built from the
plate.zarr alone by the same rule (`PlateGeometry.for_wells` of its largest well, on its rows and
columns); it then matches the raw plate's only when the wells have its mosaic's size.

Each level of a layer is one dask array over the whole plate: a well's cell holds the stored
level of the same downsampling (or the nearest finer one, strided), cropped or zero-padded to
the cell; empty cells and rows are broadcast zeros. Nothing is read until napari slices.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np

from ...engine.plate.model import PlateError
from ..plate_view.geometry import PlateGeometry, plate_geometry
from .output_zarr import Levels, OutputPlate

log = logging.getLogger(__name__)

#: The run record beside plate.zarr (engine.executor.outputs.RUN_JSON; not imported, so the
#: reader does not pull in the executor).
RUN_JSON = "run.json"
#: A run.json larger than this is not a run record we wrote.
RUN_JSON_MAX_BYTES = 64 << 20


def input_plate_root(plate_zarr: Path) -> Path | None:
    """The local plate folder the run's `run.json` names (None: no record, or not a folder)."""
    record = plate_zarr.parent / RUN_JSON
    try:
        if not record.is_file() or record.stat().st_size > RUN_JSON_MAX_BYTES:
            return None
        root = json.loads(record.read_text(encoding="utf-8")).get("plate", {}).get("root")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(root, str) or "://" in root:  # a server's plate: not opened from here
        return None
    path = Path(root)
    return path if path.is_absolute() and path.is_dir() else None


def input_plate_geometry(plate_zarr: Path) -> PlateGeometry | None:
    """The plate view's frame of the plate the run read, from its metadata; None without it."""
    root = input_plate_root(plate_zarr)
    if root is None:
        return None
    from ...engine.plate import open_plate

    try:
        return plate_geometry(open_plate(root))
    except (PlateError, OSError, ValueError) as error:
        log.warning("%s: the run's plate %s cannot be opened (%s); results are placed by "
                    "their own size", plate_zarr, root, error)
        return None


def output_geometry(plate: OutputPlate) -> PlateGeometry:
    """The frame of `plate`'s results: the run's input plate's, else the plate.zarr's own."""
    geometry = input_plate_geometry(plate.path)
    if geometry is None:
        geometry = PlateGeometry.for_wells(plate.well_shape, plate.rows, plate.columns,
                                           plate.pixel_size_um)
    for well in plate.wells:
        if well.row >= geometry.rows or well.column >= geometry.columns:
            geometry = geometry.grown_to(well.row, well.column)
    return geometry


def _cell(levels: Levels, factor: int, cell: tuple[int, int], dtype: Any) -> da.Array:
    """A well's data at `factor` (the stored level of that factor, or the nearest finer one
    that divides it, strided) cropped or zero-padded to `cell`."""
    finer = [(f, a) for f, a in levels if f <= factor and factor % f == 0] or [levels[0]]
    stored, data = max(finer, key=lambda fa: fa[0])
    step = max(1, factor // stored)
    data = data[..., ::step, ::step][..., :cell[0], :cell[1]]
    pad = [(0, 0)] * (data.ndim - 2) + [(0, cell[0] - data.shape[-2]),
                                         (0, cell[1] - data.shape[-1])]
    if any(after for _, after in pad):
        data = da.pad(data, pad, mode="constant")
    return data.astype(dtype, copy=False)


def _zeros(shape: tuple[int, ...], dtype: Any) -> da.Array:
    return da.zeros(shape, dtype=dtype, chunks=shape)  # broadcast: costs no memory


def plate_levels(geometry: PlateGeometry, wells: Sequence[tuple[int, int, Levels]],
                 lead_shape: tuple[int, ...], dtype: Any) -> list[da.Array]:
    """One lazy (*lead_shape, Y, X) plate array per level of `geometry`, each well's data at
    the top-left of its (row, column) cell."""
    by_cell = {(row, column): levels for row, column, levels in wells}
    dtype = np.dtype(dtype)
    out = []
    for level in range(geometry.levels):
        ch, cw = geometry.cell(level)
        rows: list[da.Array] = []
        empty_rows = 0
        for row in range(geometry.rows):
            pieces: list[da.Array] = []
            empty = 0
            for column in range(geometry.columns):
                levels = by_cell.get((row, column))
                if levels is None:
                    empty += 1
                    continue
                if empty:
                    pieces.append(_zeros((*lead_shape, ch, empty * cw), dtype))
                    empty = 0
                pieces.append(_cell(levels, 2 ** level, (ch, cw), dtype))
            if not pieces:
                empty_rows += 1
                continue
            if empty_rows:
                rows.append(_zeros((*lead_shape, empty_rows * ch, geometry.columns * cw), dtype))
                empty_rows = 0
            if empty:
                pieces.append(_zeros((*lead_shape, ch, empty * cw), dtype))
            rows.append(da.concatenate(pieces, axis=-1) if len(pieces) > 1 else pieces[0])
        if empty_rows:
            rows.append(_zeros((*lead_shape, empty_rows * ch, geometry.columns * cw), dtype))
        out.append(da.concatenate(rows, axis=-2) if len(rows) > 1 else rows[0])
    return out
