"""The benchmark plate: the project's generator (`write_sample_plate`, ImageXpress layout) at a
size given in wells x (grid x grid) sites x channels, with nuclei at a density per area.

The generator counts nuclei per tile; the bench states them per area (`DENSITIES`, nuclei per
512 x 512 px), so a 2048 px tile holds 16 times the nuclei of a 512 px one and the sweep
compares tile sizes at the same specimen. "sparse" is the generator's default at 512 px
(12 per tile), "dense" four times that.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.engine.plate.wells import format_well

DENSITY_AREA = 512  # px: densities are nuclei per DENSITY_AREA x DENSITY_AREA pixels
DENSITIES = {"sparse": 12.0, "dense": 48.0}


@dataclass(frozen=True)
class BenchPlateSpec:
    """Size of the benchmark plate: wells x (grid x grid) sites x channels, square tiles."""

    wells: int = 4
    grid: int = 2
    channels: int = 2
    tile: int = 256
    overlap: float = 0.1
    seed: int = 0
    density: str = "sparse"  # a key of DENSITIES

    @property
    def nuclei_per_tile(self) -> float:
        return DENSITIES[self.density] * (self.tile / DENSITY_AREA) ** 2

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
        nuclei_per_tile=spec.nuclei_per_tile,
    )
    root = write_sample_plate(path, "imagexpress", sample, force=True)
    return Path(root), "napari_hcs.engine.plate.generator.write_sample_plate"
