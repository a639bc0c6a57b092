"""Measurement tables as a run writes them: physical units, keys, and units in the Parquet file.

Functions return per-well DataFrames in pixel units and declare their length-like columns in
`frame.attrs["units"]` (`{"area": "pixel**2", "centroid_y": "pixel"}`; unitless and intensity
columns are not listed). Here, in the worker, each table becomes what users read:
- lengths in micrometres when the plate has a pixel size (`pixel**n` -> `micrometer**n`, values
  times `pixel_size_um**n`); without one they stay in pixels and say so;
- the key columns first: `plate`, `well`, `field` (the plate.zarr field the row belongs to) and,
  for a table measured on a label image, `label_image` (its path inside plate.zarr, e.g.
  `B/3/0/labels/nuclei_labels`; the `label` column is its label value), the link Fractal's
  feature tables make with their `region.path`;
- for CellProfiler's tables (`executor/profile_tables.py`): `Metadata_*`, `ImageNumber`,
  `ObjectNumber`, a per-site `image` table; their pixel columns keep CellProfiler's names and
  units, lengths and areas are added in micrometres (`Cells_AreaShape_Area_um2`);
- the units in `frame.attrs` (pandas keeps them in the Parquet file) and, for readers in other
  languages, as each Parquet column's field metadata `unit` and the schema metadata
  `napari_hcs` (JSON: units, pixel size, instance key, label image column).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..plate.wells import sort_wells
from ..vfs import FileManager, atomic_write
from .profile_tables import number_images

KEY_COLUMNS = ("plate", "well", "field", "label_image")
LABEL_IMAGE = "label_image"
INSTANCE_KEY = "label"
METADATA_KEY = b"napari_hcs"
_PIXEL_POWER = re.compile(r"pixels?(?:\*\*(-?\d+))?")


def physical_unit(unit: str, pixel_size_um: float | None) -> tuple[str, float]:
    """(unit, factor) that `unit` becomes: `pixel**n` (and `1/pixel`) -> `micrometer**n`,
    values times `pixel_size_um**n`; any other unit, or no pixel size, is kept (factor 1)."""
    text = unit.replace(" ", "")
    match = _PIXEL_POWER.fullmatch("pixel**-1" if text == "1/pixel" else text)
    if match is None or not pixel_size_um:
        return unit, 1.0
    power = int(match.group(1) or 1)
    name = "micrometer" if power == 1 else f"micrometer**{power}"
    return name, float(pixel_size_um) ** power


def to_physical(frame: Any, pixel_size_um: float | None) -> Any:
    """A copy of `frame` with its declared pixel columns in micrometres (when known)."""
    units = dict(frame.attrs.get("units") or {})
    out = frame.copy()
    converted = {}
    for column, unit in units.items():
        if column not in out.columns:
            continue
        name, factor = physical_unit(str(unit), pixel_size_um)
        if factor != 1.0:
            out[column] = out[column].astype("float64") * factor
        converted[column] = name
    out = out.copy()  # one block again: a wide table converted column by column is fragmented
    out.attrs = {**frame.attrs, "units": converted, "pixel_size_um": pixel_size_um}
    return out


def add_physical_columns(frame: Any, pixel_size_um: float | None,
                         powers: tuple[int, ...] | None = None) -> Any:
    """A copy of `frame` that keeps its pixel columns and adds each in micrometres beside it
    (`y` -> `y_um`; `area` in pixel**2 -> `area_um2`), when the pixel size is known; only
    those of `powers` (e.g. (1, 2): lengths and areas, not moments) when given."""
    units = dict(frame.attrs.get("units") or {})
    out = frame.copy()
    added_columns = {}
    for column, unit in list(units.items()):
        name, factor = physical_unit(str(unit), pixel_size_um)
        if column not in out.columns or name == unit:
            continue
        power = name.partition("**")[2]
        if powers is not None and int(power or 1) not in powers:
            continue
        added = f"{column}_um{power}"
        added_columns[added] = out[column].astype("float64") * factor
        units[added] = name
    if added_columns:  # at once: a wide table grown column by column is fragmented
        import pandas as pd

        out = pd.concat([out, pd.DataFrame(added_columns, index=out.index)], axis=1)
    out.attrs = {**frame.attrs, "units": units, "pixel_size_um": pixel_size_um}
    return out


def with_keys(frame: Any, *, plate: str, well: str, field: int | None,
              label_image: str | None) -> Any:
    """`frame` with the key columns first (an existing `well` column is replaced)."""
    out = frame.drop(columns=[c for c in KEY_COLUMNS if c in frame.columns])
    keys: dict[str, Any] = {"plate": plate, "well": well, "field": field}
    if label_image is not None:
        keys[LABEL_IMAGE] = label_image
    for i, (name, value) in enumerate(keys.items()):
        out.insert(i, name, value)
    if field is None:
        out["field"] = out["field"].astype("Int64")
    out.attrs = dict(frame.attrs)
    if label_image is not None:
        out.attrs.update({"label_image_column": LABEL_IMAGE, "instance_key": INSTANCE_KEY})
    return out.reset_index(drop=True)


def write_parquet(frame: Any, target: Path) -> None:
    """Write `frame` atomically, its units as column and schema metadata (module docstring)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    units = dict(frame.attrs.get("units") or {})
    fields = [f.with_metadata({**(f.metadata or {}), b"unit": str(units[f.name]).encode()})
              if f.name in units else f for f in table.schema]
    described = {k: v for k, v in frame.attrs.items()
                 if k in ("units", "pixel_size_um", "label_image_column", "instance_key")}
    schema = pa.schema(fields, metadata={**(table.schema.metadata or {}),
                                         METADATA_KEY: json.dumps(described).encode()})
    table = table.cast(schema)
    atomic_write(target, lambda tmp: pq.write_table(table, tmp))


def merged_tables(out: Path, wells: Iterable[str], parts_dir: str) -> dict[str, Any]:
    """The run's final tables: the per-well parts of `wells` concatenated per name (wells in
    plate order), with `ImageNumber` where the tables have sites (`profile_tables`). What
    `merge_tables` writes as Parquet; a writer of other formats takes them from here."""
    import pandas as pd

    parts = FileManager(out, disk_dir=parts_dir)
    by_name: dict[str, list[Any]] = {}
    for well in sort_wells(wells):
        for key in parts.list(f"{well}/", "disk"):
            by_name.setdefault(key.split("/", 1)[1], []).append(parts.load(key, "disk"))
    merged = {}
    for name, frames in sorted(by_name.items()):
        merged[name] = pd.concat(frames, ignore_index=True)
        merged[name].attrs = _merged_attrs(frames)
    return number_images(merged)


def merge_tables(out: Path, wells: Iterable[str], parts_dir: str,
                 tables_dir: str) -> dict[str, Path]:
    """Write `merged_tables` as `tables/<name>.parquet` (atomically)."""
    written = {}
    for name, table in merged_tables(out, wells, parts_dir).items():
        target = out / tables_dir / f"{name}.parquet"
        write_parquet(table, target)
        written[name] = target
    return written


def _merged_attrs(frames: list[Any]) -> dict[str, Any]:
    """The wells' attrs together (the same for every well of a run; units of any well)."""
    attrs: dict[str, Any] = {}
    units: dict[str, Any] = {}
    for frame in frames:
        attrs.update({k: v for k, v in frame.attrs.items() if k != "units"})
        units.update(frame.attrs.get("units") or {})
    if units:
        attrs["units"] = units
    return attrs
