"""Phase 1: resolve each step's function pattern and check its components and device."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..pipeline.config import GlobalConfig, resolve
from ..pipeline.patterns import Chain, PatternError, normalize_pattern
from ..pipeline.step import Pipeline, Step
from ..plate.model import COMPONENTS
from .problems import ProblemList

#: Components a step may stack or route by; `well` is always the unit of work.
STEP_COMPONENTS: tuple[str, ...] = tuple(c for c in COMPONENTS if c != "well")
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


@dataclass
class ResolvedStep:
    """A step whose pattern resolved to registered functions; the later phases read this."""

    index: int
    name: str
    step: Step
    groups: dict[str | None, Chain]
    device: str
    materialize: bool


def normalize_device(device: str) -> str:
    """`cuda` means the first GPU; plans always carry an explicit index."""
    return "cuda:0" if device == "cuda" else device


def resolve_steps(
    pipeline: Pipeline, global_config: GlobalConfig, problems: ProblemList
) -> list[ResolvedStep]:
    """Resolve every step; steps with problems are reported and left out of the result."""
    resolved = []
    if not pipeline.steps:
        problems.add("the pipeline has no steps; add at least one")
    for index, step in enumerate(pipeline.steps):
        name = step.display_name
        where = {"step_index": index, "step_name": name}
        ok = True
        for comp in step.variable_components:
            if comp not in STEP_COMPONENTS:
                problems.add(
                    f"unknown component {comp!r}; use some of {', '.join(STEP_COMPONENTS)}",
                    parameter="variable_components", **where,
                )
                ok = False
        if step.group_by is not None:
            if step.group_by not in STEP_COMPONENTS:
                problems.add(
                    f"unknown component {step.group_by!r}; use one of {', '.join(STEP_COMPONENTS)}",
                    parameter="group_by", **where,
                )
                ok = False
            elif step.group_by in step.variable_components:
                problems.add(
                    f"{step.group_by!r} is both stacked (variable_components) and routed "
                    "(group_by); a component can only be one of them",
                    parameter="group_by", **where,
                )
                ok = False
        device = str(resolve("device", step.config, pipeline.config, global_config))
        if not _DEVICE.match(device):
            problems.add(
                f"device {device!r} is not 'cpu', 'cuda' or 'cuda:N'", parameter="device", **where
            )
            ok = False
        try:
            groups = normalize_pattern(step.func, step.group_by)
        except PatternError as exc:
            for message in exc.messages:
                problems.add(message, parameter="func", **where)
            ok = False
        if ok:
            materialize = bool(step.materialize) or bool(
                resolve("materialize_intermediates", step.config, pipeline.config, global_config)
            )
            resolved.append(
                ResolvedStep(index, name, step, groups, normalize_device(device), materialize)
            )
    return resolved
