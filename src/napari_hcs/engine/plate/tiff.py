"""Reading single-plane TIFFs of a plate, with errors that name the file, and the MetaSeries
XML (pixel size, stage position) that MetaXpress writes into each one.

Both ImageXpress and Harmony write one 2-D TIFF per image. A truncated file (an interrupted copy)
can make tifffile return silently short or zero-filled data, and a hostile one can declare a
giant image in a few bytes, so every file is opened as untrusted input (`input_files`), its IFD
chain walked (`tiff_structure`) and each page's declared pixels compared with the file size and
the plate limits before tifffile decodes anything.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import tifffile

from . import limits
from .input_files import open_regular
from .model import PlateError
from .tiff_structure import walk_ifds

T = TypeVar("T")


def _describe(exc: Exception) -> str:
    """One line about a decoding failure (tifffile sometimes raises a bare KeyError(0))."""
    text = " ".join(str(exc).split())
    return text if len(text) > 3 else f"{type(exc).__name__}({text}), not a valid TIFF"


def _check_page(page: tifffile.TiffPage, path: Path, size: int) -> None:
    """A page's declared pixels against its file, before any is decoded: at most
    `limits.MAX_IMAGE_BYTES`, every strip/tile non-empty and inside the file, and no more
    pixels than its stored bytes can hold (uncompressed: all of them; compressed: at most
    `limits.MAX_COMPRESSION_RATIO` times)."""
    limits.check_image_bytes(page.shape, np.dtype(page.dtype).itemsize, path)
    counts = [int(c) for c in page.databytecounts]
    empty = [i for i, c in enumerate(counts) if c == 0]
    if empty:
        part = "tile" if page.is_tiled else "strip"
        raise PlateError(f"damaged image {path}: {part} {empty[0]} of its pixels has 0 bytes "
                         f"({len(empty)} of {len(counts)} {part}s are empty; re-copy the file "
                         "from the microscope)")
    ends = [int(o) + c for o, c in zip(page.dataoffsets, counts, strict=False)]
    if ends and max(ends) > size:
        raise PlateError(
            f"truncated image {path}: pixel data ends at byte {max(ends)} but the file has "
            f"{size} bytes (re-copy the file from the microscope)"
        )
    stored, declared = sum(counts), int(page.nbytes)
    if page.compression == 1 and stored < declared:  # (tiles are padded: never fewer)
        part = "tiles" if page.is_tiled else "strips"
        raise PlateError(f"truncated image {path}: its {part} hold {stored} bytes, its header "
                         f"declares {declared} bytes of pixels")
    if page.compression != 1 and declared > stored * limits.MAX_COMPRESSION_RATIO:
        raise PlateError(f"{path}: {stored} bytes of compressed pixels declare {declared} "
                         f"bytes, more than {limits.MAX_COMPRESSION_RATIO} times as many; the "
                         "header is damaged or hostile")


@contextmanager
def open_tiff(path: Path) -> Iterator[tuple[tifffile.TiffFile, int]]:
    """(TiffFile, file size) of a regular file whose IFD chain was walked first
    (`tiff_structure`); tifffile decodes, but only what the structure check let through."""
    with open_regular(path) as fh:
        walk_ifds(fh, path)
        fh.seek(0)  # tifffile takes the current position as the file's start
        with tifffile.TiffFile(fh, name=path.name) as tif:
            yield tif, os.fstat(fh.fileno()).st_size


def _first_page(path: Path, read: Callable[[tifffile.TiffPage], T]) -> T:
    """`read(page)` of the first page, after the page check; PlateError naming the file."""
    try:
        with open_tiff(path) as (tif, size):
            page = tif.pages.first
            _check_page(page, path, size)
            return read(page)
    except PlateError:
        raise
    except Exception as exc:
        raise PlateError(f"unreadable image {path}: {_describe(exc)}") from exc


def _check_plane(shape: tuple[int, ...], path: Path) -> None:
    if len(shape) != 2:
        raise PlateError(f"image {path} has shape {shape}; expected one 2-D plane per file")
    limits.check_shape(shape, path)


def tiff_header(path: str | Path) -> tuple[tuple[int, int], str]:
    """(shape (Y, X), dtype name) of the first page, without decoding pixels."""
    path = Path(path)
    shape, dtype = _first_page(
        path, lambda page: (tuple(int(s) for s in page.shape), np.dtype(page.dtype).name))
    _check_plane(shape, path)
    return (shape[0], shape[1]), dtype


def read_tiff_plane(path: str | Path) -> np.ndarray:
    """The first page of a TIFF as a 2-D array; PlateError naming the file on any failure."""
    path = Path(path)
    data = _first_page(path, lambda page: page.asarray())
    _check_plane(data.shape, path)
    return data


def read_tiff_complete(
    path: str | Path, check: Callable[[tuple[int, ...], str], None] | None = None
) -> np.ndarray:
    """The whole TIFF (every page) as tifffile returns it, after the structure and page checks
    (PlateError naming the file); tifffile's own errors pass through unchanged.

    `check(shape, dtype name)` sees the first page's header before any pixel is decoded (to
    refuse an image of the wrong size or pixel type cheaply)."""
    path = Path(path)
    with open_tiff(path) as (tif, size):
        for page in tif.pages:
            _check_page(page, path, size)
        if check is not None:
            page = tif.pages.first
            check(tuple(int(s) for s in page.shape), np.dtype(page.dtype).name)
        series = tif.series[0]
        limits.check_image_bytes(series.shape, np.dtype(series.dtype).itemsize, path)
        return tif.asarray()


#: MetaSeries `spatial-calibration-units` -> micrometres per unit (lower case; None: not a
#: length, e.g. "pixels" when the image is uncalibrated).
_LENGTH_UNITS: dict[str, float | None] = {
    "um": 1.0, "µm": 1.0, "μm": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0,
    "micrometers": 1.0, "micrometre": 1.0, "micrometres": 1.0, "nm": 1e-3, "nanometer": 1e-3,
    "mm": 1e3, "millimeter": 1e3, "pixel": None, "pixels": None, "": 1.0,
}


@dataclass(frozen=True)
class MetaSeriesPlane:
    """What the MetaSeries XML of a MetaXpress/MetaMorph TIFF says about its plane."""

    pixel_size_um: float | None  # spatial-calibration-x (None when uncalibrated)
    stage_um: tuple[float, float] | None  # (stage-position-y, stage-position-x), micrometres


def _positive(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def metaseries_plane(path: str | Path) -> MetaSeriesPlane | None:
    """The MetaSeries calibration and stage position of a TIFF (None when it has no MetaSeries
    XML); reads the first page's tags only. Parsed by tifffile's MetaSeries parser."""
    path = Path(path)
    try:
        with open_tiff(path) as (tif, _):
            metadata = tif.metaseries_metadata
            description = tif.pages.first.description
    except PlateError:
        raise
    except Exception as exc:
        raise PlateError(f"unreadable image {path}: {_describe(exc)}") from exc
    if metadata is None and description.lstrip().startswith("<MetaData>"):
        # A MetaSeries description in a file whose Software tag is not "MetaSeries".
        try:
            metadata = tifffile.tifffile.metaseries_description_metadata(description.strip())
        except Exception:  # malformed XML: the plate simply has no MetaSeries calibration
            metadata = None
    if not metadata:
        return None
    plane = metadata.get("PlaneInfo") or {}
    pixel = _positive(plane.get("spatial-calibration-x"))
    unit = str(plane.get("spatial-calibration-units", "um")).strip().lower()
    factor = _LENGTH_UNITS.get(unit)
    if plane.get("spatial-calibration-state") is False or factor is None:
        pixel = None
    stage_y = _finite(plane.get("stage-position-y"))
    stage_x = _finite(plane.get("stage-position-x"))
    return MetaSeriesPlane(
        pixel_size_um=pixel * factor if pixel is not None and factor is not None else None,
        stage_um=(stage_y, stage_x) if stage_y is not None and stage_x is not None else None,
    )
