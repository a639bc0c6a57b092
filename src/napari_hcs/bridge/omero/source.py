"""`OmeroPlateReader`: an OMERO plate behind the same `PlateReader` interface as the folders.

Mapping from the OMERO model (Plate → Well → WellSample → Image) to plate components:
- well: the Well's 0-based `row`/`column` as `B03`; wells with no WellSample are left out;
- site: the WellSample's index in its well, from 1;
- channel: the Image's channel index as a string from 1 (`"1"`, `"2"`), its label in
  `channel_names`; z and timepoint: the Image's Z/T index, from 1.
Planes are read on demand, one `getPlane(z, c, t)` per `read()`, so a worker pulls only the
planes of its well. Stage positions come from the WellSamples' `posX`/`posY` of the first well.

Worker processes re-create the reader from its URL alone (`open_plate(plan.plate_root)`):
credentials come from the environment (`credentials.py`), never from the plan.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import numpy as np

from ...engine.plate.model import ImageKey, PlateError, PlateLayout, PlateReader
from ...engine.plate.wells import format_well, sort_wells
from .address import OmeroAddress, is_omero_url, parse_address
from .credentials import OmeroCredentials, connect, disconnect, log

# OMERO pixel type names -> numpy dtype names (OMERO says "float"/"double" for float32/64).
_DTYPES = {"float": "float32", "double": "float64", "bit": "bool"}
# Micrometres per unit, by the unit symbol `LengthI.getSymbol()` reports.
_UM_PER_UNIT = {"µm": 1.0, "um": 1.0, "nm": 1e-3, "mm": 1e3, "cm": 1e4, "m": 1e6, "Å": 1e-4}
_PIXEL_UNITS = ("reference frame", "pixel")


class OmeroPlateReader(PlateReader):
    """A plate on an OMERO server, addressed as `omero://host[:port]/plate/ID`.

    Pass `conn` to reuse an open BlitzGateway connection (it is then not closed here);
    otherwise one is opened on first use from `credentials` or the environment.
    """

    format = "omero"

    def __init__(
        self,
        root: str | Path,
        *,
        conn: Any = None,
        credentials: OmeroCredentials | None = None,
        binding: Any = None,
    ) -> None:
        self.address: OmeroAddress = parse_address(root)
        super().__init__(self.address.url)
        self._conn = conn
        self._credentials = credentials
        self._binding = binding
        self._layout: PlateLayout | None = None
        self._images: dict[tuple[str, int], int] = {}  # (well, site) -> OMERO Image id
        self._pixels: dict[int, Any] = {}  # Image id -> PixelsWrapper, fetched once

    @classmethod
    def detect(cls, root: Path) -> bool:
        return is_omero_url(root)

    def __reduce__(self) -> tuple:
        # A live connection does not pickle; the URL (plus the environment) is all it takes.
        return (type(self), (self.address.url,))

    @property
    def conn(self) -> Any:
        """The BlitzGateway connection, opened on first use."""
        if self._conn is None:
            creds = self._credentials or OmeroCredentials.from_env(self.address)
            self._conn = connect(creds, self._binding)
            # Close at garbage collection / exit; a joined session is left alive for its owner.
            self._closer = weakref.finalize(self, disconnect, self._conn, creds)
        return self._conn

    def close(self) -> None:
        """Close a connection this reader opened (a connection passed in is left open)."""
        closer = getattr(self, "_closer", None)
        if closer is not None:
            closer()
            self._conn, self._closer = None, None

    @property
    def layout(self) -> PlateLayout:
        if self._layout is None:
            self._layout = self._read_layout()
        return self._layout

    def _read_layout(self) -> PlateLayout:
        plate = self.conn.getObject("Plate", self.address.id)
        if plate is None:
            raise PlateError(
                f"{self.address.url}: no plate {self.address.id} visible to this user "
                "(check the ID, and that the plate is in one of the user's groups)"
            )
        samples: dict[str, list[Any]] = {}
        for well in plate.listChildren():
            if well.countWellSample() == 0:
                continue
            name = format_well(well.row, well.column)
            samples[name] = list(well.listChildren())
            for index, sample in enumerate(samples[name]):
                self._images[(name, index + 1)] = sample.getImage().getId()
        if not samples:
            raise PlateError(f"{self.address.url}: plate {plate.getName()!r} has no images")
        wells = sort_wells(samples)
        first = samples[wells[0]][0].getImage()
        size_c, pixel_size = first.getSizeC(), first.getPixelSizeX()
        labels = list(first.getChannelLabels() or [])
        channels = tuple(str(c + 1) for c in range(size_c))
        pixels_type = str(first.getPixelsType())
        layout = PlateLayout(
            format=self.format,
            root=self.root,
            wells=wells,
            sites=tuple(range(1, max(len(s) for s in samples.values()) + 1)),
            channels=channels,
            z=tuple(range(1, first.getSizeZ() + 1)),
            timepoints=tuple(range(1, first.getSizeT() + 1)),
            shape=(first.getSizeY(), first.getSizeX()),
            dtype=_DTYPES.get(pixels_type, pixels_type),
            channel_names={c: str(lab) for c, lab in zip(channels, labels, strict=False)},
            pixel_size_um=float(pixel_size) if pixel_size else None,
            site_positions=_site_positions(samples[wells[0]], pixel_size),
        )
        log.info("OMERO plate %s: %d wells, %d sites", self.address.url, len(wells),
                 len(layout.sites))
        return layout

    def image_id(self, key: ImageKey) -> int:
        """The OMERO Image id holding `key`'s plane; PlateError if the plate has none."""
        self.layout  # noqa: B018 - reading the layout fills the image index
        try:
            return self._images[(key.well, key.site)]
        except KeyError:
            raise PlateError(
                f"{self.address.url}: no image for well {key.well} site {key.site}"
            ) from None

    def image_path(self, key: ImageKey) -> str:
        return (
            f"omero://{self.address.host}:{self.address.port}/image/{self.image_id(key)}"
            f"?z={key.z - 1}&c={self._channel_index(key)}&t={key.timepoint - 1}"
        )

    def _channel_index(self, key: ImageKey) -> int:
        try:
            return self.layout.channels.index(str(key.channel))
        except ValueError:
            raise PlateError(
                f"{self.address.url}: well {key.well} has no channel {key.channel!r} "
                f"(channels: {', '.join(self.layout.channels)})"
            ) from None

    def read(self, key: ImageKey) -> np.ndarray:
        image_id = self.image_id(key)
        c = self._channel_index(key)
        try:
            pixels = self._pixels.get(image_id)
            if pixels is None:
                image = self.conn.getObject("Image", image_id)
                if image is None:
                    raise PlateError(f"image {image_id} is gone or not visible to this user")
                pixels = self._pixels[image_id] = image.getPrimaryPixels()
            plane = pixels.getPlane(key.z - 1, c, key.timepoint - 1)
        except PlateError as exc:
            raise PlateError(f"{self.image_path(key)} (well {key.well}): {exc}") from exc
        except Exception as exc:  # Ice/server errors: say which plane, keep the cause
            raise PlateError(
                f"{self.image_path(key)} (well {key.well}): reading the plane failed: {exc}"
            ) from exc
        return np.asarray(plane)


def length_to_pixels(length: Any, pixel_size_um: float | None) -> float | None:
    """An OMERO `LengthI` (as `WellSample.getPosX()` returns it) in pixels, or None if unknown."""
    if length is None:
        return None
    value, symbol = float(length.getValue()), str(length.getSymbol())
    if symbol in _PIXEL_UNITS:
        return value
    factor = _UM_PER_UNIT.get(symbol)
    if factor is None or not pixel_size_um:
        return None
    return value * factor / float(pixel_size_um)


def _site_positions(samples: list[Any], pixel_size_um: float | None) -> dict[int, tuple]:
    """Site -> (y, x) pixels, shifted so the top-left tile is at (0, 0); {} if any is unknown."""
    raw: dict[int, tuple[float, float]] = {}
    for index, sample in enumerate(samples):
        y = length_to_pixels(sample.getPosY(), pixel_size_um)
        x = length_to_pixels(sample.getPosX(), pixel_size_um)
        if y is None or x is None:
            return {}
        raw[index + 1] = (y, x)
    y0 = min(p[0] for p in raw.values())
    x0 = min(p[1] for p in raw.values())
    return {site: (y - y0, x - x0) for site, (y, x) in raw.items()}
