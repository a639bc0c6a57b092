"""The process local workers are forked from (POSIX): it imports once what workers need.

Spawned workers each start a fresh interpreter and import numpy, scipy, scikit-image, pandas,
zarr ... again (a second or more per worker, before the first well). Instead, multiprocessing's
fork server imports them once (`PRELOAD`) and forks every worker from there, already warm. It is
started early (`start_worker_server`: a run calls it before loading its pipeline), so its
imports overlap with the caller's own work. The server is single-threaded and never touches a
GPU, so forking from it is safe where forking the caller (threads, a CUDA context) is not.
Where there is no fork server (Windows), workers are spawned.

This module imports nothing heavy: it runs first.
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

from .process_guard import children_ignore_sigint

#: What a worker needs for the built-in library and for writing a well's outputs. A name that
#: fails to import is skipped by the server (the worker then imports what it needs itself).
PRELOAD = (

    "napari_hcs.engine.executor.worker",
    "napari_hcs.engine.executor.outputs",
    "napari_hcs.engine.functions.library",
    "napari_hcs.engine.functions.library._objects",
    "napari_hcs.engine.functions.library._shape",
    "numpy", "scipy.ndimage", "pandas", "pyarrow.parquet", "tifffile", "numcodecs",
    "skimage.measure", "skimage.segmentation._watershed",  # skimage's names load lazily
)
_SERVER = "forkserver"


def worker_context() -> Any:
    """The multiprocessing context of local workers: the fork server where there is one."""
    if _SERVER in mp.get_all_start_methods():
        ctx = mp.get_context(_SERVER)
        ctx.set_forkserver_preload(list(PRELOAD))  # no effect once the server runs
        return ctx
    return mp.get_context("spawn")


def start_worker_server() -> None:
    """Start the server (and its imports) now, in the background; idempotent; nothing where
    workers are spawned. It ignores Ctrl-C, and so do the workers forked from it: a terminal's
    Ctrl-C is for the calling process to handle."""
    ctx = worker_context()
    if ctx.get_start_method() != _SERVER:
        return
    from multiprocessing import forkserver

    with children_ignore_sigint():  # the server, so its forked workers, ignore it from birth
        forkserver.ensure_running()


def release_worker_server() -> None:
    """Let the server start leaving (its last pool is done) without waiting for it: its exit
    (tearing down the libraries it imported) overlaps with the caller's last work (tables,
    metadata); `stop_worker_server` then waits for it. Only for a process that starts no more
    pools."""
    import os
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    try:  # CPython's ForkServer: closing its "alive" pipe asks it to stop
        with server._lock:
            if server._forkserver_pid is None or server._forkserver_alive_fd is None:
                return
            os.close(server._forkserver_alive_fd)
            # `_stop` closes this descriptor again: leave it one that is harmless to close.
            server._forkserver_alive_fd = os.open(os.devnull, os.O_RDONLY)
    except (AttributeError, OSError):  # another Python: `stop_worker_server` does it all
        return


def stop_worker_server(*, kill: bool = False) -> None:
    """Stop the server, after the pools that use it: for a process about to exit, so that no
    helper process outlives it and the CPU time of the workers (which the server reaps) is
    accounted to this process. A long-lived process (napari) keeps it for its next run.

    `kill`: end it with SIGKILL instead of letting it tear down the libraries it imported
    (a third of a CPU second); its workers are reaped already, so nothing is lost."""
    import os
    import signal
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if kill and pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:  # gone already
            pass
    stop = getattr(server, "_stop", None)
    if stop is not None:  # CPython's ForkServer._stop: closes its lifeline and waits for it
        stop()
