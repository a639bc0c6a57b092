"""Bounds on plate metadata that no instrument reaches, checked before anything is allocated.

A metadata file is read before any pixel, and its numbers size loops and lists (an HTD
`YWells` of 2e9 makes a 2e9-step loop). Every count a reader takes from metadata goes through
`count` first, so an absurd or malformed value fails at once with one line naming the file and
the key. The bounds are generous: the densest SBS plate has 3456 wells (48 x 72); acquisitions
stay far below 10,000 fields, 100 channels and 10,000 planes or timepoints; TIFF and camera
sides stay below 65,536 pixels.
"""

from __future__ import annotations

from pathlib import Path

from .model import PlateError

MAX_ROWS = 48
MAX_COLUMNS = 72
MAX_WELLS = MAX_ROWS * MAX_COLUMNS
MAX_SITES = 10_000
MAX_CHANNELS = 100
MAX_PLANES = 10_000  # z planes, and timepoints
MAX_SIDE = 65_536  # pixels along y or x of one image


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
