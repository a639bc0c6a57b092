"""Phase 5: build the frozen plans. Step plans are built once and shared by every well."""

from __future__ import annotations

from typing import Any

from ..plate.model import PlateError, PlateReader
from .plan import CallPlan, OutputPlan, StepPlan, WellPlan
from .problems import ProblemList
from .resolve import ResolvedStep


def build_step_plans(
    steps: list[ResolvedStep], links: dict[int, tuple[tuple[str, int], ...]]
) -> tuple[StepPlan, ...]:
    plans = []
    for rs in steps:
        calls = tuple(
            (
                key,
                tuple(
                    CallPlan(
                        function=spec.qualname,
                        kwargs=tuple(kwargs.items()),
                        input_memory=spec.input_memory,
                        output_memory=spec.output_memory,
                        special_inputs=spec.special_inputs,
                        special_outputs=tuple(spec.special_outputs.items()),
                    )
                    for spec, kwargs in chain
                ),
            )
            for key, chain in rs.groups.items()
        )
        plans.append(
            StepPlan(
                index=rs.index,
                name=rs.name,
                variable_components=tuple(rs.step.variable_components),
                group_by=rs.step.group_by,
                calls=calls,
                device=rs.device,
                materialize=rs.materialize,
                special_inputs=links.get(rs.index, ()),
            )
        )
    return tuple(plans)


def build_well_plans(
    reader: PlateReader,
    wells: tuple[str, ...],
    step_plans: tuple[StepPlan, ...],
    *,
    output_dir: str | None,
    config: tuple[tuple[str, Any], ...],
    plate_provided: tuple[tuple[str, Any], ...],
    problems: ProblemList,
    output: OutputPlan | None = None,
) -> dict[str, WellPlan]:
    layout = reader.layout
    root = str(layout.root)
    plans = {}
    for well in wells:
        try:
            inputs = tuple((key, reader.image_path(key)) for key in layout.keys(well))
        except PlateError as exc:
            problems.add(f"well {well}: {exc}", parameter="wells")
            continue
        plans[well] = WellPlan(
            well=well,
            plate_root=root,
            plate_format=layout.format,
            inputs=inputs,
            steps=step_plans,
            output_dir=output_dir,
            config=config,
            plate_provided=plate_provided,
            output=output,
            image_shape=tuple(layout.shape) if reader.one_image_size else None,
            image_dtype=layout.dtype,
            roots=reader.roots.paths,
        )
    return plans
