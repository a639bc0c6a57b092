"""Per-well profiles: object counts and robust aggregates of every feature.

A well's objects are all in its worker, so the well's profile is computed there, right after
its features, and merged like any other table (`tables/wells.parquet`, one row per well): no
pass over every object of the plate in the parent process.

Columns, for each object set `<Objects>` (Nuclei, Cells, Cytoplasm):
`Count_<Objects>`, then for every feature `<Objects>_<F>` of its table (CellProfiler's names,
`measure_profiles`) `Median_<Objects>_<F>` (the median over the well's objects) and
`MAD_<Objects>_<F>` (median absolute deviation from that median, unscaled); objects where a
feature is undefined (NaN) are left out of that feature's aggregates. Ids, keys and links
(`engine/table_columns.py`: `Metadata_*`, `ObjectNumber`, `*_Parent_*`, ...) are not features,
nor here `*_Children_*_Count` (links counted: 0 or 1 per object). Medians and MADs keep the
unit of their feature (`attrs["units"]`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping

import numpy as np

from ...table_columns import measurement_columns
from ..registry import register
from ._lazy import Table, pd

_CHILDREN = re.compile(r"(^|_)Children_\w+_Count$")


def well_profile(tables: Mapping[str, Table]) -> Table:
    """One row: counts and per-feature median and MAD of each named object table."""
    columns: dict[str, float] = {}
    units: dict[str, str] = {}
    for objects, table in tables.items():
        name = objects[:1].upper() + objects[1:]
        columns[f"Count_{name}"] = float(len(table))
        features = [c for c in measurement_columns(table) if not _CHILDREN.search(c)]
        values = table[features].to_numpy(dtype=np.float64)
        median = mad = np.full(len(features), np.nan)
        if len(table):
            # All-NaN features (e.g. Costes of anti-correlated stains) have no median: NaN,
            # without numpy's "All-NaN slice" warning for each.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                median = np.nanmedian(values, axis=0)
                mad = np.nanmedian(np.abs(values - median), axis=0)
        table_units = table.attrs.get("units", {})
        for feature, m, d in zip(features, median, mad, strict=True):
            named = feature if feature.startswith(f"{name}_") else f"{name}_{feature}"
            for stat, value in (("Median", m), ("MAD", d)):
                column = f"{stat}_{named}"
                columns[column] = float(value)
                if feature in table_units:
                    units[column] = table_units[feature]
    profile = pd.DataFrame([columns])
    profile.attrs["units"] = units
    profile.attrs["cellprofiler"] = "well"  # one row per well: Metadata_* keys in the run
    return profile


@register(memory="numpy", category="measurement",
          special_inputs=("nuclei", "cells", "cytoplasm"), special_outputs={"wells": "table"})
def aggregate_profiles(
    stack: np.ndarray, nuclei: Table, cells: Table, cytoplasm: Table,
) -> tuple[np.ndarray, Table]:
    """The well's profile: object counts, and median and MAD of every feature per object set.

    Takes the nuclei, cells and cytoplasm tables of `measure_profiles`; returns (stack
    unchanged, one-row table `Count_<Objects>`, `Median_<Objects>_<feature>`,
    `MAD_<Objects>_<feature>`), written as `tables/wells.parquet`.
    """
    for name, table in (("nuclei", nuclei), ("cells", cells), ("cytoplasm", cytoplasm)):
        if not isinstance(table, pd.DataFrame):
            raise ValueError(f"aggregate_profiles: special input {name!r} is a "
                             f"{type(table).__name__}, not a table; link it to "
                             "measure_profiles")
    return stack, well_profile({"nuclei": nuclei, "cells": cells, "cytoplasm": cytoplasm})
