"""Part of phase 5: the plate-wide output plan, fixed before anything runs (DESIGN.md "Outputs").

Every well of plate.zarr must have the same shape at every pyramid level, or the ecosystem's
plate readers (ome-zarr-py, napari-ome-zarr) cannot lay the wells out side by side. A stitched
mosaic's size depends on the registration, which is known only after a well ran; wells run in
parallel, so the shape is decided here, from what is known before: the layout's nominal extent
(site positions + tile shape) plus the registration's largest correction (`max_shift` of the
step that produces the `positions`). Each well's mosaic is then padded into that shape (or, if
the registration moved tiles further than it was allowed to, cropped with a warning) by
`executor/fitting.py`.

Geometry rule: the tile shape, unless a step stacks sites and consumes `positions` (an assembly
step, e.g. `assemble_mosaic`): from then on the mosaic's nominal extent plus the margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..functions.registry import RegistryError, get_function
from ..plate.model import PlateError, PlateLayout, PlateReader
from ..plate.wells import standard_grid
from .plan import CallPlan, OutputPlan, StepPlan

#: Margin (fraction of the tile edge) when the `positions` producer declares no `max_shift`.
FALLBACK_MARGIN = 0.05
POSITIONS = "positions"


def plan_output(
    reader: PlateReader, wells: Sequence[str], steps: Sequence[StepPlan]
) -> OutputPlan:
    """The output plan of a run over `wells` of the plate `reader` with `steps`."""
    layout = reader.layout
    return OutputPlan(
        field_shape=field_shape(reader, wells, steps),
        dtype=layout.dtype,
        pixel_size_um=float(layout.pixel_size_um) if layout.pixel_size_um else None,
        plate_grid=plate_grid(layout),
        plate_name=layout.root.name or "plate",
    )


def plate_grid(layout: PlateLayout) -> tuple[int, int]:
    """The plate's physical (rows, columns): the layout's, at least the smallest standard
    plate (96, 384, 1536 wells) that holds its wells (NGFF lists every physical row/column)."""
    rows, columns = standard_grid(layout.wells)
    return max(layout.rows or 0, rows), max(layout.columns or 0, columns)


def field_shape(
    reader: PlateReader, wells: Sequence[str], steps: Sequence[StepPlan]
) -> tuple[int, int] | None:
    """(Y, X) of every output field, or None when a mosaic's extent cannot be known (the plate
    carries no site positions)."""
    layout = reader.layout
    shape: tuple[int, int] | None = (int(layout.shape[0]), int(layout.shape[1]))
    for step in steps:
        if "site" not in step.variable_components or not _consumes(step, POSITIONS):
            continue
        extent = _nominal_extent(reader, wells)
        if extent is None:
            return None
        margin = _margin(steps, step, layout.shape)
        shape = (int(layout.shape[0] + math.ceil(extent[0] + margin)),
                 int(layout.shape[1] + math.ceil(extent[1] + margin)))
    return shape


def _consumes(step: StepPlan, name: str) -> bool:
    return any(name in call.special_inputs for call in _calls(step))


def _calls(step: StepPlan) -> list[CallPlan]:
    return [call for _, chain in step.calls for call in chain]


def _nominal_extent(reader: PlateReader, wells: Sequence[str]) -> tuple[float, float] | None:
    """The largest (y, x) span of the site positions over `wells` (0 for one site)."""
    layout = reader.layout
    spans = []
    for well in wells:
        try:
            positions = reader.site_positions(well)
        except PlateError:
            positions = {}
        rows = [positions[s] for s in layout.sites if s in positions]
        if len(rows) != len(layout.sites):
            return None
        array = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
        spans.append(np.ptp(array, axis=0))
    if not spans:
        return None
    largest = np.max(spans, axis=0)
    return float(largest[0]), float(largest[1])


def _margin(steps: Sequence[StepPlan], assembly: StepPlan, tile: tuple[int, int]) -> float:
    """How far the registration may move the mosaic's far edge: the `max_shift` of the call
    that produces the `positions` the assembly step reads."""
    producer_index = dict(assembly.special_inputs).get(POSITIONS)
    producer = next((s for s in steps if s.index == producer_index), None)
    for call in _calls(producer) if producer is not None else []:
        if POSITIONS not in dict(call.special_outputs):
            continue
        value = call.kwargs_dict().get("max_shift")
        if value is None:
            try:
                parameter = get_function(call.function).parameter("max_shift")
            except RegistryError:
                parameter = None
            value = parameter.default if parameter is not None else None
        if isinstance(value, (int, float)) and value >= 0:
            return float(value)
    return FALLBACK_MARGIN * max(tile)
