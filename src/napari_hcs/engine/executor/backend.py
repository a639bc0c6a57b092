"""The executor backend interface: how a set of well plans gets run somewhere.

A backend runs `well.run_well` for each plan (in processes, on a cluster, ...) and reports
through two callbacks in the calling thread: `on_event(ProgressEvent)` as wells progress and
`on_done(WellResult)` as each finishes. It starts no new well once `cancel` is set; wells it
never started are simply not reported. `runner.run_plans` does everything else (outputs,
run.json, resume), so a new backend (e.g. Dask) only implements `run`.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from ..compiler.plan import WellPlan
from .events import ProgressEvent, WellResult
from .well import WellOptions


@runtime_checkable
class Backend(Protocol):
    name: str

    def run(
        self,
        plans: Sequence[WellPlan],
        *,
        workers: int,
        device: str,
        options: WellOptions,
        on_event: Callable[[ProgressEvent], None],
        on_done: Callable[[WellResult], None],
        cancel: threading.Event,
    ) -> None: ...


class BackendUnavailable(RuntimeError):
    """A backend that cannot run here; the message says what to install."""


def get_backend(name: str, **options: object) -> Backend:
    """A backend by name: `local` (processes on this machine) or `dask`."""
    if name == "local":
        from .local import LocalBackend

        return LocalBackend(**options)  # type: ignore[arg-type]
    if name == "dask":
        if importlib.util.find_spec("distributed") is None:
            raise BackendUnavailable(
                "--backend dask needs dask.distributed: pip install 'napari-hcs[dask]'"
            )
        module_name = f"{__package__}.dask_backend"
        if importlib.util.find_spec(module_name) is None:
            raise BackendUnavailable(
                "--backend dask is not available in this build of napari-hcs; "
                "use --backend local"
            )
        return importlib.import_module(module_name).DaskBackend(**options)
    raise BackendUnavailable(f"unknown backend {name!r}; choose local or dask")
