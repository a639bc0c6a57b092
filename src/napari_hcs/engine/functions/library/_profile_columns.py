"""CellProfiler column names and units for cp-measure's results.

cp-measure names a feature without its image (`Intensity_MeanIntensity`, `Contrast_3_00_256`,
`Area`); CellProfiler's export names it `<Category>_<Feature>[_<Image>][_<parameters>]`:
`Intensity_MeanIntensity_DAPI`, `Texture_Contrast_DAPI_3_00_256`, `AreaShape_Area`,
`Granularity_1_DAPI`, `RadialDistribution_FracAtD_DAPI_1of4`,
`Correlation_Correlation_DAPI_Actin`. These are the names of our tables, so that CellProfiler
users (and tools such as pycytominer) find their features where they expect them.

Units: the length-like columns (in pixels) are listed by `units_of` for the table contract
(`frame.attrs["units"]`): lengths and positions "pixel", areas "pixel**2", raw and central
moments "pixel**(p+q+2)" (a moment is an integral over the object's area), the inertia tensor
and its eigenvalues "pixel**2", the distances to the closest neighbours "pixel". Everything
else (intensities, ratios, angles, texture, granularity, correlations) is not a length and is
not listed.
"""

from __future__ import annotations

import re

_TEXTURE = re.compile(r"^(?P<feature>[A-Za-z0-9]+)_(?P<params>\d+_\d+_\d+)$")
_RADIAL = re.compile(r"^RadialDistribution_(?P<feature>[A-Za-z]+)_(?P<params>.+)$")
_LOCATION = re.compile(r"^Location_(?P<feature>[A-Za-z]+)_(?P<axis>[XYZ])$")

_AREAS = {"Area", "BoundingBoxArea", "ConvexArea", "FilledArea"}
_LENGTHS = {
    "EquivalentDiameter", "Perimeter", "PerimeterCrofton", "MajorAxisLength",
    "MinorAxisLength", "MaximumRadius", "MeanRadius", "MedianRadius", "MaxFeretDiameter",
    "MinFeretDiameter", "Center_X", "Center_Y", "BoundingBoxMinimum_X", "BoundingBoxMaximum_X",
    "BoundingBoxMinimum_Y", "BoundingBoxMaximum_Y",
}
_MOMENT = re.compile(r"^AreaShape_(Spatial|Central)Moment_(\d+)_(\d+)$")
_INERTIA = re.compile(r"^AreaShape_InertiaTensor(Eigenvalues)?_")


def safe_name(name: str) -> str:
    """A channel or object name as it may appear inside a column name (letters, digits, _)."""
    cleaned = re.sub(r"\W+", "_", str(name)).strip("_")
    return cleaned or "channel"


def shape_column(key: str) -> str:
    """`Area` -> `AreaShape_Area`, `Zernike_2_0` -> `AreaShape_Zernike_2_0`."""
    return f"AreaShape_{key}"


def channel_column(key: str, channel: str) -> str | None:
    """cp-measure's per-image feature `key` measured on `channel`, named as CellProfiler does;
    None for a column that is constant in 2-D (the Z of a location)."""
    if key.startswith("Intensity_"):
        return f"{key}_{channel}"
    m = _LOCATION.match(key)
    if m:
        return None if m["axis"] == "Z" else f"Location_{m['feature']}_{m['axis']}_{channel}"
    if key.startswith("Granularity_"):
        return f"{key}_{channel}"
    m = _RADIAL.match(key)
    if m:
        return f"RadialDistribution_{m['feature']}_{channel}_{m['params']}"
    m = _TEXTURE.match(key)
    if m:
        return f"Texture_{m['feature']}_{channel}_{m['params']}"
    raise ValueError(f"unexpected cp-measure feature name {key!r}")


def correlation_column(key: str, first: str, second: str) -> str:
    """`Correlation_Manders_1` of (DAPI, Actin) -> `Correlation_Manders_DAPI_Actin`; `_2` is the
    second image's coefficient -> `Correlation_Manders_Actin_DAPI`; `Correlation_Pearson` ->
    `Correlation_Correlation_DAPI_Actin` (CellProfiler's name for Pearson's r)."""
    stem, _, which = key.rpartition("_")
    if which == "2":
        return f"{stem}_{second}_{first}"
    if which == "1":
        return f"{stem}_{first}_{second}"
    if key == "Correlation_Pearson":
        key = "Correlation_Correlation"
    return f"{key}_{first}_{second}"


def units_of(column: str) -> str | None:
    """The unit of a length-like column ("pixel", "pixel**2", ...), None for the others."""
    if column.startswith("AreaShape_"):
        feature = column.removeprefix("AreaShape_")
        if feature in _AREAS:
            return "pixel**2"
        if feature in _LENGTHS:
            return "pixel"
        m = _MOMENT.match(column)
        if m:
            return f"pixel**{int(m[2]) + int(m[3]) + 2}"
        if _INERTIA.match(column):
            return "pixel**2"
        return None
    if column.startswith(("Location_", "Intensity_MassDisplacement_",
                           "Neighbors_FirstClosestDistance_", "Neighbors_SecondClosestDistance_")):
        return "pixel"
    return None
