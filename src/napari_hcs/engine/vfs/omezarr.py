"""The OME-Zarr HCS writer and reader: NGFF 0.5 (zarr v3, sharded; the default) or NGFF 0.4
(zarr v2: what older readers know), on a local disk or an object store (`location`).

Layout: `plate.zarr/<row>/<column>/<field>/` where row is the well's letters and column its
number without padding (`B03` -> `B/3`), each field a multiscale image with axes `c[,z],y,x`
and labels under `<field>/labels/<name>/`. Metadata is the JSON ome-zarr-py writes, written by
`ngff` (so that worker processes need not import ome_zarr) into groups (`zarr_group`), pixels
as zarr arrays (`zarr_arrays`, through `pyramid.write_levels`); reading is zarr's. Every
field is built in a temporary folder and renamed into place (an interrupted write never leaves
a field that looks complete); on an object store, which has no rename, a field is complete once
its group metadata, written after its arrays, names its multiscales.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..plate.wells import format_well, parse_well, row_letters, sort_wells
from . import ngff
from .location import LocalFolder, RemoteFolder, open_folder
from .pyramid import COMPRESSIONS, Storage, write_levels
from .zarr_group import NGFF_VERSION, ZARR_FORMAT, Group, zarr_format_of

__all__ = ["COMPRESSIONS", "DEFAULT_VERSION", "VERSIONS", "Storage", "create_plate",
           "field_channel_names", "plate_version", "prune_fields", "read_field",
           "read_labels", "sync_plate", "well_path", "write_field"]

#: The NGFF versions the writer writes; the first is the default (docs/outputs.md).
VERSIONS = ("0.5", "0.4")
DEFAULT_VERSION = VERSIONS[0]

Target = str | Path | LocalFolder | RemoteFolder


def well_path(well: str) -> str:
    """`B03` -> `B/3` (row letters / column number)."""
    row, col = parse_well(well)
    return f"{row_letters(row)}/{col + 1}"


def plate_version(root: Target) -> str | None:
    """The NGFF version of the plate at `root` ("0.5", "0.4"), None when there is none."""
    found = zarr_format_of(open_folder(root))
    return NGFF_VERSION[found] if found else None


def _open_plate(root: Target, version: str | None = None) -> Group:
    if version is not None and version not in VERSIONS:
        raise ValueError(f"NGFF version {version!r} is not one of {', '.join(VERSIONS)}")
    return Group.open(root, "a", ZARR_FORMAT[version] if version else None)


def create_plate(
    root: Target, wells: Sequence[str], *, name: str = "plate", field_count: int = 1,
    grid: tuple[int, int] | None = None, version: str = DEFAULT_VERSION,
) -> None:
    """Create (or extend) an HCS plate listing `wells`; existing wells' data is kept.

    `grid` is the plate's physical (rows, columns) (e.g. (16, 24) for 384 wells): NGFF lists
    every physical row and column, used or not; without it, the rows and columns up to the
    last used one. Each new well lists fields `0..field_count-1`; `write_field` adds any other
    field it writes. `version` is the NGFF version of a new plate (an existing plate of
    another version is refused).
    """
    group = _open_plate(root, version)
    plate = group.attrs.get("plate", {})
    # Temporary fields of failed writes go first, in every well: they are never complete data,
    # and on a full disk they hold the space the metadata below needs (a write that fails
    # after this point must not leave them behind either).
    for entry in plate.get("wells", []):
        group.folder.join(*entry["path"].split("/")).clean_temps()
    existing = [w["path"] for w in plate.get("wells", [])]
    names = sort_wells([*(_well_from_path(p) for p in existing), *wells])
    _write_plate(group, names, name=name, field_count=field_count,
                 grid=_largest(grid, _grid_of(plate)))
    for well in names:
        wgroup = group.require_group(well_path(well))
        if "well" not in wgroup.attrs:
            ngff.write_well(wgroup, _images(range(field_count)))


#: Every field of a run is one acquisition (NGFF `acquisitions`; a well image's `acquisition`).
ACQUISITION = 0


def _images(fields: Iterable[int | str]) -> list[dict[str, Any]]:
    return [{"path": str(f), "acquisition": ACQUISITION} for f in fields]


def _well_from_path(path: str) -> str:
    row, col = path.split("/")
    return format_well(*parse_well(f"{row}{col}"))


def _grid_of(plate: Mapping[str, Any]) -> tuple[int, int] | None:
    rows, columns = plate.get("rows", []), plate.get("columns", [])
    return (len(rows), len(columns)) if rows and columns else None


def _largest(*grids: tuple[int, int] | None) -> tuple[int, int] | None:
    known = [g for g in grids if g]
    return (max(g[0] for g in known), max(g[1] for g in known)) if known else None


def _write_plate(group: Group, wells: Sequence[str], *, name: str, field_count: int,
                 grid: tuple[int, int] | None) -> None:
    rc = [parse_well(w) for w in wells]
    n_rows = max([r + 1 for r, _ in rc] + [grid[0] if grid else 0])
    n_cols = max([c + 1 for _, c in rc] + [grid[1] if grid else 0])
    ngff.write_plate(group, [row_letters(r) for r in range(n_rows)],
                     [str(c + 1) for c in range(n_cols)], [well_path(w) for w in wells],
                     field_count=field_count, name=name,
                     acquisitions=[{"id": ACQUISITION, "name": name,
                                    "maximumfieldcount": field_count}])


def sync_plate(
    root: Target, *, name: str | None = None, only: Sequence[str] | None = None
) -> list[str]:
    """Make the plate list exactly the wells that hold at least one complete field.

    Used after a run so readers never meet a well without data (a failed well). A plate with
    no complete well is removed (NGFF has no empty plate). `only` further restricts the
    listed wells (a run lists its `ok` wells; a failed well may hold some complete fields).
    The plate's rows and columns stay as `create_plate` wrote them.
    """
    group = Group.existing(root)
    plate = group.attrs.get("plate", {})
    # Temporary fields of failed writes go first, in every well: they are never complete data,
    # and on a full disk they hold the space the metadata below needs (a write that fails
    # after this point must not leave them behind either).
    for entry in plate.get("wells", []):
        group.folder.join(*entry["path"].split("/")).clean_temps()
    wells, most = [], 0
    for entry in plate.get("wells", []):
        well_group = group.require_group(entry["path"])
        fields = sorted((name for name in well_group.folder.subfolders()
                         if name.isdigit() and _is_complete(well_group, name)), key=int)
        well = _well_from_path(entry["path"])
        if fields and (only is None or well in only):
            wells.append(well)
            most = max(most, len(fields))
            ngff.write_well(well_group, _images(fields))
    if not wells:  # NGFF has no empty plate: a plate with no complete well is not left behind
        group.folder.remove()
        return wells
    _write_plate(group, wells, name=name or plate.get("name", "plate"), field_count=max(most, 1),
                 grid=_grid_of(plate))
    return wells


def _is_complete(well_group: Group, field: str) -> bool:
    """A field whose group metadata names its multiscales (written after all its arrays)."""
    return field in well_group and "multiscales" in well_group[field].attrs


def _write_multiscale(
    group: Group, data: np.ndarray, axes: list[dict], pixel_size_um: float | None,
    *, labels: bool, name: str, storage: Storage, omero: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the pyramid's arrays; returns the group's NGFF attributes (the caller writes
    them once, with whatever it adds, instead of one metadata rewrite per key)."""
    px = float(pixel_size_um) if pixel_size_um else 1.0
    datasets = []
    names = [a["name"] for a in axes]
    for level, (path, shape) in enumerate(write_levels(group, data, labels=labels,
                                                       storage=storage,
                                                       dimension_names=names)):
        scale = [1.0] * (len(shape) - 2) + [px * 2**level] * 2
        datasets.append({
            "path": path,
            "coordinateTransformations": [{"type": "scale", "scale": scale}],
        })
    return ngff.multiscales(datasets, axes, name, omero, version=group.ngff_version)


def _axes(ndim: int, channel: bool, pixel_size_um: float | None) -> list[dict]:
    unit = {"unit": "micrometer"} if pixel_size_um else {}
    spatial = [{"name": n, "type": "space", **unit} for n in "zyx"[3 - (ndim - channel):]]
    return ([{"name": "c", "type": "channel"}] if channel else []) + spatial


def _omero(image: np.ndarray, names: Sequence[str]) -> dict:
    colors = ["0000FF", "00FF00", "FF0000", "FF00FF", "00FFFF", "FFFF00", "FFFFFF"]
    channels = []
    for i, name in enumerate(names):
        plane = image[i]
        lo, hi = (float(plane.min()), float(plane.max())) if plane.size else (0.0, 1.0)
        channels.append({
            "label": str(name), "color": colors[i % len(colors)], "active": True,
            "window": {"min": lo, "max": hi, "start": lo, "end": hi if hi > lo else lo + 1},
        })
    return {"channels": channels, "rdefs": {"model": "color"}}


def write_field(
    root: Target,
    well: str,
    field: int,
    image: np.ndarray,
    *,
    channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = None,
    labels: Mapping[str, np.ndarray] | None = None,
    storage: Storage | None = None,
) -> None:
    """Write one field of a well atomically: `image` is (C,Y,X) or (C,Z,Y,X); `labels` maps a
    name to a (Y,X) or (Z,Y,X) integer array of the same spatial shape."""
    storage = storage or Storage()
    image = np.asarray(image)
    if image.ndim not in (3, 4):
        raise ValueError(f"well {well} field {field}: image must be (C,Y,X) or (C,Z,Y,X), "
                         f"got shape {image.shape}")
    names = list(channel_names) if channel_names is not None else [str(i) for i in
                                                                   range(image.shape[0])]
    if len(names) != image.shape[0]:
        raise ValueError(f"well {well} field {field}: {len(names)} channel names for "
                         f"{image.shape[0]} channels")
    spatial = image.shape[1:]
    for lname, lab in (labels or {}).items():
        if np.shape(lab) != spatial and np.shape(lab) != spatial[-2:]:
            raise ValueError(f"well {well} field {field}: labels {lname!r} have shape "
                             f"{np.shape(lab)}, but the image is {spatial} (z, y, x)")
    plate = Group.existing(root)
    if well_path(well) not in plate or "well" not in plate[well_path(well)].attrs:
        raise FileNotFoundError(f"{plate.folder}/{well_path(well)}: well {well} is not in the "
                                "plate; call create_plate")
    well_group = plate[well_path(well)]
    with well_group.folder.staged(str(int(field))) as tmp:
        group = Group.open(tmp, "a", plate.zarr_format)  # a fresh temporary folder
        group.attrs.update(_write_multiscale(
            group, image, _axes(image.ndim, True, pixel_size_um), pixel_size_um,
            labels=False, name="image", storage=storage, omero=_omero(image, names)))
        for lname, lab in (labels or {}).items():
            lab = np.asarray(lab)
            if not np.issubdtype(lab.dtype, np.integer):
                lab = lab.astype(np.int32)
            lgroups = group.require_group("labels")
            lgroup = lgroups.require_group(lname)
            attrs = _write_multiscale(lgroup, lab, _axes(lab.ndim, False, pixel_size_um),
                                      pixel_size_um, labels=True, name=lname, storage=storage)
            colors = ngff.label_colors(_label_values(lab))
            lgroup.attrs.update(ngff.add_label(lgroups, lname, attrs, {"image": "../../"},
                                               colors))
    _add_field(well_group, int(field))


def _label_values(lab: np.ndarray) -> np.ndarray:
    """The values present in a label image: a histogram of the labelled pixels (a sort of a
    whole mosaic is slow, and so is a histogram of its background)."""
    labelled = lab[lab != 0]
    zero = [0] if labelled.size < lab.size else []
    if not labelled.size or (labelled.min() > 0 and labelled.max() < 2**26):
        found = np.flatnonzero(np.bincount(labelled)) if labelled.size else labelled
        return np.concatenate([np.asarray(zero, found.dtype), found])
    return np.unique(lab)


def _add_field(well_group: Group, field: int) -> None:
    images = well_group.attrs.get("well", {}).get("images", [])
    if all(str(im["path"]) != str(field) for im in images):
        ngff.write_well(well_group, sorted([*images, *_images([field])],
                                           key=lambda im: int(im["path"])))


def _open_field(root: Target, well: str, field: int) -> Group:
    path = f"{well_path(well)}/{int(field)}"
    plate = Group.existing(root)
    if path not in plate or "multiscales" not in plate[path].attrs:
        raise FileNotFoundError(f"{plate.folder}/{path}: no field {field} for well {well}")
    return plate[path]


def _read_level(group: Group, level: int) -> np.ndarray:
    import zarr

    path = group.attrs["multiscales"][0]["datasets"][level]["path"]
    folder = group.folder.join(path)
    return zarr.open_array(str(folder), mode="r", zarr_format=group.zarr_format)[...]


def read_field(root: Target, well: str, field: int, level: int = 0) -> np.ndarray:
    """The image of one field at pyramid `level`: (C,Y,X) or (C,Z,Y,X)."""
    return _read_level(_open_field(root, well, field), level)


def read_labels(root: Target, well: str, field: int, name: str, level: int = 0) -> np.ndarray:
    """One labels image of a field at pyramid `level`."""
    group = _open_field(root, well, field)
    if f"labels/{name}" not in group or "multiscales" not in group[f"labels/{name}"].attrs:
        raise FileNotFoundError(f"{group.folder}/labels/{name}: no labels {name!r} for well "
                                f"{well} field {field}")
    return _read_level(group[f"labels/{name}"], level)


def field_channel_names(root: Target, well: str, field: int) -> list[str]:
    attrs = _open_field(root, well, field).attrs
    return [c["label"] for c in attrs.get("omero", {}).get("channels", [])]


def prune_fields(root: Target, well: str, keep: int) -> None:
    """Remove fields `keep..` of a well (left by an earlier run that wrote more of them)."""
    well_group = Group.existing(root)[well_path(well)]
    listed = well_group.attrs.get("well", {}).get("images", [])
    images = [im for im in listed if int(im["path"]) < keep]
    for name in well_group.folder.subfolders():
        if name.isdigit() and int(name) >= keep:
            well_group.folder.remove(name)
    if images != listed:
        ngff.write_well(well_group, images)
