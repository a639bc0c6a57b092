"""CellProfiler features of nuclei, cells and cytoplasm in every channel, through cp-measure.

cp-measure (the CellProfiler team's own extraction of CellProfiler's Measure* modules) computes
the features; this module only feeds it and names the results as CellProfiler exports them
(`_profile_columns`). Per object set: size and shape (`AreaShape_*`, with Zernike shape moments
and Feret diameters), and per channel intensity (`Intensity_*`, with quartiles, MAD, edge
intensity and mass displacement; `Location_*`), Haralick texture at each of
`texture_scales` (`Texture_*`), granularity spectrum (`Granularity_*`), radial distribution
and radial Zernike moments (`RadialDistribution_*`), and per pair of channels correlation,
slope, overlap, K, Manders, RWC and Costes (`Correlation_*`).

Intensities are divided by `intensity_scale` and clipped to [0, 1] first, as CellProfiler
reads images (a 16-bit image is intensity / 65535): texture quantises [0, 1] into
`gray_levels`, and the radial and Costes features assume that range. cp-measure runs its numba
kernels (intensity, texture, Feret: 2.8x, 11.6x and 3.6x faster in `bench profiles`, equal to
its default backend within rtol 1e-6 in the tests) when numba is installed; everything runs
on the CPU, in the worker of the well. No torch version: the reference implementation is CPU
code and the features must match it.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import numpy as np
from annotated_types import Interval

from ..registry import register
from ._arrays import as_stack
from ._lazy import Table, pd
from ._params import PositiveFloat, PositiveInt
from ._profile_columns import (
    channel_column,
    correlation_column,
    safe_name,
    shape_column,
    units_of,
)
from .cells import label_plane

GROUPS = ("sizeshape", "zernike", "feret", "intensity", "texture", "granularity",
          "radial_distribution", "radial_zernikes", "correlation")
#: object set (the table's name) -> the special input holding its labels
OBJECTS = {"nuclei": "nuclei_labels", "cells": "cells_labels", "cytoplasm": "cytoplasm_labels"}
_OUTPUTS = {name: "table" for name in OBJECTS}
_INPUTS = (*OBJECTS.values(), "channel_names")
#: Haralick texture's grey levels (CellProfiler: 2..256)
GrayLevels = Annotated[int, Interval(ge=2, le=256)]


@contextmanager
def cp_measure_functions() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """cp-measure's (core, correlation) functions, numba-accelerated where numba is present.

    The accelerator is cp-measure's global setting: it is set only while the functions are
    looked up, so code that calls cp-measure directly afterwards gets its defaults."""
    try:
        import cp_measure
        from cp_measure._detect import HAS_NUMBA
        from cp_measure.bulk import get_core_measurements, get_correlation_measurements
    except ImportError as exc:
        raise ImportError("CellProfiler features need cp-measure: "
                          "pip install 'napari-hcs[profiles]'") from exc
    previous = cp_measure._ACCELERATOR
    cp_measure.set_accelerator("numba" if HAS_NUMBA else None)
    try:
        core = get_core_measurements(sanitize=False)
        correlation = get_correlation_measurements(sanitize=False)
    finally:
        cp_measure.set_accelerator(previous)
    from cp_measure.core.measurecolocalization import get_correlation_overlap

    yield core, {**correlation, "overlap": get_correlation_overlap}


def check_options(func: str, groups: Sequence[str], texture_scales: Sequence[int],
                  gray_levels: int, intensity_scale: float) -> None:
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValueError(f"{func}: parameter 'groups' has unknown {unknown}; "
                         f"choose from {', '.join(GROUPS)}")
    if "texture" in groups and (not texture_scales
                                or any(int(s) < 1 for s in texture_scales)):
        raise ValueError(f"{func}: parameter 'texture_scales' must be whole pixels >= 1, "
                         f"got {list(texture_scales)!r}")
    if not 2 <= gray_levels <= 256:
        raise ValueError(f"{func}: parameter 'gray_levels' must be in 2..256, "
                         f"got {gray_levels!r}")
    if not intensity_scale > 0:
        raise ValueError(f"{func}: parameter 'intensity_scale' must be > 0, "
                         f"got {intensity_scale!r}")


def object_features(
    labels: np.ndarray, images: Mapping[str, np.ndarray], *,
    groups: Sequence[str] = GROUPS, texture_scales: Sequence[int] = (3, 5, 10),
    gray_levels: int = 256, radial_bins: int = 4, zernike_degree: int = 9,
    granularity_spectrum: int = 16, costes_scale: int = 65535,
) -> Table:
    """One row per object of `labels` (any ids), CellProfiler-named columns (module docstring).

    `images`: channel name -> (Y, X) float image already in [0, 1]. The first column is
    `label`; `attrs["units"]` lists the length-like columns.
    """
    # cp-measure warns for each object whose feature is undefined (NaN in the table).
    with cp_measure_functions() as (core, correlation), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from cp_measure._sanitize import sanitize_masks

        clean, ids = sanitize_masks(np.asarray(labels))
        columns: dict[str, np.ndarray] = {"label": ids.astype(np.int64)}
        if ids.size:
            _shape(columns, core, clean, groups, zernike_degree)
            for name, pixels in images.items():
                _per_channel(columns, core, clean, pixels, safe_name(name), groups,
                             texture_scales, gray_levels, radial_bins, zernike_degree,
                             granularity_spectrum)
            if "correlation" in groups:
                _correlations(columns, correlation, clean, images, costes_scale)
    table = pd.DataFrame({k: np.asarray(v, dtype=np.int64 if k == "label" else np.float64)
                          for k, v in columns.items()})
    table.attrs["units"] = {c: u for c in table.columns if (u := units_of(c))}
    return table


def _shape(out: dict, core: dict, clean: np.ndarray, groups: Sequence[str],
           zernike_degree: int) -> None:
    calls = {"sizeshape": {}, "zernike": {"zernike_numbers": zernike_degree}, "feret": {}}
    for group, kwargs in calls.items():
        if group in groups:
            for key, values in core[group](clean, None, **kwargs).items():
                out[shape_column(key)] = values


def _per_channel(out: dict, core: dict, clean: np.ndarray, pixels: np.ndarray, channel: str,
                 groups: Sequence[str], texture_scales: Sequence[int], gray_levels: int,
                 radial_bins: int, zernike_degree: int, granularity_spectrum: int) -> None:
    calls: list[tuple[str, dict]] = [
        ("intensity", {}),
        *[("texture", {"scale": int(s), "gray_levels": int(gray_levels)})
          for s in texture_scales],
        ("granularity", {"granular_spectrum_length": int(granularity_spectrum)}),
        ("radial_distribution", {"bin_count": int(radial_bins)}),
        ("radial_zernikes", {"zernike_degree": int(zernike_degree)}),
    ]
    for group, kwargs in calls:
        if group not in groups:
            continue
        for key, values in core[group](clean, pixels, **kwargs).items():
            column = channel_column(key, channel)
            if column is not None:
                out[column] = values


def _correlations(out: dict, correlation: dict, clean: np.ndarray,
                  images: Mapping[str, np.ndarray], costes_scale: int) -> None:
    for (a, first), (b, second) in itertools.combinations(images.items(), 2):
        a, b = safe_name(a), safe_name(b)
        for name, fn in correlation.items():
            kwargs = {"scale_max": int(costes_scale)} if name == "costes" else {}
            for key, values in fn(first, second, clean, **kwargs).items():
                out[correlation_column(key, a, b)] = values


def scaled_images(stack: np.ndarray, names: Sequence[str], intensity_scale: float
                  ) -> dict[str, np.ndarray]:
    """Channel name -> float64 image / `intensity_scale`, clipped to [0, 1]."""
    return {str(n): np.clip(np.asarray(p, np.float64) / intensity_scale, 0.0, 1.0)
            for n, p in zip(names, stack, strict=True)}


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
          special_outputs=_OUTPUTS)
def measure_profiles(
    stack: np.ndarray, nuclei_labels: np.ndarray, cells_labels: np.ndarray,
    cytoplasm_labels: np.ndarray, channel_names: Sequence[str] | None = None,
    groups: tuple[str, ...] = GROUPS, texture_scales: tuple[int, ...] = (3, 5, 10),
    gray_levels: GrayLevels = 256, intensity_scale: PositiveFloat = 65535.0,
    radial_bins: PositiveInt = 4, zernike_degree: PositiveInt = 9,
    granularity_spectrum: PositiveInt = 16,
) -> tuple[np.ndarray, Table, Table, Table]:
    """CellProfiler features of nuclei, cells and cytoplasm in every channel (cp-measure).

    The stack holds the channels (C, Y, X) of the segmented plane. `groups`: which feature
    groups ({sizeshape, zernike, feret, intensity, texture, granularity, radial_distribution,
    radial_zernikes, correlation}); `texture_scales`: Haralick distances (px);
    `intensity_scale`: the value that reads as 1.0 (65535 for 16-bit, as CellProfiler);
    `radial_bins`, `zernike_degree`, `granularity_spectrum`: as in CellProfiler. Returns
    (stack, nuclei table, cells table, cytoplasm table): one row per object, `label` = the
    object's id (nucleus k, cell k and cytoplasm k belong together), CellProfiler column names;
    each table's `attrs["labels"]` names its label image (`cells_labels`, ...).
    """
    func = "measure_profiles"
    check_options(func, groups, texture_scales, gray_levels, intensity_scale)
    a = as_stack(stack, func)
    images = scaled_images(a, _names(channel_names, a.shape[0], func), intensity_scale)
    options = dict(groups=groups, texture_scales=texture_scales, gray_levels=gray_levels,
                   radial_bins=radial_bins, zernike_degree=zernike_degree,
                   granularity_spectrum=granularity_spectrum,
                   costes_scale=max(int(round(intensity_scale)), 1))
    tables = []
    for (name, special), labels in zip(OBJECTS.items(),
                                       (nuclei_labels, cells_labels, cytoplasm_labels),
                                       strict=True):
        plane = label_plane(labels, func, special)
        if plane.shape != a.shape[1:]:
            raise ValueError(f"{func}: {name} labels {plane.shape} and stack {a.shape[1:]} "
                             "differ")
        table = object_features(plane, images, **options)
        if name != "nuclei":
            table.insert(1, "Parent_Nuclei", table["label"])
        table.attrs["labels"] = special  # the label image whose values `label` holds
        tables.append(table)
    return (stack, *tables)
