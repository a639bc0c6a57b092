"""Phase 3: link every special input to its producer (an earlier step, or the plate itself)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functions.registry import PLATE_PROVIDED
from ..plate.model import PlateLayout
from .problems import ProblemList
from .resolve import ResolvedStep

PLATE = -1  # producer index of a plate-provided special input


def _outputs(rs: ResolvedStep) -> dict[str, str]:
    return {
        name: kind
        for chain in rs.groups.values()
        for spec, _ in chain
        for name, kind in spec.special_outputs.items()
    }


def link_special_inputs(
    steps: list[ResolvedStep],
    layout: PlateLayout,
    problems: ProblemList,
    unresolved: frozenset[int] = frozenset(),
) -> tuple[dict[int, tuple[tuple[str, int], ...]], set[str]]:
    """`{step index: ((input name, producer index), ...)}` and the plate-provided names used.

    A step reads the output of the *latest* earlier step that produces the name; the plate
    provides the names in `PLATE_PROVIDED` when no earlier step does. `unresolved` are steps
    whose pattern failed (already reported): what they would produce is unknown, so a missing
    producer after one of them is not reported a second time.
    """
    producers: dict[str, int] = {}
    all_outputs = {rs.index: _outputs(rs) for rs in steps}
    links: dict[int, tuple[tuple[str, int], ...]] = {}
    from_plate: set[str] = set()
    for rs in steps:
        step_links: dict[str, int] = {}
        for chain in rs.groups.values():
            for spec, _ in chain:
                for name in spec.special_inputs:
                    if name not in producers and any(i < rs.index for i in unresolved):
                        continue
                    producer = _producer(name, rs, producers, all_outputs, layout, problems,
                                         spec.name)
                    if producer is not None:
                        step_links[name] = producer
                        if producer == PLATE:
                            from_plate.add(name)
        links[rs.index] = tuple(step_links.items())
        for name in all_outputs[rs.index]:
            producers[name] = rs.index
    return links, from_plate


def _producer(
    name: str,
    rs: ResolvedStep,
    producers: dict[str, int],
    all_outputs: dict[int, dict[str, str]],
    layout: PlateLayout,
    problems: ProblemList,
    function: str,
) -> int | None:
    if name in producers:
        return producers[name]
    if name in PLATE_PROVIDED:
        missing = _plate_lacks(name, layout)
        if missing is None:
            return PLATE
        hint = missing
    else:
        later = [i for i, outs in all_outputs.items() if name in outs and i >= rs.index]
        if later and later[0] == rs.index:
            hint = "it is produced within this same step; move the producing function to an "
            hint += "earlier step"
        elif later:
            hint = f"it is produced by step {later[0] + 1}, which runs later; move that step first"
        else:
            hint = "add an earlier step whose function declares it as a special output"
    problems.add(
        f"{function} needs special input {name!r}, but no earlier step produces it: {hint}",
        step_index=rs.index, step_name=rs.name, parameter=name,
    )
    return None


def _plate_lacks(name: str, layout: PlateLayout) -> str | None:
    if name == "stage_positions":
        missing = [s for s in layout.sites if s not in layout.site_positions]
        if missing:
            return (f"this {layout.format} plate carries no stage positions for sites "
                    f"{missing}; add a step that computes them")
    return None


def plate_provided_values(layout: PlateLayout, names: set[str]) -> tuple[tuple[str, Any], ...]:
    """Values of the plate-provided special inputs, identical for every well of the plate.

    `stage_positions` has one `(y, x)` row per site in `layout.sites` order, which is the stack
    order of a step whose `variable_components` is `("site",)`.
    `channel_names` lists the channel names in `layout.channels` order, `site_ids` the sites
    in `layout.sites` order, `pixel_size_um` the plate's (None when unknown).
    """
    values: dict[str, Any] = {}
    if "stage_positions" in names:
        positions = np.array(
            [layout.site_positions[s] for s in layout.sites], dtype=np.float64
        ).reshape(-1, 2)
        positions.flags.writeable = False
        values["stage_positions"] = positions
    if "channel_names" in names:
        values["channel_names"] = tuple(layout.channel_names.get(c, c) for c in layout.channels)
    if "site_ids" in names:
        values["site_ids"] = tuple(int(s) for s in layout.sites)
    if "pixel_size_um" in names:
        values["pixel_size_um"] = layout.pixel_size_um
    return tuple(sorted(values.items()))
