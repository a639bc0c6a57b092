"""compile_pipeline rejects mistakes, all of them at once, naming step and parameter."""

from __future__ import annotations

import pytest
from compiler_testfuncs import (
    cmp_assemble,
    cmp_blur,
    cmp_cupy_invert,
    cmp_find_positions,
    cmp_measure,
    cmp_segment,
    cmp_threshold,
    cmp_torch_scale,
)

from napari_hcs.engine.compiler import CompileError, Problem, compile_pipeline
from napari_hcs.engine.memory import cuda_available
from napari_hcs.engine.pipeline import GlobalConfig, Pipeline, Step, StepConfig


def problems_of(pipeline, plate, **kwargs) -> list[Problem]:
    with pytest.raises(CompileError) as info:
        compile_pipeline(pipeline, plate, **kwargs)
    error = info.value
    # one line per problem, after the header line
    assert str(error).count("\n") == len(error.problems)
    return error.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_unknown_kwarg(plate):
    p = only(problems_of(Pipeline([Step((cmp_blur, {"sigma": 1.0, "sigmaa": 2}))]), plate))
    assert (p.step_index, p.step_name, p.parameter) == (0, "cmp_blur", "sigmaa")
    assert "no parameter 'sigmaa'" in p.message and "sigma" in p.message


def test_missing_required_kwarg(plate):
    p = only(problems_of(Pipeline([Step(cmp_blur), Step(cmp_threshold, name="thr")]), plate))
    assert (p.step_index, p.step_name, p.parameter) == (1, "thr", "level")
    assert "needs a value" in p.message


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"level": "high"}, "level"),  # str for int
        ({"level": 1.5}, "level"),  # float for int
        ({"level": True}, "level"),  # bool is not an int here
        ({"level": 1, "invert": 1}, "invert"),  # int for bool
        ({"level": 1, "size": 3}, "size"),  # int for tuple | None
    ],
)
def test_wrong_simple_type(plate, kwargs, parameter):
    p = only(problems_of(Pipeline([Step((cmp_threshold, kwargs))]), plate))
    assert p.parameter == parameter and "expects" in p.message


def test_accepted_types(plate):
    ok = [
        Step((cmp_blur, {"sigma": 2})),  # int for float
        Step((cmp_blur, {"mode": "wrap"})),  # Literal member
        Step((cmp_threshold, {"level": 1, "size": [3, 3]})),  # list for tuple
        Step((cmp_threshold, {"level": 1, "size": None})),
        Step((cmp_segment, {"min_area": 5})),
        Step((cmp_measure, {"anything": object()})),  # **options passes through
    ]
    compile_pipeline(Pipeline(ok), plate)


def test_literal_value_outside_choices(plate):
    p = only(problems_of(Pipeline([Step((cmp_blur, {"mode": "mirror"}))]), plate))
    assert p.parameter == "mode" and "'mirror'" in p.message


def test_special_input_passed_as_kwarg(plate):
    p = only(problems_of(Pipeline([Step((cmp_find_positions, {"stage_positions": 1}))]), plate))
    assert p.parameter == "stage_positions" and "special input" in p.message


def test_dict_key_not_on_plate(plate):
    step = Step({"1": cmp_blur, "3": cmp_blur}, name="per channel", group_by="channel")
    p = only(problems_of(Pipeline([step]), plate))
    assert (p.step_index, p.step_name, p.parameter) == (0, "per channel", "func['3']")
    assert "channel '3' is not on this plate" in p.message and "'1', '2'" in p.message


def test_dict_pattern_needs_group_by(plate):
    p = only(problems_of(Pipeline([Step({"1": cmp_blur})]), plate))
    assert p.parameter == "func" and "group_by" in p.message


def test_unknown_function_name(plate):
    p = only(problems_of(Pipeline([Step(["cmp_blur", "no_such_function"])]), plate))
    assert p.parameter == "func" and "no_such_function" in p.message


def test_special_input_without_producer(plate):
    p = only(problems_of(Pipeline([Step(cmp_blur), Step(cmp_assemble, name="assemble")]), plate))
    assert (p.step_index, p.step_name, p.parameter) == (1, "assemble", "positions")
    assert "no earlier step produces it" in p.message


def test_special_input_produced_later(plate):
    pipeline = Pipeline([Step(cmp_assemble), Step(cmp_find_positions)])
    p = only(problems_of(pipeline, plate))
    assert p.step_index == 0 and "step 2, which runs later" in p.message


def test_special_input_produced_in_same_step(plate):
    p = only(problems_of(Pipeline([Step([cmp_segment, cmp_measure])]), plate))
    assert p.parameter == "cells" and "same step" in p.message


def test_plate_without_stage_positions(make_plate):
    p = only(problems_of(Pipeline([Step(cmp_find_positions)]), make_plate(positions=False)))
    assert p.parameter == "stage_positions" and "no stage positions" in p.message


def test_cupy_function_on_cpu(plate):
    p = only(problems_of(Pipeline([Step(cmp_cupy_invert, name="gpu")]), plate))
    assert (p.step_name, p.parameter) == ("gpu", "device")
    assert "cupy" in p.message and "cpu" in p.message


@pytest.mark.skipif(cuda_available(), reason="needs a machine without CUDA")
def test_absent_gpu_is_reported_unless_skipped(plate):
    pipeline = Pipeline([Step(cmp_torch_scale, config=StepConfig(device="cuda:0"))])
    p = only(problems_of(pipeline, plate))
    assert p.parameter == "device" and "not available" in p.message
    compiled = compile_pipeline(pipeline, plate, check_available_devices=False)
    assert compiled.steps[0].device == "cuda:0"
    # numpy functions run on the host, so a GPU device alone is no problem
    compile_pipeline(Pipeline([Step(cmp_blur)]), plate, config=GlobalConfig(device="cuda"))


def test_bad_components_and_device(plate):
    pipeline = Pipeline([
        Step(cmp_blur, variable_components=("tile",)),
        Step({"1": cmp_blur}, group_by="site", variable_components=("site",)),
        Step(cmp_blur, config=StepConfig(device="gpu")),
    ])
    found = {(p.step_index, p.parameter) for p in problems_of(pipeline, plate)}
    assert found == {(0, "variable_components"), (1, "group_by"), (2, "device")}


def test_unknown_wells(plate):
    p = only(problems_of(Pipeline([Step(cmp_blur)]), plate, wells=["A01", "Z99", "H12"]))
    assert p.step_index is None and p.parameter == "wells"
    assert "Z99, H12" in p.message and "A01" in p.message
    assert str(p).startswith("parameter 'wells'")


def test_empty_pipeline(plate):
    assert "no steps" in only(problems_of(Pipeline([]), plate)).message


def test_all_problems_are_collected(plate):
    pipeline = Pipeline([
        Step((cmp_blur, {"sigmaa": 1}), name="one"),
        Step(cmp_threshold, name="two"),
        Step({"9": cmp_blur}, group_by="channel", name="three"),
        Step(cmp_assemble, name="four"),
        Step(cmp_cupy_invert, name="five"),
    ])
    problems = problems_of(pipeline, plate, wells=["Q01"])
    assert [(p.step_name, p.parameter) for p in problems] == [
        (None, "wells"),
        ("one", "sigmaa"),
        ("two", "level"),
        ("three", "func['9']"),
        ("four", "positions"),
        ("five", "device"),
    ]
    text = str(CompileError(problems, "mine"))
    assert text.startswith("pipeline 'mine' has 6 problems:")
    assert "  - step 2 'two', parameter 'level': cmp_threshold needs a value" in text


def test_not_a_pipeline(plate):
    with pytest.raises(TypeError, match="needs a Pipeline"):
        compile_pipeline([Step(cmp_blur)], plate)  # type: ignore[arg-type]


def test_a_broken_producer_is_reported_once(plate):
    pipeline = Pipeline([Step([cmp_find_positions, "no_such_fn"]), Step(cmp_assemble)])
    p = only(problems_of(pipeline, plate))
    assert p.step_index == 0 and "no_such_fn" in p.message
