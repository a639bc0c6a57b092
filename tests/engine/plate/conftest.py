"""Small generated plates (64 px tiles) shared by the plate-format tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

SMALL = SampleSpec(wells=("A01", "B02"), grid=(2, 2), tile=(64, 64), nuclei_per_tile=4.0,
                   nucleus_radius=(3.0, 5.0), seed=7)


@pytest.fixture(scope="session")
def small_spec() -> SampleSpec:
    return SMALL


@pytest.fixture(scope="session")
def plates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One read-only small plate per format; tests that damage a plate make their own."""
    base = tmp_path_factory.mktemp("plates")
    return {fmt: write_sample_plate(base / fmt, fmt, SMALL)
            for fmt in ("imagexpress", "phenix", "zarr")}
