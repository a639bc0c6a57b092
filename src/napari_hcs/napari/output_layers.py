"""A run's `plate.zarr` (OME-Zarr HCS, NGFF 0.4 or 0.5) -> napari layer data, lazily.

One image layer per channel and one labels layer per label name, each with a `well` slider
(a run writes every well at one shape; wells of different sizes, from other writers, are
zero-padded to the largest, lazily). Only the first field of each well and the
full-resolution level are used: that is what a run writes. Layers are in physical units: their
`scale` is the pixel size of the y/x transforms and their `units` the axes' units
("micrometer"), so they overlay the raw plate's layers and napari's scale bar reads µm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.array as da
import zarr

from ..engine.plate.model import PlateError
from ..engine.plate.wells import normalize_well
from .plate_layers import META_KEY, LayerData, channel_colormap


def _ome(attrs: Any) -> dict[str, Any]:
    """NGFF 0.5 nests metadata under "ome"; 0.4 keeps it at the top level."""
    attrs = dict(attrs)
    return dict(attrs.get("ome", attrs))


def is_hcs_zarr(path: Path) -> bool:
    """Whether `path` is a zarr group with NGFF plate metadata."""
    if not ((path / "zarr.json").exists() or (path / ".zattrs").exists()):
        return False
    try:
        return "plate" in _ome(zarr.open_group(str(path), mode="r").attrs)
    except Exception:  # an unreadable or non-group store is simply not ours to read
        return False


Spatial = tuple[tuple[float, float], tuple[str, str] | None]  # (y, x) scale and units


def _image(group: zarr.Group) -> tuple[da.Array, list[str], Spatial, list[str]]:
    """Level 0 of a multiscale image as (C, ..., Y, X), its axes, (y, x) scale and units (None
    when the axes name none), channel names."""
    meta = _ome(group.attrs)
    ms = meta["multiscales"][0]
    dataset = ms["datasets"][0]
    axes = [a["name"] if isinstance(a, dict) else a for a in ms.get("axes", ["c", "y", "x"])]
    units = {a["name"]: a["unit"] for a in ms.get("axes", [])
             if isinstance(a, dict) and a.get("unit")}
    data = da.from_zarr(group[dataset["path"]])
    stored_axes = list(axes)
    if "c" not in axes:  # labels and single-channel images: a channel axis of one
        axes, data = ["c", *axes], data[None]
    order = [axes.index("c")] + [i for i, a in enumerate(axes) if a not in ("c", "y", "x")]
    order += [axes.index("y"), axes.index("x")]
    data = data.transpose(order)
    # Leading non-spatial axes of size one (t, z of a 2-D run) only clutter the sliders.
    index = tuple(0 if (i > 0 and data.shape[i] == 1) else slice(None)
                  for i in range(data.ndim - 2))
    data = data[index]
    scale = (1.0, 1.0)
    for t in dataset.get("coordinateTransformations", []):
        if t.get("type") == "scale":
            values = t["scale"]
            y, x = stored_axes.index("y"), stored_axes.index("x")
            scale = (float(values[y]), float(values[x]))
    channels = meta.get("omero", {}).get("channels", [])
    names = [c.get("label", str(i)) for i, c in enumerate(channels)]
    yx_units = (units["y"], units["x"]) if "y" in units and "x" in units else None
    return data, axes, (scale, yx_units), names


def _well_name(path: str) -> str:
    """`B/3` (a plate's well path) -> `B03`; a path outside the well grammar is kept joined."""
    joined = path.replace("/", "")
    try:
        return normalize_well(joined)
    except PlateError:
        return joined


def _pad_stack(arrays: list[da.Array]) -> da.Array:
    """Stack arrays of different (trailing) sizes, zero-padding each to the largest."""
    shape = tuple(max(a.shape[i] for a in arrays) for i in range(arrays[0].ndim))
    padded = [
        a if a.shape == shape
        else da.pad(a, [(0, s - n) for s, n in zip(shape, a.shape, strict=True)])
        for a in arrays
    ]
    return da.stack(padded)


def plate_zarr_layers(path: str | Path) -> list[LayerData]:
    """Image and labels layers of every well of a napari-hcs output plate."""
    root = zarr.open_group(str(path), mode="r")
    plate = _ome(root.attrs)["plate"]
    wells: list[str] = []
    images: list[da.Array] = []
    labels: dict[str, dict[str, da.Array]] = {}
    names: list[str] = []
    spatial: Spatial = ((1.0, 1.0), None)
    for entry in plate.get("wells", []):
        well_group = root[entry["path"]]
        fields = _ome(well_group.attrs).get("well", {}).get("images", [{"path": "0"}])
        field = well_group[fields[0]["path"]]
        data, _, spatial, channel_names = _image(field)
        well = _well_name(entry["path"])
        wells.append(well)
        images.append(data)
        names = names or channel_names
        if "labels" in field:
            for name in _ome(field["labels"].attrs).get("labels", []):
                labels.setdefault(name, {})[well] = _image(field["labels"][name])[0][0]
    if not wells:
        return []
    stack = _pad_stack(images)  # (W, C, ..., Y, X)
    single = len(wells) == 1  # one well: no slider
    meta = {META_KEY: {"root": str(path), "format": "output", "wells": wells}}
    lead = ([] if single else ["well"]) + [f"axis{i}" for i in range(stack.ndim - 4)]
    ndim = stack.ndim - 1 - single
    scale, yx_units = spatial
    physical = {"scale": (1.0,) * (ndim - 2) + scale}
    if yx_units is not None:  # napari >= 0.5: the scale bar and status bar read these
        physical["units"] = ("pixel",) * (ndim - 2) + yx_units
    layers: list[LayerData] = []
    for c in range(stack.shape[1]):
        name = names[c] if c < len(names) else str(c + 1)
        layers.append((stack[0, c] if single else stack[:, c], {
            "name": f"{name} (output)",
            "colormap": channel_colormap(name, c),
            "blending": "additive",
            **physical,
            "axis_labels": (*lead, "y", "x"),
            "metadata": {META_KEY: {**meta[META_KEY], "channel": name}},
        }, "image"))
    for name, per_well in labels.items():
        # Wells without this label get an empty plane of the right size.
        arrays = [per_well.get(w, da.zeros(images[i].shape[1:], dtype="uint32"))
                  for i, w in enumerate(wells)]
        data = _pad_stack(arrays)
        layers.append((data[0] if single else data, {
            "name": f"{name} labels",
            **physical,
            "axis_labels": (*lead, "y", "x"),
            "metadata": {META_KEY: {**meta[META_KEY], "labels": name}},
        }, "labels"))
    return layers
