"""What a run's results depend on, recorded in run.json so that `--resume` never mixes runs.

A fingerprint has three parts, each compared on resume:

- `pipeline`: the steps as compiled (function, parameters, grouping, variable components,
  materialize, the device kind each step runs on). The pipeline file's comments, formatting and
  name do not count: they change no result.
- `plate`: the plate's resolved root and format, and its layout as the plans see it (sites,
  channels, z, timepoints, image size, pixel type, pixel size, channel names).
- `options`: the run options that change what a well writes: the device kind (`cpu`/`cuda`:
  GPU functions round differently from their CPU twins) and the storage settings of
  plate.zarr (compression, levels, chunk size) and whether intermediates are written.
  `workers`, the backend (local or Dask run the same well code, byte for byte) and the GPU index
  change no result, and may differ between a run and its resumption; so may the wells.
- `inputs`: per well, a digest of its input files' sizes and modification times, compared for
  the wells both runs have: pixels rewritten at the same paths are not the plate that was run.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler.plan import StepPlan, WellPlan

#: Config keys that change no result (see the module doc); every other key is compared.
NEUTRAL_OPTIONS = ("workers", "device")


class ResumeRefused(ValueError):
    """`--resume` into a folder written by another pipeline, plate or options."""


def device_kind(device: str | None) -> str:
    return str(device or "cpu").split(":", 1)[0]


def recorded_root(root: str) -> str:
    """A plate root as run.json records it: a folder resolved to an absolute path (the same
    plate whatever folder the run started in), a URL (omero://) as it is."""
    return root if "://" in root else str(Path(root).resolve())


def run_fingerprint(plans: Sequence[WellPlan], *, device: str,
                    channel_names: Mapping[str, str] | None,
                    pixel_size_um: float | None) -> dict[str, Any]:
    first = plans[0]
    steps = [_step(step) for step in first.steps]
    keys = [key for plan in plans for key in plan.keys]
    plate = {
        "root": recorded_root(first.plate_root),
        "format": first.plate_format,
        "sites": sorted({k.site for k in keys}),
        "channels": sorted({k.channel for k in keys}, key=_channel_order),
        "z": sorted({k.z for k in keys}),
        "timepoints": sorted({k.timepoint for k in keys}),
        "image_shape": list(first.image_shape) if first.image_shape else None,
        "image_dtype": first.image_dtype,
        "pixel_size_um": pixel_size_um,
        "channel_names": dict(sorted((channel_names or {}).items())),
    }
    options = {k: _plain(v) for k, v in sorted(first.config) if k not in NEUTRAL_OPTIONS}
    options["device"] = device_kind(device)
    return {
        "pipeline": {"digest": _digest(steps), "steps": steps},
        "plate": {"digest": _digest(plate), **plate},
        "options": options,
        "inputs": {plan.well: input_digest(plan) for plan in plans},
    }


def input_digest(plan: WellPlan) -> str:
    """A digest of the well's input files as they are now: each file's size and modification
    time (for a zarr field, of every file of its array folder). Pixels rewritten at the same
    paths change it; reading no pixel, it costs one `stat` per file."""
    found = []
    for key, path in sorted(plan.inputs):
        if "://" in path:  # a URL plate (omero://): its server's business
            continue
        found.append([key.well, key.site, key.channel, key.z, key.timepoint, _stat_of(path)])
    return _digest(found)


def _stat_of(path: str) -> Any:
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    if not stat.S_ISDIR(st.st_mode):
        return [st.st_size, st.st_mtime_ns]
    files = []
    for base, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            try:
                item = os.lstat(os.path.join(base, name))
            except OSError:
                continue
            files.append([os.path.relpath(os.path.join(base, name), path), item.st_size,
                          item.st_mtime_ns])
    return files


def check_resume(previous: Mapping[str, Any], current: Mapping[str, Any], out: Path) -> None:
    """Raise ResumeRefused naming what differs between `previous` (run.json) and `current`."""
    if not previous:
        return  # nothing to continue: the run starts afresh
    before = previous.get("fingerprint")
    if not isinstance(before, Mapping):
        raise ResumeRefused(
            f"cannot resume in {out}: its run.json records no fingerprint (an older napari-hcs "
            "wrote it), so the pipeline, plate and options cannot be compared; run without "
            "--resume (this replaces its outputs), or into another folder")
    difference = (_pipeline_difference(before.get("pipeline"), current["pipeline"])
                  or _mapping_difference("the plate", before.get("plate"), current["plate"])
                  or _mapping_difference("option", before.get("options"), current["options"])
                  or _inputs_difference(before.get("inputs"), current.get("inputs"),
                                        _ok_wells(previous)))
    if difference:
        raise ResumeRefused(
            f"cannot resume in {out}: {difference}; --resume only continues the same pipeline "
            "on the same plate with the same options (workers, backend and wells may change): "
            "run without --resume to start over, or choose another output folder")


def _pipeline_difference(before: Any, now: Mapping[str, Any]) -> str | None:
    if not isinstance(before, Mapping):
        return "the pipeline is not recorded"
    if before.get("digest") == now["digest"]:
        return None
    old, new = before.get("steps") or [], now["steps"]
    if len(old) != len(new):
        return f"the pipeline has {len(new)} steps, the run there had {len(old)}"
    for number, (a, b) in enumerate(zip(old, new, strict=True), 1):
        if a == b:
            continue
        where = f"the pipeline differs at step {number} {b.get('name')!r}"
        for field in ("name", "function", "device", "group_by", "variable_components",
                      "materialize"):
            if field == "function":
                fa, fb = _functions(a), _functions(b)
                if fa != fb:
                    return f"{where}: function {' '.join(fa)} there, {' '.join(fb)} now"
                continue
            if a.get(field) != b.get(field):
                return f"{where}: {field} was {a.get(field)!r}, now {b.get(field)!r}"
        for name in sorted(set(_parameters(a)) | set(_parameters(b))):
            va, vb = _parameters(a).get(name, "(unset)"), _parameters(b).get(name, "(unset)")
            if va != vb:
                return f"{where}: parameter {name} was {va!r}, now {vb!r}"
        return where
    return "the pipeline differs"


def _ok_wells(previous: Mapping[str, Any]) -> set[str]:
    wells = previous.get("wells")
    return {w for w, e in wells.items() if isinstance(e, Mapping) and e.get("status") == "ok"
            } if isinstance(wells, Mapping) else set()


def _inputs_difference(before: Any, now: Any, kept: set[str]) -> str | None:
    """The first well kept from the earlier run (ok there, in this run too) whose input files
    changed; wells that failed may be fixed and rerun. None for a run.json of an older
    napari-hcs that recorded none."""
    if not isinstance(before, Mapping) or not isinstance(now, Mapping):
        return None
    for well in sorted(set(before) & set(now) & kept):
        if before[well] != now[well]:
            return (f"the input images of well {well} changed since the run there (a file's "
                    "size or modification time differs: its results would not match them)")
    return None


def _functions(step: Mapping[str, Any]) -> list[str]:
    return [call[0] for _, chain in step.get("calls", []) for call in chain]


def _parameters(step: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for group, chain in step.get("calls", []):
        for function, kwargs in chain:
            prefix = f"{function.rsplit(':', 1)[-1]}" + (f"[{group}]" if group else "")
            found.update({f"{prefix}.{k}": v for k, v in kwargs.items()})
    return found


def _mapping_difference(what: str, before: Any, now: Mapping[str, Any]) -> str | None:
    if not isinstance(before, Mapping):
        return f"{what} is not recorded"
    for key in sorted(set(before) | set(now)):
        if key != "digest" and before.get(key) != now.get(key):
            label = f"{what} {key}" if what == "option" else f"{what}'s {key}"
            return f"{label} was {_short(before.get(key))}, now {_short(now.get(key))}"
    return None


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _step(step: StepPlan) -> dict[str, Any]:
    return {
        "name": step.name,
        "device": device_kind(step.device),
        "group_by": step.group_by,
        "variable_components": list(step.variable_components),
        "materialize": step.materialize,
        "calls": [[None if group is None else str(group),
                   [[call.function, {k: _plain(v) for k, v in call.kwargs}] for call in chain]]
                  for group, chain in step.calls],
    }


def _plain(value: Any) -> Any:
    """`value` as JSON (what run.json can hold and compare); arrays by content digest."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"array": list(value.shape), "dtype": value.dtype.name,
                "sha256": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_plain(v) for v in items]
    return repr(value)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _channel_order(channel: str) -> tuple[int, str]:
    return (int(channel), "") if channel.isdigit() else (1 << 30, channel)
