"""Frozen per-well plans: the compiler's output and the executor's only input.

Plans hold names and plain values (no callables, no open files), so they pickle to spawned
worker processes and to Dask workers unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..plate.model import ImageKey


@dataclass(frozen=True)
class CallPlan:
    """One function call: `function` is a registry `module:qualname`, resolved in the worker."""

    function: str
    kwargs: tuple[tuple[str, Any], ...]
    input_memory: str
    output_memory: str
    special_inputs: tuple[str, ...] = ()
    special_outputs: tuple[tuple[str, str], ...] = ()  # (name, kind)

    def kwargs_dict(self) -> dict[str, Any]:
        return dict(self.kwargs)


@dataclass(frozen=True)
class StepPlan:
    """One step of one well.

    Images are grouped by every component *not* in `variable_components`; each group is stacked
    in canonical key order into one `(N, Y, X)` array. With `group_by`, `calls` maps a value of
    that component (e.g. channel "1") to its chain; groups whose value has no chain pass through
    unchanged. Without `group_by`, `calls` has the single key `None`.
    """

    index: int
    name: str
    variable_components: tuple[str, ...]
    group_by: str | None
    calls: tuple[tuple[str | None, tuple[CallPlan, ...]], ...]
    device: str = "cpu"
    materialize: bool = False
    special_inputs: tuple[tuple[str, int], ...] = ()  # (name, producing step index, -1 = plate)

    def chain_for(self, group_value: str | int | None) -> tuple[CallPlan, ...] | None:
        for key, chain in self.calls:
            if key is None or str(key) == str(group_value):
                return chain
        return None


@dataclass(frozen=True)
class OutputPlan:
    """What every well's output looks like, fixed at compile time (`compiler/output.py`) so
    that wells written in parallel agree without waiting for each other.

    `field_shape` is the (Y, X) of every field's image and labels in plate.zarr (None when the
    pipeline's geometry cannot be predicted: fields are then written as produced); `dtype` the
    plate's input dtype, which integer results keep and float results return to when they fit
    (`executor/fitting.py`); `pixel_size_um` the plate's pixel size (`PlateLayout`), which
    reaches plate.zarr, the wire header and the tables; `plate_grid` the plate's physical
    (rows, columns); `plate_url` where plate.zarr is written when that is an object store
    (`s3://bucket/res/plate.zarr`; None: `output_dir/plate.zarr`).
    """

    field_shape: tuple[int, int] | None
    dtype: str
    pixel_size_um: float | None
    plate_grid: tuple[int, int] | None = None
    plate_name: str = "plate"
    plate_url: str | None = None


@dataclass(frozen=True)
class WellPlan:
    """Everything one worker needs to process one well."""

    well: str
    plate_root: str
    plate_format: str
    inputs: tuple[tuple[ImageKey, str], ...]  # image key -> source path, canonical order
    steps: tuple[StepPlan, ...]
    output_dir: str | None
    config: tuple[tuple[str, Any], ...] = ()  # resolved global/pipeline configuration
    plate_provided: tuple[tuple[str, Any], ...] = field(default=())  # e.g. stage_positions
    output: OutputPlan | None = None  # the plate-wide output geometry and units
    # What every input image must be (the plate's); None where the format allows each field
    # its own size (OME-Zarr).
    image_shape: tuple[int, int] | None = None
    image_dtype: str | None = None
    roots: tuple[str, ...] = ()  # where files may be read/written (`engine.roots`); () = anywhere

    @property
    def keys(self) -> tuple[ImageKey, ...]:
        return tuple(k for k, _ in self.inputs)
