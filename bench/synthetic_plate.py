"""The benchmark plate: the project's generator when present, else a tifffile stand-in.

The stand-in writes the same ImageXpress layout as `napari_hcs.engine.plate.generator`
(`PLATE.HTD`, `TimePoint_1/PLATE_<well>_s<site>_w<channel>.TIF`, row-major sites, ~10 %
overlap, vignetting, noise, nuclei-like blobs). It exists so the peers can be benchmarked
before (or without) the generator; `bench_plate` always prefers the generator.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class BenchPlateSpec:
    """Size of the benchmark plate: wells x (grid x grid) sites x channels, square tiles."""

    wells: int = 4
    grid: int = 2
    channels: int = 2
    tile: int = 256
    overlap: float = 0.1
    seed: int = 0

    @property
    def images(self) -> int:
        return self.wells * self.grid * self.grid * self.channels

    def well_names(self) -> tuple[str, ...]:
        # Fill row by row on a 96-well layout (12 columns).
        return tuple(f"{'ABCDEFGH'[i // 12]}{i % 12 + 1:02d}" for i in range(self.wells))


def write_plate(path: str | Path, spec: BenchPlateSpec, *, force: bool = True) -> tuple[Path, str]:
    """Write the plate at `path`; return (root, which writer was used)."""
    path = Path(path)
    if force and path.exists():
        shutil.rmtree(path)
    try:
        from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
    except ImportError:
        return _write_standin(path, spec), "bench.synthetic_plate (tifffile stand-in)"
    sample = SampleSpec(
        wells=spec.well_names(),
        grid=(spec.grid, spec.grid),
        tile=(spec.tile, spec.tile),
        seed=spec.seed,
        **_optional_fields(SampleSpec, spec),
    )
    root = write_sample_plate(path, "imagexpress", sample, force=True)
    return Path(root), "napari_hcs.engine.plate.generator.write_sample_plate"


def _optional_fields(sample_cls: type, spec: BenchPlateSpec) -> dict:
    """Pass channels/overlap only if the generator's SampleSpec has such fields."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(sample_cls)}
    out: dict = {}
    if "channels" in names:
        default = next(f for f in dataclasses.fields(sample_cls) if f.name == "channels").default
        if isinstance(default, (tuple, list)):
            out["channels"] = tuple(str(c + 1) for c in range(spec.channels))
        else:
            out["channels"] = spec.channels
    if "overlap" in names:
        out["overlap"] = spec.overlap
    return out


def _nuclei(rng: np.random.Generator, shape: tuple[int, int], count: int) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    img = np.zeros(shape, np.float32)
    for _ in range(count):
        cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        ry, rx = rng.uniform(4, 8, size=2)
        r = slice(max(int(cy - 3 * ry), 0), int(cy + 3 * ry) + 1)
        c = slice(max(int(cx - 3 * rx), 0), int(cx + 3 * rx) + 1)
        d = ((yy[r, c] - cy) / ry) ** 2 + ((xx[r, c] - cx) / rx) ** 2
        img[r, c] = np.maximum(img[r, c], np.where(d <= 1.0, 1.0, 0.0))
    return img


def _write_standin(root: Path, spec: BenchPlateSpec) -> Path:
    import tifffile
    from scipy import ndimage as ndi

    rng = np.random.default_rng(spec.seed)
    name = "BenchPlate"
    step = int(round(spec.tile * (1 - spec.overlap)))
    mosaic = (step * (spec.grid - 1) + spec.tile + 8,) * 2
    tdir = root / "TimePoint_1"
    tdir.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0 : spec.tile, 0 : spec.tile] / spec.tile - 0.5
    vignette = 1.0 - 0.6 * (yy**2 + xx**2)
    density = spec.tile * spec.tile / 900  # ~ one nucleus per 30x30 px
    for well in spec.well_names():
        nuclei = ndi.gaussian_filter(_nuclei(rng, mosaic, int(density * spec.grid**2)), 1.0)
        planes = [nuclei] + [
            ndi.gaussian_filter(nuclei, 4.0) * 0.8 + 0.1 for _ in range(spec.channels - 1)
        ]
        for s in range(spec.grid * spec.grid):
            row, col = divmod(s, spec.grid)
            y0 = row * step + int(rng.integers(0, 4))
            x0 = col * step + int(rng.integers(0, 4))
            for ci, plane in enumerate(planes):
                tile = plane[y0 : y0 + spec.tile, x0 : x0 + spec.tile] * vignette
                tile = 200 + 3000 * tile + rng.normal(0, 20, tile.shape)
                out = np.clip(tile, 0, 65535).astype(np.uint16)
                tifffile.imwrite(tdir / f"{name}_{well}_s{s + 1}_w{ci + 1}.TIF", out)
    lines = [
        '"HTSInfoFile", Version 1.0',
        '"Description", "napari-hcs benchmark plate"',
        '"PlateType", 6',
        '"XWells", 12',
        '"YWells", 8',
    ]
    for i, r in enumerate("ABCDEFGH"):
        used = [f"{r}{c:02d}" in spec.well_names() for c in range(1, 13)]
        flags = ", ".join("TRUE" if u else "FALSE" for u in used)
        lines.append(f'"WellsSelection{i + 1}", {flags}')
    lines += [
        '"Sites", TRUE',
        f'"XSites", {spec.grid}',
        f'"YSites", {spec.grid}',
    ]
    for i in range(spec.grid):
        lines.append(f'"SiteSelection{i + 1}", ' + ", ".join(["TRUE"] * spec.grid))
    lines += ['"Timepoints", 1', '"Waves", TRUE', f'"NWavelengths", {spec.channels}']
    for ci in range(spec.channels):
        lines += [f'"WaveName{ci + 1}", "w{ci + 1}"', f'"WaveCollect{ci + 1}", 1']
    lines += ['"UniqueIdentifier", "napari-hcs-bench"', '"EndFile"']
    (root / f"{name}.HTD").write_text("\r\n".join(lines) + "\r\n")
    return root
