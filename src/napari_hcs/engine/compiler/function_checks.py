"""Phase 2b: checks a function defines for itself, run before anything runs.

A registered function may carry
`__hcs_compile_check__(kwargs, pixel_size_um, roots, channel_names)` (`roots`: the run's
`AllowedRoots`; `channel_names`: the plate's channel names in channel order, as the
`channel_names` special input gives them), returning `(parameter, message)` pairs for what
would make every well fail or is not allowed: a package that is not installed, a model file
that is not there or lies outside the roots of a run driven from the network
(`functions/deep/`), parameters that contradict each other (`segment_nuclei`'s diameters), a
channel the plate does not have (`identify_cells`), a size that measures nothing
(`measure_profiles`). The function checks again when it is called (all but the roots), for
callers that bypass the compiler.
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
    channel_names = tuple(str(layout.channel_names.get(c, c)) for c in layout.channels)
    seen: set[tuple[int, str]] = set()
    for rs in steps:
        for chain in rs.groups.values():
            for spec, kwargs in chain:
                check = getattr(spec.func, "__hcs_compile_check__", None)
                if check is None:
                    continue
                for parameter, message in check(dict(kwargs), layout.pixel_size_um, roots,
                                            channel_names):
                    if (rs.index, message) in seen:  # one dict pattern, many groups
                        continue
                    seen.add((rs.index, message))
                    problems.add(message, step_index=rs.index, step_name=rs.name,
                                 parameter=parameter)
