"""The benchmark plate: the project's generator (`write_sample_plate`, ImageXpress layout) at a
size given in wells x (grid x grid) sites x channels."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.engine.plate.wells import format_well


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
        return tuple(format_well(*divmod(i, 12)) for i in range(self.wells))


def write_plate(path: str | Path, spec: BenchPlateSpec, *, force: bool = True) -> tuple[Path, str]:
    """Write the plate at `path`; return (root, which writer was used)."""
    path = Path(path)
    if force and path.exists():
        shutil.rmtree(path)
    sample = SampleSpec(
        wells=spec.well_names(),
        grid=(spec.grid, spec.grid),
        tile=(spec.tile, spec.tile),
        overlap=spec.overlap,
        channels=tuple(str(c + 1) for c in range(spec.channels)),
        seed=spec.seed,
    )
    root = write_sample_plate(path, "imagexpress", sample, force=True)
    return Path(root), "napari_hcs.engine.plate.generator.write_sample_plate"
