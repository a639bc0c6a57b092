"""The worker-process side of the local backend (kept tiny: spawn imports it in every worker)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..compiler.plan import WellPlan
from ..functions.registry import get_function
from .events import WellResult
from .heap import keep_freed_memory
from .limits import describe_size, limit_address_space
from .process_guard import follow_parent
from .well import WellOptions, run_well

# Set once per worker process by the pool initializer (spawn passes them at process start).
_EVENTS: Any = None
_CANCEL: Any = None
_MEMORY: int | None = None  # this worker's memory limit (limits.RunLimits), when it has one

#: What a worker puts on the event queue as a well starts, besides its ProgressEvents: which
#: process runs the well, so that the parent can stop it (limits: time, cancel grace).
STARTED = "worker-started"


def plan_functions(plans: Iterable[WellPlan]) -> tuple[str, ...]:
    """The registry names of every function the plans call (each once, in first-use order)."""
    names: dict[str, None] = {}
    for plan in plans:
        for step in plan.steps:
            for _, chain in step.calls:
                names.update((call.function, None) for call in chain)
    return tuple(names)


def warm(functions: Iterable[str]) -> None:
    """Import the functions (their modules and the libraries those import) and run their
    `warm_up` (if they have one) now, once per process, so that a worker's first well does not
    pay for them inside its first step."""
    for name in functions:
        try:
            func = get_function(name).func
            load = getattr(func, "load", None)
            if load is not None:  # a library function imports its module on first use
                load()
            warm_up = getattr(func, "warm_up", None)
            if warm_up is not None:  # e.g. compiled kernels loaded from their disk cache
                warm_up()
        except Exception:  # noqa: S110 - the well that calls it reports the error, naming its step
            pass


def init_worker(events: Any, cancel: Any, functions: tuple[str, ...] = (),
                environ: Mapping[str, str] | None = None,
                max_memory: int | None = None, nice: int = 0) -> None:
    global _EVENTS, _CANCEL, _MEMORY
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
    if max_memory is not None and limit_address_space(max_memory):  # after the imports
        _MEMORY = max_memory


def execute(plan: WellPlan, device: str, options: WellOptions) -> WellResult:
    """One task: one well, in this worker process."""
    emit = _EVENTS.put if _EVENTS is not None else None
    cancelled = _CANCEL.is_set if _CANCEL is not None else None
    if _EVENTS is not None:
        _EVENTS.put((STARTED, plan.well, os.getpid()))
    result = run_well(plan, device=device, options=options, emit=emit, cancelled=cancelled)
    if _MEMORY is not None and result.error and "MemoryError" in result.error:
        result.error += f" (over this worker's memory limit, --max-memory {describe_size(_MEMORY)})"
    return result
