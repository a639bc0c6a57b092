"""An OME-Zarr HCS plate (NGFF 0.4 or 0.5) -> its wells' images and labels as lazy arrays.

Pure metadata reading: no pixel is read here. Each well's first field gives its multiscale
image as (C, ..., Y, X) dask arrays, one per stored level with its downsampling factor, and
each of its label images as (..., Y, X) arrays the same way. `output_canvas` places them on the
plate frame. Leading axes of size one (t, z of a 2-D run) are dropped; longer ones stay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask.array as da
import zarr

from ...engine.plate.model import PlateError
from ...engine.plate.wells import format_well, normalize_well, parse_well

log = logging.getLogger(__name__)

#: µm per unit of the NGFF space units a plate may use (others are taken as µm).
MICROMETRES = {"micrometer": 1.0, "nanometer": 1e-3, "millimeter": 1e3, "angstrom": 1e-4}

Levels = list[tuple[int, da.Array]]  # (downsampling factor, array) per stored level


def ome(attrs: Any) -> dict[str, Any]:
    """NGFF 0.5 nests metadata under "ome"; 0.4 keeps it at the top level."""
    attrs = dict(attrs)
    return dict(attrs.get("ome", attrs))


@dataclass
class OutputWell:
    """One well of the plate: where it is on the grid and its first field's data."""

    name: str  # "H12"
    row: int
    column: int
    image: Levels
    labels: dict[str, Levels] = field(default_factory=dict)


@dataclass
class OutputPlate:
    """What the plate.zarr says: grid, wells, channels and the physical pixel size."""

    path: Path
    rows: int
    columns: int
    wells: list[OutputWell]
    channels: list[str]
    windows: list[tuple[float, float] | None]  # omero start/end per channel
    lead_axes: list[str]  # axes kept between the channel and (y, x)
    pixel_size_um: float | None

    @property
    def well_shape(self) -> tuple[int, int]:
        """The largest level-0 (Y, X) of any well."""
        shapes = [w.image[0][1].shape[-2:] for w in self.wells]
        return (max((s[0] for s in shapes), default=1), max((s[1] for s in shapes), default=1))

    @property
    def label_names(self) -> list[str]:
        return list(dict.fromkeys(n for w in self.wells for n in w.labels))


def _axis_names(ms: dict[str, Any], ndim: int) -> list[str]:
    axes = ms.get("axes") or (["c", "y", "x"] if ndim == 3 else ["y", "x"])
    return [a["name"] if isinstance(a, dict) else str(a) for a in axes]


def _yx_scale(dataset: dict[str, Any], axes: list[str]) -> tuple[float, float]:
    for t in dataset.get("coordinateTransformations", []):
        if t.get("type") == "scale":
            values = t["scale"]
            return float(values[axes.index("y")]), float(values[axes.index("x")])
    return 1.0, 1.0


def multiscale(group: zarr.Group) -> tuple[Levels, list[str], float | None]:
    """A multiscale image group -> its levels as (C, lead..., Y, X), the lead axes' names and
    its pixel size in µm (None when its axes name no unit)."""
    ms = ome(group.attrs)["multiscales"][0]
    first = group[ms["datasets"][0]["path"]]
    axes = _axis_names(ms, first.ndim)
    units = {a["name"]: a.get("unit") for a in ms.get("axes", []) if isinstance(a, dict)}
    y0, x0 = _yx_scale(ms["datasets"][0], axes)
    levels: Levels = []
    lead: list[str] = []
    for dataset in ms["datasets"]:
        data = da.from_zarr(group[dataset["path"]])
        names = list(axes)
        if "c" not in names:  # labels and single-channel images: a channel axis of one
            names, data = ["c", *names], data[None]
        others = [i for i, a in enumerate(names) if a not in ("c", "y", "x")]
        order = [names.index("c"), *others, names.index("y"), names.index("x")]
        data = data.transpose(order)
        keep = [i for i in range(1, data.ndim - 2) if data.shape[i] > 1]
        data = data[tuple(0 if 0 < i < data.ndim - 2 and i not in keep else slice(None)
                          for i in range(data.ndim))]
        lead = [names[order[i]] for i in keep]
        y, _ = _yx_scale(dataset, axes)
        factor = max(1, round(y / y0)) if y0 else 1
        levels.append((factor, data))
    unit = units.get("y")
    pixel = y0 * MICROMETRES.get(unit, 1.0) if unit else None
    return levels, lead, pixel


def well_position(path: str, entry: dict[str, Any]) -> tuple[str, int, int]:
    """A plate well's name and (row, column): from its name when it is one (`B/3` -> B03, so
    positions agree with the raw plate's), else from the NGFF row/column indices."""
    joined = path.replace("/", "")
    try:
        name = normalize_well(joined)
        row, column = parse_well(name)
    except PlateError:
        row, column = int(entry.get("rowIndex", 0)), int(entry.get("columnIndex", 0))
        name = format_well(row, column)
    return name, row, column


def read_output_plate(path: str | Path) -> OutputPlate:
    """The wells, channels and pixel size of the HCS plate at `path` (metadata only)."""
    root = zarr.open_group(str(path), mode="r")
    plate = ome(root.attrs)["plate"]
    wells: list[OutputWell] = []
    channels: list[str] = []
    windows: list[tuple[float, float] | None] = []
    lead: list[str] | None = None
    pixel: float | None = None
    for entry in plate.get("wells", []):
        name, row, column = well_position(entry["path"], entry)
        try:
            well_group = root[entry["path"]]
            fields = ome(well_group.attrs).get("well", {}).get("images", [{"path": "0"}])
            field_group = well_group[fields[0]["path"]]
            image, axes, pixel_size = multiscale(field_group)
        except (KeyError, IndexError, ValueError) as error:  # one broken well hides no other
            log.warning("%s: well %s cannot be read (%s); not shown", path, name, error)
            continue
        if lead is not None and axes != lead:
            log.warning("%s: well %s has axes %s, the others %s; not shown", path, name, axes,
                        lead)
            continue
        lead = axes
        pixel = pixel if pixel is not None else pixel_size
        if not channels:
            meta = ome(field_group.attrs).get("omero", {}).get("channels", [])
            channels = [str(c.get("label", i + 1)) for i, c in enumerate(meta)]
            windows = [_window(c) for c in meta]
        well = OutputWell(name, row, column, image)
        if "labels" in field_group:
            for label in ome(field_group["labels"].attrs).get("labels", []):
                levels, _, _ = multiscale(field_group["labels"][label])
                well.labels[label] = [(f, a[0]) for f, a in levels]
        wells.append(well)
    n_channels = wells[0].image[0][1].shape[0] if wells else 0
    channels += [str(i + 1) for i in range(len(channels), n_channels)]
    windows += [None] * (n_channels - len(windows))
    rows = max([len(plate.get("rows", []))] + [w.row + 1 for w in wells])
    columns = max([len(plate.get("columns", []))] + [w.column + 1 for w in wells])
    return OutputPlate(Path(path), rows, columns, wells, channels[:n_channels],
                       windows[:n_channels], lead or [], pixel)


def _window(channel: dict[str, Any]) -> tuple[float, float] | None:
    window = channel.get("window") or {}
    try:
        lo, hi = float(window["start"]), float(window["end"])
    except (KeyError, TypeError, ValueError):
        return None
    return (lo, hi) if hi > lo else None
