"""Workers never run the script that started the run.

multiprocessing prepares every worker it starts (spawned, or forked from the fork server) by
importing the parent's `__main__` again as `__mp_main__`: a script without an
`if __name__ == "__main__":` guard (`viewer = napari.Viewer(); napari.run()`) then runs once
more in each worker, opening a second napari window and blocking the worker. Our workers need
nothing from `__main__` (their task and initializer live in `worker`, pipelines name functions
by importable `module:qualname`), so the fork server imports this module first (`PRELOAD`) and
every worker forked from it skips that step. The rest of the preparation (name, authkey,
sys.path, working directory) is kept.

Functions defined in the starting script itself cannot be called by workers: the registry says
so when a plan names one (`__main__:...`). Where there is no fork server (Windows), workers
are spawned fresh and do import `__main__`: a script there needs the guard.
"""

from __future__ import annotations

from multiprocessing import spawn
from typing import Any

#: The preparation keys that make a new process import the parent's `__main__`.
MAIN_KEYS = ("init_main_from_name", "init_main_from_path")

_prepare = spawn.prepare


def prepare_without_main(data: dict[str, Any]) -> None:
    """`multiprocessing.spawn.prepare`, less the import of the parent's `__main__`."""
    _prepare({key: value for key, value in data.items() if key not in MAIN_KEYS})


def install() -> None:
    """Make this process's future children skip `__main__` (`spawn._main` calls `prepare`)."""
    spawn.prepare = prepare_without_main


install()  # imported by the fork server before it forks any worker
