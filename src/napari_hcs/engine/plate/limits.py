"""Bounds on plate metadata that no instrument reaches, checked before anything is allocated.

A metadata file is read before any pixel, and its numbers size loops and lists (an HTD
`YWells` of 2e9 makes a 2e9-step loop). Every count a reader takes from metadata goes through
`count` first, so an absurd or malformed value fails at once with one line naming the file and
the key. The bounds are generous: the densest SBS plate has 3456 wells (48 x 72); acquisitions
stay far below 10,000 fields, 100 channels and 10,000 planes or timepoints; TIFF and camera
sides stay below 65,536 pixels.

Files are bounded the same way before anything is decoded (`tiff_structure.py`,
`input_files.py`): a TIFF of a plate holds one plane, so more than `MAX_TIFF_PAGES` pages (or an
IFD chain that loops) is no plate's; one image (a TIFF plane, an OME-Zarr field's plane or
chunk) may not decode to more than `MAX_IMAGE_BYTES` (a 5120 x 5120 sCMOS tile at 16 bits is
50 MiB); a compressed plane may not declare more than `MAX_COMPRESSION_RATIO` times its stored
bytes (deflate and LZW stop near 1,000-1,400 on constant data; camera noise compresses 2-4x);
a metadata file (HTD, Harmony index, zarr JSON) is read only up to `MAX_METADATA_BYTES`.
"""

from __future__ import annotations

import math
from pathlib import Path

from .model import PlateError

MAX_ROWS = 48
MAX_COLUMNS = 72
MAX_WELLS = MAX_ROWS * MAX_COLUMNS
MAX_SITES = 10_000
MAX_CHANNELS = 100
MAX_PLANES = 10_000  # z planes, and timepoints
MAX_SIDE = 65_536  # pixels along y or x of one image
MAX_TIFF_PAGES = 64
MAX_IMAGE_BYTES = 1 << 30
MAX_COMPRESSION_RATIO = 4096
MAX_METADATA_BYTES = 256 << 20  # a 384-well Harmony index is tens of megabytes


def count(value: object, key: str, source: str | Path, limit: int, *, minimum: int = 1) -> int:
    """`value` as an int in `minimum..limit`; PlateError naming `source` and `key` otherwise."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    if number is None:
        raise PlateError(f"{source}: {key} is {value!r}, not a whole number")
    if not minimum <= number <= limit:
        raise PlateError(f"{source}: {key} is {number}, outside {minimum}..{limit} "
                         "(no instrument writes that; the metadata is damaged or not a plate's)")
    return number


def check_shape(shape: tuple[int, ...], source: str | Path) -> tuple[int, int]:
    """An image shape (y, x) within `MAX_SIDE`; PlateError naming `source` otherwise."""
    if len(shape) != 2 or not all(1 <= int(s) <= MAX_SIDE for s in shape):
        raise PlateError(f"{source}: image size {tuple(shape)} is not a 2-D image of 1.."
                         f"{MAX_SIDE} pixels per side")
    return int(shape[0]), int(shape[1])


def check_image_bytes(shape: tuple[int, ...], itemsize: int, source: str | Path,
                      what: str = "image") -> int:
    """The decoded size of an image of `shape` within `MAX_IMAGE_BYTES`; PlateError naming
    `source` otherwise (checked from headers, before anything is allocated)."""
    size = int(itemsize)
    for side in shape:
        size *= int(side)
    if size > MAX_IMAGE_BYTES:
        raise PlateError(f"{source}: {what} of {tuple(int(s) for s in shape)} pixels would "
                         f"decode to {size / 2**30:.1f} GiB, more than the "
                         f"{MAX_IMAGE_BYTES >> 20} MiB one image of a plate may take")
    return size


def finite(value: object, key: str, source: str | Path, *, positive: bool = False) -> float:
    """`value` as a finite float (positive if asked); PlateError naming `source` and `key`
    otherwise (a NaN pixel size would reach every output and JSON cannot carry it)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or (positive and number <= 0):
        need = "a positive finite number" if positive else "a finite number"
        raise PlateError(f"{source}: {key} is {value!r}; expected {need}")
    return number
