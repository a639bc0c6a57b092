"""CellProfiler features of nuclei, cells and cytoplasm in every channel, through cp-measure.

cp-measure (the CellProfiler team's own extraction of CellProfiler's Measure* modules) computes
the features (`_profile_features`); this module names the results as CellProfiler's database
export does (`_profile_columns`) and links the compartments. Per object set: size and shape
(`AreaShape_*`, with Zernike shape moments and Feret diameters), and per channel intensity
(`Intensity_*`, `Location_*`), Haralick texture at each of `texture_scales` (`Texture_*`),
granularity spectrum (`Granularity_*`), radial distribution (`RadialDistribution_*`), and per
pair of channels correlation, slope, overlap, K, Manders and RWC (`Correlation_*`). The
default is JUMP's production feature set: Costes (half of the correlation time) is added by
`costes=True`, radial Zernike moments by adding `radial_zernikes` to `groups`. Neighbours
(`Neighbors_*`, CellProfiler's MeasureObjectNeighbors: `_neighbors`) as JUMP measures them:
nuclei within 1 px, cells within 5 px and touching.

Tables are CellProfiler's per-object tables: columns `<Compartment>_<feature>`
(`Nuclei_AreaShape_Area`), the links `Cells_Parent_Nuclei`, `Cytoplasm_Parent_Cells`,
`Cytoplasm_Parent_Nuclei`, `Nuclei_Children_Cells_Count`, `Nuclei_Children_Cytoplasm_Count`,
`Cells_Children_Cytoplasm_Count`, and `label` (the object's id in its label image; nucleus k,
cell k and cytoplasm k belong together). The run adds the keys (`executor/profile_tables.py`).

Intensities are divided by `intensity_scale` and clipped to [0, 1] first, as CellProfiler
reads images (a 16-bit image is intensity / 65535). A float image in counts (the mosaic of
illumination-corrected tiles) is first rounded to whole counts, as plate.zarr stores it, so the
features are those of the stored image. Everything runs on the CPU, in the well's worker. No
torch version: the reference implementation is CPU code and the features must match it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from annotated_types import Interval

from ..registry import register
from ._arrays import as_stack
from ._lazy import Table, pd
from ._neighbors import ADJACENT, neighbor_features
from ._params import Fraction, PositiveFloat, PositiveInt
from ._profile_columns import safe_name, units_of
from ._profile_features import (
    GROUPS,
    JUMP_GROUPS,
    FeatureOptions,
    check_options,
    compartment_features,
    option_problems,
    scaled_images,
)
from .cells import label_plane

__all__ = ["GROUPS", "JUMP_GROUPS", "measure_profiles", "object_features", "scaled_images"]

#: object set (the table's name) -> (CellProfiler's compartment, the special input of its labels)
OBJECTS = {"nuclei": ("Nuclei", "nuclei_labels"), "cells": ("Cells", "cells_labels"),
           "cytoplasm": ("Cytoplasm", "cytoplasm_labels")}
#: compartment -> its parents (CellProfiler's IdentifySecondary/TertiaryObjects links)
PARENTS = {"Nuclei": (), "Cells": ("Nuclei",), "Cytoplasm": ("Cells", "Nuclei")}
_OUTPUTS = {name: "table" for name in OBJECTS}
_INPUTS = (*(special for _, special in OBJECTS.values()), "channel_names")
#: Haralick texture's grey levels (CellProfiler: 2..256)
GrayLevels = Annotated[int, Interval(ge=2, le=256)]
#: the largest value of a float image that is still read as counts of a 16-bit plate
_COUNTS_MAX = 65535.0
#: a float channel within +-this is a rescaled image, not counts (`executor/fitting.py`)
_COUNTS_LIMIT = 16.0


def object_features(labels: np.ndarray, images: dict[str, np.ndarray], **options: object
                    ) -> Table:
    """One row per object of `labels` (any ids), cp-measure's features under CellProfiler's
    names, unprefixed (`AreaShape_Area`); `options`: `FeatureOptions` fields. The first column
    is `label`; `attrs["units"]` lists the length-like columns."""
    table = compartment_features({"objects": labels}, images, FeatureOptions(**options))[
        "objects"]
    table.attrs["units"] = {c: u for c in table.columns if (u := units_of(c))}
    return table


def as_stored(stack: np.ndarray) -> np.ndarray:
    """A float stack in counts rounded to whole counts, as `executor/fitting.py` stores it for
    a 16-bit plate (every value finite and rounding into 0..65535, every channel beyond +-16 or
    whole already); other stacks as they are."""
    a = np.asarray(stack)
    if a.dtype.kind != "f" or not a.size:
        return a
    for channel in a:
        lo, hi = float(channel.min()), float(channel.max())
        if not (np.isfinite(lo) and np.isfinite(hi)) or np.rint(lo) < 0 \
                or np.rint(hi) > _COUNTS_MAX:
            return a
        if max(-lo, hi) <= _COUNTS_LIMIT and not np.array_equal(channel, np.rint(channel)):
            return a
    return np.rint(a)


def _names(channel_names: Sequence[str] | None, n: int, func: str) -> list[str]:
    names = [str(c) for c in channel_names] if channel_names is not None else [
        str(i) for i in range(1, n + 1)]
    if len(names) != n:
        raise ValueError(f"{func}: {len(names)} channel names for a stack of {n} images; the "
                         "step must stack channels (variable_components=('channel',))")
    if len({safe_name(x) for x in names}) != n:
        raise ValueError(f"{func}: channel names {names} are not distinct as column names")
    return names


@register(memory="numpy", category="measurement", special_inputs=_INPUTS,
          special_outputs=_OUTPUTS, requires={"cp_measure": "profiles"})
def measure_profiles(
    stack: np.ndarray, nuclei_labels: np.ndarray, cells_labels: np.ndarray,
    cytoplasm_labels: np.ndarray, channel_names: Sequence[str] | None = None,
    groups: tuple[str, ...] = JUMP_GROUPS, texture_scales: tuple[int, ...] = (3, 5, 10),
    gray_levels: GrayLevels = 256, intensity_scale: PositiveFloat = 65535.0,
    radial_bins: PositiveInt = 4, zernike_degree: PositiveInt = 9,
    granularity_spectrum: PositiveInt = 16, granularity_subsample: Fraction = 0.25,
    granularity_background_subsample: Fraction = 0.25, costes: bool = False,
    advanced_shape: bool = False, nuclei_neighbor_distance: PositiveInt = 1,
    cells_neighbor_distance: PositiveInt = 5,
) -> tuple[np.ndarray, Table, Table, Table]:
    """CellProfiler features of nuclei, cells and cytoplasm in every channel (cp-measure).

    The stack holds the channels (C, Y, X) of the segmented plane. `groups`: which feature
    groups (default JUMP's: sizeshape, zernike, feret, intensity, texture, granularity,
    radial_distribution, correlation; also radial_zernikes); `costes`: add Costes' Manders
    coefficients (slow; off in JUMP); `advanced_shape`: add CellProfiler's advanced shape
    features (moments, inertia tensor); `texture_scales`: Haralick distances (px);
    `intensity_scale`: the value that reads as 1.0 (65535 for 16-bit, as CellProfiler);
    `radial_bins`, `zernike_degree`, `granularity_spectrum`, `granularity_subsample`,
    `granularity_background_subsample`: as in CellProfiler (JUMP: 4, 9, 16, 0.5, 0.5);
    `nuclei_neighbor_distance`, `cells_neighbor_distance`: MeasureObjectNeighbors' expansion
    (px) for nuclei among nuclei and cells among cells (JUMP's 1 and 5; cells also touching).
    Returns (stack, nuclei table, cells table, cytoplasm table): one row per object, `label` =
    the object's id, CellProfiler's `<Compartment>_<feature>` columns and compartment links
    (module docstring); `attrs["labels"]` names the label image, `attrs["compartment"]` the
    compartment.
    """
    func = "measure_profiles"
    options = _options(groups, texture_scales, gray_levels, radial_bins, zernike_degree,
                       granularity_spectrum, granularity_subsample,
                       granularity_background_subsample, costes, intensity_scale,
                       advanced_shape)
    check_options(func, options, intensity_scale)
    a = as_stack(stack, func)
    images = scaled_images(as_stored(a), _names(channel_names, a.shape[0], func),
                           intensity_scale)
    planes = {}
    for (name, (_, special)), labels in zip(OBJECTS.items(),
                                            (nuclei_labels, cells_labels, cytoplasm_labels),
                                            strict=True):
        planes[name] = label_plane(labels, func, special)
        if planes[name].shape != a.shape[1:]:
            raise ValueError(f"{func}: {name} labels {planes[name].shape} and stack "
                             f"{a.shape[1:]} differ")
    measured = compartment_features(planes, images, options)
    if "neighbors" in options.groups:
        distances = {"nuclei": (int(nuclei_neighbor_distance),),
                     "cells": (int(cells_neighbor_distance), ADJACENT)}
        for name, scales in distances.items():
            measured[name] = _with_neighbors(measured[name], planes[name], scales)
    ids = {OBJECTS[name][0]: table["label"].to_numpy() for name, table in measured.items()}
    tables = [compartment_table(measured[name], compartment, special, ids)
              for name, (compartment, special) in OBJECTS.items()]
    return (stack, *tables)


def _options(groups: Sequence[str], texture_scales: Sequence[int], gray_levels: int,
             radial_bins: int, zernike_degree: int, granularity_spectrum: int,
             granularity_subsample: float, granularity_background_subsample: float,
             costes: bool, intensity_scale: float, advanced_shape: bool) -> FeatureOptions:
    return FeatureOptions(
        groups=tuple(groups), texture_scales=tuple(int(s) for s in texture_scales),
        gray_levels=int(gray_levels), radial_bins=int(radial_bins),
        zernike_degree=int(zernike_degree), granularity_spectrum=int(granularity_spectrum),
        granularity_subsample=float(granularity_subsample),
        granularity_background_subsample=float(granularity_background_subsample),
        costes=bool(costes), costes_scale=max(int(round(intensity_scale)), 1),
        advanced_shape=bool(advanced_shape))


def compile_check(kwargs: dict[str, Any], pixel_size_um: float | None = None, roots: Any = None,
                  channel_names: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(parameter, message) for options that measure nothing or cost without end
    (`_profile_features.option_problems`), before any well runs."""
    import inspect

    wanted = inspect.signature(_options).parameters
    given = {name: p.default for name, p in inspect.signature(measure_profiles).parameters.items()
             if name in wanted}
    given.update({k: v for k, v in kwargs.items() if k in wanted})
    try:
        options = _options(**given)
    except (TypeError, ValueError, OverflowError):  # a wrong type: the call names it
        return []
    return [(name, f"measure_profiles: {name!r} {problem}")
            for name, problem in option_problems(options, given["intensity_scale"])]


def _with_neighbors(table: Table, labels: np.ndarray, scales: Sequence[int | str]) -> Table:
    """`table` with CellProfiler's `Neighbors_*` columns of its objects at each scale."""
    from cp_measure._sanitize import sanitize_masks

    clean, ids = sanitize_masks(labels)
    if not ids.size:
        return table
    columns: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an object with no neighbour: NaN
        for scale in scales:
            columns.update(neighbor_features(clean, ids, scale))
    out = pd.concat([table, pd.DataFrame(columns, index=table.index)], axis=1)
    out.attrs = dict(table.attrs)
    return out


def warm_up() -> None:
    """Import cp-measure and load every compiled kernel (numba's, from its disk cache; compiled
    and cached on the first call on a machine) on a tiny field: run by each worker at its start
    (`executor/worker.py`; the Dask backend before each well: once per process here), so that
    no well waits for them."""
    global _WARM
    if _WARM:
        return
    field = np.zeros((1, 12, 12), np.float32)
    field[0, 3:9, 3:9] = 1000.0
    labels = np.zeros((12, 12), np.int32)
    labels[3:9, 3:9] = 1
    measure_profiles(np.concatenate([field, field]), labels, labels, labels, ["a", "b"],
                     texture_scales=(1,))
    _WARM = True


_WARM = False


measure_profiles.warm_up = warm_up  # type: ignore[attr-defined]


def compartment_table(features: Table, compartment: str, labels: str,
                      ids: dict[str, np.ndarray]) -> Table:
    """`features` (unprefixed, `label` first) as CellProfiler's table of `compartment`:
    `label`, its parents and children counts, then `<Compartment>_<feature>` columns."""
    own = features["label"].to_numpy()
    links: dict[str, np.ndarray] = {}
    for parent in PARENTS[compartment]:
        links[f"Parent_{parent}"] = np.where(np.isin(own, ids[parent]), own, 0)
    for child, parents in PARENTS.items():
        if compartment in parents:
            links[f"Children_{child}_Count"] = np.isin(own, ids[child]).astype(np.int64)
    renamed = {c: f"{compartment}_{c}" for c in features.columns if c != "label"}
    table = features.rename(columns=renamed)
    for i, (name, values) in enumerate(links.items()):
        table.insert(1 + i, f"{compartment}_{name}", values)
    table.attrs = {"units": {renamed[c]: u for c in features.columns if (u := units_of(c))},
                   "labels": labels, "compartment": compartment}
    return table


measure_profiles.__hcs_compile_check__ = compile_check  # type: ignore[attr-defined]
