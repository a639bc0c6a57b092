"""The executor: runs compiled well plans on local processes (CPU/GPU slots) or other backends,
with progress events, cancel, failure isolation, resume, and the run's outputs."""

from .backend import Backend, BackendUnavailable, get_backend
from .events import ProgressEvent, RunReport, WellResult
from .local import LocalBackend
from .runner import run_plans
from .well import WellOptions, run_well

__all__ = [
    "Backend",
    "BackendUnavailable",
    "LocalBackend",
    "ProgressEvent",
    "RunReport",
    "WellOptions",
    "WellResult",
    "get_backend",
    "run_plans",
    "run_well",
]
