"""Per-site image quality, so that out-of-focus, saturated or empty fields can be excluded.

CellProfiler's MeasureImageQuality, per site and channel, on the raw images (run it first, before
illumination correction changes intensities and stitching merges the sites):

- `ImageQuality_FocusScore_<ch>`: the image's variance over its mean (normalised variance;
  falls when the image blurs);
- `ImageQuality_PowerLogLogSlope_<ch>`: the slope of the radially averaged power spectrum in
  log-log axes (CellProfiler's definition, `radial_power_spectrum`); more negative = blurrier,
  the measure CellProfiler recommends for finding out-of-focus fields;
- `ImageQuality_PercentMaximal_<ch>` / `PercentMinimal_<ch>`: % of pixels at the image's maximum
  / minimum (CellProfiler's saturation measures);
- `ImageQuality_PercentSaturated_<ch>`: % of pixels at the detector's saturation value (the
  dtype's maximum for integer images, e.g. 65535; `saturation` sets another);
- `ImageQuality_ThresholdOtsu_<ch>`, `ImageQuality_Background_<ch>` (median of the pixels below
  Otsu's threshold), `ImageQuality_MedianIntensity_<ch>`.

Intensities are divided by `intensity_scale` (65535: CellProfiler's [0, 1] reading of 16-bit
images), so scores compare with CellProfiler's. One row per site, with a `site` column (the
plate's site number, from the plate-provided special input `site_ids`); no length columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..registry import register
from ._arrays import as_stack
from ._lazy import Table, ndi, pd
from ._params import PositiveFloat
from ._profile_columns import safe_name
from ._shared import histogram_centers, otsu_from_histogram

_BINS = 256


def radial_power_spectrum(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(radii, magnitude, power) sums of the image's spectrum per integer radius, as
    `centrosome.radial_power_spectrum.rps` (CellProfiler's), whose own copy fails on numpy 2
    (it calls the removed `ndarray.ptp`); same definition, including its radius convention
    and its truncation at 1/8 of the smaller side."""
    from scipy.fft import fft2  # not at import: the library's listing stays light

    img = np.asarray(image, np.float64)
    h, w = img.shape
    radii2 = np.arange(h).reshape(h, 1) ** 2 + np.arange(w) ** 2
    radii2 = np.minimum(radii2, np.flipud(radii2))
    radii2 = np.minimum(radii2, np.fliplr(radii2))
    spread = float(np.median(np.abs(img - img.mean())))
    if img.max() > img.min() and spread > 0:
        img = img / spread  # intensity invariant
    magnitude = np.abs(fft2(img - img.mean()))
    radii = np.floor(np.sqrt(radii2)).astype(int) + 1
    labels = np.arange(2, np.floor(min(h, w) / 8.0)).astype(int)  # skip the DC component
    if not len(labels):
        return np.array([2]), np.array([0.0]), np.array([0.0])
    return (labels, np.asarray(ndi.sum(magnitude, radii, labels)),
            np.asarray(ndi.sum(magnitude**2, radii, labels)))


def power_log_log_slope(image: np.ndarray) -> float:
    """CellProfiler's PowerLogLogSlope of one 2-D image (0 when it cannot be fitted)."""
    radii, magnitude, power = radial_power_spectrum(image)
    valid = magnitude > 0
    if not np.sum(magnitude) > 0 or np.count_nonzero(valid) < 2:
        return 0.0
    design = np.column_stack([np.log(radii[valid]), np.ones(np.count_nonzero(valid))])
    return float(np.linalg.lstsq(design, np.log(power[valid]), rcond=None)[0][0])


def image_quality(plane: np.ndarray, intensity_scale: float = 65535.0,
                  saturation: float | None = None) -> dict[str, float]:
    """Quality scores of one raw 2-D image (module docstring), by feature name."""
    raw = np.asarray(plane)
    if saturation is None and np.issubdtype(raw.dtype, np.integer):
        saturation = float(np.iinfo(raw.dtype).max)
    x = raw.astype(np.float64) / intensity_scale
    n = x.size
    mean = float(x.mean())
    flat = float(x.max()) == float(x.min())
    otsu = float(x.min()) if flat else _otsu(x)
    below = x[x <= otsu]
    return {
        "FocusScore": float(x.var() / mean) if mean > 0 else 0.0,
        "PowerLogLogSlope": 0.0 if flat else power_log_log_slope(x),
        "PercentMaximal": 100.0 * np.count_nonzero(x == x.max()) / n,
        "PercentMinimal": 100.0 * np.count_nonzero(x == x.min()) / n,
        "PercentSaturated": (100.0 * np.count_nonzero(raw >= saturation) / n
                             if saturation is not None else float("nan")),
        "ThresholdOtsu": otsu,
        "Background": float(np.median(below)) if below.size else otsu,
        "MedianIntensity": float(np.median(x)),
    }


def _otsu(x: np.ndarray) -> float:
    """Otsu's threshold from a 256-bin histogram (scikit-image's `threshold_otsu`)."""
    lo, hi = float(x.min()), float(x.max())
    hist, _ = np.histogram(x, bins=_BINS, range=(lo, hi))
    return otsu_from_histogram(hist, histogram_centers(lo, hi, _BINS))


def _per_image(values: Sequence[Any] | None, n: int, name: str, func: str) -> list:
    if values is None or len(values) != n:
        got = "none" if values is None else len(values)
        raise ValueError(f"{func}: {got} {name} for a stack of {n} images (the plate provides "
                         f"{name!r}; do not pass it as a parameter)")
    return list(values)


@register(memory="numpy", category="measurement",
          special_inputs=("channel_names", "site_ids"), special_outputs={"qc": "table"})
def measure_image_quality(
    stack: np.ndarray, channel_names: Sequence[str] | None = None,
    site_ids: Sequence[int] | None = None, intensity_scale: PositiveFloat = 65535.0,
    saturation: PositiveFloat | None = None,
) -> tuple[np.ndarray, Table]:
    """Per-site image quality: focus (PowerLogLogSlope, FocusScore), saturation, background.

    Run it on the raw images, first in the pipeline, with any `variable_components`
    (("channel",): one call per site). `intensity_scale`: the value that reads as 1.0 (65535
    for 16-bit, as CellProfiler); `saturation`: the detector's saturated value (default: the
    integer dtype's maximum). Returns (stack unchanged, table): one row per site,
    `ImageQuality_<score>_<channel>` columns.
    """
    func = "measure_image_quality"
    if not intensity_scale > 0:
        raise ValueError(f"{func}: parameter 'intensity_scale' must be > 0, "
                         f"got {intensity_scale!r}")
    a = as_stack(stack, func)
    names = _per_image(channel_names, a.shape[0], "channel_names", func)
    sites = _per_image(site_ids, a.shape[0], "site_ids", func)
    rows: dict[int, dict[str, float]] = {}
    for plane, name, site in zip(a, names, sites, strict=True):
        row = rows.setdefault(int(site), {"site": int(site)})
        for score, value in image_quality(plane, intensity_scale, saturation).items():
            column = f"ImageQuality_{score}_{safe_name(name)}"
            if column in row:
                raise ValueError(f"{func}: site {site} channel {name!r} was stacked twice; "
                                 "stack channels or sites, not z or timepoints")
            row[column] = value
    table = pd.DataFrame([rows[s] for s in sorted(rows)])
    table.attrs["units"] = {}
    table.attrs["cellprofiler"] = "image"  # one row per site: Metadata_* keys in the run
    return stack, table
