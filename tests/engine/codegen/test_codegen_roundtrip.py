"""pipeline -> source -> pipeline is the identity, for hand-picked and generated pipelines."""

from __future__ import annotations

import keyword
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_hcs.engine.codegen import pipeline_from_source, pipeline_to_source
from napari_hcs.engine.functions.registry import register
from napari_hcs.engine.pipeline import Pipeline, PipelineConfig, Step, StepConfig


@register(category="test")
def cg_smooth(stack, sigma: float = 1.0):
    """Smooth."""
    return stack


@register(category="test")
def cg_clip(stack, low: int = 0):
    """Clip."""
    return stack


class Ops:
    """Registered functions can live in a class namespace too."""

    @staticmethod
    @register(category="test", name="cg_invert")
    def invert(stack):
        """Invert."""
        return stack


def test_hand_written_pipeline_round_trips():
    pipeline = Pipeline(
        [
            Step((cg_smooth, {"sigma": 2.5}), name="smooth"),
            Step([cg_clip, (Ops.invert, {}), "cg_smooth"], variable_components=["site", "z"]),
            Step({"1": (cg_clip, {"low": -3}), 2: [cg_smooth, cg_clip]}, group_by="channel",
                 materialize=True, config=StepConfig(device="cpu")),
            Step((cg_smooth, {"sigma": float("inf"), "extra": (1, ("a", None), [True])})),
        ],
        name="it's \"quoted\"\n",
        config=PipelineConfig(workers=2, zarr_compression="none", materialize_intermediates=False),
    )
    source = pipeline_to_source(pipeline)
    assert pipeline_from_source(source) == pipeline


# --- generated pipelines -------------------------------------------------------------------

identifiers = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8).filter(
    lambda s: not keyword.iskeyword(s)
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)
)
values = st.recursive(scalars, lambda inner: st.tuples(inner) | st.tuples(inner, inner),
                      max_leaves=4)
refs = st.sampled_from([cg_smooth, cg_clip, Ops.invert, "cg_smooth", "cg_invert"])
calls = st.one_of(refs, st.tuples(refs, st.dictionaries(identifiers, values, max_size=3)))
chains = st.lists(calls, min_size=1, max_size=3)
patterns = st.one_of(
    calls,
    chains,
    st.dictionaries(st.sampled_from(["1", "2", "3", "DAPI", 4]), calls | chains, min_size=1,
                    max_size=3),
)
components = ("site", "channel", "z", "timepoint")
maybe = st.none().__or__
step_configs = st.builds(
    StepConfig,
    device=maybe(st.sampled_from(["cpu", "cuda", "cuda:1"])),
    materialize_intermediates=maybe(st.booleans()),
    zarr_compression=maybe(st.sampled_from(["zstd", "none"])),
)
pipeline_configs = st.builds(
    PipelineConfig,
    workers=maybe(st.integers(1, 64)),
    device=maybe(st.sampled_from(["cpu", "cuda"])),
    materialize_intermediates=maybe(st.booleans()),
    zarr_compression=maybe(st.sampled_from(["zstd", "blosc", "none"])),
    zarr_levels=maybe(st.integers(1, 8)),
    zarr_chunk_size=maybe(st.integers(16, 1024)),
)
steps = st.builds(
    Step,
    func=patterns,
    name=maybe(st.text(max_size=20)),
    variable_components=st.lists(st.sampled_from(components), unique=True, max_size=2),
    group_by=maybe(st.sampled_from(components)),
    materialize=st.booleans(),
    config=maybe(step_configs),
)
pipelines = st.builds(
    Pipeline,
    steps=st.lists(steps, max_size=4),
    name=st.text(max_size=20),
    config=maybe(pipeline_configs),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines)
def test_generated_pipelines_round_trip(pipeline):
    source = pipeline_to_source(pipeline)
    assert pipeline_from_source(source) == pipeline
    # writing is deterministic: the same pipeline always gives the same file
    assert pipeline_to_source(pipeline_from_source(source)) == source
