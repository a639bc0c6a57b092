"""compile_pipeline on valid pipelines: the plans it builds."""

from __future__ import annotations

import pickle

import numpy as np
from compiler_testfuncs import (
    cmp_assemble,
    cmp_blur,
    cmp_find_positions,
    cmp_segment,
    cmp_threshold,
    cmp_torch_scale,
)

from napari_hcs.engine.compiler import PLATE, CompiledPipeline, WellPlan, compile_pipeline
from napari_hcs.engine.functions.registry import get_function
from napari_hcs.engine.pipeline import GlobalConfig, Pipeline, PipelineConfig, Step, StepConfig


def stitch_pipeline() -> Pipeline:
    return Pipeline(
        [
            Step((cmp_blur, {"sigma": 2.0}), name="blur"),
            Step(cmp_find_positions, name="positions"),
            Step((cmp_assemble, {"blend": False}), name="assemble"),
            Step({"1": [(cmp_threshold, {"level": 5}), cmp_segment]}, name="segment",
                 variable_components=(), group_by="channel"),
        ],
        name="stitch",
    )


def test_one_plan_per_well_with_shared_step_plans(plate):
    compiled = compile_pipeline(stitch_pipeline(), plate, output_dir="/tmp/out")
    assert isinstance(compiled, CompiledPipeline)
    assert compiled.wells == ("A01", "A02", "B01", "B02")
    a01, b02 = compiled.plans["A01"], compiled.plans["B02"]
    assert isinstance(a01, WellPlan)
    assert a01.steps is b02.steps is compiled.steps  # built once, shared
    assert a01.output_dir == "/tmp/out"
    assert a01.plate_format == "memory" and a01.plate_root == "/plates/fake"
    # every image of the well, with the reader's path, in layout order
    assert [k for k, _ in a01.inputs] == plate.layout.keys("A01")
    assert all(path == plate.image_path(key) for key, path in a01.inputs)
    assert all(k.well == "B02" for k in b02.keys)


def test_call_plans_name_functions_and_keep_kwargs(plate):
    steps = compile_pipeline(stitch_pipeline(), plate).steps
    blur = steps[0]
    assert blur.name == "blur" and blur.group_by is None
    [(key, chain)] = blur.calls
    assert key is None
    assert chain[0].function.endswith(":cmp_blur")
    assert get_function(chain[0].function).func is cmp_blur
    assert chain[0].kwargs_dict() == {"sigma": 2.0}
    seg = steps[3]
    assert seg.group_by == "channel" and seg.variable_components == ()
    assert [c.function.split(":")[1] for c in seg.chain_for("1")] == ["cmp_threshold",
                                                                      "cmp_segment"]
    assert seg.chain_for("2") is None  # channel 2 passes through
    assert dict(seg.chain_for("1")[1].special_outputs) == {"labels": "labels", "cells": "table"}


def test_special_inputs_link_to_producers_and_plate(plate):
    compiled = compile_pipeline(stitch_pipeline(), plate)
    steps = compiled.steps
    assert steps[1].special_inputs == (("stage_positions", PLATE),)
    assert steps[2].special_inputs == (("positions", 1),)
    provided = dict(compiled.plans["A01"].plate_provided)
    positions = provided["stage_positions"]
    expected = [plate.layout.site_positions[s] for s in plate.layout.sites]
    np.testing.assert_array_equal(positions, np.array(expected))
    assert positions.shape == (4, 2) and positions.dtype == np.float64


def test_latest_producer_wins(plate):
    pipeline = Pipeline([
        Step(cmp_find_positions), Step(cmp_find_positions), Step(cmp_assemble)
    ])
    steps = compile_pipeline(pipeline, plate).steps
    assert steps[1].special_inputs == (("stage_positions", PLATE),)
    assert steps[2].special_inputs == (("positions", 1),)


def test_plans_pickle_round_trip(plate):
    compiled = compile_pipeline(stitch_pipeline(), plate, output_dir="/tmp/out")
    plan = compiled.plans["B01"]
    clone = pickle.loads(pickle.dumps(plan))
    assert clone.steps == plan.steps
    assert clone.inputs == plan.inputs
    assert clone.config == plan.config
    assert (clone.well, clone.output_dir, clone.plate_root) == ("B01", "/tmp/out", "/plates/fake")
    np.testing.assert_array_equal(dict(clone.plate_provided)["stage_positions"],
                                  dict(plan.plate_provided)["stage_positions"])
    # the whole compiled pipeline travels too (e.g. to the execution server's workers)
    assert pickle.loads(pickle.dumps(compiled)).steps == compiled.steps


def test_wells_subset_keeps_order_and_drops_duplicates(plate):
    compiled = compile_pipeline(stitch_pipeline(), plate, wells=["B02", "A01", "B02"])
    assert compiled.wells == ("B02", "A01")


def test_config_resolves_step_over_pipeline_over_global(plate):
    pipeline = Pipeline(
        [
            Step(cmp_blur, name="a"),
            Step(cmp_torch_scale, name="b", config=StepConfig(device="cpu")),
            Step(cmp_blur, name="c", materialize=True,
                 config=StepConfig(materialize_intermediates=False)),
        ],
        config=PipelineConfig(workers=3, materialize_intermediates=True),
    )
    compiled = compile_pipeline(
        pipeline, plate, config=GlobalConfig(workers=8, device="cuda", zarr_levels=2),
        check_available_devices=False,
    )
    a, b, c = compiled.steps
    assert a.device == "cuda:0"  # global, "cuda" normalised to the first GPU
    assert b.device == "cpu"  # step override
    assert a.materialize and b.materialize  # pipeline materialize_intermediates
    assert c.materialize  # the step's own flag wins over its config
    config = dict(compiled.plans["A01"].config)
    assert config["workers"] == 3 and config["zarr_levels"] == 2 and config["device"] == "cuda"
    assert compiled.config == config


def test_torch_function_compiles_on_cpu(plate):
    compiled = compile_pipeline(Pipeline([Step((cmp_torch_scale, {"factor": 3})),]), plate)
    call = compiled.steps[0].calls[0][1][0]
    assert (call.input_memory, call.output_memory) == ("torch", "torch")
    assert compiled.steps[0].device == "cpu"


def test_registry_names_work_as_patterns(plate):
    compiled = compile_pipeline(Pipeline([Step(["cmp_blur", ("cmp_threshold", {"level": 1})])]),
                                plate)
    chain = compiled.steps[0].calls[0][1]
    assert [c.function.split(":")[1] for c in chain] == ["cmp_blur", "cmp_threshold"]


def test_channel_names_are_plate_provided(plate):
    from napari_hcs.engine.functions.registry import register

    @register(name="cmp_names_user", special_inputs=("channel_names",))
    def names_user(stack, channel_names):
        return stack

    compiled = compile_pipeline(Pipeline([Step(names_user, variable_components=("channel",))]),
                                plate)
    assert dict(compiled.plans["A01"].plate_provided)["channel_names"] == ("DAPI", "GFP")


def test_site_ids_are_plate_provided(plate):
    from napari_hcs.engine.executor.specials import SpecialValues
    from napari_hcs.engine.functions.registry import register
    from napari_hcs.engine.plate.model import ImageKey

    @register(name="cmp_sites_user", special_inputs=("site_ids",))
    def sites_user(stack, site_ids):
        return stack

    compiled = compile_pipeline(Pipeline([Step(sites_user, variable_components=("site",))]),
                                plate)
    provided = dict(compiled.plans["A01"].plate_provided)
    assert provided["site_ids"] == (1, 2, 3, 4)
    # Each stacked image gets its own site, whatever the stacking.
    keys = [ImageKey("A01", s, c, 1, 1) for s in (1, 2, 3, 4) for c in ("1", "2")]
    values = SpecialValues(keys, provided)
    stack = [k for k in keys if k.channel == "2" and k.site in (2, 4)]
    assert values.resolve("site_ids", (), stack, -1, "here") == [2, 4]
