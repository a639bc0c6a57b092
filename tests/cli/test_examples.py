"""The shipped pipeline files: each loads, compiles, and the torch twin gives the numpy results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_hcs.cli import main
from napari_hcs.engine.codegen import load_pipeline, pipeline_from_source, pipeline_to_source
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def plate(tmp_path_factory) -> Path:
    spec = SampleSpec(wells=("A01",), grid=(2, 2), tile=(128, 128), seed=3)
    return write_sample_plate(tmp_path_factory.mktemp("examples") / "plate", "imagexpress", spec)


@pytest.mark.parametrize("name", ["stitch_segment.py", "stitch_segment_torch.py"])
def test_example_round_trips_through_codegen(name):
    pipeline = load_pipeline(EXAMPLES / name)
    assert [s.name for s in pipeline.steps] == [
        "illumination", "positions", "assembly", "nuclei", "measurements"]
    assert pipeline_from_source(pipeline_to_source(pipeline)) == pipeline


def test_torch_twin_matches_the_numpy_pipeline(plate, tmp_path):
    tables = {}
    for name in ("stitch_segment.py", "stitch_segment_torch.py"):
        out = tmp_path / name
        assert main(["run", str(EXAMPLES / name), str(plate), "--out", str(out),
                     "--no-progress"]) == 0
        tables[name] = (pd.read_parquet(out / "tables" / "nuclei.parquet"),
                        pd.read_parquet(out / "tables" / "positions.parquet"))
    (nuclei, positions), (nuclei_t, positions_t) = tables.values()
    assert len(nuclei) > 0 and abs(len(nuclei) - len(nuclei_t)) <= 1
    np.testing.assert_allclose(positions[["y", "x"]], positions_t[["y", "x"]], atol=0.05)
