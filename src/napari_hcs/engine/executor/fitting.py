"""Fit a well's final fields to the plate's output plan: one shape and one dtype rule per plate.

Shape: every field's image and labels are padded with zeros at the bottom and right (the
mosaic frame keeps its origin, so `positions.parquet` and the tables stay valid) to the plan's
`field_shape`, which the compiler fixed from the nominal extent plus the registration's
`max_shift`. A field larger than that (the registration moved tiles further than it was allowed
to, or a later step enlarged the image) is cropped at the bottom/right, with a warning that
names the well: the plate stays readable, and run.json says what was cut.

Dtype: integer results are stored as they are. A float result of a plate whose input is
integer (illumination correction, background subtraction, blending make floats) returns to the
input dtype, rounded to the nearest integer, when every value is finite and lies within that
dtype's range and every channel is in counts: its values reach beyond +-16 or are whole numbers
already. Rounding then costs at most half a count, which is the input's own quantisation. A
channel within +-16 that is not whole (a normalised 0..1 image) would lose its information, so
such a result stays float (float32; float64 is narrowed to float32).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..compiler.plan import OutputPlan

#: A float channel whose values all lie within +-COUNTS_LIMIT is taken to be rescaled.
COUNTS_LIMIT = 16.0


def fit_shape(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`array` (..., Y, X) padded with zeros / cropped at the bottom-right to (..., *shape)."""
    y, x = array.shape[-2:]
    if (y, x) == tuple(shape):
        return array
    cropped = array[..., : shape[0], : shape[1]]
    pad = [(0, 0)] * (array.ndim - 2) + [(0, shape[0] - cropped.shape[-2]),
                                         (0, shape[1] - cropped.shape[-1])]
    return np.pad(cropped, pad)


def stored_dtype_image(image: np.ndarray, plate_dtype: str) -> np.ndarray:
    """`image` in the dtype it is stored in (module docstring)."""
    if image.dtype == np.bool_:
        return image.astype(np.uint8)
    if image.dtype.kind in "iu":
        return image
    if image.dtype.kind != "f":
        return image.astype(np.float32)
    target = np.dtype(plate_dtype)
    if target.kind in "iu" and _fits_counts(image, target):
        return np.rint(image).astype(target)
    return image.astype(np.float32, copy=False)


def _fits_counts(image: np.ndarray, target: np.dtype) -> bool:
    info = np.iinfo(target)
    channels = image.reshape(image.shape[0], -1) if image.ndim > 1 else image.reshape(1, -1)
    for channel in channels:
        if not channel.size:
            continue
        lo, hi = float(channel.min()), float(channel.max())  # NaN and inf show here
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return False
        if np.rint(lo) < info.min or np.rint(hi) > info.max:
            return False
        if max(-lo, hi) <= COUNTS_LIMIT and not np.array_equal(channel, np.rint(channel)):
            return False
    return True


def fit_field(
    well: str, field: int, image: np.ndarray, labels: Mapping[str, np.ndarray],
    output: OutputPlan | None,
) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """The field's image and labels as plate.zarr stores them, and warnings (naming `well`)."""
    labels = dict(labels)
    if output is None:
        return image, labels, []
    warnings = []
    image = stored_dtype_image(image, output.dtype)
    shape = output.field_shape
    if shape is not None and image.shape[-2:] != tuple(shape):
        y, x = image.shape[-2:]
        if y > shape[0] or x > shape[1]:
            warnings.append(
                f"well {well} field {field}: the result is {y}x{x} px, larger than the plate's "
                f"field shape {shape[0]}x{shape[1]} px fixed before the run (nominal extent + "
                "the registration's max_shift); cropped at the bottom/right. Raise the "
                "positions step's max_shift to keep the whole mosaic")
        image = fit_shape(image, shape)
        labels = {name: fit_shape(lab, shape) for name, lab in labels.items()}
    return image, labels, warnings
