"""The executor: runs compiled well plans on local processes (CPU/GPU slots) or other backends,
with progress events, cancel, failure isolation, resume, and the run's outputs."""

from .backend import Backend, BackendUnavailable, get_backend
from .events import ProgressEvent, RunReport, WellResult
from .fingerprint import ResumeRefused
from .local import LocalBackend
from .output_folder import OutputRefused
from .output_lock import OutputBusy
from .runner import run_plans
from .well import WellOptions, run_well

__all__ = [
    "Backend",
    "BackendUnavailable",
    "LocalBackend",
    "OutputBusy",
    "OutputRefused",
    "ProgressEvent",
    "ResumeRefused",
    "RunReport",
    "WellOptions",
    "WellResult",
    "get_backend",
    "run_plans",
    "run_well",
]
