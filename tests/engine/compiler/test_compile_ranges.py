"""Ranges and choices from annotations, and configuration values, are checked at compile time."""

from __future__ import annotations

from typing import Annotated

import pytest
from annotated_types import Ge, Interval

from napari_hcs.engine.compiler import CompileError, bounds, compile_pipeline, type_mismatch
from napari_hcs.engine.functions.library.background import subtract_background
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.pipeline import (
    FIELD_TYPES,
    GlobalConfig,
    Pipeline,
    PipelineConfig,
    Step,
    StepConfig,
)
from napari_hcs.engine.pipeline.config import Compression

Weight = Annotated[float, Interval(ge=0, le=1)]


def _problems(pipeline, plate, **kwargs):
    with pytest.raises(CompileError) as info:
        compile_pipeline(pipeline, plate, **kwargs)
    return info.value.problems


@pytest.mark.parametrize(("value", "annotation", "expected"), [
    (-7, Annotated[int, Ge(1)], "expects int >= 1, got -7"),
    ("0.1x", Weight, "expects float >= 0 and <= 1, got '0.1x'"),
    (1.5, Weight, "got 1.5"),
    (float("nan"), Weight, "got nan"),
    ("lz4x", Compression, "one of 'blosc'"),
])
def test_out_of_range_and_wrong_choice_are_named(value, annotation, expected):
    assert expected in type_mismatch(value, annotation)


@pytest.mark.parametrize(("value", "annotation"), [
    (1, Annotated[int, Ge(1)]), (0.0, Weight), (1, Weight), ("blosc", Compression)])
def test_values_in_range_fit(value, annotation):
    assert type_mismatch(value, annotation) is None


def test_bounds_for_forms():
    assert bounds(Weight) == (0, 1)
    assert bounds(Annotated[int, Ge(1)]) == (1, None)
    assert bounds(float) == (None, None)


def test_library_parameters_out_of_range_do_not_compile(plate):
    pipeline = Pipeline([Step((subtract_background, {"radius": -7})),
                         Step((segment_nuclei, {"min_diameter_um": "2x",
                                                "max_diameter_um": 10.0}))])
    problems = _problems(pipeline, plate)
    assert [(p.step_index, p.parameter) for p in problems] == [(0, "radius"),
                                                                (1, "min_diameter_um")]
    assert "radius" in str(problems[0]) and ">= 1" in problems[0].message


def test_configuration_values_are_checked_at_every_level(plate):
    pipeline = Pipeline([Step(subtract_background, config=StepConfig(zarr_compression="lz4x"))],
                        config=PipelineConfig(zarr_levels=0))
    problems = _problems(pipeline, plate, config=GlobalConfig(workers=0))
    found = {(p.step_index, p.parameter) for p in problems}
    assert found == {(None, "workers"), (None, "zarr_levels"), (0, "zarr_compression")}
    message = next(str(p) for p in problems if p.parameter == "zarr_compression")
    assert "'lz4x'" in message and "zstd" in message and "step 1" in message


def test_every_configuration_field_has_a_type():
    from napari_hcs.engine.pipeline import DEFAULTS

    assert set(FIELD_TYPES) == set(DEFAULTS)
    assert all(type_mismatch(v, FIELD_TYPES[k]) is None for k, v in DEFAULTS.items())


def test_compression_choices_are_the_writers():
    import typing

    from napari_hcs.engine.vfs.pyramid import COMPRESSIONS

    assert typing.get_args(Compression) == COMPRESSIONS


def test_output_formats_are_the_writers():
    import typing

    from napari_hcs.engine.pipeline.config import DEFAULTS, OutputFormat
    from napari_hcs.engine.vfs.omezarr import DEFAULT_VERSION, VERSIONS

    assert typing.get_args(OutputFormat) == tuple(f"ngff-{v}" for v in VERSIONS)
    assert DEFAULTS["output_format"] == f"ngff-{DEFAULT_VERSION}"
