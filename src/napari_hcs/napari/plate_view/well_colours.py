"""What the Plate dock can colour wells by: one number per well from a named source.

A *colouring source* is a function `session -> {choice name: values}` where values is a
`{well: number}` mapping (or a function returning one, computed only when chosen). The dock
lists "run status" first, then every source's choices; a plugin or another part of napari-hcs
adds its own with `register_colouring(source)` (e.g. per-well feature aggregates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Values = Mapping[str, float] | Callable[[], Mapping[str, float]]
Source = Callable[[Any], Mapping[str, Values]]

#: The first choice: colour by run state (queued, running, ok, failed, cancelled).
RUN_STATUS = "run status"

_SOURCES: list[Source] = []


def register_colouring(source: Source) -> Source:
    """Add a colouring source (usable as a decorator); sources are asked in order."""
    if source not in _SOURCES:
        _SOURCES.append(source)
    return source


def measurement_colourings(session: Any) -> dict[str, Values]:
    """Each measurement table: its object count per well and each numeric column's mean; a
    table of one row per well and no objects (a well profile, `wells`) offers its columns as
    they are."""
    choices: dict[str, Values] = {}
    for name, table in session.measurements.items():
        if "well" not in table.columns:
            continue
        per_well = "label" not in table.columns and not table["well"].duplicated().any()
        if not per_well:
            choices[f"{name}: count"] = (lambda n=name: session.well_values(n, "label", "count"))
        for column in table.select_dtypes("number").columns:
            if column not in ("label", "index"):
                choices[f"{name}: {column}" if per_well else f"{name}: {column} (mean)"] = (
                    lambda n=name, c=column: session.well_values(n, c))
    return choices


register_colouring(measurement_colourings)


def colourings(session: Any) -> dict[str, Values]:
    """Every choice of every source, in source order (later sources cannot hide earlier)."""
    choices: dict[str, Values] = {}
    for source in _SOURCES:
        for name, values in source(session).items():
            choices.setdefault(name, values)
    return choices


def values_of(choice: Values) -> Mapping[str, float]:
    return choice() if callable(choice) else choice
