"""The shipped pipelines: each loads by name, round-trips, and the torch twin gives the numpy
results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_hcs import pipelines as shipped
from napari_hcs.cli import main
from napari_hcs.engine.codegen import load_pipeline, pipeline_from_source, pipeline_to_source
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate


@pytest.fixture(scope="module")
def plate(tmp_path_factory) -> Path:
    spec = SampleSpec(wells=("A01",), grid=(2, 2), tile=(128, 128), seed=3)
    return write_sample_plate(tmp_path_factory.mktemp("examples") / "plate", "imagexpress", spec)


STEPS = {
    "profile_cells": ["quality", "illumination", "positions", "assembly", "nuclei", "cells",
                      "features", "wells"],
}


@pytest.mark.parametrize("name", shipped.names())
def test_shipped_pipeline_round_trips_through_codegen(name):
    pipeline = load_pipeline(shipped.path_of(name))
    assert [s.name for s in pipeline.steps] == STEPS.get(name, [
        "illumination", "positions", "assembly", "nuclei", "measurements"])
    assert pipeline_from_source(pipeline_to_source(pipeline)) == pipeline


def test_torch_twin_matches_the_numpy_pipeline(plate, tmp_path):
    tables = {}
    for name in ("stitch_segment", "stitch_segment_torch"):  # by name, as users type it
        out = tmp_path / name
        assert main(["run", name, str(plate), "--out", str(out),
                     "--no-progress"]) == 0
        tables[name] = (pd.read_parquet(out / "tables" / "nuclei.parquet"),
                        pd.read_parquet(out / "tables" / "positions.parquet"))
    (nuclei, positions), (nuclei_t, positions_t) = tables.values()
    assert len(nuclei) > 0 and abs(len(nuclei) - len(nuclei_t)) <= 1
    np.testing.assert_allclose(positions[["y", "x"]], positions_t[["y", "x"]], atol=0.05)


def test_a_name_that_is_no_file_and_no_pipeline_is_one_clear_error(plate, tmp_path, capsys):
    assert main(["run", "stitch_segmnt", str(plate), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "stitch_segmnt" in err and "stitch_segment" in err


def test_the_readme_shows_the_shipped_default_pipeline_as_it_is():
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    intro = "A pipeline is a Python file (`napari_hcs/pipelines/stitch_segment.py`):\n\n```python\n"
    shown = readme[readme.index(intro) + len(intro):].split("```\n", 1)[0]
    source = Path(shipped.path_of("stitch_segment")).read_text()
    assert shown == source[source.index("from napari_hcs"):]
