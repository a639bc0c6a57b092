"""Plate -> the plate view's layer data: pure functions, no Qt, no viewer.

Opening a plate shows the whole plate: one multiscale image layer per channel, every well on
the plate grid with its sites at their stage positions (see `plate_geometry`), and a `wells`
points layer naming each well. Pixels are read in the background as napari asks for them
(`plate_loader`), overview first; opening reads the metadata and one tile per channel (for
contrast limits). Layer data tuples follow napari's `(data, kwargs, layer_type)` convention so
the reader and the sample data share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...engine.plate.channel_colors import channel_colormap  # the one rule; used here too
from ...engine.plate.model import ImageKey, PlateError, PlateLayout, PlateReader
from .geometry import PlateGeometry, plate_geometry
from .loader import WellMosaicLoader
from .tiled_pyramid import BlockStore, TiledPyramid

LayerData = tuple[Any, dict[str, Any], str]

#: Metadata key under which every layer made here records where it came from; the docks read
#: it to find the plate a layer belongs to.
META_KEY = "napari_hcs"
#: Name of the layer that labels the wells.
WELLS_LAYER = "wells"
#: Bytes of raw pixels the plate view keeps (re-read from the plate beyond that).
RAW_CACHE_BYTES = 1 << 30

def channel_name(name: str) -> str:
    """A channel as people say it: its stain (`DAPI`), or `channel 2` for a bare number."""
    return f"channel {name}" if name.strip().isdigit() else name


def channel_label(layout: PlateLayout, channel: str) -> str:
    """The layer name of a plate channel: the stain the plate names, else `channel N`."""
    return channel_name(layout.channel_names.get(channel) or channel)


def lead_axes(layout: PlateLayout) -> list[str]:
    """Axes before (y, x) on the plate view: timepoint and z, when the plate has several."""
    return [c for c in ("timepoint", "z") if len(layout.values(c)) > 1]


def layer_placement(geometry: PlateGeometry, ndim: int) -> dict[str, Any]:
    """`scale` and `units` of a layer in the plate frame (leading axes unscaled)."""
    return {"scale": (1.0,) * (ndim - 2) + geometry.scale,
            "units": ("pixel",) * (ndim - 2) + geometry.units}


def _meta(layout: PlateLayout, **extra: Any) -> dict[str, Any]:
    return {META_KEY: {"root": str(layout.root), "format": layout.format, **extra}}


def sample_contrast(reader: PlateReader, channel: str) -> tuple[float, float]:
    """Contrast limits from one tile of the first well (0.1 / 99.9 percentiles)."""
    layout = reader.layout
    info = np.iinfo(layout.dtype) if np.issubdtype(np.dtype(layout.dtype), np.integer) else None
    try:
        tile = np.asarray(reader.read(ImageKey(layout.wells[0], layout.sites[0], channel,
                                               layout.z[0], layout.timepoints[0])))
    except (PlateError, OSError, ValueError, IndexError):
        return (0.0, float(info.max) if info else 1.0)
    lo, hi = np.percentile(tile[::4, ::4], (0.1, 99.9))
    return float(lo), float(hi if hi > lo else lo + 1)


def plate_view_layers(reader: PlateReader, *, channels: Sequence[str] | None = None,
                      store: BlockStore | None = None) -> list[LayerData]:
    """The plate view: one lazy multiscale layer per channel, and the well names."""
    layout = reader.layout
    geometry = plate_geometry(reader)
    axes = lead_axes(layout)
    lead_shape = tuple(len(layout.values(a)) for a in axes)
    store = store or BlockStore(RAW_CACHE_BYTES)
    layers: list[LayerData] = []
    for ci, channel in enumerate(channels or layout.channels):
        loader = WellMosaicLoader(reader, geometry, channel, axes)
        pyramid = TiledPyramid(geometry, layout.dtype, lead_shape=lead_shape, store=store,
                               key=("raw", str(layout.root), channel), wells=layout.wells)
        loader.attach(pyramid)
        name = channel_label(layout, channel)
        layers.append((pyramid.levels, {
            "name": name,
            "multiscale": True,
            "colormap": channel_colormap(name, ci),
            "blending": "additive",
            "contrast_limits": sample_contrast(reader, channel),
            "axis_labels": (*axes, "y", "x"),
            **layer_placement(geometry, len(lead_shape) + 2),
            "metadata": _meta(layout, channel=channel, plate_view=True,
                              loader=loader),
        }, "image"))
    layers.append(wells_layer(layout, geometry))
    return layers


def wells_layer(layout: PlateLayout, geometry: PlateGeometry) -> LayerData:
    """A points layer naming every well of the plate at its cell's top-left corner."""
    return well_names_layer(layout.wells, geometry, _meta(layout, wells_layer=True))


def well_names_layer(wells: Sequence[str], geometry: PlateGeometry,
                     metadata: dict[str, Any]) -> LayerData:
    """A points layer naming `wells` at their cells' top-left corners (raw plate, results)."""
    wells = list(wells)
    inset = 0.02 * min(geometry.pitch)
    points = np.array([geometry.origin(w) for w in wells], dtype=float).reshape(-1, 2) + inset
    return (points, {
        "name": WELLS_LAYER,
        "size": 0.0,
        "border_width": 0,
        "face_color": "transparent",
        "features": {"well": wells},
        "text": {"string": "{well}", "anchor": "upper_left", "size": 9, "color": "white"},
        **layer_placement(geometry, 2),
        "metadata": metadata,
    }, "points")


def loaders_of(layer: Any) -> list[WellMosaicLoader]:
    """The plate loader behind a plate-view layer (empty for any other layer)."""
    loader = layer.metadata.get(META_KEY, {}).get("loader")
    return [loader] if isinstance(loader, WellMosaicLoader) else []
