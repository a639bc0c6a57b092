"""Generated plates and compiled plans for executor tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate import open_plate
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

SMALL = SampleSpec(wells=("A01", "A02", "B01", "B02"), grid=(2, 2), tile=(64, 64),
                   nuclei_per_tile=4.0, seed=1)


@pytest.fixture(scope="session")
def plate_template(tmp_path_factory) -> Path:
    return write_sample_plate(tmp_path_factory.mktemp("tpl") / "plate", "imagexpress", SMALL)


@pytest.fixture
def plate(tmp_path, plate_template) -> Path:
    """A fresh copy of a small ImageXpress plate (tests may damage it)."""
    import shutil

    dst = tmp_path / "plate"
    shutil.copytree(plate_template, dst)
    return dst


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


__all__ = ["compile_for", "segment_pipeline", "stitch_pipeline", "tree_hash"]


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs (a real full or read-only filesystem); skip where mounting is not
    allowed (not root / no CAP_SYS_ADMIN)."""
    import subprocess

    mounted = []

    def mount(size: str = "4m", read_only: bool = False) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        opts = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)],
                              capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)
