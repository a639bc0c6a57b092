"""Helpers shared by the executor tests (a plain module: `conftest` names clash across dirs)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate import open_plate


def compile_for(pipeline: Pipeline, plate: Path, **kwargs):
    return compile_pipeline(pipeline, open_plate(plate), **kwargs).plans


def tree_hash(root: Path) -> str:
    """Hash of every file's path and bytes under `root` (to prove inputs are untouched)."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def segment_pipeline() -> Pipeline:
    from executor_funcs import ex_scale, ex_segment

    return Pipeline([
        Step((ex_scale, {"factor": 0.5}), name="scale"),
        Step({"1": ex_segment}, name="segment", group_by="channel"),
    ], name="scale_segment")


def stitch_pipeline() -> Pipeline:
    from executor_funcs import ex_mosaic, ex_positions

    return Pipeline([
        Step({"1": ex_positions}, name="positions", group_by="channel"),
        Step(ex_mosaic, name="mosaic"),
    ], name="stitch")
