"""The executor: runs compiled well plans on local processes (CPU/GPU slots) or other backends,
with progress events, cancel, failure isolation, resume, and the run's outputs.

Its names are imported on first use (PEP 562), so that a light module of the package (e.g.
`fork_server`, which a run starts before anything else) does not import the whole executor.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Backend": ".backend",
    "BackendUnavailable": ".backend",
    "get_backend": ".backend",
    "ResumeRefused": ".fingerprint",
    "OutputRefused": ".output_folder",
    "OutputBusy": ".output_lock",
    "ProgressEvent": ".events",
    "RunReport": ".events",
    "WellResult": ".events",
    "LocalBackend": ".local",
    "run_plans": ".runner",
    "WellOptions": ".well",
    "run_well": ".well",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value
