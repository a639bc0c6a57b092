"""Python source -> Pipeline. A pipeline file is Python: reading one runs it."""

from __future__ import annotations

import os
from pathlib import Path

from ..pipeline.step import Pipeline


class PipelineFileError(ValueError):
    """A pipeline file that does not run or does not define `pipeline`; names the file."""


def pipeline_from_source(source: str, filename: str = "<pipeline source>") -> Pipeline:
    """Run pipeline-file `source` and return its module-level `pipeline`."""
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as exc:
        raise PipelineFileError(f"{filename}, line {exc.lineno}: {exc.msg}") from exc
    namespace: dict = {"__name__": "__hcs_pipeline__", "__file__": filename}
    try:
        exec(code, namespace)  # a pipeline file is code, by contract (DESIGN.md)
    except Exception as exc:
        raise PipelineFileError(f"{filename}: {type(exc).__name__}: {exc}") from exc
    if "pipeline" not in namespace:
        raise PipelineFileError(
            f"{filename} defines no module-level `pipeline`; a pipeline file must end with "
            "`pipeline = Pipeline([...])`"
        )
    pipeline = namespace["pipeline"]
    if not isinstance(pipeline, Pipeline):
        raise PipelineFileError(
            f"{filename}: `pipeline` is a {type(pipeline).__name__}, not a napari_hcs Pipeline"
        )
    return pipeline


def load_pipeline(path: str | os.PathLike[str]) -> Pipeline:
    """Read the pipeline file at `path`."""
    file = Path(path)
    try:
        source = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PipelineFileError(f"{file}: cannot read pipeline file: {exc.strerror}") from exc
    return pipeline_from_source(source, str(file))
