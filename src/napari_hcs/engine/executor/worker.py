"""The worker-process side of the local backend (kept tiny: spawn imports it in every worker)."""

from __future__ import annotations

from typing import Any

from ..compiler.plan import WellPlan
from .events import WellResult
from .well import WellOptions, run_well

# Set once per worker process by the pool initializer (spawn passes them at process start).
_EVENTS: Any = None
_CANCEL: Any = None


def init_worker(events: Any, cancel: Any) -> None:
    global _EVENTS, _CANCEL
    _EVENTS, _CANCEL = events, cancel


def execute(plan: WellPlan, device: str, options: WellOptions) -> WellResult:
    """One task: one well, in this worker process."""
    emit = _EVENTS.put if _EVENTS is not None else None
    cancelled = _CANCEL.is_set if _CANCEL is not None else None
    return run_well(plan, device=device, options=options, emit=emit, cancelled=cancelled)
