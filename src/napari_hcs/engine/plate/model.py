"""The plate model: what every microscope format reader returns.

One fact per place: component names live here (`COMPONENTS`), well naming in `wells.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..roots import UNCONFINED, AllowedRoots

#: The components that address one 2-D image of a plate, in canonical order.
COMPONENTS: tuple[str, ...] = ("well", "site", "channel", "z", "timepoint")


class PlateError(Exception):
    """A plate on disk that cannot be understood; the message names the file and what to do."""


@dataclass(frozen=True, order=True)
class ImageKey:
    """Address of one 2-D image: well `B03`, site/z/timepoint from 1, channel as a string."""

    well: str
    site: int = 1
    channel: str = "1"
    z: int = 1
    timepoint: int = 1

    def get(self, component: str) -> str | int:
        return getattr(self, component)

    def replace(self, **changes: str | int) -> ImageKey:
        values = {c: getattr(self, c) for c in COMPONENTS}
        values.update(changes)
        return ImageKey(**values)


@dataclass(frozen=True)
class PlateLayout:
    """Everything known about a plate without reading pixels (besides one image for shape/dtype).

    `site_positions` maps site -> (y, x) nominal stage position in pixels (top-left of the tile),
    empty when the format carries none.
    """

    format: str
    root: Path
    wells: tuple[str, ...]
    sites: tuple[int, ...]
    channels: tuple[str, ...]
    z: tuple[int, ...]
    timepoints: tuple[int, ...]
    shape: tuple[int, int]
    dtype: str
    channel_names: dict[str, str] = field(default_factory=dict)
    pixel_size_um: float | None = None
    site_positions: dict[int, tuple[float, float]] = field(default_factory=dict)
    rows: int | None = None
    columns: int | None = None

    def values(self, component: str) -> tuple:
        return {
            "well": self.wells,
            "site": self.sites,
            "channel": self.channels,
            "z": self.z,
            "timepoint": self.timepoints,
        }[component]

    def keys(self, well: str) -> list[ImageKey]:
        """All image keys of one well, in canonical order."""
        return [
            ImageKey(well, s, c, z, t)
            for t in self.timepoints
            for c in self.channels
            for z in self.z
            for s in self.sites
        ]

    def require(self, key: ImageKey) -> None:
        """Raise PlateError (naming the plate) if `key` addresses no image of this plate."""
        for component in COMPONENTS:
            if key.get(component) not in self.values(component):
                have = ", ".join(map(str, self.values(component)))
                raise PlateError(
                    f"{self.root}: no {component} {key.get(component)!r} in this plate "
                    f"(it has {have})"
                )

    def info(self) -> dict:
        """The JSON of `napari-hcs info` (DESIGN.md contract)."""
        return {
            "format": self.format,
            "wells": list(self.wells),
            "sites": list(self.sites),
            "channels": list(self.channels),
            "z": list(self.z),
            "timepoints": list(self.timepoints),
            "shape": list(self.shape),
            "dtype": self.dtype,
            # The plate's physical grid and calibration (None where the format does not say).
            "rows": self.rows,
            "columns": self.columns,
            "pixel_size_um": self.pixel_size_um,
            "channel_names": dict(self.channel_names),
        }


class PlateReader(ABC):
    """One microscope format: detect it, describe the plate, locate and read one image.

    `roots` confines every file the reader lists or opens (`open_plate(path, roots=...)`);
    by default nothing is checked.
    """

    format: ClassVar[str]
    roots: AllowedRoots = UNCONFINED
    #: Whether every image of the plate has the layout's shape (a camera's tiles). OME-Zarr
    #: plates may give each field its own size, so only their pixel type is checked.
    one_image_size: ClassVar[bool] = True

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @classmethod
    @abstractmethod
    def detect(cls, root: Path) -> bool:
        """Whether `root` looks like a plate of this format (cheap: no pixel reads)."""

    @property
    @abstractmethod
    def layout(self) -> PlateLayout:
        """The plate's layout (computed once, then cached by the reader)."""

    @abstractmethod
    def image_path(self, key: ImageKey) -> str:
        """Where the image for `key` lives (a file path, or a store path for zarr)."""

    @abstractmethod
    def read(self, key: ImageKey) -> np.ndarray:
        """Read one 2-D image; raises PlateError naming the file if it is missing or unreadable."""

    def site_positions(self, well: str) -> dict[int, tuple[float, float]]:
        """Nominal (y, x) pixel position of each site of `well` (formats with per-well stage
        positions, e.g. Harmony, override this); defaults to `layout.site_positions`."""
        return dict(self.layout.site_positions)
