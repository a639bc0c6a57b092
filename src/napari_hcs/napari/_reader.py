"""npe2 reader: a plate folder (or its metadata file) or a run's output -> layers.

- a run's output folder (holding `plate.zarr`), or `plate.zarr` itself: its results as a plate
  view in the raw plate's frame, named like live results (see `output_layers`);
- any plate `napari_hcs.engine.plate.open_plate` understands, as a folder or as the file that
  describes it (an ImageXpress `.HTD`, a Phenix `Index.idx.xml`): the plate view, one layer per
  channel with every well on the plate grid (see `plate_layers`).

Nothing is read at open time beyond the plate's metadata and one tile per channel; pixels load
in the background as napari draws them. `napari_get_reader` decides from names only (a folder
listing at most), so it costs nothing for the folders that are not plates.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .plate_view.layers import META_KEY, LayerData, plate_view_layers
from .results import output_layers

ReaderFunction = Callable[[Any], list[LayerData]]


#: Files that describe a whole plate: opening one opens its folder's plate.
PLATE_FILES = (".htd", "index.idx.xml", "index.xml")


def _one_path(path: str | list[str]) -> Path | None:
    """The plate folder `path` names: itself, or the folder of a plate-describing file."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(path)
    if p.is_file() and p.name.lower().endswith(PLATE_FILES):
        p = p.parent
        if p.name.lower() == "images" and p.parent.is_dir():  # Phenix: Measurement/Images/
            return p.parent if _is_plate(p.parent) else p
    return p if p.is_dir() else None


def output_plate_path(root: Path) -> Path | None:
    """The `plate.zarr` of a run's output folder, or `root` itself when it is one."""
    if (root / "plate.zarr").is_dir() and output_layers.is_hcs_zarr(root / "plate.zarr"):
        return root / "plate.zarr"
    if root.name == "plate.zarr" and output_layers.is_hcs_zarr(root):
        return root
    return None


def _is_plate(root: Path) -> bool:
    from ..engine.plate import detect_format
    from ..engine.plate.model import PlateError

    try:
        detect_format(root)
    except (PlateError, OSError, ValueError):
        return False
    return True


def napari_get_reader(path: str | list[str]) -> ReaderFunction | None:
    """Return a reader when `path` is a plate folder or a run output napari-hcs understands."""
    root = _one_path(path)
    if root is None:
        return None
    if output_plate_path(root) is not None:
        return read_output
    if _is_plate(root):
        return read_plate
    return None


def read_plate(path: str | list[str]) -> list[LayerData]:
    """Layers of a plate: the plate view (one lazy multiscale layer per channel) and well names."""
    from ..engine.plate import open_plate

    root = _one_path(path)
    if root is None:
        raise ValueError(f"{path!r} is not a plate folder")
    return with_refresh(plate_view_layers(open_plate(root)))


def with_refresh(layers: list[LayerData]) -> list[LayerData]:
    """Plate-view layers redraw themselves as their wells arrive from the loader."""
    from .docks.layer_refresh import refresh_soon

    for _, kwargs, _ in layers:
        loader = kwargs.get("metadata", {}).get(META_KEY, {}).get("loader")
        if loader is not None:
            loader.on_loaded = refresh_soon
    return layers


def read_output(path: str | list[str]) -> list[LayerData]:
    """Layers of a run's output: every well's processed images and labels on the plate view."""
    root = _one_path(path)
    plate = output_plate_path(root) if root is not None else None
    if plate is None:
        raise ValueError(f"{path!r} holds no plate.zarr written by napari-hcs")
    return output_layers.plate_zarr_layers(plate)
