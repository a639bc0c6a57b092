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


def test_the_server_preloads_what_workers_use():
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        assert worker_context().get_start_method() == "forkserver"
    assert "napari_hcs.engine.executor.worker" in PRELOAD
    assert "napari_hcs.engine.functions.library.catalog" in PRELOAD  # registers the library
