"""Phase 3b: a parameter that needs columns of a linked table gets them checked at compile.

A function that makes tables may say which columns they will have (`table_columns(kwargs,
channel_names) -> {output name: [column, ...]}`, an attribute of the function: e.g.
`measure_nuclei`, whose columns follow from the plate's channels). A parameter constraint that
needs columns (`missing_columns(value, columns, table, roots) -> message or None`, e.g.
`ClassifierFile`: the classifier's features) is then asked, for every table special input of
its function, with the columns that input's producer will make. Producers that cannot say
(their columns depend on the data) are skipped: the function checks at run time.
"""

from __future__ import annotations

from typing import Any

from ..plate.model import PlateLayout
from ..roots import AllowedRoots
from .problems import ProblemList
from .resolve import ResolvedStep
from .validate import _constraints


def _producer_columns(name: str, producer: ResolvedStep, channels: list[str]) -> Any:
    for chain in producer.groups.values():
        for spec, kwargs in chain:
            declare = getattr(spec.func, "table_columns", None)
            if spec.special_outputs.get(name) == "table" and callable(declare):
                return declare(dict(kwargs), channels).get(name)
    return None


def check_table_columns(steps: list[ResolvedStep], links: dict[int, tuple[tuple[str, int], ...]],
                        layout: PlateLayout, problems: ProblemList, roots: AllowedRoots) -> None:
    """Ask every column-needing constraint (see the module docstring); `roots` confine any
    file a constraint reads, as in `validate.check_call`."""
    by_index = {rs.index: rs for rs in steps}
    channels = [str(layout.channel_names.get(c, c)) for c in layout.channels]
    for rs in steps:
        producers = dict(links.get(rs.index, ()))
        for chain in rs.groups.values():
            for spec, kwargs in chain:
                for param in spec.parameters:
                    checks = [c for c in _constraints(param.annotation)
                              if callable(getattr(c, "missing_columns", None))]
                    value = kwargs.get(param.name, param.default)
                    for name in (n for n in spec.special_inputs if checks and n in producers):
                        producer = by_index.get(producers[name])
                        columns = (_producer_columns(name, producer, channels)
                                   if producer is not None else None)
                        if columns is None:
                            continue
                        for check in checks:
                            message = check.missing_columns(value, list(columns), name, roots)
                            if message:
                                problems.add(f"{spec.name}: {message} (made by step "
                                             f"{producer.index + 1} {producer.name!r})",
                                             step_index=rs.index, step_name=rs.name,
                                             parameter=param.name)
