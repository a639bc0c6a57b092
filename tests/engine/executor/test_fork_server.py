"""Workers forked from the fork server: warm, and with the parent's environment of now."""

from __future__ import annotations

from executor_helpers import compile_for

from napari_hcs.engine.executor import LocalBackend, run_plans
from napari_hcs.engine.executor.fork_server import PRELOAD, start_worker_server, worker_context
from napari_hcs.engine.pipeline import Pipeline, Step


def test_workers_see_the_environment_set_after_the_server_started(plate, tmp_path,
                                                                   monkeypatch):
    from executor_funcs import ex_require_env

    start_worker_server()  # holds this process's environment as it is now
    monkeypatch.setenv("NAPARI_HCS_TEST_ENV", "set-later")  # e.g. OMERO credentials
    pipeline = Pipeline([Step((ex_require_env, {"value": "set-later"}), name="env")])
    report = run_plans(compile_for(pipeline, plate), tmp_path / "out", workers=2,
                       backend=LocalBackend(in_process=False))
    assert report.all_ok, report.failed


def test_workers_can_run_behind_the_caller(plate, tmp_path):
    """A GUI's run lowers its workers' priority (LocalBackend(nice=...)); the caller's stays."""
    import os

    from executor_funcs import ex_require_nice

    before = os.nice(0)
    pipeline = Pipeline([Step((ex_require_nice, {"at_least": before + 5}), name="nice")])
    report = run_plans(compile_for(pipeline, plate), None, workers=2,
                       backend=LocalBackend(in_process=False, nice=5))
    assert report.all_ok, report.failed
    assert os.nice(0) == before


def test_the_server_preloads_what_workers_use():
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        assert worker_context().get_start_method() == "forkserver"
    assert "napari_hcs.engine.executor.worker" in PRELOAD
    assert "napari_hcs.engine.functions.library.catalog" in PRELOAD  # registers the library


UNGUARDED = """
import os, sys
with open(sys.argv[2], "a") as marker:  # no main guard: a worker re-running this adds a line
    marker.write(f"{os.getpid()}\\n")
from napari_hcs.engine.codegen import load_pipeline
from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.executor import LocalBackend, run_plans
from napari_hcs.engine.plate import open_plate
from napari_hcs.pipelines import path_of
plans = compile_pipeline(load_pipeline(path_of("stitch_segment")), open_plate(sys.argv[1])).plans
report = run_plans(plans, None, workers=2, backend=LocalBackend(in_process=False))
print("ok" if report.all_ok else report.failed)
"""


def test_workers_do_not_run_the_callers_unguarded_script(plate, tmp_path):
    """multiprocessing would import the caller's __main__ in every worker (a script without
    a main guard would run once per worker); the fork server's workers skip it."""
    import os
    import subprocess
    import sys

    script, marker = tmp_path / "unguarded.py", tmp_path / "ran.txt"
    script.write_text(UNGUARDED)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, str(script), str(plate), str(marker)], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.stdout.strip().endswith("ok"), done.stderr[-2000:]
    assert len(marker.read_text().split()) == 1, "workers ran the caller's script again"
