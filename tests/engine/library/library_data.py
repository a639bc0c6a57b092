"""Shared inputs: the generator's synthetic wells and a real nuclei image with ground truth."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_hcs.engine.plate.synthetic import SampleSpec, synthesize_well


def real_nuclei() -> tuple[np.ndarray, np.ndarray]:
    """StarDist's bundled 2018 Data Science Bowl fluorescence image and its instance mask.

    Read from the installed `stardist` package's data folder (found without importing it):
    512 x 512 uint16, 125 annotated nuclei (Caicedo et al., Nature Methods 2019).
    """
    spec = importlib.util.find_spec("stardist")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("stardist (ships the real nuclei image with ground truth) is not installed")
    images = Path(next(iter(spec.submodule_search_locations))) / "data" / "images"
    return tifffile.imread(images / "img2d.tif"), tifffile.imread(images / "mask2d.tif")


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
