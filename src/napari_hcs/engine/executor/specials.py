"""Special outputs of one well: kept for later steps' special inputs and collected by kind.

Kinds (registry docstring): `labels` -> OME-Zarr labels, `table` -> Parquet, `positions` ->
`positions.parquet`, `rois` -> polygons for viewers, `data` -> later steps only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..memory import convert, memory_type_of
from ..plate.model import ImageKey
from .stacking import GroupId, collapsed_key


class SpecialInputError(LookupError):
    """A special input with no (or no unambiguous) value for this well."""


@dataclass
class Produced:
    name: str
    kind: str
    value: Any
    group: dict[str, Any]  # the producing stack's fixed components
    keys: list[ImageKey]  # the images that were stacked into the producing call
    variable: tuple[str, ...]
    step_index: int
    sources: tuple[str, ...] = ()  # what it describes: the call's special inputs and labels


def to_numpy(x: Any) -> Any:
    try:
        kind = memory_type_of(x)
    except TypeError:
        return x
    return x if kind == "numpy" else convert(x, "numpy", "cpu")


class SpecialValues:
    """Everything special that the steps of one well produced, plus what the plate provides."""

    def __init__(self, keys: Sequence[ImageKey], plate_provided: Mapping[str, Any]) -> None:
        self.produced: dict[str, list[Produced]] = {}
        self.plate = dict(plate_provided)
        # Plate-provided values are in layout order; the well's keys are too.
        self.sites = list(dict.fromkeys(k.site for k in keys))
        self.channels = list(dict.fromkeys(k.channel for k in keys))

    def add(self, item: Produced) -> None:
        self.produced.setdefault(item.name, []).append(item)

    def of_kind(self, kind: str) -> list[Produced]:
        return [p for items in self.produced.values() for p in items if p.kind == kind]

    def resolve(
        self, name: str, group: GroupId, keys: Sequence[ImageKey], link: int | None, where: str
    ) -> Any:
        """The value for special input `name` of the stack `keys` (in group `group`)."""
        candidates = self.produced.get(name, [])
        if link is not None and link >= 0:
            candidates = [c for c in candidates if c.step_index == link] or candidates
        if (link is not None and link < 0) or (not candidates and name in self.plate):
            return self._plate_value(name, keys, where)
        if not candidates:
            raise SpecialInputError(f"{where}: special input {name!r} was not produced for this "
                                    "well (its producing step ran on no images?)")
        if len(candidates) == 1:
            return candidates[0].value
        fixed = dict(group)
        match = [c for c in candidates
                 if all(fixed[k] == v for k, v in c.group.items() if k in fixed)]
        if len(match) == 1:
            return match[0].value
        raise SpecialInputError(
            f"{where}: special input {name!r} was produced {len(candidates)} times "
            f"(by stacks {[c.group for c in candidates]}); cannot tell which one to use"
        )

    def _plate_value(self, name: str, keys: Sequence[ImageKey], where: str) -> Any:
        if name not in self.plate:
            raise SpecialInputError(f"{where}: the plate provides no {name!r}")
        value = self.plate[name]
        # One entry per stacked image, picked by the image's site / channel.
        if name == "stage_positions" and len(value) == len(self.sites):
            return np.asarray([value[self.sites.index(k.site)] for k in keys], dtype=np.float64)
        if name == "channel_names" and len(value) == len(self.channels):
            return [value[self.channels.index(k.channel)] for k in keys]
        if name == "site_ids":
            return [int(k.site) for k in keys]
        return value


@dataclass(frozen=True)
class TableContext:
    """What turns a function's per-well table into the run's table (`executor/tables.py`):
    the plate's name and pixel size, the sites of the well's fields in field order, and the
    names of the well's label images."""

    plate: str
    sites: tuple[int, ...]
    label_names: frozenset[str]
    pixel_size_um: float | None


def positions_frame(well: str, items: list[Produced],
                    context: TableContext | None = None) -> Any:
    """`plate, well, field, site, y, x[, y_um, x_um]` rows from every `positions` output of a
    well (None if there is none): each tile's top-left corner in the stitched image's frame,
    in pixels, and in micrometres when the plate has a pixel size."""
    import pandas as pd

    frames = []
    for item in items:
        value = to_numpy(item.value)
        if isinstance(value, pd.DataFrame):
            df = value.copy()
        else:
            arr = np.asarray(value, dtype=np.float64).reshape(-1, 2)
            sites = ([k.site for k in item.keys] if len(arr) == len(item.keys)
                     else list(range(1, len(arr) + 1)))
            df = pd.DataFrame({"site": sites, "y": arr[:, 0], "x": arr[:, 1]})
            df.attrs["units"] = {"y": "pixel", "x": "pixel"}
        frames.append(_finished(df, well, item, context, physical_columns=True))
    return _concat(frames) if frames else None


def table_frames(well: str, items: list[Produced],
                 context: TableContext | None = None) -> dict[str, Any]:
    """One DataFrame per table name; components that differ between producing stacks (e.g.
    `site` when each site was measured separately) become columns after the keys."""
    by_name: dict[str, list[Produced]] = {}
    for item in items:
        by_name.setdefault(item.name, []).append(item)
    tables = {}
    for name, group in by_name.items():
        varying = [c for c in group[0].group
                   if len({str(p.group.get(c)) for p in group}) > 1]
        frames = []
        for p in group:
            df = _frame(p.value).copy()
            for i, c in enumerate(varying):
                if c not in df.columns:
                    df.insert(i, c, p.group[c])
            frames.append(_finished(df, well, p, context))
        tables[name] = _concat(frames)
    return tables


def _frame(value: Any) -> Any:
    import pandas as pd

    return value if isinstance(value, pd.DataFrame) else pd.DataFrame(value)


def _concat(frames: list[Any]) -> Any:
    import pandas as pd

    table = pd.concat(frames, ignore_index=True)
    table.attrs = dict(frames[0].attrs)  # one producer per name: the same units in each
    return table


def _finished(df: Any, well: str, item: Produced, context: TableContext | None,
              physical_columns: bool = False) -> Any:
    """Keys and physical units (`executor/tables.py`); only `well` without a context."""
    from ..vfs.omezarr import well_path
    from .tables import add_physical_columns, to_physical, with_keys

    if context is None:
        return _with_well(df, well)
    field = _field_of(item, context.sites)
    # A table names its label image (`attrs["labels"]`) when its call made several.
    named = df.attrs.get("labels")
    label = named if named in context.label_names else next(
        (n for n in item.sources if n in context.label_names), None)
    image = (f"{well_path(well)}/{field}/labels/{label}"
             if label is not None and field is not None else None)
    if physical_columns:
        physical = add_physical_columns(df, context.pixel_size_um)
    elif df.attrs.get("compartment") or df.attrs.get("cellprofiler"):
        # CellProfiler's names keep CellProfiler's units; µm twins beside them
        physical = add_physical_columns(df, context.pixel_size_um, powers=(1, 2))
    else:
        physical = to_physical(df, context.pixel_size_um)
    return with_keys(physical, plate=context.plate, well=well, field=field, label_image=image)


def _field_of(item: Produced, sites: tuple[int, ...]) -> int | None:
    """The field (index into the well's final sites) a producing stack belongs to."""
    site = item.group.get("site")
    if site is not None and site in sites:
        return sites.index(site)
    return 0 if len(sites) == 1 else None


def _with_well(df: Any, well: str) -> Any:
    if "well" in df.columns:
        df = df.drop(columns="well")
    df.insert(0, "well", well)
    return df.reset_index(drop=True)


def label_planes(items: list[Produced]) -> dict[str, dict[tuple[int, int], np.ndarray]]:
    """name -> {(site, z): 2-D labels}: a (N,Y,X) output maps onto its stack's images, a
    single plane onto the collapsed key (site 1 for a mosaic)."""
    out: dict[str, dict[tuple[int, int], np.ndarray]] = {}
    for item in items:
        arr = np.asarray(to_numpy(item.value))
        planes = arr[None] if arr.ndim == 2 else arr
        if len(planes) == len(item.keys):
            keys = item.keys
        else:
            keys = [collapsed_key(item.keys[0], item.variable)]
            planes = planes[:1]
        for key, plane in zip(keys, planes, strict=False):
            out.setdefault(item.name, {})[(key.site, key.z)] = plane
    return out
