"""`compile_pipeline`: (pipeline, plate, config) -> one frozen plan per well, or every problem.

The phases run in order, each adding to one problem list, so a user sees all their mistakes
in one message before anything runs:
1. resolve patterns, components and devices (`resolve`);
2. check keyword arguments, configuration values and dict-pattern keys (`validate`);
3. link special inputs to producers (`links`), and check parameters that need a linked
   table's columns against what its producer says it makes (`table_columns`);
4. check memory types against devices (`devices`);
5. build the frozen plans, sharing the step plans across wells (`build`), with the plate-wide
   output plan (shape, dtype, pixel size of plate.zarr; `output`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from ..pipeline.config import GlobalConfig, resolve_all
from ..pipeline.step import Pipeline
from ..plate.model import PlateLayout, PlateReader
from .build import build_step_plans, build_well_plans
from .devices import check_devices, check_requirements
from .function_checks import check_functions
from .links import link_special_inputs, plate_provided_values
from .output import plan_output
from .parameter_bounds import image_side
from .plan import OutputPlan, StepPlan, WellPlan
from .problems import CompileError, ProblemList
from .resolve import resolve_steps
from .table_columns import check_table_columns
from .validate import validate_config, validate_group_keys, validate_kwargs


@dataclass
class CompiledPipeline:
    """The compiler's result: `plans[well]` is what a worker runs for that well."""

    pipeline_name: str
    plans: dict[str, WellPlan]
    steps: tuple[StepPlan, ...]
    config: dict[str, Any] = field(default_factory=dict)  # resolved pipeline/global config
    output_dir: str | None = None

    @property
    def wells(self) -> tuple[str, ...]:
        return tuple(self.plans)

    @property
    def output(self) -> OutputPlan | None:
        """The plate-wide output plan (shape, dtype, pixel size), the same in every plan."""
        return next(iter(self.plans.values())).output if self.plans else None


def select_wells(
    layout: PlateLayout, wells: Iterable[str] | None, problems: ProblemList
) -> tuple[str, ...]:
    """The wells to plan, in the order given (duplicates dropped); unknown ones are problems."""
    if wells is None:
        return tuple(layout.wells)
    chosen = tuple(dict.fromkeys(wells))
    unknown = [w for w in chosen if w not in set(layout.wells)]
    if unknown:
        sample = ", ".join(layout.wells[:8]) + (", ..." if len(layout.wells) > 8 else "")
        problems.add(
            f"unknown well{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: "
            f"the plate has {len(layout.wells)} wells ({sample})",
            parameter="wells",
        )
    if not chosen:
        problems.add("no wells selected", parameter="wells")
    return tuple(w for w in chosen if w not in unknown)


def compile_pipeline(
    pipeline: Pipeline,
    plate_reader: PlateReader,
    *,
    wells: Iterable[str] | None = None,
    config: GlobalConfig | None = None,
    output_dir: str | PathLike[str] | None = None,
    check_available_devices: bool = True,
) -> CompiledPipeline:
    """Compile `pipeline` for `wells` of the plate (all wells by default).

    Raises `CompileError` listing every problem. `check_available_devices=False` skips the
    "is this GPU present here" check, for compiling on a machine other than the one that runs.
    """
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"compile_pipeline needs a Pipeline, got {type(pipeline).__name__}")
    global_config = config or GlobalConfig()
    layout = plate_reader.layout
    problems = ProblemList()

    chosen = select_wells(layout, wells, problems)
    steps = resolve_steps(pipeline, global_config, problems)
    validate_config(pipeline, global_config, problems)
    validate_kwargs(steps, problems, image_side(layout.shape, layout.site_positions),
                    plate_reader.roots)
    check_functions(steps, plate_reader, problems)
    validate_group_keys(steps, layout, problems)
    unresolved = frozenset(range(len(pipeline.steps))) - {rs.index for rs in steps}
    links, from_plate = link_special_inputs(steps, layout, problems, unresolved)
    check_table_columns(steps, links, layout, problems, plate_reader.roots)
    check_devices(steps, problems, check_available=check_available_devices)
    check_requirements(steps, problems)
    if problems:
        raise CompileError(problems.items, pipeline.name)

    step_plans = build_step_plans(steps, links)
    resolved = resolve_all(pipeline.config, global_config)
    out = str(output_dir) if output_dir is not None else None
    plans = build_well_plans(
        plate_reader,
        chosen,
        step_plans,
        output_dir=out,
        config=tuple(resolved.items()),
        plate_provided=plate_provided_values(layout, from_plate),
        problems=problems,
        output=plan_output(plate_reader, chosen, step_plans),
    )
    if problems:
        raise CompileError(problems.items, pipeline.name)
    return CompiledPipeline(pipeline.name, plans, step_plans, resolved, out)
