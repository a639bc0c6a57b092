"""Plate -> napari layer data: pure functions, no Qt, no viewer.

Every array returned here is lazy (a dask array over delayed `PlateReader.read` calls): opening a
plate or clicking a well reads no pixels until napari draws them. Layer data tuples follow
napari's `(data, kwargs, layer_type)` convention so the reader, the sample data and the Plate
dock share them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np

from ..engine.plate.channel_colors import channel_colormap  # the one rule; used here too
from ..engine.plate.model import ImageKey, PlateLayout, PlateReader
from ..engine.plate.wells import parse_well

LayerData = tuple[Any, dict[str, Any], str]

#: Metadata key under which every layer made here records where it came from; the Plate dock
#: reads it to find the plate a layer belongs to.
META_KEY = "napari_hcs"

def channel_label(layout: PlateLayout, channel: str) -> str:
    """`"1 (nuclei)"` when the plate names the channel, else the channel id."""
    name = layout.channel_names.get(channel)
    return f"{channel} ({name})" if name and name != channel else channel


def site_offsets(layout: PlateLayout) -> dict[int, tuple[float, float]]:
    """Top-left (y, x) pixel position of each site, relative to the well's first tile.

    Uses the plate's stage positions; without them, sites go on a square grid in site order
    (the usual snake-free acquisition order), touching but not overlapping.
    """
    if layout.site_positions and all(s in layout.site_positions for s in layout.sites):
        ys = [layout.site_positions[s][0] for s in layout.sites]
        xs = [layout.site_positions[s][1] for s in layout.sites]
        y0, x0 = min(ys), min(xs)
        return {s: (layout.site_positions[s][0] - y0, layout.site_positions[s][1] - x0)
                for s in layout.sites}
    side = math.ceil(math.sqrt(len(layout.sites)))
    h, w = layout.shape
    return {s: (float((i // side) * h), float((i % side) * w)) for i, s in enumerate(layout.sites)}


def mosaic_shape(
    offsets: Mapping[int, tuple[float, float]], tile: tuple[int, int]
) -> tuple[int, int]:
    """Size of the canvas holding every tile at its offset."""
    h = max(round(y) for y, _ in offsets.values()) + tile[0]
    w = max(round(x) for _, x in offsets.values()) + tile[1]
    return int(h), int(w)


def assemble_mosaic(
    tiles: Sequence[np.ndarray],
    offsets: Sequence[tuple[float, float]],
    shape: tuple[int, int],
) -> np.ndarray:
    """Paste tiles at rounded offsets; later tiles win in overlaps (a preview, not a blend)."""
    canvas = np.zeros(shape, dtype=tiles[0].dtype if tiles else np.uint16)
    for tile, (y, x) in zip(tiles, offsets, strict=True):
        y, x = round(y), round(x)
        h = min(tile.shape[0], shape[0] - y)
        w = min(tile.shape[1], shape[1] - x)
        canvas[y : y + h, x : x + w] = tile[:h, :w]
    return canvas


def lazy_image(reader: PlateReader, key: ImageKey) -> da.Array:
    """One plate image as a dask array: the file is read when napari first draws it."""
    layout = reader.layout
    return da.from_delayed(dask.delayed(reader.read)(key), layout.shape, np.dtype(layout.dtype))


def lazy_mosaic(
    reader: PlateReader,
    well: str,
    channel: str,
    *,
    z: int,
    timepoint: int,
    offsets: Mapping[int, tuple[float, float]] | None = None,
) -> da.Array:
    """A well's sites pasted at their positions (stage positions unless `offsets` is given)."""
    layout = reader.layout
    offsets = dict(offsets or site_offsets(layout))
    sites = [s for s in layout.sites if s in offsets]
    shape = mosaic_shape({s: offsets[s] for s in sites}, layout.shape)
    tiles = [dask.delayed(reader.read)(ImageKey(well, s, channel, z, timepoint)) for s in sites]
    canvas = dask.delayed(assemble_mosaic)(tiles, [offsets[s] for s in sites], shape)
    return da.from_delayed(canvas, shape, np.dtype(layout.dtype))


def _scale(layout: PlateLayout, ndim: int) -> tuple[float, ...]:
    px = layout.pixel_size_um or 1.0
    return (1.0,) * (ndim - 2) + (px, px)


def _meta(layout: PlateLayout, **extra: Any) -> dict[str, Any]:
    return {META_KEY: {"root": str(layout.root), "format": layout.format, **extra}}


def well_site_layers(
    reader: PlateReader, well: str, *, channels: Iterable[str] | None = None
) -> list[LayerData]:
    """One image layer per (site, channel) of `well`, each translated to its stage position.

    z and timepoint (when the plate has more than one) become leading slider axes.
    """
    layout = reader.layout
    offsets = site_offsets(layout)
    px = layout.pixel_size_um or 1.0
    extra_axes = [c for c in ("timepoint", "z") if len(layout.values(c)) > 1]
    layers: list[LayerData] = []
    for ci, channel in enumerate(channels or layout.channels):
        label = channel_label(layout, channel)
        for site in layout.sites:
            planes = [
                [lazy_image(reader, ImageKey(well, site, channel, z, t)) for z in layout.z]
                for t in layout.timepoints
            ]
            data = da.stack([da.stack(p) for p in planes])  # (T, Z, Y, X)
            data = data.reshape(
                tuple(len(layout.values(c)) for c in extra_axes) + tuple(layout.shape)
            )
            ndim = data.ndim
            y, x = offsets[site]
            kwargs = {
                "name": f"{well} s{site} {label}",
                "colormap": channel_colormap(layout.channel_names.get(channel, channel), ci),
                "blending": "additive",
                "scale": _scale(layout, ndim),
                "translate": (0.0,) * (ndim - 2) + (y * px, x * px),
                "axis_labels": (*extra_axes, "y", "x"),
                "metadata": _meta(layout, well=well, site=site, channel=channel),
            }
            layers.append((data, kwargs, "image"))
    return layers


def well_mosaic_layers(
    reader: PlateReader,
    well: str,
    *,
    offsets: Mapping[int, tuple[float, float]] | None = None,
) -> list[LayerData]:
    """One image layer per channel: the well's sites pasted at their (or given) positions."""
    return plate_mosaic_layers(reader, wells=[well], offsets=offsets)


def plate_mosaic_layers(
    reader: PlateReader,
    *,
    wells: Sequence[str] | None = None,
    offsets: Mapping[int, tuple[float, float]] | None = None,
) -> list[LayerData]:
    """One image layer per channel with a `well` slider: each plane is a well's site mosaic.

    This is what opening a plate folder shows: cheap (one well is read per slider position) and
    it keeps one layer per channel however large the plate.
    """
    layout = reader.layout
    wells = list(wells or layout.wells)
    extra_axes = [c for c in ("timepoint", "z") if len(layout.values(c)) > 1]
    lead = (["well"] if len(wells) > 1 else []) + extra_axes
    layers: list[LayerData] = []
    for ci, channel in enumerate(layout.channels):
        per_well = []
        for well in wells:
            planes = [
                da.stack([
                    lazy_mosaic(reader, well, channel, z=z, timepoint=t, offsets=offsets)
                    for z in layout.z
                ])
                for t in layout.timepoints
            ]
            per_well.append(da.stack(planes))  # (T, Z, Y, X)
        data = da.stack(per_well)  # (W, T, Z, Y, X)
        keep = (len(wells),) if len(wells) > 1 else ()
        keep += tuple(len(layout.values(c)) for c in extra_axes)
        data = data.reshape(keep + data.shape[-2:])
        label = channel_label(layout, channel)
        kwargs = {
            "name": label if len(wells) > 1 else f"{wells[0]} {label}",
            "colormap": channel_colormap(layout.channel_names.get(channel, channel), ci),
            "blending": "additive",
            "scale": _scale(layout, data.ndim),
            "axis_labels": (*lead, "y", "x"),
            "metadata": _meta(layout, wells=wells, channel=channel),
        }
        layers.append((data, kwargs, "image"))
    return layers


def well_grid(layout: PlateLayout) -> tuple[int, int]:
    """(rows, columns) of the plate: from the layout, else the smallest grid holding its wells."""
    if layout.rows and layout.columns:
        return layout.rows, layout.columns
    cells = [parse_well(w) for w in layout.wells]
    return max((r for r, _ in cells), default=0) + 1, max((c for _, c in cells), default=0) + 1
