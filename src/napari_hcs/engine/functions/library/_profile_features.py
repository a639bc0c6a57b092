"""CellProfiler features of several object sets of one field, through cp-measure.

cp-measure (the CellProfiler team's extraction of CellProfiler's Measure* modules) computes
every feature; this module feeds it and shares what does not depend on the object set or the
channel: the granularity image work once per channel for all object sets (`_granularity`),
the radial geometry once per object set for all channels (`_radial`). cp-measure's numba
kernels for texture and Feret diameters run when numba is installed (they cache their compiled
code on disk: `cache=True`); its intensity kernel is not used (`cp_measure_functions`). Names
are cp-measure's (`AreaShape_Area`, `Intensity_*`, ...); `_profile_columns` turns them into
CellProfiler's export names.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._granularity import granularity, granularity_operators
from ._lazy import Table, pd
from ._profile_columns import channel_column, correlation_column, safe_name, shape_column
from ._radial import radial_features, radial_geometry

#: JUMP's production feature set (imaging-platform-pipelines JUMP_analysis_v3.cppipe):
#: no radial Zernikes, no Costes (`costes=True` adds it), no advanced shape moments.
#: `neighbors` is measured by `measure_profiles` (it needs to know which set is which).
JUMP_GROUPS = ("sizeshape", "zernike", "feret", "intensity", "texture", "granularity",
               "radial_distribution", "correlation", "neighbors")
GROUPS = (*JUMP_GROUPS, "radial_zernikes")
INSTALL = 'pip install "napari-hcs[profiles]"'


@dataclass(frozen=True)
class FeatureOptions:
    """What to measure, with CellProfiler's parameters (JUMP's choices as defaults)."""

    groups: tuple[str, ...] = JUMP_GROUPS
    texture_scales: tuple[int, ...] = (3, 5, 10)
    gray_levels: int = 256
    radial_bins: int = 4
    zernike_degree: int = 9
    granularity_spectrum: int = 16
    granularity_subsample: float = 0.25
    granularity_background_subsample: float = 0.25
    costes: bool = False
    costes_scale: int = 65535
    advanced_shape: bool = False


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
        raise ImportError(f"CellProfiler features need cp-measure: {INSTALL}") from exc
    previous = cp_measure._ACCELERATOR
    reference = get_core_measurements(sanitize=False)  # the default (numpy) backend
    cp_measure.set_accelerator("numba" if HAS_NUMBA else None)
    try:
        core = get_core_measurements(sanitize=False)
        correlation = get_correlation_measurements(sanitize=False)
    finally:
        cp_measure.set_accelerator(previous)
    # cp-measure 0.3's numba intensity kernel differs from its reference on whole-count images
    # (MassDisplacement by up to 6e-4 relative, the MaxIntensity location among tied pixels)
    # and is no faster there: the reference's, as CellProfiler computes it.
    core["intensity"] = reference["intensity"]
    from cp_measure.core.measurecolocalization import get_correlation_overlap

    yield core, {**correlation, "overlap": get_correlation_overlap}


def compartment_features(label_sets: Mapping[str, np.ndarray],
                         images: Mapping[str, np.ndarray],
                         options: FeatureOptions = FeatureOptions()) -> dict[str, Table]:
    """One table per object set: a row per object of its labels (any ids; `label` = the id),
    cp-measure's features under CellProfiler's names. `images`: channel -> (Y, X) float image
    in [0, 1]."""
    groups = set(options.groups)
    # cp-measure warns for each object whose feature is undefined (NaN in the table).
    with cp_measure_functions() as (core, correlation), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from cp_measure._sanitize import sanitize_masks

        sets = {name: sanitize_masks(np.asarray(labels)) for name, labels in label_sets.items()}
        columns = {name: {"label": ids.astype(np.int64)} for name, (_, ids) in sets.items()}
        measured = {name: clean for name, (clean, ids) in sets.items() if ids.size}
        for name, clean in measured.items():
            _shape(columns[name], core, clean, groups, options)
            geometry = (radial_geometry(clean, options.radial_bins)
                        if "radial_distribution" in groups else None)
            for channel, pixels in images.items():
                _per_channel(columns[name], core, clean, pixels, safe_name(channel), groups,
                             options, geometry)
            if "correlation" in groups:
                _correlations(columns[name], correlation, clean, images, options)
        if "granularity" in groups and measured:
            sets = list(measured.values())
            operators = granularity_operators(sets, options.granularity_subsample)
            for channel, pixels in images.items():
                spectra = granularity(
                    pixels, sets, subsample_size=options.granularity_subsample,
                    image_sample_size=options.granularity_background_subsample,
                    spectrum_length=options.granularity_spectrum, operators=operators)
                for name, spectrum in zip(measured, spectra, strict=True):
                    for key, values in spectrum.items():
                        columns[name][f"{key}_{safe_name(channel)}"] = values
    return {name: pd.DataFrame({k: np.asarray(v, np.int64 if k == "label" else np.float64)
                                for k, v in cols.items()})
            for name, cols in columns.items()}


def _shape(out: dict, core: dict, clean: np.ndarray, groups: set[str],
           options: FeatureOptions) -> None:
    calls = {"sizeshape": {"calculate_advanced": options.advanced_shape},
             "zernike": {"zernike_numbers": options.zernike_degree}, "feret": {}}
    for group, kwargs in calls.items():
        if group in groups:
            for key, values in core[group](clean, None, **kwargs).items():
                out[shape_column(key)] = values


def _per_channel(out: dict, core: dict, clean: np.ndarray, pixels: np.ndarray, channel: str,
                 groups: set[str], options: FeatureOptions, geometry: Any) -> None:
    results: list[dict[str, np.ndarray]] = []
    if "intensity" in groups:
        results.append(core["intensity"](clean, pixels))
    if "texture" in groups:
        results += [core["texture"](clean, pixels, scale=int(s),
                                    gray_levels=int(options.gray_levels))
                    for s in options.texture_scales]
    if geometry is not None:
        results.append(radial_features(geometry, pixels))
    if "radial_zernikes" in groups:
        results.append(core["radial_zernikes"](clean, pixels,
                                               zernike_degree=int(options.zernike_degree)))
    for result in results:
        for key, values in result.items():
            column = channel_column(key, channel)
            if column is not None:
                out[column] = values


def _correlations(out: dict, correlation: dict, clean: np.ndarray,
                  images: Mapping[str, np.ndarray], options: FeatureOptions) -> None:
    for (a, first), (b, second) in itertools.combinations(images.items(), 2):
        a, b = safe_name(a), safe_name(b)
        for name, fn in correlation.items():
            if name == "costes" and not options.costes:
                continue
            kwargs = {"scale_max": int(options.costes_scale)} if name == "costes" else {}
            for key, values in fn(first, second, clean, **kwargs).items():
                out[correlation_column(key, a, b)] = values


#: Upper bounds of the size-like options: beyond them a feature measures nothing (all NaN: a
#: Haralick distance wider than any object has no pixel pairs inside it; radial bins thinner
#: than a pixel are empty) or costs without end (each granularity step is an opening of the
#: whole image; Zernike features grow as the degree squared). CellProfiler's and JUMP's values
#: (texture 3/5/10 px, 4 bins, degree 9, 16 steps) lie well inside.
MAX_TEXTURE_SCALE = 64  # px: 20 µm at 0.3 µm/px, a whole cell
MAX_TEXTURE_SCALES = 8
MAX_RADIAL_BINS = 32
MAX_ZERNIKE_DEGREE = 30
MAX_GRANULARITY_SPECTRUM = 64


def option_problems(options: FeatureOptions, intensity_scale: float) -> list[tuple[str, str]]:
    """(parameter, what is wrong with it) for each option that is not allowed."""
    found = []
    unknown = [g for g in options.groups if g not in GROUPS]
    if unknown:
        found.append(("groups", f"has unknown {unknown}; choose from {', '.join(GROUPS)}"))
    scales = options.texture_scales
    if "texture" in options.groups and (not scales or any(
            not 1 <= int(s) <= MAX_TEXTURE_SCALE for s in scales)
            or len(scales) > MAX_TEXTURE_SCALES):
        found.append(("texture_scales", f"must be 1 to "
                      f"{MAX_TEXTURE_SCALES} distances of 1..{MAX_TEXTURE_SCALE} px (wider than "
                      f"any object measures nothing), got {list(scales)!r}"))
    if not 2 <= options.gray_levels <= 256:
        found.append(("gray_levels", f"must be in 2..256, got {options.gray_levels!r}"))
    for name, limit in (("radial_bins", MAX_RADIAL_BINS), ("zernike_degree", MAX_ZERNIKE_DEGREE),
                        ("granularity_spectrum", MAX_GRANULARITY_SPECTRUM)):
        if not 1 <= getattr(options, name) <= limit:
            found.append((name, f"must be in 1..{limit}, got {getattr(options, name)!r}"))
    for name in ("granularity_subsample", "granularity_background_subsample"):
        if not 0 < getattr(options, name) <= 1:
            found.append((name, f"must be in (0, 1], got {getattr(options, name)!r}"))
    if not intensity_scale > 0:
        found.append(("intensity_scale", f"must be > 0, got {intensity_scale!r}"))
    return found


def check_options(func: str, options: FeatureOptions, intensity_scale: float) -> None:
    """ValueError naming `func` and the first option that is not allowed."""
    for name, problem in option_problems(options, intensity_scale):
        raise ValueError(f"{func}: parameter {name!r} {problem}")


def scaled_images(stack: np.ndarray, names: Sequence[str], intensity_scale: float
                  ) -> dict[str, np.ndarray]:
    """Channel name -> float64 image / `intensity_scale`, clipped to [0, 1]."""
    return {str(n): np.clip(np.asarray(p, np.float64) / intensity_scale, 0.0, 1.0)
            for n, p in zip(names, stack, strict=True)}
