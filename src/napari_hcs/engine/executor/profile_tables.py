"""CellProfiler's table layout, so that profiling tools (pycytominer, cytotable) read ours as-is.

A function marks a table as a CellProfiler table in its attrs: `compartment` (`Nuclei`,
`Cells`, `Cytoplasm`: one row per object, `measure_profiles`) or `cellprofiler` (`"image"`:
one row per site, `measure_image_quality`; `"well"`: one row per well, `aggregate_profiles`).
In the worker (`cellprofiler_tables`), after the run's keys (`executor/tables.py`):

- every such table gets `Metadata_Plate` and `Metadata_Well` (pycytominer's strata);
- a compartment table gets `Metadata_Site` and `ObjectNumber` (the object's label). A stitched
  well's object belongs to the site whose tile holds its nucleus' centre (the nearest tile
  centre among the tiles that hold it, from the `positions` output and the tile shape); a
  cell and its cytoplasm take their nucleus' site, so that the three link on (ImageNumber,
  ObjectNumber) as CellProfiler's do. Unstitched fields are sites already;
- a per-site `image` table: `Metadata_*`, `Count_<Compartment>` per site and the site's image
  quality (`ImageQuality_*`, with its Otsu thresholds) when the pipeline measures it.

When the run's tables are merged (`number_images`), `ImageNumber` (1..M over the plate's
(well, site) pairs, wells in plate order) is added beside `Metadata_Site` in every table that
has one: the same site has the same ImageNumber in every table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..plate.wells import sort_wells

COMPARTMENTS = ("Nuclei", "Cells", "Cytoplasm")
IMAGE_TABLE = "image"
_LEADING = ("plate", "well", "field", "label_image")


def cellprofiler_tables(tables: Mapping[str, Any], *, plate: str, well: str,
                        sites: Sequence[int], positions: Any = None,
                        tile_shape: tuple[int, int] | None = None) -> dict[str, Any]:
    """`tables` (name -> keyed DataFrame of one well) with the layout of the module docstring;
    `sites`: the well's field sites; `positions`: its `positions` frame (site, y, x), if any."""
    out = dict(tables)
    objects = {t.attrs["compartment"]: name for name, t in tables.items()
               if t.attrs.get("compartment") in COMPARTMENTS}
    site_of = _object_sites(tables, objects, sites, positions, tile_shape)
    for compartment, name in objects.items():
        table = tables[name]
        parent = table.get(f"{compartment}_Parent_Nuclei")
        keys = parent if parent is not None and compartment != "Nuclei" else table["label"]
        metadata = {"Metadata_Site": _sites_of(keys.to_numpy(), site_of, table, sites),
                    "ObjectNumber": table["label"].to_numpy()}
        out[name] = _with_metadata(table, plate, well, metadata)
    for name, table in tables.items():
        if table.attrs.get("cellprofiler") in ("image", "well"):
            extra = ({"Metadata_Site": table["site"].to_numpy()}
                     if "site" in table.columns else {})
            out[name] = _with_metadata(table, plate, well, extra)
    if objects:
        all_sites = (sorted(int(s) for s in positions["site"])
                     if positions is not None and len(positions) else list(sites))
        out[IMAGE_TABLE] = _image_table(out, objects, plate, well, all_sites)
    return out


def _object_sites(tables: Mapping[str, Any], objects: Mapping[str, str], sites: Sequence[int],
                  positions: Any, tile_shape: tuple[int, int] | None) -> dict[int, int]:
    """Nucleus label -> the site its centre lies in (empty when it cannot be told)."""
    nuclei = tables.get(objects.get("Nuclei", ""))
    if (nuclei is None or positions is None or not len(positions) or tile_shape is None
            or "Nuclei_AreaShape_Center_Y" not in nuclei.columns):
        return {}
    centre = nuclei[["Nuclei_AreaShape_Center_Y", "Nuclei_AreaShape_Center_X"]].to_numpy()
    corners = positions[["y", "x"]].to_numpy(dtype=np.float64)
    tile = np.asarray(tile_shape, np.float64)
    inside = np.all((centre[:, None, :] >= corners[None] - 0.5)
                    & (centre[:, None, :] < corners[None] + tile - 0.5), axis=2)
    distance = np.linalg.norm(centre[:, None, :] - (corners + (tile - 1) / 2)[None], axis=2)
    nearest = np.argmin(np.where(inside, distance, distance + 1e12), axis=1)
    site_ids = positions["site"].to_numpy()
    return dict(zip(nuclei["label"].to_numpy().tolist(),
                    (int(site_ids[i]) for i in nearest), strict=True))


def _sites_of(keys: np.ndarray, site_of: Mapping[int, int], table: Any,
              sites: Sequence[int]) -> np.ndarray:
    if site_of:
        return np.asarray([site_of.get(int(k), 0) for k in keys], np.int64)
    if "site" in table.columns:
        return table["site"].to_numpy(np.int64)
    import pandas as pd

    fields = table["field"].tolist() if "field" in table.columns else [0] * len(table)
    return np.asarray([sites[int(f)] if not pd.isna(f) and int(f) < len(sites) else 0
                       for f in fields], np.int64)


def _with_metadata(table: Any, plate: str, well: str, extra: Mapping[str, Any]) -> Any:
    """`table` with `Metadata_Plate`, `Metadata_Well` and `extra` after the run's keys."""
    out = table.drop(columns=[c for c in ("Metadata_Plate", "Metadata_Well", *extra)
                              if c in table.columns])
    at = sum(1 for c in out.columns[:len(_LEADING)] if c in _LEADING)
    columns = {"Metadata_Plate": plate, "Metadata_Well": well, **extra}
    for i, (name, values) in enumerate(columns.items()):
        out.insert(at + i, name, values)
    out.attrs = dict(table.attrs)
    return out


def _image_table(tables: Mapping[str, Any], objects: Mapping[str, str], plate: str,
                 well: str, sites: Sequence[int]) -> Any:
    """One row per site: counts of each compartment, and the site's image quality."""
    import pandas as pd

    rows = pd.DataFrame({"Metadata_Plate": plate, "Metadata_Well": well,
                         "Metadata_Site": np.asarray(sorted(set(sites)), np.int64)})
    for compartment, name in objects.items():
        counts = tables[name]["Metadata_Site"].value_counts()
        rows[f"Count_{compartment}"] = [int(counts.get(s, 0)) for s in rows["Metadata_Site"]]
    quality = [t for t in tables.values() if t.attrs.get("cellprofiler") == "image"]
    for table in quality:
        scores = [c for c in table.columns if c.startswith("ImageQuality_")]
        rows = rows.merge(table[["Metadata_Site", *scores]], on="Metadata_Site", how="left")
    rows.insert(0, "plate", plate)
    rows.insert(1, "well", well)
    rows.attrs = {"units": {}, "cellprofiler": "image"}
    return rows


def number_images(tables: Mapping[str, Any]) -> dict[str, Any]:
    """Every table with `Metadata_Well` and `Metadata_Site` gets `ImageNumber` beside it:
    1..M over all (well, site) pairs of the run, wells in plate order, then sites."""
    pairs = set()
    for table in tables.values():
        if {"Metadata_Well", "Metadata_Site"} <= set(table.columns):
            pairs.update(zip(table["Metadata_Well"], table["Metadata_Site"].astype(int),
                             strict=True))
    order = {w: i for i, w in enumerate(sort_wells({w for w, _ in pairs}))}
    number = {p: i + 1 for i, p in enumerate(sorted(pairs, key=lambda p: (order[p[0]], p[1])))}
    out = {}
    for name, table in tables.items():
        if {"Metadata_Well", "Metadata_Site"} <= set(table.columns):
            attrs = dict(table.attrs)
            table = table.drop(columns=[c for c in ("ImageNumber",) if c in table.columns])
            at = table.columns.get_loc("Metadata_Site") + 1
            table.insert(at, "ImageNumber", [
                number[(w, int(s))] for w, s in zip(table["Metadata_Well"],
                                                    table["Metadata_Site"], strict=True)])
            table.attrs = attrs
        out[name] = table
    return out
