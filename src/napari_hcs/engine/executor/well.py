"""Processing one well: read its images, run every step, write its outputs.

This is what a worker process does for one task; it holds one well's images and nothing else,
which is what bounds a run's memory to workers x one well.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler.plan import StepPlan, WellPlan
from ..functions.registry import get_function
from ..functions.rois import Outlines, as_outlines
from ..memory import convert
from ..plate.model import ImageKey
from ..roots import AllowedRoots
from .events import ProgressEvent, WellResult
from .fitting import fit_field, stored_field
from .profile_tables import cellprofiler_tables
from .reading import InputError, read_inputs
from .specials import (
    Produced,
    SpecialValues,
    TableContext,
    label_planes,
    positions_frame,
    table_frames,
    to_numpy,
)
from .stacking import group_keys, group_label, sites_combined, split_stack, stack_planes

Emit = Callable[[ProgressEvent], None]


class WellFailure(Exception):
    """A failure with a message that already names the file or step."""


class Cancelled(Exception):
    """The run was cancelled; raised between steps."""


@dataclass(frozen=True)
class WellOptions:
    """How a well's outputs are written and returned (the same for every well of a run)."""

    channel_names: Mapping[str, str] = field(default_factory=dict)  # channel id -> name
    pixel_size_um: float | None = None  # overrides the plan's (`OutputPlan.pixel_size_um`)
    ship_images: bool = False  # return the image/labels in WellResult (for on_result sinks)


def run_well(
    plan: WellPlan,
    *,
    device: str = "cpu",
    options: WellOptions = WellOptions(),
    emit: Emit | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> WellResult:
    """Process one well; never raises (a failure is a `WellResult` with status "failed")."""
    emit = emit or (lambda event: None)
    cancelled = cancelled or (lambda: False)
    total = len(plan.steps)
    start = time.perf_counter()
    result = WellResult(plan.well, "failed")
    stage = "reading input"
    emit(ProgressEvent(plan.well, "", 0, total, "started"))
    try:
        images = read_inputs(plan)
        provided = dict(plan.plate_provided)
        if "pixel_size_um" in provided and options.pixel_size_um is not None:
            provided["pixel_size_um"] = float(options.pixel_size_um)  # the run's override
        specials = SpecialValues(plan.keys, provided)
        for number, step in enumerate(plan.steps, 1):  # 1-based for people
            if cancelled():
                raise Cancelled(f"cancelled before step {number} {step.name!r}")
            stage = f"step {number} {step.name!r}"
            emit(ProgressEvent(plan.well, step.name, number, total, "running"))
            t = time.perf_counter()
            images = run_step(step, images, specials, device,
                              stitched=sites_combined(images, plan.keys))
            if step.materialize and plan.output_dir:
                materialize(plan, f"{number:02d}_{step.name}", images)
            result.step_seconds[step.name] = time.perf_counter() - t
            emit(ProgressEvent(plan.well, step.name, number, total, "done",
                               result.step_seconds[step.name]))
        stage = "writing output"
        finish(plan, images, specials, options, result)
        result.status = "ok"
    except Cancelled as exc:
        result.error, result.failed_step = str(exc), stage
    except (WellFailure, InputError, OSError) as exc:
        result.error, result.failed_step = f"{stage}: {exc}", stage
    except Exception as exc:
        result.error, result.failed_step = f"{stage}: {type(exc).__name__}: {exc}", stage
    result.seconds = time.perf_counter() - start
    if not result.ok:
        result.image, result.labels = None, {}
    emit(ProgressEvent(plan.well, "", total, total, result.status, result.seconds))
    return result


def _step_device(step: StepPlan, slot: str) -> str:
    # A GPU step runs on this worker's slot (round-robin over devices); cpu steps stay on cpu.
    if step.device.startswith("cuda") and slot.startswith("cuda"):
        return slot
    return step.device


def run_step(
    step: StepPlan, images: dict[ImageKey, Any], specials: SpecialValues, slot: str,
    stitched: bool = False,
) -> dict[ImageKey, Any]:
    """Run one step on a well's images (key -> 2-D array); returns the new images. Errors
    name the stack's site, or the stitched well when an earlier step made one image of the
    sites (`stitched`)."""
    device = _step_device(step, slot)
    links = dict(step.special_inputs)
    out: dict[ImageKey, Any] = {}
    for gid, keys in group_keys(images, step.variable_components).items():
        value = dict(gid).get(step.group_by) if step.group_by else None
        chain = step.chain_for(value)
        if not chain:  # no function for this group: pass through unchanged
            out.update((k, images[k]) for k in keys)
            continue
        where = group_label(gid, stitched)
        first_dev = "cpu" if chain[0].input_memory == "numpy" else device
        stack = stack_planes([convert(images[k], chain[0].input_memory, first_dev) for k in keys])
        for call in chain:
            spec = get_function(call.function)
            call_where = f"{where}, function {spec.name}"
            call_dev = "cpu" if call.input_memory == "numpy" else device
            kwargs = call.kwargs_dict()
            for name in call.special_inputs:
                kwargs[name] = specials.resolve(name, gid, keys, links.get(name), call_where)
            try:
                returned = spec.func(convert(stack, call.input_memory, call_dev), **kwargs)
            except Exception as exc:
                raise WellFailure(f"{call_where}: {type(exc).__name__}: {exc}") from exc
            stack = _collect(returned, call, keys, gid, step, specials, call_where)
        for key, plane in split_stack(stack, keys, step.variable_components,
                                      where=where).items():
            if key in out:
                raise WellFailure(f"{where}: two stacks produced image {key}")
            out[key] = plane
    return out


def _collect(returned: Any, call: Any, keys: list[ImageKey], gid: Any, step: StepPlan,
             specials: SpecialValues, where: str) -> Any:
    if not call.special_outputs:
        return returned
    n = len(call.special_outputs)
    if not isinstance(returned, tuple) or len(returned) != n + 1:
        names = ", ".join(name for name, _ in call.special_outputs)
        raise WellFailure(f"{where}: must return (stack, {names}); got "
                          f"{type(returned).__name__}"
                          f"{f' of {len(returned)}' if isinstance(returned, tuple) else ''}")
    for (name, kind), value in zip(call.special_outputs, returned[1:], strict=True):
        specials.add(Produced(name, kind, value, dict(gid), list(keys),
                              step.variable_components, step.index, _sources(call)))
    return returned[0]


def _sources(call: Any) -> tuple[str, ...]:
    """What a call's outputs describe: its special inputs, then its own labels outputs (a
    table made with the labels it describes)."""
    own = tuple(name for name, kind in call.special_outputs if kind == "labels")
    return tuple(call.special_inputs) + own


def _key_name(key: ImageKey) -> str:
    return f"s{key.site}_c{key.channel}_z{key.z}_t{key.timepoint}"


def materialize(plan: WellPlan, step_label: str, images: dict[ImageKey, Any]) -> None:
    """Write a step's images to OUT/intermediate.zarr/<NN_step>/<well>/<key> (atomically)."""
    from ..vfs import FileManager

    files = FileManager(plan.output_dir)
    folder = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', step_label)}/{plan.well}"
    AllowedRoots(plan.roots).check_tree(Path(files.backend("zarr").root) / folder)
    files.delete(folder, "zarr")
    for key, plane in images.items():
        files.save(f"{folder}/{_key_name(key)}", to_numpy(plane), "zarr")


def assemble_fields(
    plan: WellPlan, images: dict[ImageKey, Any]
) -> tuple[list[int], list[str], list[np.ndarray], list[tuple[int, int]]]:
    """Group final images by site into fields: (sites, channel ids, [(C,[Z],Y,X) arrays],
    the (Y, X) each field's images had), in the dtype plate.zarr stores them, already padded
    to the plate's field shape where they fit (`fitting.stored_field`)."""
    if len({k.timepoint for k in images}) > 1:
        raise WellFailure("the final images have several timepoints; add a step that reduces "
                          "them (variable_components=('timepoint',)) before writing")
    order = {c: i for i, c in enumerate(dict.fromkeys(k.channel for k in plan.keys))}
    channels = sorted({k.channel for k in images}, key=lambda c: (order.get(c, len(order)), c))
    sites = sorted({k.site for k in images})
    zs = sorted({k.z for k in images})
    by_key = {(k.site, k.channel, k.z): v for k, v in images.items()}
    fields, field_yx = [], []
    for site in sites:
        missing = [(c, z) for c in channels for z in zs if (site, c, z) not in by_key]
        if missing:
            raise WellFailure(f"site {site} has no output for (channel, z) {missing}")
        planes = [[np.asarray(to_numpy(by_key[(site, c, z)])) for z in zs] for c in channels]
        shapes = {p.shape for row in planes for p in row}
        if len(shapes) > 1:
            raise WellFailure(f"site {site}: output images differ in shape {sorted(shapes)}")
        channel_arrays = [row[0] if len(zs) == 1 else np.stack(row) for row in planes]
        field_yx.append(tuple(channel_arrays[0].shape[-2:]))
        output = plan.output
        fields.append(stored_field(channel_arrays, output.dtype if output else None,
                                   tuple(output.field_shape) if output and output.field_shape
                                   else None))
    return sites, channels, fields, field_yx


def finish(plan: WellPlan, images: dict[ImageKey, Any], specials: SpecialValues,
           options: WellOptions, result: WellResult) -> None:
    """Assemble fields, fit them to the plate's output plan, write plate.zarr fields and
    per-well tables (physical units, keys), fill `result`. Consumes `images`: emptied once
    the fields hold their pixels."""
    sites, channels, fields, shapes = assemble_fields(plan, images)
    images.clear()  # the final images (float mosaics) are freed before writing: the well's peak
    names = [options.channel_names.get(c, c) for c in channels]
    labels = label_planes(specials.of_kind("labels"))
    field_labels = [_labels_for(site, labels, shapes[i]) for i, site in enumerate(sites)]
    for i in range(len(fields)):
        fields[i], field_labels[i], warnings = fit_field(plan.well, i, fields[i],
                                                         field_labels[i], plan.output)
        result.warnings.extend(warnings)
    pixel_size = options.pixel_size_um
    if pixel_size is None and plan.output is not None:
        pixel_size = plan.output.pixel_size_um
    context = TableContext(
        plate=plan.output.plate_name if plan.output else (Path(plan.plate_root).name or "plate"),
        sites=tuple(sites), label_names=frozenset(labels), pixel_size_um=pixel_size)
    tables = table_frames(plan.well, specials.of_kind("table"), context)
    positions = positions_frame(plan.well, specials.of_kind("positions"), context)
    tables = cellprofiler_tables(tables, plate=context.plate, well=plan.well, sites=sites,
                                 positions=positions, tile_shape=plan.image_shape)
    if plan.output_dir:
        from .outputs import write_well_outputs

        write_well_outputs(plan, fields, names, field_labels, tables, positions,
                           pixel_size, dict(plan.config))
    result.fields = len(fields)
    result.channel_names = names
    result.pixel_size_um = pixel_size
    result.tables = tables
    result.positions = positions
    if options.ship_images:  # only sinks read them (tracing outlines can be costly)
        result.rois = first_field_rois(specials.of_kind("rois"), sites[0] if sites else None)
    if options.ship_images and fields:
        first = fields[0]
        result.image = first if first.ndim == 3 else first.max(axis=1)
        result.labels = {n: (a if a.ndim == 2 else a.max(axis=0))
                         for n, a in field_labels[0].items()}


def first_field_rois(produced: list[Produced], site: int | None) -> dict[str, Outlines]:
    """Each `rois` output's outlines on the well's first field (the image `WellResult` ships),
    labels kept; a polygon's site is that of the image its plane was stacked from."""
    rois: dict[str, Outlines] = {}
    for p in produced:
        found = as_outlines(p.value)
        sites = [p.keys[i].site if i < len(p.keys) else None for i in found.planes]
        mine = found.select(s == site for s in sites)
        merged = rois.setdefault(p.name, Outlines())
        merged.extend(mine)
        merged.labels.extend(mine.labels)
        merged.planes.extend(mine.planes)
    return rois


def _labels_for(site: int, labels: dict[str, dict[tuple[int, int], np.ndarray]],
                image_yx: tuple[int, int]) -> dict[str, np.ndarray]:
    out = {}
    for name, planes in labels.items():
        mine = [planes[k] for k in sorted(planes) if k[0] == site]
        if not mine:
            continue
        arr = mine[0] if len(mine) == 1 else np.stack(mine)
        if tuple(arr.shape[-2:]) != tuple(image_yx):
            raise WellFailure(f"labels {name!r} have shape {arr.shape[-2:]} but the final image "
                              f"of site {site} is {tuple(image_yx)}; a later step changed the "
                              "geometry (e.g. stitching) after the labels were made")
        out[name] = arr
    return out
