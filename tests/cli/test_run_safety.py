"""`napari-hcs run` attacked the way issue #14 did: the input plate as (part of) the output, two
runs in one folder, `--resume` of another run, wrong tiles, absurd metadata, `kill -9` and
Ctrl-C of a running CLI. Real processes, real files; every wait is bounded.

Cases that already held before #14 are here too (marked "held"), so a regression shows.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import tifffile
import zarr
from cli_process import WAIT, Cli, until
from run_safety_funcs import rs_gate, rs_scale

from napari_hcs.cli import error_line, main
from napari_hcs.engine.codegen import pipeline_to_source
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

SPEC = SampleSpec(wells=("A01", "A02", "B01", "B02"), grid=(2, 2), tile=(64, 64),
                  nuclei_per_tile=3.0, seed=3)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("safety")
    return {fmt: write_sample_plate(base / fmt / ("plate.zarr" if fmt == "zarr" else "plate"),
                                    fmt, SPEC)
            for fmt in ("imagexpress", "zarr", "phenix")}


@pytest.fixture
def plate(tmp_path, templates) -> Path:
    dst = tmp_path / "data" / "plate"
    shutil.copytree(templates["imagexpress"], dst)
    return dst


def _pipeline(path: Path, *, factor: float = 1.0, gate: Path | None = None) -> Path:
    steps = [Step((rs_scale, {"factor": factor}), name="scale")]
    if gate is not None:
        gate.mkdir(parents=True, exist_ok=True)
        steps.insert(0, Step((rs_gate, {"folder": str(gate)}), name="gate"))
    path.write_text(pipeline_to_source(Pipeline(steps, name="safety")))
    return path


def _run(*argv: str) -> tuple[int, list[str]]:
    """`main(["run", ...])` in this process: (exit code, stderr lines)."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["run", *argv, "--no-progress"])
    return code, err.getvalue().strip().splitlines()





def _started(gate: Path) -> int:
    return len(list(gate.glob("started-*")))


def _record(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


# -- the input is never written, moved or deleted ----------------------------------------------

def test_out_containing_a_zarr_input_plate_is_refused_and_the_plate_kept(tmp_path, templates):
    """The reported attack: `run PIPE DIR/plate.zarr --out DIR` removed the input plate."""
    folder = tmp_path / "dir"
    shutil.copytree(templates["zarr"], folder / "plate.zarr")
    before = _tree(folder)
    cli = Cli(str(_pipeline(tmp_path / "p.py")), str(folder / "plate.zarr"), "--out",
              str(folder))
    assert cli.finish() == 2
    assert len(cli.lines) == 1 and cli.lines[0].startswith("error: the output folder ")
    assert "contains the input plate" in cli.lines[0]
    assert "never writes, moves or deletes its input" in cli.lines[0]
    assert _tree(folder) == before  # not a byte written: no lock, no run.json


@pytest.mark.parametrize("where", ["equal", "inside", "symlink", "dotdot", "parent"])
def test_out_equal_inside_or_containing_the_plate_is_refused(tmp_path, plate, where):
    out = {"equal": plate, "inside": plate / "results" / "deeper",
           "symlink": tmp_path / "link", "dotdot": plate / "TimePoint_1" / ".." / "r",
           "parent": plate.parent}[where]
    if where == "symlink":
        out.symlink_to(plate)
    before = _tree(plate)
    code, err = _run(str(_pipeline(tmp_path / "p.py")), str(plate), "--out", str(out))
    assert code == 2 and len(err) == 1
    relation = {"equal": " is ", "symlink": " is ", "parent": " contains "}.get(
        where, " lies inside ")
    assert relation + "the input plate" in err[0], err
    assert _tree(plate) == before and not (plate / "results").exists()


def test_out_containing_a_linked_image_folder_is_refused(tmp_path, plate):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(plate / "TimePoint_1", elsewhere / "tp1")
    (plate / "TimePoint_1").symlink_to(elsewhere / "tp1")
    before = _tree(elsewhere)
    code, err = _run(str(_pipeline(tmp_path / "p.py")), str(plate), "--out", str(elsewhere))
    assert code == 2 and "contains the folder of input images" in err[0]
    assert _tree(elsewhere) == before


def test_out_inside_the_plate_through_a_bind_mount_is_refused(tmp_path, plate):
    view = tmp_path / "view"
    view.mkdir()
    done = subprocess.run(["mount", "--bind", str(plate), str(view)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
    try:
        code, err = _run(str(_pipeline(tmp_path / "p.py")), str(plate), "--out",
                         str(view / "results"))
        assert code == 2 and "lies inside the input plate" in err[0]
        assert not (plate / "results").exists()
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_a_sibling_folder_is_fine_and_the_input_is_unchanged(tmp_path, plate):  # held
    before = _tree(plate)
    code, err = _run(str(_pipeline(tmp_path / "p.py")), str(plate), "--out",
                     str(plate.parent / "plate-results"))
    assert code == 0, err
    assert _tree(plate) == before


# -- the clean-up removes only what napari-hcs wrote -------------------------------------------

@pytest.mark.parametrize("entry", ["tables", "plate.zarr", "run.json", ".parts"])
def test_entries_napari_hcs_did_not_write_are_refused_not_deleted(tmp_path, plate, entry):
    out = tmp_path / "out"
    mine = out / entry
    if entry == "run.json":
        out.mkdir()
        mine.write_text('{"my": "notes"}')
    else:
        mine.mkdir(parents=True)
        (mine / "keep.csv").write_text("1,2,3\n")
    before = _tree(out)
    code, err = _run(str(_pipeline(tmp_path / "p.py")), str(plate), "--out", str(out))
    assert code == 2 and len(err) == 1
    assert f"{mine} was not written by napari-hcs" in err[0] and "empty output folder" in err[0]
    assert {k: v for k, v in _tree(out).items() if k != ".napari-hcs.lock"} == before


def test_a_planted_symlink_is_refused_and_its_target_untouched(tmp_path, plate):
    out, target = tmp_path / "out", tmp_path / "precious"
    target.mkdir()
    (target / "data.bin").write_bytes(b"x")
    out.mkdir()
    (out / "tables").symlink_to(target)
    code, err = _run(str(_pipeline(tmp_path / "p.py")), str(plate), "--out", str(out))
    assert code == 2 and "is a symbolic link" in err[0]
    assert (target / "data.bin").read_bytes() == b"x"


def test_a_planted_lock_link_is_not_followed(tmp_path, plate):
    out, precious = tmp_path / "out", tmp_path / "precious.txt"
    precious.write_text("keep me")
    out.mkdir()
    (out / ".napari-hcs.lock").symlink_to(precious)
    code, err = _run(str(_pipeline(tmp_path / "p.py")), str(plate), "--out", str(out))
    assert code == 2 and "cannot create the run lock" in err[0]
    assert precious.read_text() == "keep me" and not (out / "run.json").exists()


def test_a_rerun_replaces_our_outputs_and_keeps_everything_else(tmp_path, plate):
    out = tmp_path / "out"
    pipeline = str(_pipeline(tmp_path / "p.py"))
    assert _run(pipeline, str(plate), "--out", str(out))[0] == 0
    (out / "notes.txt").write_text("mine")
    (out / "plate.zarr" / "A" / "1" / "stale").mkdir()  # inside our own plate: replaced
    assert _run(pipeline, str(plate), "--out", str(out), "--wells", "A01")[0] == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "plate.zarr" / "A" / "1" / "stale").exists()
    manifest = json.loads((out / ".napari-hcs-outputs.json").read_text())
    assert manifest["written_by"] == "napari-hcs" and "plate.zarr" in manifest["entries"]


# -- one run per output folder -----------------------------------------------------------------

def test_a_second_run_into_a_busy_folder_is_refused_naming_the_holder(tmp_path, plate):
    from ome_zarr_models.v05.hcs import HCS

    gate, out = tmp_path / "gate", tmp_path / "out"
    first = Cli(str(_pipeline(tmp_path / "p.py", gate=gate)), str(plate), "--out", str(out))
    try:
        until(lambda: _started(gate) >= 1)
        second = Cli(str(_pipeline(tmp_path / "q.py")), str(plate), "--out", str(out))
        assert second.finish() == 2
        assert len(second.lines) == 1, second.lines
        assert "is in use by another napari-hcs run" in second.lines[0]
        assert f"pid {first.proc.pid} on " in second.lines[0]
        (gate / "release").touch()
        assert first.finish() == 0, first.lines
    finally:
        first.kill()
    HCS.from_zarr(zarr.open_group(str(out / "plate.zarr"), mode="r"))
    assert {e["status"] for e in _record(out)["wells"].values()} == {"ok"}
    assert (out / ".napari-hcs.lock").read_text() == ""  # released: nobody named


def test_kill_9_leaves_no_worker_behind_and_no_lock(tmp_path, plate):
    gate, out = tmp_path / "gate", tmp_path / "out"
    pipeline = str(_pipeline(tmp_path / "p.py", gate=gate))
    run = Cli(pipeline, str(plate), "--out", str(out), "--workers", "2")
    try:
        until(lambda: _started(gate) >= 2)  # both workers inside a well
        children = run.workers()
        assert len(run.pool_workers()) == 2
        assert json.loads((out / ".napari-hcs.lock").read_text())["pid"] == run.proc.pid
        os.kill(run.proc.pid, signal.SIGKILL)
        run.proc.wait(WAIT)
        gone, alive = psutil.wait_procs(children, timeout=WAIT)
        assert not alive, f"still running after their parent died: {alive}"
    finally:
        run.kill()
    # The dead run's lock does not block: the folder is resumable at once.
    (gate / "release").touch()
    resumed = Cli(pipeline, str(plate), "--out", str(out), "--resume")
    assert resumed.finish() == 0, resumed.lines
    record = _record(out)
    assert record["status"] == "ok" and len(record["runs"]) == 1
    assert record["runs"][0]["status"] == "running"  # the killed run, as it was left


# -- --resume continues only the same run ------------------------------------------------------

def test_resume_refuses_another_pipeline_naming_the_parameter(tmp_path, plate):
    out = tmp_path / "out"
    assert _run(str(_pipeline(tmp_path / "p.py")), str(plate), "--out", str(out),
                "--wells", "A01")[0] == 0
    before = _tree(out)
    code, err = _run(str(_pipeline(tmp_path / "q.py", factor=2.0)), str(plate), "--out",
                     str(out), "--resume")
    assert code == 2 and len(err) == 1
    assert "cannot resume in" in err[0]
    assert "step 1 'scale': parameter rs_scale.factor was 1.0, now 2.0" in err[0]
    assert {k: v for k, v in _tree(out).items() if k != ".napari-hcs.lock"} == \
        {k: v for k, v in before.items() if k != ".napari-hcs.lock"}


def test_resume_refuses_another_plate(tmp_path, plate):
    out, other = tmp_path / "out", tmp_path / "other"
    shutil.copytree(plate, other)
    pipeline = str(_pipeline(tmp_path / "p.py"))
    assert _run(pipeline, str(plate), "--out", str(out), "--wells", "A01")[0] == 0
    code, err = _run(pipeline, str(other), "--out", str(out), "--resume")
    assert code == 2 and f"the plate's root was \"{plate}\", now \"{other}\"" in err[0]


def test_resume_refuses_a_run_json_without_fingerprint(tmp_path, plate):
    out = tmp_path / "out"
    pipeline = str(_pipeline(tmp_path / "p.py"))
    assert _run(pipeline, str(plate), "--out", str(out), "--wells", "A01")[0] == 0
    record = _record(out)
    del record["fingerprint"]
    (out / "run.json").write_text(json.dumps(record))
    code, err = _run(pipeline, str(plate), "--out", str(out), "--resume")
    assert code == 2 and "records no fingerprint" in err[0]


def test_resume_accepts_other_workers_and_wells_and_lists_every_run(tmp_path, plate):
    out = tmp_path / "out"
    pipeline = str(_pipeline(tmp_path / "p.py"))
    assert _run(pipeline, str(plate), "--out", str(out), "--wells", "A01")[0] == 0
    assert _run(pipeline, str(plate), "--out", str(out), "--wells", "A01,A02", "--resume",
                "--workers", "2")[0] == 0
    assert _run(pipeline, str(plate), "--out", str(out), "--resume")[0] == 0
    record = _record(out)
    assert [r["status"] for r in record["runs"]] == ["ok", "ok"]
    assert record["runs"][1]["options"]["workers"] == 2
    assert [r["run"] for r in record["runs"]] == [1, 2] and record["run"] == 3
    assert [record["wells"][w]["run"] for w in ("A01", "A02", "B01", "B02")] == [1, 2, 3, 3]


# -- tiles are checked against the plate -------------------------------------------------------

def test_tiles_of_another_type_or_size_fail_their_well_naming_the_file(tmp_path, plate):
    tiles = plate / "TimePoint_1"
    as_float = tiles / "Plate_A01_s2_w1.TIF"
    as_int8 = tiles / "Plate_A02_s1_w2.TIF"
    tifffile.imwrite(as_float, tifffile.imread(as_float).astype(np.float32))
    tifffile.imwrite(as_int8, (tifffile.imread(as_int8) // 256).astype(np.int8))
    for small in tiles.glob("Plate_B01_*.TIF"):  # a whole well of 32 x 32 in a 64 x 64 plate
        tifffile.imwrite(small, tifffile.imread(small)[:32, :32])
    out = tmp_path / "out"
    code, err = _run(str(_pipeline(tmp_path / "p.py")), str(plate), "--out", str(out))
    assert code == 1
    wells = _record(out)["wells"]
    assert wells["B02"]["status"] == "ok"
    assert f"{as_float} (well A01, site 2, channel 1" in wells["A01"]["error"]
    assert "holds float32 pixels, but the plate's images are uint16" in wells["A01"]["error"]
    assert f"{as_int8} " in wells["A02"]["error"] and "holds int8 pixels" in wells["A02"]["error"]
    assert "is 32 x 32 pixels, but the plate's images are 64 x 64" in wells["B01"]["error"]
    assert all(line.startswith("error: ") or "wells ok" in line for line in err)


# -- absurd metadata fails at once, naming the key ---------------------------------------------

@pytest.mark.parametrize("key,value", [("XSites", "100000"), ("NWavelengths", "2e8"),
                                       ("YWells", "2e9"), ("XWells", "2e9"),
                                       ("TimePoints", "1e7"), ("YSites", "-3"),
                                       ("NWavelengths", "many")])
def test_absurd_htd_values_fail_fast_naming_the_key(tmp_path, plate, capsys, key, value):
    htd = plate / "Plate.HTD"
    lines = [line for line in htd.read_text().splitlines() if not line.startswith(f'"{key}"')]
    htd.write_text("\n".join([*lines[:-1], f'"{key}", {value}', lines[-1]]) + "\n")
    start = time.monotonic()
    code = main(["info", str(plate)])
    seconds = time.monotonic() - start
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"{htd}: {key} is " in err[0], err
    assert seconds < 10, f"{seconds:.1f} s"  # measured: milliseconds; before #14: minutes


def test_a_phenix_index_contradicting_the_files_is_an_error(tmp_path, templates, capsys):
    plate = tmp_path / "phenix"
    shutil.copytree(templates["phenix"], plate)
    index = plate / "Images" / "Index.idx.xml"
    text = index.read_text()
    index.write_text(text.replace("<ImageSizeX>64</ImageSizeX>", "<ImageSizeX>2160</ImageSizeX>")
                     .replace("<ImageSizeY>64</ImageSizeY>", "<ImageSizeY>2160</ImageSizeY>"))
    assert main(["info", str(plate)]) == 2
    err = capsys.readouterr().err
    assert "says ImageSizeY x ImageSizeX = 2160 x 2160" in err and "is 64 x 64 pixels" in err
    index.write_text(text.replace("<FieldID>1</FieldID>", "<FieldID>2000000000</FieldID>", 1))
    assert main(["info", str(plate)]) == 2
    assert "<FieldID> is 2000000000, outside 1..10000" in capsys.readouterr().err


def test_an_ome_zarr_plate_with_absurd_metadata_is_an_error(tmp_path, templates, capsys):
    plate = tmp_path / "plate.zarr"
    shutil.copytree(templates["zarr"], plate)
    attrs_file = plate / "zarr.json"  # NGFF 0.5: the plate under "ome"
    attrs = json.loads(attrs_file.read_text())
    ome = attrs["attributes"]["ome"]
    ome["plate"]["wells"] = ome["plate"]["wells"] * 2000
    attrs_file.write_text(json.dumps(attrs))
    assert main(["info", str(plate)]) == 2
    assert "number of wells is 8000, outside 1..3456" in capsys.readouterr().err


def test_no_error_line_is_ever_empty(tmp_path, plate, capsys, monkeypatch):
    assert error_line(MemoryError()) == "MemoryError"
    assert error_line(KeyError(0)) == "KeyError(0)"
    import napari_hcs.engine.plate as plates

    def boom(path):
        raise MemoryError()

    monkeypatch.setattr(plates, "open_plate", boom)
    assert main(["info", str(plate)]) == 2
    assert capsys.readouterr().err.strip() == "error: MemoryError"


# -- Ctrl-C from a terminal and kill -9 --------------------------------------------------------

@pytest.mark.slow
def test_ctrl_c_to_the_process_group_is_a_cooperative_cancel(tmp_path, plate):
    gate, out = tmp_path / "gate", tmp_path / "out"
    run = Cli(str(_pipeline(tmp_path / "p.py", gate=gate)), str(plate), "--out", str(out),
              "--workers", "2")
    try:
        until(lambda: _started(gate) >= 2)
        children = run.workers()
        os.killpg(run.proc.pid, signal.SIGINT)  # what a terminal does: the whole group
        run.wait_for_line("cancelling")
        (gate / "release").touch()
        assert run.finish() == 1, run.lines
    finally:
        run.kill()
    assert any("error: cancelled; 2 wells not run (B01, B02)" in line for line in run.lines)
    assert not any("Traceback" in line or "died" in line for line in run.lines), run.lines
    record = _record(out)
    assert record["status"] == "cancelled" and record["not_run"] == ["B01", "B02"]
    for well in ("A01", "A02"):  # the running wells finished their step, then stopped
        entry = record["wells"][well]
        assert entry["status"] == "ok" or entry["error"] == "cancelled before step 2 'scale'"
    assert not psutil.wait_procs(children, timeout=WAIT)[1]


@pytest.mark.slow
def test_a_second_ctrl_c_aborts_and_stops_the_workers(tmp_path, plate):
    gate, out = tmp_path / "gate", tmp_path / "out"
    run = Cli(str(_pipeline(tmp_path / "p.py", gate=gate)), str(plate), "--out", str(out),
              "--workers", "2")
    try:
        until(lambda: _started(gate) >= 2)
        children = run.workers()
        os.killpg(run.proc.pid, signal.SIGINT)
        run.wait_for_line("cancelling")
        os.killpg(run.proc.pid, signal.SIGINT)
        assert run.finish() == 130
        assert not psutil.wait_procs(children, timeout=WAIT)[1]  # the gate never opened
    finally:
        run.kill()
    assert "error: interrupted" in run.lines
    record = _record(out)
    assert record["status"] == "cancelled" and record["not_run"] == ["A01", "A02", "B01", "B02"]


@pytest.mark.slow
def test_a_killed_dask_run_leaves_no_cluster_behind(tmp_path, plate):
    pytest.importorskip("distributed")
    gate, out = tmp_path / "gate", tmp_path / "out"
    run = Cli(str(_pipeline(tmp_path / "p.py", gate=gate)), str(plate), "--out", str(out),
              "--workers", "2", "--backend", "dask")
    try:
        until(lambda: _started(gate) >= 2)
        children = run.workers()
        assert len(children) >= 2
        os.kill(run.proc.pid, signal.SIGKILL)
        run.proc.wait(WAIT)
        assert not psutil.wait_procs(children, timeout=WAIT)[1]
    finally:
        run.kill()
        (gate / "release").touch()
