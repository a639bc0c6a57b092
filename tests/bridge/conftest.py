"""A small sample plate and a stitch + segment pipeline file for whole-run streaming tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

ROOT = Path(__file__).resolve().parents[2]
WELLS = ("A01", "B02")

# A pipeline file as users write them (DESIGN.md "Pipeline file"); the shipped
# shipped stitch_segment pipeline is used instead when it exists.
PIPELINE_SOURCE = '''\
from napari_hcs.engine.functions.library.assembly import assemble_mosaic
from napari_hcs.engine.functions.library.registration import compute_positions
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.pipeline import Pipeline, Step

pipeline = Pipeline([
    Step({"1": compute_positions}, name="positions", group_by="channel"),
    Step(assemble_mosaic, name="mosaic"),
    Step({"1": segment_nuclei}, name="segment", group_by="channel"),
], name="stream_test")
'''


@pytest.fixture(scope="session")
def plate_wells() -> tuple[str, ...]:
    return WELLS


@pytest.fixture(scope="session")
def sample_plate(tmp_path_factory) -> Path:
    spec = SampleSpec(wells=WELLS, grid=(2, 2), tile=(64, 64), nuclei_per_tile=5.0, seed=3)
    return write_sample_plate(tmp_path_factory.mktemp("stream") / "plate", "imagexpress", spec)


@pytest.fixture(scope="session")
def pipeline_file(tmp_path_factory) -> Path:
    shipped = ROOT / "src" / "napari_hcs" / "pipelines" / "stitch_segment.py"
    if shipped.exists():
        return shipped
    path = tmp_path_factory.mktemp("pipeline") / "stitch_segment.py"
    path.write_text(PIPELINE_SOURCE)
    return path
