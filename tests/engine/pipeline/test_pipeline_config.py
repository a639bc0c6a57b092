"""Layered configuration: step -> pipeline -> global -> default, and where a value comes from."""

from __future__ import annotations

import dataclasses

import pytest

from napari_hcs.engine.pipeline import (
    CONFIG_FIELDS,
    DEFAULTS,
    DESCRIPTIONS,
    GlobalConfig,
    PipelineConfig,
    StepConfig,
    resolve,
    resolve_all,
    source,
)


def test_every_field_inherits_by_default():
    for cls in (GlobalConfig, PipelineConfig, StepConfig):
        assert all(getattr(cls(), f.name) is None for f in dataclasses.fields(cls))
    assert set(DESCRIPTIONS) == set(DEFAULTS) == set(CONFIG_FIELDS)
    # every field a lower level has is known to the levels above it
    step_fields = {f.name for f in dataclasses.fields(StepConfig)}
    assert step_fields <= {f.name for f in dataclasses.fields(PipelineConfig)}
    assert {f.name for f in dataclasses.fields(PipelineConfig)} == set(CONFIG_FIELDS)


def test_nearest_level_wins():
    g = GlobalConfig(device="cuda", workers=4, zarr_levels=2)
    p = PipelineConfig(device="cuda:1", workers=2)
    s = StepConfig(device="cpu")
    assert (resolve("device", s, p, g), source("device", s, p, g)) == ("cpu", "step")
    assert (resolve("device", None, p, g), source("device", None, p, g)) == ("cuda:1", "pipeline")
    assert (resolve("workers", s, p, g), source("workers", s, p, g)) == (2, "pipeline")
    assert (resolve("zarr_levels", s, p, g), source("zarr_levels", s, p, g)) == (2, "global")
    assert (resolve("zarr_chunk_size", s, p, g), source("zarr_chunk_size", s, p, g)) == (
        DEFAULTS["zarr_chunk_size"], "default")


def test_false_is_a_value_not_inherit():
    g = GlobalConfig(materialize_intermediates=True)
    s = StepConfig(materialize_intermediates=False)
    assert resolve("materialize_intermediates", s, None, g) is False
    assert source("materialize_intermediates", s, None, g) == "step"


def test_unknown_field():
    with pytest.raises(KeyError, match="unknown configuration field 'threads'"):
        resolve("threads")


def test_frozen_and_set_fields():
    p = PipelineConfig(workers=2, zarr_compression="none")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.workers = 3  # type: ignore[misc]
    assert p.set_fields() == {"workers": 2, "zarr_compression": "none"}
    assert p.merged(workers=None).set_fields() == {"zarr_compression": "none"}
    assert PipelineConfig(workers=2) == PipelineConfig(workers=2) != PipelineConfig(workers=3)


def test_resolve_all():
    values = resolve_all(PipelineConfig(workers=2), GlobalConfig(device="cuda"))
    assert values == {**DEFAULTS, "workers": 2, "device": "cuda"}


def test_levels_are_distinct_types():
    assert GlobalConfig(workers=2) != PipelineConfig(workers=2)
    assert GlobalConfig(workers=2) == GlobalConfig(workers=2)
