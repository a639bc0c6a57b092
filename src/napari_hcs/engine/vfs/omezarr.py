"""The OME-Zarr HCS writer and reader (NGFF 0.4, zarr format 2: the most widely readable).

Layout: `plate.zarr/<row>/<column>/<field>/` where row is the well's letters and column its
number without padding (`B03` -> `B/3`), each field a multiscale image with axes `c[,z],y,x`
and labels under `<field>/labels/<name>/`. Metadata is the JSON ome-zarr-py writes, written by
`ngff` (so that worker processes need not import ome_zarr) into groups as zarr v2 lays them out
(`disk_group`), pixels as zarr v2 arrays (`pyramid.write_array_v2`); reading is zarr's. Every
field is written into a temporary folder and renamed into place (an interrupted write never
leaves a field that looks complete).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..plate.wells import format_well, parse_well, row_letters, sort_wells
from . import ngff
from .atomic import TMP_MARK, atomic_dir, atomic_write_json, remove_stale_temps
from .disk_group import DiskGroup
from .pyramid import COMPRESSIONS, Storage, write_levels

__all__ = ["COMPRESSIONS", "Storage", "create_plate", "field_channel_names", "prune_fields",
           "read_field", "read_labels", "sync_plate", "well_path", "write_field"]


def well_path(well: str) -> str:
    """`B03` -> `B/3` (row letters / column number)."""
    row, col = parse_well(well)
    return f"{row_letters(row)}/{col + 1}"


def _plate_attrs(root: Path) -> dict:
    path = root / ".zattrs"
    return json.loads(path.read_text()) if path.is_file() else {}


def create_plate(
    root: str | Path, wells: Sequence[str], *, name: str = "plate", field_count: int = 1,
    grid: tuple[int, int] | None = None,
) -> None:
    """Create (or extend) an HCS plate listing `wells`; existing wells' data is kept.

    `grid` is the plate's physical (rows, columns) (e.g. (16, 24) for 384 wells): NGFF lists
    every physical row and column, used or not; without it, the rows and columns up to the
    last used one. Each new well lists fields `0..field_count-1`; `write_field` adds any other
    field it writes.
    """
    root = Path(root)
    plate = _plate_attrs(root).get("plate", {})
    # Temporary fields of failed writes go first, in every well: they are never complete data,
    # and on a full disk they hold the space the metadata below needs (a write that fails
    # after this point must not leave them behind either).
    for entry in plate.get("wells", []):
        remove_stale_temps(root / entry["path"])
    group = DiskGroup.open(root, "a")
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


def _write_plate(group: DiskGroup, wells: Sequence[str], *, name: str, field_count: int,
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
    root: str | Path, *, name: str | None = None, only: Sequence[str] | None = None
) -> list[str]:
    """Make the plate list exactly the wells that hold at least one complete field.

    Used after a run so readers never meet a well without data (a failed well). A plate with
    no complete well is removed (NGFF has no empty plate). `only` further restricts the
    listed wells (a run lists its `ok` wells; a failed well may hold some complete fields).
    The plate's rows and columns stay as `create_plate` wrote them.
    """
    root = Path(root)
    plate = _plate_attrs(root).get("plate", {})
    # Temporary fields of failed writes go first, in every well: they are never complete data,
    # and on a full disk they hold the space the metadata below needs (a write that fails
    # after this point must not leave them behind either).
    for entry in plate.get("wells", []):
        remove_stale_temps(root / entry["path"])
    group = DiskGroup.open(root, "a")
    wells, most = [], 0
    for entry in plate.get("wells", []):
        folder = root / entry["path"]
        fields = sorted(
            (p.name for p in folder.iterdir() if p.is_dir() and (p / ".zattrs").is_file())
            if folder.is_dir() else [],
            key=int,
        )
        well = _well_from_path(entry["path"])
        if fields and (only is None or well in only):
            wells.append(well)
            most = max(most, len(fields))
            ngff.write_well(group[entry["path"]], _images(fields))
    if not wells:  # NGFF has no empty plate: a plate with no complete well is not left behind
        import shutil

        shutil.rmtree(root)
        return wells
    _write_plate(group, wells, name=name or plate.get("name", "plate"), field_count=max(most, 1),
                 grid=_grid_of(plate))
    return wells


def _write_multiscale(
    group: DiskGroup, data: np.ndarray, axes: list[dict], pixel_size_um: float | None,
    *, labels: bool, name: str, storage: Storage, omero: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the pyramid's arrays; returns the group's NGFF attributes (the caller writes
    them once, with whatever it adds, instead of one metadata rewrite per key)."""
    px = float(pixel_size_um) if pixel_size_um else 1.0
    datasets = []
    for level, (path, shape) in enumerate(write_levels(group, data, labels=labels,
                                                       storage=storage)):
        scale = [1.0] * (len(shape) - 2) + [px * 2**level] * 2
        datasets.append({
            "path": path,
            "coordinateTransformations": [{"type": "scale", "scale": scale}],
        })
    return ngff.multiscales(datasets, axes, name, omero)


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
    root: str | Path,
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
    root = Path(root)
    folder = root / well_path(well)
    if not (folder / ".zattrs").is_file():
        raise FileNotFoundError(f"{folder}: well {well} is not in the plate; call create_plate")
    with atomic_dir(folder / str(int(field))) as tmp:
        group = DiskGroup.open(tmp, "a")  # a fresh temporary folder
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
    _add_field(folder, int(field))


def _label_values(lab: np.ndarray) -> np.ndarray:
    """The values present in a label image: a histogram of the labelled pixels (a sort of a
    whole mosaic is slow, and so is a histogram of its background)."""
    labelled = lab[lab != 0]
    zero = [0] if labelled.size < lab.size else []
    if not labelled.size or (labelled.min() > 0 and labelled.max() < 2**26):
        found = np.flatnonzero(np.bincount(labelled)) if labelled.size else labelled
        return np.concatenate([np.asarray(zero, found.dtype), found])
    return np.unique(lab)


def _add_field(folder: Path, field: int) -> None:
    attrs = json.loads((folder / ".zattrs").read_text())
    images = attrs.get("well", {}).get("images", [])
    if all(str(im["path"]) != str(field) for im in images):
        images = sorted([*images, *_images([field])], key=lambda im: int(im["path"]))
        attrs["well"] = {"images": images, "version": ngff.VERSION}
        atomic_write_json(folder / ".zattrs", attrs)


def _open_field(root: str | Path, well: str, field: int) -> tuple[Path, dict]:
    folder = Path(root) / well_path(well) / str(int(field))
    if not (folder / ".zattrs").is_file() or TMP_MARK in folder.name:
        raise FileNotFoundError(f"{folder}: no field {field} for well {well}")
    return folder, json.loads((folder / ".zattrs").read_text())


def read_field(root: str | Path, well: str, field: int, level: int = 0) -> np.ndarray:
    """The image of one field at pyramid `level`: (C,Y,X) or (C,Z,Y,X)."""
    folder, attrs = _open_field(root, well, field)
    path = attrs["multiscales"][0]["datasets"][level]["path"]
    import zarr

    return zarr.open_array(str(folder / path), mode="r", zarr_format=2)[...]


def read_labels(root: str | Path, well: str, field: int, name: str, level: int = 0) -> np.ndarray:
    """One labels image of a field at pyramid `level`."""
    folder, _ = _open_field(root, well, field)
    lfolder = folder / "labels" / name
    if not (lfolder / ".zattrs").is_file():
        raise FileNotFoundError(f"{lfolder}: no labels {name!r} for well {well} field {field}")
    attrs = json.loads((lfolder / ".zattrs").read_text())
    path = attrs["multiscales"][0]["datasets"][level]["path"]
    import zarr

    return zarr.open_array(str(lfolder / path), mode="r", zarr_format=2)[...]


def field_channel_names(root: str | Path, well: str, field: int) -> list[str]:
    _, attrs = _open_field(root, well, field)
    return [c["label"] for c in attrs.get("omero", {}).get("channels", [])]


def prune_fields(root: str | Path, well: str, keep: int) -> None:
    """Remove fields `keep..` of a well (left by an earlier run that wrote more of them)."""
    import shutil

    folder = Path(root) / well_path(well)
    attrs = json.loads((folder / ".zattrs").read_text())
    images = [im for im in attrs.get("well", {}).get("images", []) if int(im["path"]) < keep]
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name.isdigit() and int(entry.name) >= keep:
            shutil.rmtree(entry)
    if images != attrs.get("well", {}).get("images"):
        attrs["well"] = {"images": images, "version": ngff.VERSION}
        atomic_write_json(folder / ".zattrs", attrs)
