"""Phase 2b: checks a function defines for itself, run before anything runs.

A registered function may carry `__hcs_compile_check__(kwargs, pixel_size_um)`, returning
`(parameter, message)` pairs for what would make every well fail: a package that is not
installed, a model file that is not there (`functions/deep/`). The function checks again when
it is called, for callers that bypass the compiler.
"""

from __future__ import annotations

from ..plate.model import PlateLayout
from .problems import ProblemList
from .resolve import ResolvedStep


def check_functions(steps: list[ResolvedStep], layout: PlateLayout,
                    problems: ProblemList) -> None:
    seen: set[tuple[int, str]] = set()
    for rs in steps:
        for chain in rs.groups.values():
            for spec, kwargs in chain:
                check = getattr(spec.func, "__hcs_compile_check__", None)
                if check is None:
                    continue
                for parameter, message in check(dict(kwargs), layout.pixel_size_um):
                    if (rs.index, message) in seen:  # one dict pattern, many groups
                        continue
                    seen.add((rs.index, message))
                    problems.add(message, step_index=rs.index, step_name=rs.name,
                                 parameter=parameter)
