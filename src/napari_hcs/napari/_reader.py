"""npe2 reader: a plate folder or a run's output -> layers.

- a run's output folder (holding `plate.zarr`), or `plate.zarr` itself: every well's processed
  image (one layer per channel, a `well` slider) and its labels (see `output_layers`);
- any plate folder `napari_hcs.engine.plate.open_plate` understands: one layer per channel, each
  slider position a well's sites pasted at their stage positions (see `plate_layers`).

Nothing is read at open time beyond the plate's metadata; pixels load as napari draws them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import output_layers
from .plate_layers import LayerData, plate_mosaic_layers

ReaderFunction = Callable[[Any], list[LayerData]]


def _one_path(path: str | list[str]) -> Path | None:
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(path)
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
    """Layers of a plate folder: one lazy image layer per channel, wells on a slider."""
    from ..engine.plate import open_plate

    root = _one_path(path)
    if root is None:
        raise ValueError(f"{path!r} is not a plate folder")
    return plate_mosaic_layers(open_plate(root))


def read_output(path: str | list[str]) -> list[LayerData]:
    """Layers of a run's output: processed images and labels of every well."""
    root = _one_path(path)
    plate = output_plate_path(root) if root is not None else None
    if plate is None:
        raise ValueError(f"{path!r} holds no plate.zarr written by napari-hcs")
    return output_layers.plate_zarr_layers(plate)
