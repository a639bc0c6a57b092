"""OME-Zarr HCS plates (NGFF 0.4 `.zattrs` and 0.5 `zarr.json` with an `ome` key), read lazily.

Hierarchy: plate -> row -> column -> field. Fields become sites 1, 2, .. in the order the well's
`images` list gives them. The image's `c` axis gives the channels "1".."C", named from the
`omero` metadata when present. Metadata is read as JSON (cheap); pixels are read one plane at a
time through zarr, so opening a plate touches no chunks.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np

from ..roots import UNCONFINED, AllowedRoots, OutsideRootsError
from . import limits
from .input_files import read_regular
from .model import ImageKey, PlateError, PlateLayout, PlateReader
from .wells import format_well, row_index, sort_wells


def read_attrs(group: Path, roots: AllowedRoots = UNCONFINED) -> dict:
    """NGFF attributes of a zarr group, v2 or v3, with the 0.5 `ome` wrapper removed."""
    if (group / "zarr.json").exists():
        meta = json.loads(read_regular(roots.check(group / "zarr.json")))
        attrs = meta.get("attributes", {}) if isinstance(meta, dict) else None
    elif (group / ".zattrs").exists():
        attrs = json.loads(read_regular(roots.check(group / ".zattrs")))
    else:
        return {}
    if not isinstance(attrs, dict):
        raise PlateError(f"{group}: its zarr attributes are not a JSON object")
    attrs = attrs.get("ome", attrs)
    return attrs if isinstance(attrs, dict) else {}


#: NGFF space units (UDUNITS-2 names) -> micrometres per unit.
_MICROMETRES = {
    "angstrom": 1e-4, "nanometer": 1e-3, "micrometer": 1.0, "micron": 1.0, "millimeter": 1e3,
    "centimeter": 1e4, "meter": 1e6,
}


def pixel_size_um(multiscale: dict, scale: dict[str, float]) -> float | None:
    """The x pixel size of level 0 in micrometres, from its `scale` and the x axis' `unit`.

    A scale without a unit is taken to be in micrometres (what writers that omit the unit
    mean) unless it is 1 (no calibration); a unit that is no length gives None.
    """
    value = scale.get("x")
    if value is None or not value > 0:
        return None
    axes = [a for a in multiscale.get("axes", []) if isinstance(a, dict) and a.get("name") == "x"]
    unit = axes[0].get("unit") if axes else None
    if unit is None:
        return float(value) if value != 1 else None
    factor = _MICROMETRES.get(str(unit).lower())
    return float(value) * factor if factor is not None else None


def _check_array(array, path: Path) -> None:
    """An array's declared shape and chunks against the plate limits, from its metadata alone
    (zarr allocates a whole plane, or a whole chunk, before reading one byte of it)."""
    if not 2 <= array.ndim <= 5:
        raise PlateError(f"{path}: {array.ndim} dimensions; an OME-Zarr image has 2 to 5")
    for axis, side in enumerate(array.shape):
        limits.count(side, f"size of dimension {axis}", path, limits.MAX_SIDE)
    itemsize = np.dtype(array.dtype).itemsize
    limits.check_image_bytes(array.shape[-2:], itemsize, path, "a plane")
    limits.check_image_bytes(array.chunks, itemsize, path, "a chunk")


def _axis_names(multiscale: dict, ndim: int) -> list[str]:
    axes = multiscale.get("axes")
    if not axes:  # NGFF 0.1/0.2 have no axes: always tczyx
        return list("tczyx")[-ndim:]
    return [a["name"] if isinstance(a, dict) else str(a) for a in axes]


class OmeZarrReader(PlateReader):
    """An OME-Zarr HCS plate folder (e.g. `plate.zarr`)."""

    format = "zarr"
    one_image_size = False

    @classmethod
    def detect(cls, root: Path) -> bool:
        root = Path(root)
        if not root.is_dir():
            return False
        try:
            return "plate" in read_attrs(root)
        except (OSError, ValueError, PlateError):
            return False

    def _attrs(self, group: Path) -> dict:
        """The NGFF attributes of `group` (a subclass reads them from elsewhere)."""
        return read_attrs(group, self.roots)

    @cached_property
    def plate(self) -> dict:
        try:
            plate = self._attrs(self.root).get("plate")
        except (OSError, ValueError) as exc:
            raise PlateError(f"cannot read OME-Zarr metadata of {self.root}: {exc}") from exc
        if not isinstance(plate, dict) or not plate.get("wells"):
            raise PlateError(f"{self.root} has no OME-Zarr plate metadata with wells")
        source = f"{self.root} plate metadata"
        wells = plate["wells"]
        limits.count(len(wells) if isinstance(wells, list) else -1, "number of wells", source,
                     limits.MAX_WELLS)
        for i, well in enumerate(wells):
            path = well.get("path") if isinstance(well, dict) else None
            if not isinstance(path, str) or len(path.split("/")) != 2:
                raise PlateError(f"{source}: wells[{i}].path is {path!r}; expected ROW/COLUMN")
        for key, limit in (("rows", limits.MAX_ROWS), ("columns", limits.MAX_COLUMNS)):
            if not isinstance(plate.get(key, []), list):
                raise PlateError(f"{source}: {key} is not a list")
            limits.count(len(plate.get(key, [])), f"number of {key}", source, limit, minimum=0)
        return plate

    @cached_property
    def well_paths(self) -> dict[str, str]:
        """Well name (`B03`) -> its path inside the plate (`B/3`)."""
        rows = [r["name"] for r in self.plate.get("rows", [])]
        cols = [c["name"] for c in self.plate.get("columns", [])]
        found = {}
        for w in self.plate["wells"]:
            path = w["path"]
            row_name, col_name = path.split("/")[:2]
            try:
                r = row_index(row_name)
            except ValueError:
                r = w.get("rowIndex", rows.index(row_name) if row_name in rows else 0)
            if col_name.isdigit():
                c = int(col_name) - 1
            else:
                c = w.get("columnIndex", cols.index(col_name) if col_name in cols else 0)
            found[format_well(r, c)] = path
        return found

    @cached_property
    def _fields(self) -> dict[str, list[str]]:
        fields = {}
        for well, path in self.well_paths.items():
            images = self._attrs(self.root / path).get("well", {}).get("images", [])
            limits.count(len(images), "number of fields (well.images)", self.root / path,
                         limits.MAX_SITES, minimum=0)
            fields[well] = [img["path"] for img in images]
        return fields

    def _field_group(self, well: str, site: int) -> Path:
        fields = self._fields.get(well, [])
        if not 1 <= site <= len(fields):
            raise PlateError(
                f"missing image: well {well} of {self.root} has {len(fields)} field(s), "
                f"no site {site} (expected {self.root / self.well_paths.get(well, well)}/"
                f"{site - 1})"
            )
        return self.root / self.well_paths[well] / fields[site - 1]

    def _multiscale(self, group: Path) -> dict:
        multiscales = self._attrs(group).get("multiscales")
        if not multiscales:
            raise PlateError(f"missing image: {group} has no OME-Zarr multiscales metadata")
        return multiscales[0]

    @cached_property
    def layout(self) -> PlateLayout:
        wells = sort_wells(self.well_paths)
        first = self._field_group(wells[0], 1)
        ms = self._multiscale(first)
        array = self._open(first / ms["datasets"][0]["path"])
        axes = _axis_names(ms, array.ndim)
        size = dict(zip(axes, array.shape, strict=False))
        source = first / ms["datasets"][0]["path"]
        for axis, limit in (("c", limits.MAX_CHANNELS), ("z", limits.MAX_PLANES),
                            ("t", limits.MAX_PLANES), ("y", limits.MAX_SIDE),
                            ("x", limits.MAX_SIDE)):
            if axis in size:
                limits.count(size[axis], f"size of axis {axis}", source, limit)
        if "y" not in size or "x" not in size:
            raise PlateError(f"{source}: axes {axes} have no y and x")
        channels = tuple(str(i + 1) for i in range(size.get("c", 1)))
        omero = self._attrs(first).get("omero", {}).get("channels", [])
        names = {
            ch: str(o["label"]) for ch, o in zip(channels, omero, strict=False) if "label" in o
        }
        scale = self._scale(ms, axes)
        return PlateLayout(
            format=self.format,
            root=self.root,
            wells=wells,
            sites=tuple(range(1, max(len(f) for f in self._fields.values()) + 1)),
            channels=channels,
            z=tuple(range(1, size.get("z", 1) + 1)),
            timepoints=tuple(range(1, size.get("t", 1) + 1)),
            shape=(size["y"], size["x"]),
            dtype=np.dtype(array.dtype).name,
            channel_names=names,
            pixel_size_um=pixel_size_um(ms, scale),
            site_positions=self.site_positions(wells[0]),
            rows=len(self.plate.get("rows", [])) or None,
            columns=len(self.plate.get("columns", [])) or None,
        )

    def _scale(self, ms: dict, axes: list[str], kind: str = "scale") -> dict[str, float]:
        """The first dataset's `kind` transform by axis; NaN, inf (and a scale of 0 or less)
        refused naming the transform: it would reach every output as the pixel size."""
        for transform in ms["datasets"][0].get("coordinateTransformations", []):
            if transform.get("type") == kind:
                where = f"{self.root} multiscales {ms.get('name', '')!r}".replace(" ''", "")
                return {axis: limits.finite(value, f"{kind}[{axis}]", where,
                                            positive=kind == "scale")
                        for axis, value in zip(axes, transform[kind], strict=False)}
        return {}

    def site_positions(self, well: str) -> dict[int, tuple[float, float]]:
        """Field (y, x) in pixels from a `translation` transform, where the writer gave one."""
        positions = {}
        for site in range(1, len(self._fields.get(well, [])) + 1):
            ms = self._multiscale(self._field_group(well, site))
            axes = [a["name"] if isinstance(a, dict) else a for a in ms.get("axes", [])]
            scale = self._scale(ms, axes)
            shift = self._scale(ms, axes, "translation")
            if "y" in shift and "x" in shift:
                positions[site] = (
                    shift["y"] / scale.get("y", 1.0),
                    shift["x"] / scale.get("x", 1.0),
                )
        return positions

    def _open(self, path: Path):
        import zarr  # only needed once pixels or array metadata are touched

        try:
            array = zarr.open_array(self.roots.zarr_store(path), mode="r")
        except (OutsideRootsError, PlateError):
            raise
        except Exception as exc:
            raise PlateError(f"unreadable image array {path}: {exc}") from exc
        _check_array(array, path)
        return array

    def image_path(self, key: ImageKey) -> str:
        group = self._field_group(key.well, key.site)
        return str(group / self._multiscale(group)["datasets"][0]["path"])

    def read(self, key: ImageKey) -> np.ndarray:
        self.layout.require(key)
        if key.well not in self._fields:
            raise PlateError(f"missing image: no well {key.well} in {self.root}")
        path = Path(self.image_path(key))
        array = self._open(path)
        axes = _axis_names(self._multiscale(path.parent), array.ndim)
        index = {"t": key.timepoint - 1, "c": int(key.channel) - 1, "z": key.z - 1}
        selection = tuple(index.get(a, slice(None)) for a in axes)
        try:
            plane = np.asarray(array[selection])
        except Exception as exc:
            raise PlateError(f"unreadable image {path} at {key}: {exc}") from exc
        if plane.ndim != 2:
            raise PlateError(f"image {path} has axes {axes}; expected y and x plus t/c/z")
        return plane
