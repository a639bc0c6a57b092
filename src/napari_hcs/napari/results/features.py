"""Objects' features as the Results panel uses them: pure functions, no Qt, no viewer.

A labels layer's `features` (one row per object: `index` = the pixel value on the plate view,
`well`, `label`, then the measurements) is the object table. Here: which columns are features,
searching thousands of them, the short set shown on hover (chosen per session), where an object
lies on the plate view (for the camera and the selection marks), and per-well medians (the
plate heatmap).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...engine.table_columns import measurement_columns

#: Columns that identify an object (shown in tables, never offered as a feature).
ID_COLUMNS = ("index", "well", "label")
#: What hover shows first when nobody chose yet: the first of each group the table has.
HOVER_PREFERENCE = (("class",), ("area", "AreaShape_Area"),
                    ("mean_DAPI", "mean_1", "Intensity_MeanIntensity_DAPI"),
                    ("eccentricity", "AreaShape_Eccentricity"))
HOVER_MAX = 6
#: Centroid columns, (y, x), in the order they are looked for: measure_nuclei's, then
#: CellProfiler's. Run tables hold them in micrometres when the plate has a pixel size.
CENTROIDS = (("centroid_y", "centroid_x"), ("AreaShape_Center_Y", "AreaShape_Center_X"),
             ("Location_Center_Y", "Location_Center_X"))


def feature_names(frame: pd.DataFrame) -> list[str]:
    """Every column one can colour, plot or hover by: the measurements (numeric, not ids or
    metadata: `engine/table_columns.py`, the rule the OME-Zarr tables and the classifier use)
    and the classes a classifier gave (`class`, a category)."""
    classes = [str(c) for c in frame.columns
               if str(c).startswith("class") and is_categorical(frame[c])]
    return [*measurement_columns(frame), *classes]


def is_categorical(values: pd.Series) -> bool:
    """Text or category columns with few distinct values (classes, wells) colour by category."""
    if pd.api.types.is_bool_dtype(values):
        return True
    if pd.api.types.is_numeric_dtype(values):
        return False
    return values.nunique(dropna=True) <= 64


def search(names: Sequence[str], text: str) -> list[str]:
    """The names holding every word of `text` (any case, any order): `dapi mean` finds
    `Intensity_MeanIntensity_DAPI`."""
    words = text.lower().split()
    return [n for n in names if all(w in n.lower() for w in words)]


def default_hover(names: Iterable[str]) -> list[str]:
    have = list(names)
    chosen = []
    for group in HOVER_PREFERENCE:
        found = next((n for n in group if n in have), None)
        if found is None and group[0] == "mean_DAPI":  # any channel's mean intensity
            found = next((n for n in have if n.startswith(("mean_", "Intensity_Mean"))), None)
        if found:
            chosen.append(found)
    return chosen


def hover_order(columns: Sequence[str], chosen: Sequence[str]) -> list[str]:
    """Columns in the order napari's status line shows them: `index` (napari's key, not
    shown), `well`, `label`, the chosen features, then everything else (cut off the line)."""
    first = [c for c in ("index", "well", "label", *chosen) if c in columns]
    return list(dict.fromkeys(first)) + [c for c in columns if c not in first]


def hover_text(row: pd.Series, chosen: Sequence[str]) -> str:
    """One line for the hovered object: `B03 #12: area 81.2, mean_DAPI 512`."""
    parts = []
    for name in chosen:
        if name in row.index:
            value = row[name]
            parts.append(f"{name} {value:.4g}" if isinstance(value, (float, np.floating))
                         else f"{name} {value}")
    head = f"{row.get('well', '')} #{row.get('label', row.get('index', ''))}"
    return f"{head}: {', '.join(parts)}" if parts else head


def well_medians(frame: pd.DataFrame, column: str) -> dict[str, float]:
    """The median of `column` over each well's objects (NaN objects left out)."""
    if column not in frame.columns or "well" not in frame.columns:
        return {}
    values = pd.to_numeric(frame[column], errors="coerce")
    medians = values.groupby(frame["well"].astype(str)).median()
    return {str(w): float(v) for w, v in medians.items() if np.isfinite(v)}


@dataclass(frozen=True)
class Placement:
    """How object centroids map to the plate view: each well's cell origin (world units) and
    the factor from the centroid columns' unit to world units."""

    origins: dict[str, tuple[float, float]]
    factor: float = 1.0


def centroid_columns(frame: pd.DataFrame) -> tuple[str, str] | None:
    return next((pair for pair in CENTROIDS if set(pair) <= set(frame.columns)), None)


def object_positions(frame: pd.DataFrame, placement: Placement) -> np.ndarray:
    """(N, 2) world (y, x) of each object's centroid; NaN where unknown (no centroid column,
    a well off the plate)."""
    out = np.full((len(frame), 2), np.nan)
    pair = centroid_columns(frame)
    if pair is None or "well" not in frame.columns:
        return out
    centre = frame[list(pair)].to_numpy(np.float64) * placement.factor
    origin = np.array([placement.origins.get(str(w), (np.nan, np.nan))
                       for w in frame["well"].to_numpy()], np.float64).reshape(-1, 2)
    return origin + centre


def placement_for(geometry: object, wells: Iterable[str], centroid_unit_um: bool) -> Placement:
    """Cell origins of `wells` on the plate view; centroids are in micrometres when the run
    knew the pixel size (run tables are), else in pixels (times the layer scale)."""
    sy, _ = geometry.scale  # type: ignore[attr-defined]
    origins = {}
    for well in wells:
        if geometry.contains(well):  # type: ignore[attr-defined]
            y, x = geometry.origin(well)  # type: ignore[attr-defined]
            origins[well] = (y * sy, x * sy)
    px = geometry.pixel_size_um  # type: ignore[attr-defined]
    return Placement(origins, 1.0 if (centroid_unit_um and px) else float(sy))
