"""Pipelines as Python files: write one (`pipeline_to_source`) and read it back equal."""

from .layout import CodegenError
from .reader import PipelineFileError, load_pipeline, pipeline_from_source
from .writer import pipeline_to_source, save_pipeline

__all__ = [
    "CodegenError",
    "PipelineFileError",
    "load_pipeline",
    "pipeline_from_source",
    "pipeline_to_source",
    "save_pipeline",
]
