"""Fixtures of the library tests (helpers live in library_data.py)."""

from __future__ import annotations

import numpy as np
import pytest
from library_data import well_stack

from napari_hcs.engine.plate.synthetic import SampleSpec


@pytest.fixture(scope="session")
def sample_wells() -> dict[str, tuple[np.ndarray, dict]]:
    """The default sample plate's wells (seed 0: what `napari-hcs sample` writes)."""
    return {w: well_stack(0, w) for w in SampleSpec().wells}
