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
        return _rounded(list(image), target)
    return image.astype(np.float32, copy=False)


def stored_field(channels: list[np.ndarray], plate_dtype: str | None,
                 field_shape: tuple[int, int] | None = None) -> np.ndarray:
    """The (C, ...) field of a list of channel arrays of one shape in the dtype it is stored
    in (module docstring; `plate_dtype` None: stacked as they are). Float channels that
    return to the plate's integer dtype are rounded straight into the stored stack: a
    mosaic-sized float stack is never made; when they fit in the plate's `field_shape`, that
    stack already has it (zero-padded, as `fit_shape` would pad it, without a second copy)."""
    if plate_dtype is None or any(c.dtype.kind != "f" for c in channels):
        stacked = np.stack(channels)
        return stacked if plate_dtype is None else stored_dtype_image(stacked, plate_dtype)
    target = np.dtype(plate_dtype)
    if target.kind in "iu" and _fits_counts(channels, target):
        return _rounded(channels, target, field_shape)
    return np.stack([c.astype(np.float32, copy=False) for c in channels])


def _rounded(channels: list[np.ndarray], target: np.dtype,
             field_shape: tuple[int, int] | None = None) -> np.ndarray:
    """`np.rint(stack).astype(target)`, a channel at a time through one scratch plane, padded
    with zeros at the bottom/right to `field_shape` when the channels fit inside it."""
    shape = channels[0].shape
    y, x = shape[-2:]
    if field_shape is not None and y <= field_shape[0] and x <= field_shape[1]:
        out = np.zeros((len(channels), *shape[:-2], *field_shape), target)
    else:
        out = np.empty((len(channels), *shape), target)
    scratch = np.empty(shape, np.result_type(*channels))
    for c, channel in enumerate(channels):
        np.rint(channel, out=scratch)
        out[c, ..., :y, :x] = scratch
    return out


def _fits_counts(channels: np.ndarray | list[np.ndarray], target: np.dtype) -> bool:
    info = np.iinfo(target)
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
    if shape is not None:  # the image may come padded already (`stored_field`), labels not
        labels = {name: fit_shape(lab, shape) for name, lab in labels.items()}
    return image, labels, warnings
