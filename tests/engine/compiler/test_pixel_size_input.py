"""The plate's pixel size reaches functions as the plate-provided special input."""

from __future__ import annotations

import dataclasses

from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.layout_only import LayoutOnlyReader


def test_the_plate_pixel_size_reaches_the_nuclei_step(make_plate) -> None:
    for size, expected in ((0.65, 0.65), (None, None)):
        layout = dataclasses.replace(make_plate().layout, pixel_size_um=size)
        compiled = compile_pipeline(Pipeline([Step(segment_nuclei)]), LayoutOnlyReader(layout))
        plan = next(iter(compiled.plans.values()))
        assert dict(plan.plate_provided)["pixel_size_um"] == expected
