"""Phase 2b: checks a function defines for itself, run before anything runs.

A registered function may carry `__hcs_compile_check__(kwargs, pixel_size_um, roots)`
(`roots`: the run's `AllowedRoots`), returning `(parameter, message)` pairs for what would make
every well fail or is not allowed: a package that is not installed, a model file that is not
there or lies outside the roots of a run driven from the network (`functions/deep/`). The
function checks again when it is called (all but the roots), for callers that bypass the
compiler.
"""

from __future__ import annotations

from typing import Any

from ..roots import UNCONFINED
from .problems import ProblemList
from .resolve import ResolvedStep


def check_functions(steps: list[ResolvedStep], plate_reader: Any,
                    problems: ProblemList) -> None:
    layout = plate_reader.layout
    roots = getattr(plate_reader, "roots", UNCONFINED)
    seen: set[tuple[int, str]] = set()
    for rs in steps:
        for chain in rs.groups.values():
            for spec, kwargs in chain:
                check = getattr(spec.func, "__hcs_compile_check__", None)
                if check is None:
                    continue
                for parameter, message in check(dict(kwargs), layout.pixel_size_um, roots):
                    if (rs.index, message) in seen:  # one dict pattern, many groups
                        continue
                    seen.add((rs.index, message))
                    problems.add(message, step_index=rs.index, step_name=rs.name,
                                 parameter=parameter)
