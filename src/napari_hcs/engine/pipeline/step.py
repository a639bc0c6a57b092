"""`Step` and `Pipeline`: what the user builds; plain values, compared by value.

Nothing is checked against a plate here: a step under edit may be incomplete. The compiler
validates everything at once and reports every problem (see `napari_hcs.engine.compiler`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import PipelineConfig, StepConfig
from .patterns import iter_calls

DEFAULT_VARIABLE_COMPONENTS: tuple[str, ...] = ("site",)


@dataclass(eq=True)
class Step:
    """One processing step.

    `func` is a function pattern (see `patterns`); `variable_components` are the components
    stacked into one `(N, Y, X)` call (e.g. `("site",)` stacks a well's tiles);
    `group_by` names the component whose value routes a dict pattern (e.g. `"channel"`);
    `materialize` writes this step's output even when it is not the last step.
    """

    func: Any
    name: str | None = None
    variable_components: Sequence[str] = DEFAULT_VARIABLE_COMPONENTS
    group_by: str | None = None
    materialize: bool = False
    config: StepConfig | None = None

    def __post_init__(self) -> None:
        # A tuple whatever the caller passed, so that ["site"] and ("site",) compare equal.
        if isinstance(self.variable_components, str):
            self.variable_components = (self.variable_components,)
        self.variable_components = tuple(self.variable_components)

    @property
    def display_name(self) -> str:
        """The name shown to users: `name`, else the function names joined by ' + '."""
        if self.name:
            return self.name
        try:
            names = []
            for _, ref, _ in iter_calls(self.func):
                label = ref if isinstance(ref, str) else getattr(ref, "__name__", repr(ref))
                if label not in names:
                    names.append(label)
            return " + ".join(names) or "step"
        except ValueError:
            return "step"


@dataclass(eq=True)
class Pipeline:
    """An ordered list of steps with a name and pipeline-level configuration."""

    steps: list[Step] = field(default_factory=list)
    name: str = "pipeline"
    config: PipelineConfig | None = None

    def __post_init__(self) -> None:
        self.steps = list(self.steps)
        for i, step in enumerate(self.steps):
            if not isinstance(step, Step):
                raise TypeError(f"pipeline {self.name!r}: steps[{i}] is {step!r}, not a Step")
