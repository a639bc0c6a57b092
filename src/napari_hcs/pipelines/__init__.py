"""The pipelines napari-hcs ships, runnable by name: `napari-hcs run stitch_segment PLATE ...`.

Each module here is an ordinary pipeline file (DESIGN.md "Pipeline file"): it defines a
module-level `pipeline`, and the Pipeline dock offers it as a template. A user's own file is
named by its path; a bare name that is no file is looked up here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.pipeline import Pipeline

HERE = Path(__file__).resolve().parent
DEFAULT = "stitch_segment"


def names() -> tuple[str, ...]:
    """The shipped pipelines' names, sorted (the default first)."""
    found = sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))
    return tuple(sorted(found, key=lambda n: (n != DEFAULT, n)))


def path_of(name: str) -> Path:
    """The file of the shipped pipeline `name`; ValueError listing the names if there is none."""
    if name not in names():
        raise ValueError(f"no shipped pipeline {name!r} (shipped: {', '.join(names())})")
    return HERE / f"{name}.py"


def resolve(spec: str | os.PathLike[str]) -> Path:
    """A pipeline file path, or the name of a shipped pipeline, as a file path.

    An existing file wins over a shipped name, so a user's `stitch_segment.py` in the current
    folder is theirs; `stitch_segment` and `stitch_segment.py` both name the shipped one when no
    such file exists."""
    path = Path(spec)
    if path.is_file():
        return path
    name = path.name[:-3] if path.name.endswith(".py") and path.parent == Path(".") else str(spec)
    if name in names():
        return path_of(name)
    raise ValueError(f"cannot read pipeline file {spec}: no such file, and no shipped pipeline "
                     f"of that name (shipped: {', '.join(names())})")


def load(spec: str | os.PathLike[str]) -> Pipeline:
    """The pipeline of a pipeline file (`.py`: run here, it is code), a pipeline document
    (`.json`: data, read without running anything) or a shipped pipeline's name."""
    from ..engine.codegen import load_pipeline
    from ..engine.pipeline.document import load_document

    path = resolve(spec)
    return load_document(path) if path.suffix.lower() == ".json" else load_pipeline(path)
