"""Pipelines as data: steps, function patterns and layered configuration."""

from .config import (
    CONFIG_FIELDS,
    DEFAULTS,
    DESCRIPTIONS,
    FIELD_TYPES,
    GlobalConfig,
    PipelineConfig,
    StepConfig,
    resolve,
    resolve_all,
    resolve_with_source,
    source,
)
from .patterns import PatternError, iter_calls, normalize_pattern, pattern_kind
from .step import Pipeline, Step

__all__ = [
    "CONFIG_FIELDS",
    "FIELD_TYPES",
    "DEFAULTS",
    "DESCRIPTIONS",
    "GlobalConfig",
    "PatternError",
    "Pipeline",
    "PipelineConfig",
    "Step",
    "StepConfig",
    "iter_calls",
    "normalize_pattern",
    "pattern_kind",
    "resolve",
    "resolve_all",
    "resolve_with_source",
    "source",
]
