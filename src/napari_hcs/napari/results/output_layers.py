"""A run's `plate.zarr` (OME-Zarr HCS, NGFF 0.4 or 0.5) -> the plate view of its results.

Reopened results look like live ones and lie where they did: one multiscale image layer per
channel (`DAPI (result)`), one labels layer per label image (`nuclei`; the first one shown,
the others hidden, as live results start), and a `wells` layer naming the wells, every well
at its cell of the plate frame (`output_canvas`), so they overlay the raw plate opened from
the input folder. Layers are in physical units (`scale` = the pixel
size, `units` micrometer) and lazy: opening reads metadata only, napari reads the pixels it
draws. The first field of each well is shown: a run writes one (its stitched well). Where
the run wrote a table for a label image (`tables/nuclei.parquet`), ids are shifted to the live
results' plate-unique ones (lazily, from the table's counts) and the table becomes the layer's
`features` once read off the GUI thread (`output_tables`); without one, ids are each well's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import zarr

from ..plate_view.geometry import PlateGeometry
from ..plate_view.layers import (
    META_KEY,
    LayerData,
    channel_colormap,
    layer_placement,
    well_names_layer,
)
from .layers import base_name, image_layer_name
from .output_canvas import output_geometry, plate_levels
from .output_tables import OutputTables, shift_levels
from .output_zarr import OutputWell, ome, read_output_plate


def is_hcs_zarr(path: Path) -> bool:
    """Whether `path` is a zarr group with NGFF plate metadata."""
    if not ((path / "zarr.json").exists() or (path / ".zattrs").exists()):
        return False
    try:
        return "plate" in ome(zarr.open_group(str(path), mode="r").attrs)
    except Exception:  # an unreadable or non-group store is simply not ours to read
        return False


def _contrast(window: tuple[float, float] | None, dtype: np.dtype) -> tuple[float, float]:
    """The channel's stored display window, else its dtype's range: never computed from the
    pixels (napari would read the whole coarsest level on the GUI thread)."""
    if window is not None:
        return window
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    return 0.0, 1.0


def plate_zarr_layers(path: str | Path) -> list[LayerData]:
    """The results of a napari-hcs (or any OME-Zarr HCS) plate on the plate frame."""
    plate = read_output_plate(path)
    if not plate.wells:
        return []
    geometry = output_geometry(plate)
    first = plate.wells[0].image[0][1]
    lead_shape = tuple(int(n) for n in first.shape[1:-2])
    wells = [w for w in plate.wells if tuple(w.image[0][1].shape[1:-2]) == lead_shape]
    names = [w.name for w in wells]
    meta = {"root": str(path), "format": "output", "wells": names}
    common = {"multiscale": True, "axis_labels": (*plate.lead_axes, "y", "x"),
              **layer_placement(geometry, len(lead_shape) + 2)}
    layers: list[LayerData] = []
    images = plate_levels(geometry, [(w.row, w.column, w.image) for w in wells],
                          (first.shape[0], *lead_shape), first.dtype)
    for c, channel in enumerate(plate.channels):
        name = image_layer_name(channel)
        layers.append(([level[c] for level in images], {
            "name": name,
            "colormap": channel_colormap(channel, c),
            "blending": "additive",
            "contrast_limits": _contrast(plate.windows[c], first.dtype),
            **common,
            "metadata": {META_KEY: {**meta, "result": "image", "name": name,
                                    "channel": channel}},
        }, "image"))
    tables = OutputTables(path)
    for index, label in enumerate(plate.label_names):  # the first shown, as live results
        layers.append(_labels_layer(label, wells, geometry, lead_shape, common, meta, tables,
                                    shown=index == 0))
    layers.append(well_names_layer(names, geometry, {META_KEY: {
        **meta, "wells_layer": True, "geometry": geometry}}))
    return layers


def _labels_layer(label: str, wells: list[OutputWell], geometry: PlateGeometry,
                  lead_shape: tuple[int, ...], common: dict[str, Any],
                  meta: dict[str, Any], tables: OutputTables, shown: bool) -> LayerData:
    """One label image of every well that has it (the others' cells stay empty); hidden
    unless `shown` (nuclei, cells and cytoplasm filled over each other hide each other)."""
    name = base_name(label)
    having = [(w.row, w.column, w.labels[label]) for w in wells if label in w.labels]
    dtype = having[0][2][0][1].dtype
    order = [w.name for w in wells if label in w.labels]
    if tables.path_for(name) is not None:  # plate-unique ids, as live results have them
        by_cell = {(w.row, w.column): w.name for w in wells}
        having = [(r, c, shift_levels(levels, tables, name, by_cell[(r, c)], order))
                  for r, c, levels in having]
        dtype = np.uint32
    return (plate_levels(geometry, having, lead_shape, dtype), {
        "name": name,
        "opacity": 0.5,
        "visible": shown,
        **common,
        "metadata": {META_KEY: {**meta, "result": "labels", "name": name,
                                "label_wells": order}, "hcs_tables": tables},
    }, "labels")
