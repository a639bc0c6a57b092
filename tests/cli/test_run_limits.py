"""Every run is bounded (engine/executor/limits.py): memory per worker, time per well, and a
cancel (Ctrl-C, SIGTERM) that ends a step which never returns. Real `napari-hcs run`
processes on a real plate; every wait is bounded."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest
from cli_process import Cli, until
from run_limits_funcs import rl_hog, rl_spin

from napari_hcs.engine.codegen import pipeline_to_source
from napari_hcs.engine.executor.limits import describe_size, parse_size
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

SPEC = SampleSpec(wells=("A01", "A02", "B01"), grid=(1, 1), tile=(48, 48),
                  nuclei_per_tile=3.0, seed=5)
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and rlimits")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return write_sample_plate(tmp_path_factory.mktemp("limits") / "plate", "imagexpress", SPEC)


@pytest.fixture
def plate(tmp_path, template) -> Path:
    return Path(shutil.copytree(template, tmp_path / "plate"))


def _pipeline(path: Path, *steps: Step) -> Path:
    path.write_text(pipeline_to_source(Pipeline(list(steps), name="limits")))
    return path





def _record(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


def test_a_well_over_max_memory_fails_naming_well_step_and_limit(tmp_path, plate):
    pipeline = _pipeline(tmp_path / "p.py", Step((rl_hog, {"gib": 8.0}), name="hog"))
    out = tmp_path / "out"
    run = Cli(str(pipeline), str(plate), "--out", str(out), "--wells", "A01,A02",
              "--max-memory", "512M")
    assert run.finish() == 1, run.lines
    errors = [line for line in run.lines if line.startswith("error: well")]
    assert len(errors) == 2, run.lines
    for line in errors:
        assert "step 1 'hog'" in line and "MemoryError" in line, line
        assert "--max-memory 512 MiB" in line, line
    record = _record(out)
    assert record["status"] == "failed"
    assert record["options"]["limits"]["max_memory_bytes"] == 512 * 1024**2
    assert {w: e["status"] for w, e in record["wells"].items()} == {"A01": "failed",
                                                                      "A02": "failed"}


def test_a_well_past_the_time_limit_is_stopped_and_the_others_finish(tmp_path, plate):
    gate = tmp_path / "gate"
    gate.mkdir()
    pipeline = _pipeline(tmp_path / "p.py",
                         Step((rl_spin, {"folder": str(gate), "once": True}), name="spin"))
    out = tmp_path / "out"
    start = time.monotonic()
    run = Cli(str(pipeline), str(plate), "--out", str(out), "--workers", "2",
              "--well-timeout", "3")
    assert run.finish() == 1, run.lines
    assert time.monotonic() - start < 60  # not the spin's 120 s
    wells = {w: e for w, e in _record(out)["wells"].items()}
    failed = [w for w, e in wells.items() if e["status"] == "failed"]
    assert len(failed) == 1 and len(wells) == 3, wells
    error = wells[failed[0]]["error"]
    assert "step 1 'spin'" in error and "--well-timeout 3 s" in error, error
    assert any(f"error: well {failed[0]}: step 1 'spin'" in line for line in run.lines), run.lines


@pytest.mark.parametrize("how", ["sigterm", "sigterm to the group", "ctrl-c"])
def test_a_cancel_ends_a_step_that_never_returns_and_writes_run_json(tmp_path, plate, how):
    gate = tmp_path / "gate"
    gate.mkdir()
    pipeline = _pipeline(tmp_path / "p.py", Step((rl_spin, {"folder": str(gate)}), name="spin"))
    out = tmp_path / "out"
    run = Cli(str(pipeline), str(plate), "--out", str(out), "--workers", "2",
              "--cancel-grace", "1")
    until(lambda: len(list(gate.glob("started-*"))) >= 1 or run.proc.poll() is not None)
    workers = psutil.Process(run.proc.pid).children(recursive=True)
    start = time.monotonic()
    if how == "sigterm":
        run.proc.send_signal(signal.SIGTERM)  # `kill`: the process alone
    elif how == "sigterm to the group":
        os.killpg(run.proc.pid, signal.SIGTERM)  # a service manager or batch scheduler
        # (the workers keep SIGTERM's default: a process pool ends its workers with it)
    else:
        os.killpg(run.proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole group
    assert run.finish() == 1, run.lines
    assert time.monotonic() - start < 30, run.lines  # the grace (1 s), not the spin (120 s)
    record = _record(out)
    assert record["status"] == "cancelled", record
    assert record["finished"] is not None
    if how != "sigterm to the group":  # there the workers die of it too: wells not run
        spun = [e for e in record["wells"].values() if e["status"] == "failed"]
        assert any("cancel grace" in e["error"] for e in spun), record["wells"]
        assert all("cancel" in e["error"] for e in spun), record["wells"]
    _, alive = psutil.wait_procs(workers, timeout=10)  # they follow the run out
    assert not [(p, p.cmdline()) for p in alive if p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize("text, size", [("4G", 4 * 1024**3), ("512M", 512 * 1024**2),
                                        ("1.5GiB", int(1.5 * 1024**3)), ("none", None)])
def test_sizes_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("size, text", [(64 * 1024**2, "64 MiB"), (1023 * 1024**2, "1023 MiB"),
                                        (1024**3, "1.0 GiB"), (int(1.5 * 1024**3), "1.5 GiB"),
                                        (None, "none")])
def test_sizes_are_described_in_mib_below_a_gib(size, text):
    assert describe_size(size) == text


@pytest.mark.parametrize("text", ["lots", "-1G", "1M", "4X"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)
