"""What a run reports: progress events, per-well results, and the run's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..functions.rois import Outlines

#: `ProgressEvent.state` values. Well-level events have `step == ""`.
STATES: tuple[str, ...] = ("started", "running", "done", "ok", "failed")


@dataclass(frozen=True)
class ProgressEvent:
    """One well's progress: a step `running`/`done` (index 1..total), or the well `started`,
    `ok` or `failed` (step "", index 0 or total)."""

    well: str
    step: str
    index: int
    total: int
    state: str
    seconds: float = 0.0


@dataclass
class WellResult:
    """The outcome of one well, handed to `on_result` in the parent process.

    `image` is the well's first output field (the stitched mosaic for a stitching pipeline) as
    (C, Y, X) (z max-projected when there are several planes), or None when the run was asked
    not to ship images back or the well failed. `labels` are that field's label images. Both
    have the plate's output shape and dtype, as plate.zarr stores them; `pixel_size_um` is the
    plate's pixel size (None when the plate has none), which every sink uses for its scale.
    `warnings` say what was written other than asked (a mosaic cropped to the plate's shape).
    """

    well: str
    status: str  # "ok" | "failed"
    error: str | None = None
    image: np.ndarray | None = None
    channel_names: list[str] = field(default_factory=list)
    pixel_size_um: float | None = None
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    rois: dict[str, Outlines] = field(default_factory=dict)  # first field's outlines
    tables: dict[str, Any] = field(default_factory=dict)  # name -> pandas.DataFrame
    positions: Any = None  # pandas.DataFrame (well, site, y, x) or None
    fields: int = 0
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)
    failed_step: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> dict[str, Any]:
        """The well's entry in run.json."""
        return {
            "status": self.status,
            "error": self.error,
            "failed_step": self.failed_step,
            "fields": self.fields,
            "seconds": round(self.seconds, 3),
            "steps": {k: round(v, 3) for k, v in self.step_seconds.items()},
            "tables": sorted(self.tables),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }


@dataclass
class RunReport:
    """What `run_plans` did: per-well status, where outputs went, and how long it took."""

    output_dir: Path | None
    ok: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # well -> error
    skipped: list[str] = field(default_factory=list)  # already ok in run.json (resume)
    not_run: list[str] = field(default_factory=list)  # cancelled before they started
    cancelled: bool = False
    seconds: float = 0.0
    tables: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. run.json could not be updated

    @property
    def all_ok(self) -> bool:
        return not self.failed and not self.not_run and not self.cancelled

    @property
    def run_json(self) -> Path | None:
        return self.output_dir / "run.json" if self.output_dir else None
