"""Where everything lies on the plate view: one frame for raw images, previews and results.

Wells sit on the plate's grid (row A at the top, column 1 at the left), each in a *cell* one
pitch apart: a cell holds the well's site mosaic (every site at its stage position) plus a gap.
Plate pixel (y, x) is at (y, x) * pixel size in micrometres, and every layer napari-hcs makes
(raw plate, preview, results) carries that scale, so they overlay.

Why cells of the mosaic's size and not the plate's real 9 mm (96-well) or 4.5 mm (384-well)
pitch: the imaged sites cover a small part of each well, and a true-pitch view would be mostly
empty plastic; the wells' order and neighbours are the plate's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ...engine.plate.model import PlateError, PlateLayout, PlateReader
from ...engine.plate.wells import format_well, parse_well, standard_grid

#: Empty space between neighbouring wells, as a fraction of the well mosaic.
GAP = 0.08
#: The pyramid goes down until its smallest level fits this many pixels on its longer side.
SMALLEST_LEVEL = 1024


def site_offsets(positions: Mapping[int, tuple[float, float]], sites: Iterable[int],
                 tile: tuple[int, int]) -> dict[int, tuple[float, float]]:
    """Top-left (y, x) pixel position of each site, relative to the well's top-left tile.

    From stage positions when every site has one; otherwise a square grid in site order
    (sites touching, not overlapping).
    """
    sites = list(sites)
    if positions and all(s in positions for s in sites):
        y0 = min(positions[s][0] for s in sites)
        x0 = min(positions[s][1] for s in sites)
        return {s: (positions[s][0] - y0, positions[s][1] - x0) for s in sites}
    side = math.ceil(math.sqrt(len(sites)))
    return {s: (float((i // side) * tile[0]), float((i % side) * tile[1]))
            for i, s in enumerate(sites)}


def mosaic_shape(offsets: Mapping[int, tuple[float, float]],
                 tile: tuple[int, int]) -> tuple[int, int]:
    """Size of the canvas holding every tile at its offset."""
    if not offsets:
        return tile
    return (int(max(round(y) for y, _ in offsets.values()) + tile[0]),
            int(max(round(x) for _, x in offsets.values()) + tile[1]))


def well_grid(layout: PlateLayout) -> tuple[int, int]:
    """(rows, columns) of the plate: the layout's, else the smallest standard plate holding
    its wells."""
    if layout.rows and layout.columns:
        return layout.rows, layout.columns
    return standard_grid(layout.wells)


def grid_holding(cells: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """The smallest standard plate (96, 384, 1536 wells) holding every (row, column)."""
    return standard_grid(format_well(r, c) for r, c in cells)


@dataclass(frozen=True)
class PlateGeometry:
    """The plate view's frame: grid, cell pitch (px at full resolution), pyramid depth, scale.

    The pitch is a multiple of 2**(levels - 1), so every pyramid level divides it exactly and
    a well's cell starts on a whole pixel at every level.
    """

    rows: int
    columns: int
    pitch: tuple[int, int]
    well_shape: tuple[int, int]  # the largest well mosaic (px); its cell's top-left part
    levels: int
    pixel_size_um: float | None = None

    @classmethod
    def for_wells(cls, well_shape: tuple[int, int], rows: int, columns: int,
                  pixel_size_um: float | None = None) -> PlateGeometry:
        """The geometry of a rows x columns plate whose wells are at most `well_shape` px."""
        h, w = (max(1, int(s)) for s in well_shape)
        gap = max(8, round(GAP * max(h, w)))
        longest = max((h + gap) * rows, (w + gap) * columns)
        # At least two levels: napari takes a one-level list for a plain array.
        levels = 1 + max(1, math.ceil(math.log2(longest / SMALLEST_LEVEL)))
        unit = 2 ** (levels - 1)
        pitch = (-(-(h + gap) // unit) * unit, -(-(w + gap) // unit) * unit)
        return cls(rows, columns, pitch, (h, w), levels, pixel_size_um)

    def grown_to(self, row: int, column: int) -> PlateGeometry:
        """This geometry on the smallest standard plate that also holds (row, column)."""
        rows, cols = grid_holding([(self.rows - 1, self.columns - 1), (row, column)])
        if (rows, cols) == (self.rows, self.columns):
            return self
        return PlateGeometry.for_wells(self.well_shape, rows, cols, self.pixel_size_um
                                       )._with_pitch(self.pitch)

    def _with_pitch(self, pitch: tuple[int, int]) -> PlateGeometry:
        # Blocks already stored keep their cells: the pitch only ever stays the same.
        levels = min(self.levels, _levels_dividing(pitch))
        return PlateGeometry(self.rows, self.columns, pitch, self.well_shape,
                             max(levels, 2), self.pixel_size_um)

    # -- cells ----------------------------------------------------------------------------------
    def contains(self, well: str) -> bool:
        try:
            row, col = parse_well(well)
        except PlateError:
            return False
        return row < self.rows and col < self.columns

    def origin(self, well: str, level: int = 0) -> tuple[int, int]:
        """Top-left pixel of `well`'s cell at `level`."""
        row, col = parse_well(well)
        ch, cw = self.cell(level)
        return row * ch, col * cw

    def cell(self, level: int = 0) -> tuple[int, int]:
        return self.pitch[0] >> level, self.pitch[1] >> level

    def shape(self, level: int = 0) -> tuple[int, int]:
        ch, cw = self.cell(level)
        return self.rows * ch, self.columns * cw

    def well_at(self, y: float, x: float) -> str | None:
        """The well whose cell holds full-resolution pixel (y, x), or None outside the plate."""
        row, col = math.floor(y / self.pitch[0]), math.floor(x / self.pitch[1])
        if 0 <= row < self.rows and 0 <= col < self.columns:
            return format_well(row, col)
        return None

    # -- physical units -------------------------------------------------------------------------
    @property
    def scale(self) -> tuple[float, float]:
        """Layer scale (y, x): micrometres per pixel, or 1 when the plate has no pixel size."""
        px = float(self.pixel_size_um) if self.pixel_size_um else 1.0
        return px, px

    @property
    def units(self) -> tuple[str, str]:
        unit = "micrometer" if self.pixel_size_um else "pixel"
        return unit, unit

    def well_box(self, well: str) -> tuple[float, float, float, float]:
        """(top, left, bottom, right) of `well`'s mosaic in world units (µm or px)."""
        y, x = self.origin(well)
        sy, sx = self.scale
        return y * sy, x * sx, (y + self.well_shape[0]) * sy, (x + self.well_shape[1]) * sx

    def world_to_well(self, y: float, x: float) -> str | None:
        sy, sx = self.scale
        return self.well_at(y / sy, x / sx)


def _levels_dividing(pitch: tuple[int, int]) -> int:
    levels = 1
    while all(p % (2 ** levels) == 0 for p in pitch) and levels < 16:
        levels += 1
    return levels


def well_offsets(reader: PlateReader, well: str) -> dict[int, tuple[float, float]]:
    """`well`'s sites relative to its top-left tile (the well's own stage positions)."""
    layout = reader.layout
    return site_offsets(reader.site_positions(well), layout.sites, tuple(layout.shape))


def plate_geometry(reader: PlateReader) -> PlateGeometry:
    """The plate view of `reader`'s plate: cells big enough for its largest well mosaic."""
    layout = reader.layout
    tile = tuple(layout.shape)
    per_well = {
        mosaic_shape(well_offsets(reader, w), tile)
        for w in layout.wells
    } if type(reader).site_positions is not PlateReader.site_positions else set()
    nominal = mosaic_shape(site_offsets(layout.site_positions, layout.sites, tile), tile)
    shapes = per_well | {nominal}
    well_shape = (max(s[0] for s in shapes), max(s[1] for s in shapes))
    rows, cols = well_grid(layout)
    return PlateGeometry.for_wells(well_shape, rows, cols, layout.pixel_size_um)
