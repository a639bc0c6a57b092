"""Microscope plate formats: detect a plate folder and open it as a `PlateReader`.

Each format is one small module with a `PlateReader` subclass; `FORMATS` lists them in the
order detection tries them (the OME-Zarr check reads one JSON file, the others look for an
index/HTD file name).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from ..roots import UNCONFINED, AllowedRoots
from .imagexpress import ImageXpressReader
from .model import COMPONENTS, ImageKey, PlateError, PlateLayout, PlateReader
from .omezarr import OmeZarrReader
from .phenix import PhenixReader

#: Known formats, in detection order.
FORMATS: tuple[type[PlateReader], ...] = (OmeZarrReader, ImageXpressReader, PhenixReader)

#: Plates addressed by URL instead of folder (`omero://...`) come from the entry-point group
#: below (scheme -> "module:Class"; napari-hcs declares `omero` in pyproject.toml, other packages
#: may add schemes). A reader is imported on first use only, so the engine names no bridge
#: module and imports omero-py only when such a URL is opened.
URL_READER_GROUP = "napari_hcs.plate_sources"

_DESCRIPTIONS = {
    "zarr": "OME-Zarr HCS (plate metadata in .zattrs / zarr.json)",
    "imagexpress": "ImageXpress (a .HTD file)",
    "phenix": "Opera Phenix / Operetta (Images/Index.idx.xml or Index.xml)",
}


def format_names() -> tuple[str, ...]:
    return tuple(reader.format for reader in FORMATS)


def detect_format(path: str | Path) -> str:
    """The format name of the plate at `path`; PlateError naming the folder if none matches."""
    url_reader = _url_reader(path)
    if url_reader is not None:
        return url_reader.format
    root = Path(path)
    if not root.exists():
        raise PlateError(f"no such plate folder: {root}")
    if not root.is_dir():
        raise PlateError(f"{root} is not a folder; a plate is a folder (or a .zarr directory)")
    for reader in FORMATS:
        if reader.detect(root):
            return reader.format
    tried = "; ".join(_DESCRIPTIONS[r.format] for r in FORMATS)
    raise PlateError(f"{root} is not a known plate (tried: {tried})")


def open_plate(path: str | Path, *, roots: AllowedRoots = UNCONFINED) -> PlateReader:
    """Open the plate at `path` with the reader of its format (layout is computed lazily).

    With `roots`, the plate folder and every file the reader lists or opens must resolve under
    one of them (`engine.roots`); URL plates (`omero://`) hold no files and are not checked.
    """
    url_reader = _url_reader(path)
    if url_reader is not None:  # the reader parses the URL (Path would mangle "//")
        return url_reader(str(path))
    if roots.confined:  # detection reads metadata files directly in the folder
        for entry in Path(roots.check(path)).iterdir() if Path(path).is_dir() else ():
            roots.check(entry)
    name = detect_format(path)
    reader = next(r for r in FORMATS if r.format == name)(Path(path))
    reader.roots = roots
    return reader


#: fsspec object stores an OME-Zarr plate may be read from (`omezarr_url`).
OBJECT_STORES = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss")


def _url_reader(path: str | Path) -> type[PlateReader] | None:
    """The reader class for a URL plate (`omero://...`, or `omero:/...` after Path), else None."""
    scheme, sep, _ = str(path).partition(":/")
    if not sep or len(scheme) < 2:  # "C:/..." on Windows is a drive, not a scheme
        return None
    if scheme.lower() in OBJECT_STORES:  # an OME-Zarr plate on object storage
        from .omezarr_url import ObjectStoreOmeZarrReader

        return ObjectStoreOmeZarrReader
    found = entry_points(group=URL_READER_GROUP, name=scheme)
    if not found:
        known = sorted(ep.name for ep in entry_points(group=URL_READER_GROUP))
        raise PlateError(f"{path}: no plate source for {scheme}:// URLs "
                         f"(installed: {', '.join(known) or 'none'})")
    return next(iter(found)).load()


__all__ = [
    "COMPONENTS",
    "FORMATS",
    "ImageKey",
    "ImageXpressReader",
    "OmeZarrReader",
    "PhenixReader",
    "PlateError",
    "PlateLayout",
    "PlateReader",
    "URL_READER_GROUP",
    "detect_format",
    "format_names",
    "open_plate",
]
