"""Step and Pipeline are plain values compared by value."""

from __future__ import annotations

import pytest

from napari_hcs.engine.functions.registry import register
from napari_hcs.engine.pipeline import Pipeline, PipelineConfig, Step, StepConfig


@register(category="test")
def sp_denoise(stack, strength: float = 1.0):
    """Denoise."""
    return stack


@register(category="test")
def sp_mask(stack):
    """Mask."""
    return stack


def test_defaults():
    step = Step(sp_denoise)
    assert step.variable_components == ("site",)
    assert (step.name, step.group_by, step.materialize, step.config) == (None, None, False, None)
    pipeline = Pipeline([step])
    assert (pipeline.name, pipeline.config) == ("pipeline", None)


def test_value_equality():
    def make():
        return Pipeline(
            [
                Step((sp_denoise, {"strength": 2.0}), name="a", config=StepConfig(device="cpu")),
                Step({"1": [sp_mask, sp_denoise]}, group_by="channel", variable_components=["z"]),
            ],
            name="p",
            config=PipelineConfig(workers=2),
        )

    assert make() == make()
    other = make()
    other.steps[0].func = (sp_denoise, {"strength": 3.0})
    assert other != make()
    assert Pipeline([Step(sp_mask)], name="x") != Pipeline([Step(sp_mask)], name="y")
    assert Pipeline((Step(sp_mask),)) == Pipeline([Step(sp_mask)])  # steps kept as a list


def test_variable_components_normalised():
    assert Step(sp_mask, variable_components=["site", "z"]).variable_components == ("site", "z")
    assert Step(sp_mask, variable_components="z").variable_components == ("z",)


def test_display_name():
    assert Step(sp_mask, name="mask it").display_name == "mask it"
    assert Step([sp_denoise, (sp_mask, {}), sp_denoise]).display_name == "sp_denoise + sp_mask"
    assert Step({"1": "sp_mask", "2": sp_denoise}, group_by="channel").display_name == (
        "sp_mask + sp_denoise"
    )
    assert Step(42).display_name == "step"


def test_pipeline_rejects_non_steps():
    with pytest.raises(TypeError, match=r"steps\[1\]"):
        Pipeline([Step(sp_mask), sp_mask])
