"""Compile problems: every mistake is collected, then reported at once in one `CompileError`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake, located: step index and name (None for plate/run-level problems) and the
    parameter at fault (a keyword name, `func[...]`, `device`, `wells`, ...)."""

    step_index: int | None
    step_name: str | None
    parameter: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.step_index is not None:
            where.append(f"step {self.step_index + 1} {self.step_name!r}")
        if self.parameter:
            where.append(f"parameter {self.parameter!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class CompileError(Exception):
    """A pipeline that cannot run on this plate; `.problems` lists every problem found."""

    def __init__(self, problems: list[Problem], pipeline_name: str = "pipeline") -> None:
        self.problems = list(problems)
        self.pipeline_name = pipeline_name
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(
            f"pipeline {pipeline_name!r} has {count} problem{'s' if count != 1 else ''}:\n{lines}"
        )


class ProblemList:
    """Collects problems from every compile phase."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(
        self,
        message: str,
        *,
        step_index: int | None = None,
        step_name: str | None = None,
        parameter: str | None = None,
    ) -> None:
        self.items.append(Problem(step_index, step_name, parameter, message))

    def __bool__(self) -> bool:
        return bool(self.items)
