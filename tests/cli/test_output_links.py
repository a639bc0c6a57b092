"""`napari-hcs run` into an output folder someone prepared: a lock hard-linked to the input's
HTD, links planted inside a resumed plate.zarr, an OME-Zarr input whose well links into the
output, a run.json linked elsewhere, and pixels rewritten in place before `--resume`. Each is
refused with one line (exit 2) and nothing outside the output changes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import pytest
import tifffile
from run_safety_funcs import rs_scale

from napari_hcs.cli import main
from napari_hcs.engine.codegen import pipeline_to_source
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

SPEC = SampleSpec(wells=("A01", "A02"), grid=(1, 2), tile=(32, 32), nuclei_per_tile=2.0, seed=5)
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("links")
    return {fmt: write_sample_plate(base / fmt / ("plate.zarr" if fmt == "zarr" else "plate"),
                                    fmt, SPEC) for fmt in ("imagexpress", "zarr")}


@pytest.fixture
def plate(tmp_path, templates) -> Path:
    return Path(shutil.copytree(templates["imagexpress"], tmp_path / "data" / "plate"))


@pytest.fixture
def pipeline(tmp_path) -> str:
    path = tmp_path / "p.py"
    path.write_text(pipeline_to_source(Pipeline([Step((rs_scale, {"factor": 1.0}),
                                                      name="scale")], name="links")))
    return str(path)


def run(*argv: str) -> tuple[int, list[str]]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["run", *argv, "--no-progress"])
    return code, err.getvalue().strip().splitlines()


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_a_lock_hard_linked_to_the_input_is_refused_and_the_input_kept(tmp_path, plate,
                                                                        pipeline):
    out = tmp_path / "out"
    out.mkdir()
    htd = plate / "Plate.HTD"
    before = htd.read_bytes()
    os.link(htd, out / ".napari-hcs.lock")
    code, err = run(pipeline, str(plate), "--out", str(out))
    assert code == 2 and len(err) == 1, err
    assert "cannot create the run lock" in err[0] and "2 names (a hard link" in err[0]
    assert htd.read_bytes() == before


@pytest.mark.parametrize("planted", ["well", "field", "chunk", "hard link"])
def test_resume_refuses_links_inside_plate_zarr(tmp_path, plate, pipeline, planted):
    out, victim = tmp_path / "out", tmp_path / "victim"
    assert run(pipeline, str(plate), "--out", str(out))[0] == 0
    shutil.copytree(out / "plate.zarr" / "A" / "2", victim)  # an outside folder of our shape
    secret = victim / "keep.txt"
    secret.write_text("keep me")
    well = out / "plate.zarr" / "A" / "2"
    if planted == "well":
        shutil.rmtree(well)
        well.symlink_to(victim)
    elif planted == "field":
        shutil.rmtree(well / "0")
        (well / "0").symlink_to(victim / "0")
    else:
        chunk = next(p for p in sorted((well / "0").rglob("*")) if p.is_file()
                     and not p.name.startswith((".", "zarr.json")))
        chunk.unlink()
        if planted == "chunk":
            chunk.symlink_to(secret)
        else:
            os.link(secret, chunk)
    (out / "run.json").write_text((out / "run.json").read_text().replace('"ok"', '"failed"'))
    before = tree(victim)
    code, err = run(pipeline, str(plate), "--out", str(out), "--resume")
    assert code == 2 and len(err) == 1, err
    assert "cannot resume in" in err[0]
    assert ("symbolic link" if planted != "hard link" else "2 names") in err[0]
    assert tree(victim) == before


def test_a_zarr_input_whose_well_links_into_the_output_is_refused(tmp_path, templates,
                                                                   pipeline):
    out = tmp_path / "out"
    plate = Path(shutil.copytree(templates["zarr"], tmp_path / "in" / "plate.zarr"))
    # The output's plate.zarr holds the real well; the input links its well A/2 there.
    (out / "plate.zarr" / "A").mkdir(parents=True)
    shutil.move(plate / "A" / "2", out / "plate.zarr" / "A" / "2")
    (plate / "A" / "2").symlink_to(out / "plate.zarr" / "A" / "2")
    before = tree(out)
    code, err = run(pipeline, str(plate), "--out", str(out))
    assert code == 2 and len(err) == 1, err
    assert " contains the folder of input images " in err[0]
    assert tree(out) == before  # the input's arrays are still there, not a byte written


def test_a_run_json_linked_elsewhere_is_not_read(tmp_path, plate, pipeline):
    """Held before #25 too (the owned-entries check); now also read without following links."""
    out = tmp_path / "out"
    assert run(pipeline, str(plate), "--out", str(out))[0] == 0
    elsewhere = tmp_path / "elsewhere.json"
    shutil.move(out / "run.json", elsewhere)
    (out / "run.json").symlink_to(elsewhere)
    code, err = run(pipeline, str(plate), "--out", str(out), "--resume")
    assert code == 2 and len(err) == 1, err
    assert "run.json is a symbolic link" in err[0]


def test_resume_refuses_a_plate_whose_pixels_changed_in_place(tmp_path, plate, pipeline):
    out = tmp_path / "out"
    assert run(pipeline, str(plate), "--out", str(out))[0] == 0
    for path in sorted((plate / "TimePoint_1").glob("*_A02_*.TIF")):
        data = tifffile.imread(path)
        tifffile.imwrite(path, data[::-1].copy())  # same path, same size, other pixels
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    code, err = run(pipeline, str(plate), "--out", str(out), "--resume")
    assert code == 2 and len(err) == 1, err
    assert "the input images of well A02 changed since the run there" in err[0]
    recorded = json.loads((out / "run.json").read_text())
    assert recorded["wells"]["A02"]["status"] == "ok"  # the earlier results are left as they were
