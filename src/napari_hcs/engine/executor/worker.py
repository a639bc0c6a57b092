"""The worker-process side of the local backend (kept tiny: spawn imports it in every worker)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..compiler.plan import WellPlan
from ..functions.registry import get_function
from .events import WellResult
from .heap import keep_freed_memory
from .process_guard import follow_parent
from .well import WellOptions, run_well

# Set once per worker process by the pool initializer (spawn passes them at process start).
_EVENTS: Any = None
_CANCEL: Any = None


def plan_functions(plans: Iterable[WellPlan]) -> tuple[str, ...]:
    """The registry names of every function the plans call (each once, in first-use order)."""
    names: dict[str, None] = {}
    for plan in plans:
        for step in plan.steps:
            for _, chain in step.calls:
                names.update((call.function, None) for call in chain)
    return tuple(names)


def warm(functions: Iterable[str]) -> None:
    """Import the functions (their modules and the libraries those import) now, once per
    process, so that a worker's first well does not pay for them inside its first step."""
    for name in functions:
        try:
            load = getattr(get_function(name).func, "load", None)
            if load is not None:  # a library function imports its module on first use
                load()
        except Exception:  # noqa: S110 - the well that calls it reports the error, naming its step
            pass


def init_worker(events: Any, cancel: Any, functions: tuple[str, ...] = (),
                environ: Mapping[str, str] | None = None, nice: int = 0) -> None:
    global _EVENTS, _CANCEL
    follow_parent()  # exit when the parent dies; Ctrl-C is the parent's to handle
    if nice > 0 and hasattr(os, "nice"):  # behind the GUI that started the run
        try:
            os.nice(nice)
        except OSError:  # not allowed here: run at the parent's priority
            pass
    if environ is not None:  # the parent's environment now (a fork server holds an older one)
        os.environ.clear()
        os.environ.update(environ)
    _EVENTS, _CANCEL = events, cancel
    keep_freed_memory()  # after the environment: it may opt out
    # An exception here would break the whole pool; `warm` never raises.
    warm(functions)


def execute(plan: WellPlan, device: str, options: WellOptions) -> WellResult:
    """One task: one well, in this worker process."""
    emit = _EVENTS.put if _EVENTS is not None else None
    cancelled = _CANCEL.is_set if _CANCEL is not None else None
    return run_well(plan, device=device, options=options, emit=emit, cancelled=cancelled)
