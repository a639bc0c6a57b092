"""What the docks of one viewer share: the open plate, the selected well/site, the pipeline and
its configuration, per-well run status and measurements.

No Qt here: psygnal signals let each dock react to the others without knowing them (the Plate
dock selects a well, the Run dock previews it; the Run dock finishes a well, the Plate dock
colours it). One session per viewer, created on first use.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import pandas as pd
from psygnal import Signal

from ..engine.pipeline.config import GlobalConfig
from ..engine.plate.model import PlateReader

#: Run states a well goes through, in order; the Plate dock colours wells by them.
WELL_STATES: tuple[str, ...] = ("queued", "running", "ok", "failed", "cancelled")


class HcsSession:
    """The plugin state of one viewer."""

    plate_changed = Signal(object)  # PlateReader | None
    selection_changed = Signal(object, object)  # well: str | None, site: int | None
    pipeline_changed = Signal(object)  # Pipeline
    config_changed = Signal(object)  # GlobalConfig
    well_state_changed = Signal(str, str)  # well, one of WELL_STATES (or "" when cleared)
    measurements_changed = Signal(object)  # DataFrame: one row per object, with a `well` column
    problems_changed = Signal(object)  # list of compiler Problems (empty when it compiles)

    def __init__(self) -> None:
        self.reader: PlateReader | None = None
        self.geometry: Any = None  # PlateGeometry of the plate view, set with the plate
        self.well: str | None = None
        self.site: int | None = None
        self.pipeline: Any = None  # engine Pipeline, created lazily (see `ensure_pipeline`)
        self.global_config = GlobalConfig()
        self.well_states: dict[str, str] = {}
        self.well_errors: dict[str, str] = {}  # well -> why it failed
        self.measurements: dict[str, pd.DataFrame] = {}  # table name -> rows over all wells
        self.problems: list[Any] = []  # the last compile's Problems
        self.navigator: Any = None  # plate_view.PlateNavigator, once a dock installs it

    # -- plate and selection ------------------------------------------------------------------
    def set_plate(self, reader: PlateReader | None) -> None:
        from .plate_view.geometry import plate_geometry

        self.reader = reader
        self.geometry = plate_geometry(reader) if reader is not None else None
        self.well_states.clear()
        self.well_errors.clear()
        self.measurements.clear()
        self.well = self.site = None
        self.plate_changed.emit(reader)

    def open_plate(self, path: str | Path) -> PlateReader:
        """Open a plate folder with the engine and make it this session's plate."""
        from ..engine.plate import open_plate

        root = Path(path)
        if self.reader is not None and self.reader.root.resolve() == root.resolve():
            return self.reader
        reader = open_plate(root)
        self.set_plate(reader)
        return reader

    def adopt_layer(self, layer: Any) -> None:
        """A layer opened by the napari-hcs reader makes its plate this session's plate (the
        very reader object the plate view reads through, when it has one)."""
        from .plate_view.layers import META_KEY, loaders_of

        info = layer.metadata.get(META_KEY, {})
        root, fmt = info.get("root"), info.get("format")
        if not root or fmt in (None, "output") or "result" in info:
            return
        loaders = loaders_of(layer)
        if self.reader is not None and self.reader.root.resolve() == Path(root).resolve():
            return
        if loaders:
            self.set_plate(loaders[0].reader)
        else:
            self.open_plate(root)

    def select(self, well: str | None, site: int | None = None) -> None:
        if (well, site) != (self.well, self.site):
            self.well, self.site = well, site
            self.selection_changed.emit(well, site)

    # -- pipeline and configuration -----------------------------------------------------------
    def ensure_pipeline(self) -> Any:
        """The session's pipeline, an empty one to start with."""
        if self.pipeline is None:
            from ..engine.pipeline import Pipeline

            self.pipeline = Pipeline([])
        return self.pipeline

    def set_pipeline(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.pipeline_changed.emit(pipeline)

    def set_global_config(self, config: GlobalConfig) -> None:
        self.global_config = config
        self.config_changed.emit(config)

    def set_problems(self, problems: list[Any]) -> None:
        self.problems = list(problems)
        self.problems_changed.emit(self.problems)

    # -- run results --------------------------------------------------------------------------
    def set_well_state(self, well: str, state: str, error: str | None = None) -> None:
        if state not in WELL_STATES:
            raise ValueError(f"well {well}: unknown run state {state!r}; one of {WELL_STATES}")
        self.well_states[well] = state
        if error:
            self.well_errors[well] = error
        else:
            self.well_errors.pop(well, None)
        self.well_state_changed.emit(well, state)

    def clear_well_states(self, wells: list[str]) -> None:
        """Forget the run state of `wells` (a run that never started leaves none behind)."""
        for well in wells:
            if self.well_states.pop(well, None) is not None:
                self.well_errors.pop(well, None)
                self.well_state_changed.emit(well, "")

    def set_table(self, name: str, frame: pd.DataFrame) -> None:
        """A whole measurement table (all wells so far), prepared off the GUI thread."""
        self.measurements[name] = frame
        self.measurements_changed.emit(frame)

    def add_table(self, name: str, well: str, table: pd.DataFrame) -> None:
        """Append one well's rows of a measurement table (replacing that well's earlier rows).
        Concatenates on the calling thread: fine for a few wells, use `set_table` for runs."""
        rows = table.assign(well=well) if "well" not in table.columns else table
        old = self.measurements.get(name)
        if old is not None and "well" in old.columns:
            old = old[old["well"] != well]
            rows = pd.concat([old, rows], ignore_index=True)
        self.set_table(name, rows.reset_index(drop=True))

    def well_values(self, table: str, column: str, reduce: str = "mean") -> dict[str, float]:
        """One number per well from a measurement table (`count` ignores `column`)."""
        df = self.measurements.get(table)
        if df is None or df.empty or "well" not in df.columns:
            return {}
        grouped = df.groupby("well")
        series = grouped.size() if reduce == "count" else grouped[column].agg(reduce)
        return {str(k): float(v) for k, v in series.items()}


_SESSIONS: weakref.WeakKeyDictionary[Any, HcsSession] = weakref.WeakKeyDictionary()


def session_for(viewer: Any) -> HcsSession:
    """The session of `viewer` (created on first call; dies with the viewer)."""
    session = _SESSIONS.get(viewer)
    if session is None:
        session = _SESSIONS[viewer] = HcsSession()
    return session
