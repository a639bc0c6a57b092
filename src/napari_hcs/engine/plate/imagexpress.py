"""ImageXpress / MetaXpress plates: a `.HTD` file plus `TimePoint_N/[ZStep_N/]` image folders.

File names: `<prefix>_<well>[_s<site>][_w<wavelength>][{GUID}].TIF`, e.g. `Plate_B03_s4_w2.TIF`;
`_s`/`_w` are left out when the plate has one site / one wavelength. `_thumb` files are the
acquisition software's previews and are ignored. Files lying directly in a `TimePoint_N` folder
that also has `ZStep_N` folders are MetaXpress projections and are ignored as well.

Sites lie row-major on the HTD's XSites x YSites grid (unselected grid cells in SiteSelection
take no site number). The plate's pixel size and the sites' stage positions come from the
MetaSeries XML that MetaXpress writes into every TIFF (`spatial-calibration-x`,
`stage-position-x/y`): the headers of the first well's sites are read (one file per site),
and the stage axes are oriented by the HTD's site grid (site 1 top-left, row-major), so either
stage direction gives image-frame positions. Without MetaSeries stage positions the nominal
positions assume `DEFAULT_OVERLAP` unless the HTD carries our own key `"napari-hcs:Overlap"`;
without a MetaSeries calibration the pixel size comes from a `"PixelSizeUM"` HTD key if any.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from . import limits
from .input_files import read_regular
from .model import ImageKey, PlateError, PlateLayout, PlateReader
from .tiff import metaseries_plane, read_tiff_plane, tiff_header
from .wells import format_well, normalize_well, sort_wells

OVERLAP_KEY = "napari-hcs:Overlap"
DEFAULT_OVERLAP = 0.1
MAX_HTD_BYTES = 4 << 20

_NAME = re.compile(
    r"^(?P<prefix>.+?)_(?P<well>[A-Za-z]{1,2}\d{1,3})(?:_s(?P<site>\d+))?(?:_w(?P<wave>\d+))?"
    r"(?P<rest>.*)\.(?P<ext>tiff?)$",
    re.IGNORECASE,
)
_GUID = re.compile(r"^\{?[0-9A-Fa-f]{8}(-?[0-9A-Fa-f]{4}){3}-?[0-9A-Fa-f]{12}\}?$")
_NUMBERED = re.compile(r"^(TimePoint|ZStep)_(\d+)$", re.IGNORECASE)


def _value(token: str) -> str | int | float | bool:
    token = token.strip()
    if token.startswith('"') and token.endswith('"') and len(token) >= 2:
        return token[1:-1]
    if token.upper() in ("TRUE", "FALSE"):
        return token.upper() == "TRUE"
    for kind in (int, float):
        try:
            return kind(token)
        except ValueError:
            pass
    return token


def parse_htd(path: Path) -> dict[str, list]:
    """The HTD's `"Key", value, value..` lines as {key: [values]} (quotes stripped, typed)."""
    try:
        if path.stat().st_size > MAX_HTD_BYTES:  # real ones are a few KiB, even for 1536 wells
            raise PlateError(f"{path} is {path.stat().st_size} bytes, too large for an "
                             "ImageXpress HTD file")
        text = read_regular(path, MAX_HTD_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        raise PlateError(f"cannot read {path}: {exc}") from exc
    entries: dict[str, list] = {}
    for line in text.splitlines():
        parts = line.split(",")
        key = _value(parts[0])
        if isinstance(key, str) and key:
            entries[key] = [_value(p) for p in parts[1:]]
    if "HTSInfoFile" not in entries:
        raise PlateError(f"{path} is not an ImageXpress HTD file (no HTSInfoFile line)")
    return entries


@dataclass(frozen=True)
class HtdInfo:
    """What the HTD promises about the plate."""

    path: Path
    wells: tuple[str, ...] | None  # None when the HTD has no WellsSelection lines
    grid: tuple[int, int]  # (YSites, XSites)
    site_cells: tuple[tuple[int, int], ...]  # (row, col) of site 1, 2, .. on the grid
    wavelengths: int
    wave_names: dict[str, str]
    timepoints: int | None
    zsteps: int | None
    pixel_size_um: float | None
    overlap: float
    plate_grid: tuple[int, int] | None = None  # (YWells, XWells): the physical plate

    @classmethod
    def from_file(cls, path: Path) -> HtdInfo:
        e = parse_htd(path)

        def one(key: str, default=None):
            return e[key][0] if e.get(key) else default

        def number(key: str, default: int, limit: int) -> int:
            # Checked before it sizes anything: `YWells` 2e9 must not become a 2e9-step loop.
            return limits.count(one(key, default), key, path, limit)

        wells = None
        if any(k.startswith("WellsSelection") for k in e):
            columns = number("XWells", limits.MAX_COLUMNS, limits.MAX_COLUMNS)
            selected = []
            lines = sum(k.startswith("WellsSelection") for k in e)
            for r in range(number("YWells", lines, limits.MAX_ROWS)):
                row = e.get(f"WellsSelection{r + 1}", [])
                if len(row) > columns:
                    raise PlateError(f"{path}: WellsSelection{r + 1} has {len(row)} columns, "
                                     f"more than XWells ({columns})")
                selected += [format_well(r, c) for c, on in enumerate(row) if on is True]
            wells = tuple(selected)
        multi_site = one("Sites", True) is not False
        ny = number("YSites", 1, limits.MAX_SITES) if multi_site else 1
        nx = number("XSites", 1, limits.MAX_SITES) if multi_site else 1
        if ny * nx > limits.MAX_SITES:
            raise PlateError(f"{path}: XSites x YSites is {nx} x {ny}, more than "
                             f"{limits.MAX_SITES} sites (the metadata is damaged)")
        cells = tuple(
            (r, c)
            for r in range(ny)
            for c in range(nx)
            if not multi_site
            or f"SiteSelection{r + 1}" not in e
            or e[f"SiteSelection{r + 1}"][c : c + 1] != [False]
        )
        waves = (number("NWavelengths", 1, limits.MAX_CHANNELS)
                 if one("Waves", True) is not False else 1)
        names = {str(w): str(one(f"WaveName{w}", w)) for w in range(1, waves + 1)}
        zsteps = (number("ZSteps", 1, limits.MAX_PLANES)
                  if one("ZSeries", False) is True else None)
        pixel = one("PixelSizeUM")
        overlap = one(OVERLAP_KEY, DEFAULT_OVERLAP)
        if isinstance(overlap, bool) or not isinstance(overlap, (int, float)) \
                or not 0 <= overlap < 1:
            raise PlateError(f"{path}: {OVERLAP_KEY} is {overlap!r}; expected a fraction in "
                             "0..1 (0.1 is 10% overlap)")
        return cls(
            path=path,
            wells=wells,
            grid=(ny, nx),
            site_cells=cells,
            wavelengths=waves,
            wave_names=names,
            timepoints=(number("TimePoints", 1, limits.MAX_PLANES)
                        if "TimePoints" in e else None),
            zsteps=zsteps,
            pixel_size_um=(limits.finite(pixel, "PixelSizeUM", path, positive=True)
                           if pixel is not None else None),
            overlap=float(overlap),
            plate_grid=((number("YWells", 1, limits.MAX_ROWS),
                         number("XWells", 1, limits.MAX_COLUMNS))
                        if "YWells" in e and "XWells" in e else None),
        )


def _numbered_dirs(folder: Path, kind: str) -> dict[int, Path]:
    found = {}
    with os.scandir(folder) as it:
        for entry in it:
            m = _NUMBERED.match(entry.name)
            if m and m.group(1).lower() == kind.lower() and entry.is_dir():
                found[int(m.group(2))] = Path(entry.path)
    return found


def _find_htd(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.suffix.lower() == ".htd" and p.is_file())


class ImageXpressReader(PlateReader):
    """Molecular Devices ImageXpress / MetaXpress plate folder."""

    format = "imagexpress"

    @classmethod
    def detect(cls, root: Path) -> bool:
        return bool(_find_htd(Path(root)))

    @cached_property
    def htd(self) -> HtdInfo:
        found = _find_htd(self.root)
        if not found:
            raise PlateError(f"no .HTD file in {self.root}")
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise PlateError(f"several .HTD files in {self.root} ({names}); keep one per plate")
        return HtdInfo.from_file(self.roots.check(found[0]))

    def _scan(self) -> dict[ImageKey, Path]:
        """Map every image file to its key, by name only (no pixel reads)."""
        files: dict[ImageKey, Path] = {}
        check = self.roots.check  # a symlinked TimePoint_N / ZStep_N is judged where it points
        tps = _numbered_dirs(check(self.root), "TimePoint") or {1: self.root}
        for t, tdir in sorted(tps.items()):
            zdirs = _numbered_dirs(check(tdir), "ZStep") or {1: tdir}
            for z, zdir in sorted(zdirs.items()):
                with os.scandir(check(zdir)) as it:
                    for entry in it:
                        key = self._key_of(entry.name, z, t)
                        # Not only regular files: a FIFO or device named like a tile is
                        # refused by name when opened (`input_files`), never skipped silently.
                        if key is not None and not entry.is_dir():
                            files[key] = Path(entry.path)
        return files

    def _key_of(self, name: str, z: int, t: int) -> ImageKey | None:
        m = _NAME.match(name)
        if not m or "thumb" in m.group("rest").lower():
            return None
        rest = m.group("rest")
        if rest and not _GUID.match(rest):
            return None  # not an image of this plate (e.g. an exported overlay)
        if self._template is None:
            self._template = (m.group("prefix"), m.group("ext"))
        return ImageKey(
            well=normalize_well(m.group("well")),
            site=int(m.group("site") or 1),
            channel=str(int(m.group("wave") or 1)),
            z=z,
            timepoint=t,
        )

    _template: tuple[str, str] | None = None

    @cached_property
    def files(self) -> dict[ImageKey, Path]:
        files = self._scan()
        if not files:
            raise PlateError(f"no ImageXpress images (e.g. Plate_A01_s1_w1.TIF) in {self.root}")
        return files

    def _check_against_htd(self, files: dict[ImageKey, Path]) -> None:
        htd = self.htd
        wells = set(k.well for k in files)
        if htd.wells is not None:
            missing = sorted(set(htd.wells) - wells)
            extra = sorted(wells - set(htd.wells))
            if missing:
                raise PlateError(
                    f"{htd.path} lists wells {', '.join(missing)} but {self.root} has no images "
                    "for them"
                )
            if extra:
                raise PlateError(
                    f"{htd.path} does not select wells {', '.join(extra)}, but {self.root} has "
                    "images for them"
                )
        checks = [
            ("sites", len(htd.site_cells), {k.site for k in files}),
            ("wavelengths", htd.wavelengths, {int(k.channel) for k in files}),
        ]
        if htd.zsteps is not None:
            checks.append(("z steps", htd.zsteps, {k.z for k in files}))
        if htd.timepoints is not None:
            checks.append(("timepoints", htd.timepoints, {k.timepoint for k in files}))
        for what, expected, found in checks:
            if found != set(range(1, expected + 1)):
                raise PlateError(
                    f"{htd.path} says {expected} {what} but the image files have "
                    f"{len(found)} ({', '.join(map(str, sorted(found)))})"
                )

    @cached_property
    def layout(self) -> PlateLayout:
        htd = self.htd
        files = self.files
        self._check_against_htd(files)
        first = files[min(files)]
        shape, dtype = tiff_header(self.roots.check(first))
        pixel_size, positions = self._metaseries(files, min(files))
        if not positions:
            step_y, step_x = (s * (1.0 - htd.overlap) for s in shape)
            positions = {
                i + 1: (r * step_y, c * step_x) for i, (r, c) in enumerate(htd.site_cells)
            }
        sites = tuple(sorted({k.site for k in files}))
        return PlateLayout(
            format=self.format,
            root=self.root,
            wells=sort_wells(k.well for k in files),
            sites=sites,
            channels=tuple(str(w) for w in range(1, htd.wavelengths + 1)),
            z=tuple(sorted({k.z for k in files})),
            timepoints=tuple(sorted({k.timepoint for k in files})),
            shape=shape,
            dtype=dtype,
            channel_names=dict(htd.wave_names),
            pixel_size_um=pixel_size or htd.pixel_size_um,
            site_positions=positions,
            rows=htd.plate_grid[0] if htd.plate_grid else None,
            columns=htd.plate_grid[1] if htd.plate_grid else None,
        )

    def _metaseries(
        self, files: dict[ImageKey, Path], first: ImageKey
    ) -> tuple[float | None, dict[int, tuple[float, float]]]:
        """The MetaSeries pixel size, and each site's position in pixels from the stage
        positions of the first well's sites (empty when they are missing or inconsistent)."""
        planes = {i + 1: metaseries_plane(self.roots.check(files[key])) if key in files else None
                  for i in range(len(self.htd.site_cells))
                  for key in [first.replace(site=i + 1)]}
        head = planes.get(first.site) or next((p for p in planes.values() if p), None)
        pixel = head.pixel_size_um if head is not None else None
        stages = {s: p.stage_um for s, p in planes.items() if p is not None and p.stage_um}
        if pixel is None or len(stages) != len(planes):
            return pixel, {}
        return pixel, _stage_to_pixels(stages, self.htd.site_cells, pixel)

    def image_path(self, key: ImageKey) -> str:
        path = self.files.get(key)
        if path is not None:
            return str(path)
        # The file the plate should have: named like its siblings.
        layout = self.layout
        prefix, ext = self._template or ("Plate", "TIF")
        name = f"{prefix}_{key.well}"
        if len(layout.sites) > 1:
            name += f"_s{key.site}"
        if len(layout.channels) > 1:
            name += f"_w{key.channel}"
        folder = self.root
        if (self.root / f"TimePoint_{key.timepoint}").is_dir() or len(layout.timepoints) > 1:
            folder = folder / f"TimePoint_{key.timepoint}"
        if len(layout.z) > 1:
            folder = folder / f"ZStep_{key.z}"
        return str(folder / f"{name}.{ext}")

    def read(self, key: ImageKey) -> np.ndarray:
        self.layout.require(key)
        path = self.files.get(key)
        if path is None:
            raise PlateError(
                f"missing image for well {key.well} site {key.site} channel {key.channel} "
                f"z {key.z} timepoint {key.timepoint}: expected {self.image_path(key)}"
            )
        return read_tiff_plane(self.roots.check(path))


def _stage_to_pixels(
    stages: dict[int, tuple[float, float]], cells: tuple[tuple[int, int], ...], pixel_um: float
) -> dict[int, tuple[float, float]]:
    """Stage micrometres -> image-frame pixels (minimum 0). Each stage axis is flipped when it
    runs against the site grid's rows/columns; {} when two sites share one position."""
    sites = sorted(stages)
    stage = np.array([stages[s] for s in sites], dtype=np.float64)
    grid = np.array([cells[s - 1] for s in sites], dtype=np.float64)
    for axis in (0, 1):
        trend = np.sum((grid[:, axis] - grid[:, axis].mean())
                       * (stage[:, axis] - stage[:, axis].mean()))
        if trend < 0:
            stage[:, axis] = -stage[:, axis]
    # Stage positions are written to the nanometre: a thousandth of a pixel is all they say.
    pixels = np.round((stage - stage.min(axis=0)) / pixel_um, 3)
    if len(sites) > 1 and len({tuple(np.round(p, 1)) for p in pixels}) < len(sites):
        return {}
    return {s: (float(p[0]), float(p[1])) for s, p in zip(sites, pixels, strict=True)}
