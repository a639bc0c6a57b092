"""Feature tables inside the OME-Zarr, as Fractal and ngio keep them (ngio's "parquet" backend
of Fractal's table specification V1), beside the run's `tables/*.parquet`.

Each field image gets a `tables/` group listing its tables (`{"tables": ["nuclei", ...]}`), and
each table a group holding `table.parquet` (that field's rows) with the attributes ngio reads:

    {"backend": "parquet", "type": "feature_table", "table_version": "1",
     "region": {"path": "../labels/nuclei_labels"}, "instance_key": "label",
     "index_key": "label", "index_type": "int", "measurement_columns": [...],
     "metadata_columns": [...], "categorical_columns": [], "units": {"area": "micrometer**2"}}

A table measured on a label image (its `label_image` column, `executor/tables.py`) is a
`feature_table` whose `region` is that label image: its numeric measurements are its
`measurement_columns`, ids, keys and links (`engine/table_columns.py`: `Metadata_*`,
`ImageNumber`, `ObjectNumber`, `Parent_*`, ...) its `metadata_columns`, any other column (text:
a class) a categorical one. Any other table (per image or per site: `qc`, `image`) is a
`generic_table` (ngio's type for tables of no specific kind; index key `index`, ngio's
default, which names the row number when the table has no such column). Units stay in the
attributes (`units`) and in the Parquet file (pandas' metadata, and each column's Arrow field
metadata `unit`). Rows without a field (a well-level table) go to field 0, the well's first
image. Written in the worker right after the well's fields (a rewritten field takes its old
tables with it); the table's Parquet file first and the listing last, so a listed table is
complete.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from ..table_columns import is_metadata, measurement_columns
from .zarr_group import Group

INSTANCE_KEY = "label"
#: A generic table's index key: ngio's default.
GENERIC_INDEX_KEY = "index"


def write_field_tables(plate_root: Any, well_path: str, tables: Mapping[str, Any]) -> list[str]:
    """Write each of a well's `tables` (name -> DataFrame) into its fields' `tables/` groups;
    returns the `field/name` paths written."""
    plate = Group.existing(plate_root)
    written = []
    for name, frame in tables.items():
        if frame is None or not len(frame.columns):
            continue
        fields = frame["field"].fillna(0).astype("int64") if "field" in frame else None
        groups = frame.groupby(fields.to_numpy()) if fields is not None else [(0, frame)]
        for field, rows in groups:
            path = f"{well_path}/{int(field)}"
            if path not in plate:  # a table of a field that was not written: nothing to hold it
                continue
            rows = rows.reset_index(drop=True)
            rows.attrs = dict(frame.attrs)
            _write_table(plate[path], str(name), rows)
            written.append(f"{int(field)}/{name}")
    return written


def table_attributes(frame: Any) -> dict[str, Any]:
    """The attributes of a table group (module docstring) for `frame`."""
    units = {str(k): str(v) for k, v in (frame.attrs.get("units") or {}).items()}
    images = frame["label_image"].dropna().unique() if "label_image" in frame else []
    if len(images) != 1 or INSTANCE_KEY not in frame:
        return {"backend": "parquet", "type": "generic_table", "table_version": "1",
                "index_key": GENERIC_INDEX_KEY, "index_type": "int",
                **({"units": units} if units else {})}
    label = str(images[0]).rstrip("/").rsplit("/labels/", 1)[-1]
    columns = [str(c) for c in frame.columns if str(c) != INSTANCE_KEY]
    measured = set(measurement_columns(frame))
    return {
        "backend": "parquet", "index_key": INSTANCE_KEY, "index_type": "int",
        "table_version": "1", "type": "feature_table",
        "region": {"path": f"../labels/{label}"}, "instance_key": INSTANCE_KEY,
        "categorical_columns": [c for c in columns
                                if c not in measured and not is_metadata(c)],
        "measurement_columns": [c for c in columns if c in measured],
        "metadata_columns": [c for c in columns if is_metadata(c)], "units": units,
    }


def _parquet_bytes(rows: Any) -> bytes:
    """`rows` as Parquet, each unit also as its column's Arrow field metadata `unit` (for
    readers that ignore pandas' metadata: polars, duckdb, Arrow in other languages)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(rows, preserve_index=False)  # pandas metadata: attrs, units
    units = dict(rows.attrs.get("units") or {})
    fields = [f.with_metadata({**(f.metadata or {}), b"unit": str(units[f.name]).encode()})
              if f.name in units else f for f in table.schema]
    buffer = io.BytesIO()
    pq.write_table(table.cast(pa.schema(fields, metadata=table.schema.metadata)), buffer)
    return buffer.getvalue()


def _write_table(field: Group, name: str, rows: Any) -> None:
    tables = field.require_group("tables")
    table = tables.require_group(name)
    table.folder.put("table.parquet", _parquet_bytes(rows))
    table.plain_attrs.update(table_attributes(rows))
    listed = list(tables.plain_attrs.get("tables", []))
    if name not in listed:
        tables.plain_attrs["tables"] = [*listed, name]
