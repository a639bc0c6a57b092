"""Shared inputs: the generator's synthetic wells and a real nuclei image with ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from napari_hcs.engine.plate.synthetic import SampleSpec, synthesize_well


def real_nuclei() -> tuple[np.ndarray, np.ndarray]:
    """StarDist's bundled 2018 Data Science Bowl fluorescence image and its instance mask:
    512 x 512 uint16, 125 annotated nuclei (Caicedo et al., Nature Methods 2019), vendored in
    `tests/data/dsb2018/` (README there)."""
    folder = Path(__file__).resolve().parents[2] / "data" / "dsb2018"
    return tifffile.imread(folder / "img2d.tif"), tifffile.imread(folder / "mask2d.tif")


def well_stack(seed: int, well: str, channel: str = "1", **spec: object) -> tuple[np.ndarray, dict]:
    """The (sites, Y, X) tiles of one synthetic well, with nominal/true positions and count
    (`spec`: SampleSpec fields other than the defaults, e.g. grid=(3, 3))."""
    data = synthesize_well(SampleSpec(seed=seed, **spec), well)
    sites = sorted(data.positions)
    stack = np.stack([data.tiles[(s, channel, 1, 1)] for s in sites])
    truth = {
        "nominal": np.array([data.nominal_positions[s] for s in sites], float),
        "positions": np.array([data.positions[s] for s in sites], float),
        "count": len(data.nuclei),
        "nuclei": np.array(data.nuclei, float).reshape(-1, 2),
    }
    return stack, truth
