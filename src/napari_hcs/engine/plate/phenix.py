"""Opera Phenix / Operetta plates (PerkinElmer/Revvity Harmony exports).

The index is `Images/Index.idx.xml` (Phenix) or `Index.xml` (Operetta), also accepted at the
plate root. Each `<Image>` entry gives Row, Col, FieldID, PlaneID, ChannelID, TimepointID, the
file `URL` (e.g. `r02c03f04p01-ch2sk1fk1fl1.tiff`, relative to the index), ChannelName,
ImageResolutionX and PositionX/PositionY (both in metres). The XML namespace changes between
Harmony versions, so elements are matched by local name.

Stage positions become pixels relative to the well's first field. Harmony's stage Y axis points
up while image rows run down, so Y is negated: a field with a larger PositionY lies *above*.
TimepointID is 0-based in Harmony (the `sk` in the file name is 1-based); timepoints here start
at 1 like every other component.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from . import limits
from .input_files import read_regular
from .model import ImageKey, PlateError, PlateLayout, PlateReader
from .tiff import read_tiff_plane, tiff_header
from .wells import format_well, parse_well, sort_wells

INDEX_NAMES = ("Images/Index.idx.xml", "Images/Index.xml", "Index.idx.xml", "Index.xml")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(elem: ET.Element) -> dict[str, ET.Element]:
    return {_local(c.tag): c for c in elem}


@dataclass(frozen=True)
class HarmonyImage:
    key: ImageKey
    url: str
    position_m: tuple[float, float] | None  # (PositionY, PositionX) in metres, Y up
    resolution_m: float | None
    channel_name: str | None
    size: tuple[int, int] | None  # (ImageSizeY, ImageSizeX)


def _find_index(root: Path) -> Path | None:
    for name in INDEX_NAMES:
        if (root / name).is_file():
            return root / name
    return None


def _parse_image(elem: ET.Element, path: Path) -> HarmonyImage:
    f = _children(elem)

    def text(name: str, required: bool = True) -> str | None:
        node = f.get(name)
        if node is None or node.text is None:
            if required:
                ident = f["id"].text if "id" in f else "?"
                raise PlateError(f"{path}: image {ident} has no <{name}>")
            return None
        return node.text.strip()

    def metres(name: str) -> float | None:
        value = text(name, required=False)
        if value in (None, ""):
            return None
        # NaN or inf would reach every output (and JSON cannot carry it): refused by name.
        return limits.finite(value, f"<{name}>", f"{path}: image {text('URL', False)}",
                             positive=name.startswith("ImageResolution"))

    def number(name: str, limit: int, *, minimum: int = 1, default: str | None = None) -> int:
        # Bounded before use: a FieldID of 2e9 must fail here, naming the image and the key.
        where = f"{path}: image {text('URL', False)}"
        return limits.count(text(name, default is None) or default, f"<{name}>", where, limit,
                            minimum=minimum)

    pos_x, pos_y = metres("PositionX"), metres("PositionY")
    has_size = text("ImageSizeX", False) and text("ImageSizeY", False)
    try:
        key = ImageKey(
            well=format_well(number("Row", limits.MAX_ROWS) - 1,
                             number("Col", limits.MAX_COLUMNS) - 1),
            site=number("FieldID", limits.MAX_SITES),
            channel=str(number("ChannelID", limits.MAX_CHANNELS)),
            z=number("PlaneID", limits.MAX_PLANES),
            timepoint=number("TimepointID", limits.MAX_PLANES - 1, minimum=0, default="0") + 1,
        )
        resolution = metres("ImageResolutionX")
    except ValueError as exc:
        raise PlateError(f"{path}: image {text('URL', False)} has a bad index: {exc}") from exc
    return HarmonyImage(
        key=key,
        url=text("URL"),
        position_m=(pos_y, pos_x) if pos_x is not None and pos_y is not None else None,
        resolution_m=resolution,
        channel_name=text("ChannelName", False),
        size=(number("ImageSizeY", limits.MAX_SIDE),
              number("ImageSizeX", limits.MAX_SIDE)) if has_size else None,
    )


def _parse_tree(path: Path) -> ET.Element:
    try:
        return ET.fromstring(read_regular(path))
    except (ET.ParseError, OSError) as exc:
        raise PlateError(f"cannot parse Harmony index {path}: {exc}") from exc


def _images_of(root: ET.Element, path: Path) -> list[HarmonyImage]:
    images = [
        _parse_image(elem, path)
        for elem in root.iter()
        # <Well> elements list <Image id=".."/> references without children: skip those
        if _local(elem.tag) == "Image" and len(elem)
    ]
    if not images:
        raise PlateError(f"Harmony index {path} lists no images")
    return images


def _grid_of(root: ET.Element, path: Path) -> tuple[int, int] | None:
    """(PlateRows, PlateColumns) of the index's first `<Plate>`, when it has both."""
    for elem in root.iter():
        if _local(elem.tag) == "Plate" and len(elem):
            f = _children(elem)
            rows, cols = f.get("PlateRows"), f.get("PlateColumns")
            if rows is None or cols is None or rows.text is None or cols.text is None:
                return None
            return (limits.count(rows.text.strip(), "<PlateRows>", path, limits.MAX_ROWS),
                    limits.count(cols.text.strip(), "<PlateColumns>", path, limits.MAX_COLUMNS))
    return None


def parse_index(path: Path) -> list[HarmonyImage]:
    """The `<Images>` entries of a Harmony index file."""
    return _images_of(_parse_tree(path), path)


def parse_plate_grid(path: Path) -> tuple[int, int] | None:
    """The plate's physical rows and columns (`<PlateRows>`, `<PlateColumns>`), if listed."""
    return _grid_of(_parse_tree(path), path)


class PhenixReader(PlateReader):
    """Opera Phenix / Operetta plate exported by Harmony."""

    format = "phenix"

    @classmethod
    def detect(cls, root: Path) -> bool:
        return _find_index(Path(root)) is not None

    @cached_property
    def index_path(self) -> Path:
        found = _find_index(self.root)
        if found is None:
            raise PlateError(f"no Harmony index ({' or '.join(INDEX_NAMES)}) in {self.root}")
        return found

    @cached_property
    def _index(self) -> tuple[dict[ImageKey, HarmonyImage], tuple[int, int] | None]:
        path = self.roots.check(self.index_path)
        root = _parse_tree(path)  # once: a 384-well index is tens of megabytes
        images: dict[ImageKey, HarmonyImage] = {}
        for img in _images_of(root, path):
            if img.key in images:
                raise PlateError(f"{self.index_path} lists {img.key} twice ({img.url})")
            images[img.key] = img
        return images, _grid_of(root, path)

    @property
    def images(self) -> dict[ImageKey, HarmonyImage]:
        return self._index[0]

    def _plate_grid(self, wells: tuple[str, ...]) -> tuple[int, int] | None:
        """The index's plate size; an error when it lists a well outside it."""
        grid = self._index[1]
        if grid is None:
            return None
        for well in wells:
            row, col = parse_well(well)
            if row >= grid[0] or col >= grid[1]:
                raise PlateError(
                    f"{self.index_path} lists well {well}, outside its plate of "
                    f"<PlateRows> {grid[0]} x <PlateColumns> {grid[1]}")
        return grid

    @cached_property
    def _positions(self) -> dict[str, dict[int, tuple[float, float]]]:
        per_well: dict[str, dict[int, tuple[float, float]]] = {}
        for img in self.images.values():
            if img.position_m is None or not img.resolution_m:
                continue
            fields = per_well.setdefault(img.key.well, {})
            fields.setdefault(img.key.site, (img.position_m, img.resolution_m))
        result = {}
        for well, fields in per_well.items():
            (y0, x0), _ = fields[min(fields)]
            result[well] = {
                # Y up on the stage, down in the image; + 0.0 turns -0.0 into 0.0
                site: ((y0 - y) / res + 0.0, (x - x0) / res + 0.0)
                for site, ((y, x), res) in sorted(fields.items())
            }
        return result

    @cached_property
    def layout(self) -> PlateLayout:
        images = self.images
        first = images[min(images)]
        shape, dtype = tiff_header(self._checked(first))
        self._check_sizes(first, shape)
        names = {}
        for img in images.values():
            if img.channel_name:
                names.setdefault(img.key.channel, img.channel_name)
        keys = images.keys()
        wells = sort_wells(k.well for k in keys)
        positions = self._positions.get(wells[0], {})
        res = first.resolution_m
        grid = self._plate_grid(wells)
        return PlateLayout(
            format=self.format,
            root=self.root,
            wells=wells,
            sites=tuple(sorted({k.site for k in keys})),
            channels=tuple(sorted({k.channel for k in keys}, key=int)),
            z=tuple(sorted({k.z for k in keys})),
            timepoints=tuple(sorted({k.timepoint for k in keys})),
            shape=shape,
            dtype=dtype,
            channel_names=names,
            pixel_size_um=res * 1e6 if res else None,
            site_positions=positions,
            rows=grid[0] if grid else None,
            columns=grid[1] if grid else None,
        )

    def _check_sizes(self, first: HarmonyImage, shape: tuple[int, int]) -> None:
        """The index's ImageSizeX/Y must agree with each other and with the files (one header
        is read here; every other file is checked against the plate when its well runs)."""
        sizes = {img.size for img in self.images.values() if img.size is not None}
        if len(sizes) > 1:
            listed = ", ".join(f"{y} x {x}" for y, x in sorted(sizes))
            raise PlateError(f"{self.index_path} lists images of several sizes ({listed}); "
                             "napari-hcs needs one image size per plate")
        if sizes and shape != next(iter(sizes)):
            y, x = next(iter(sizes))
            raise PlateError(
                f"{self.index_path} says ImageSizeY x ImageSizeX = {y} x {x}, but "
                f"{self._path(first)} is {shape[0]} x {shape[1]} pixels (the index does not "
                "describe these files)")

    def site_positions(self, well: str) -> dict[int, tuple[float, float]]:
        return dict(self._positions.get(well, {}))

    def _path(self, img: HarmonyImage) -> Path:
        return self.index_path.parent / img.url

    def _checked(self, img: HarmonyImage) -> Path:
        # A <URL> may be absolute or climb with "..": judged where it really points.
        return self.roots.check(self._path(img))

    def image_path(self, key: ImageKey) -> str:
        img = self.images.get(key)
        if img is None:
            self.layout.require(key)
            raise PlateError(f"{self.index_path} lists no image for {key}")
        return str(self._path(img))

    def read(self, key: ImageKey) -> np.ndarray:
        return read_tiff_plane(self.roots.check(self.image_path(key)))
