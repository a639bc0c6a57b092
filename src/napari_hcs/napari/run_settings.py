"""The run's workers and device, from the session's configuration (one source of truth).

The Config dock edits the global and pipeline levels; the Run dock shows and edits the same
global values; a run uses what they resolve to, exactly as the compiler does for the steps.
"""

from __future__ import annotations

from typing import Any

from ..engine.pipeline import resolve


def run_settings(session: Any) -> tuple[int, str]:
    """(workers, device) a run of the session's pipeline uses."""
    pipeline_config = getattr(session.pipeline, "config", None)
    workers = int(resolve("workers", None, pipeline_config, session.global_config))
    device = str(resolve("device", None, pipeline_config, session.global_config))
    return workers, device
