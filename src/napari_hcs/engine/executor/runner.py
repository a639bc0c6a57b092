"""`run_plans`: run compiled well plans and write the run's outputs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..compiler.plan import WellPlan
from ..roots import AllowedRoots
from ..vfs import omezarr
from ..vfs.location import is_remote, local_path
from .backend import Backend, get_backend
from .events import ProgressEvent, RunReport, WellResult
from .fingerprint import check_resume, recorded_root, run_fingerprint
from .output_folder import OWNED, check_not_input, check_owned, prepare_output
from .output_lock import OutputLock
from .outputs import PARTS, PLATE, TABLES, merge_tables, ngff_version, plate_target
from .remote_output import RemoteOutput
from .run_record import RunRecord, load_previous
from .well import WellOptions

log = logging.getLogger(__name__)


def run_plans(
    plans: Mapping[str, WellPlan] | Sequence[WellPlan],
    output_dir: str | Path | None,
    *,
    workers: int = 1,
    device: str = "cpu",
    on_event: Callable[[ProgressEvent], None] | None = None,
    on_result: Callable[[WellResult], None] | None = None,
    cancel: threading.Event | None = None,
    resume: bool = False,
    backend: Backend | type | str | None = None,
    run_info: Mapping[str, Any] | None = None,
    channel_names: Mapping[str, str] | None = None,
    pixel_size_um: float | None = None,
    ship_images: bool | None = None,
) -> RunReport:
    """Run every plan (one well each) and write `output_dir` (DESIGN.md "Outputs").

    `on_event` and `on_result` are called in this thread. `cancel` stops the run: wells not yet
    started are not run (`RunReport.not_run`), running ones stop between steps. With `resume`,
    wells already `ok` in `output_dir/run.json` are skipped. With `output_dir=None` nothing is
    written (results only reach `on_result`). Images travel back to this process only when
    `ship_images` (default: when there is an `on_result`); peak memory is then workers x one
    well plus one well's result at a time. `pixel_size_um` overrides the plans' pixel size
    (`OutputPlan`, from the plate), which reaches plate.zarr, the tables and every result.


    Refused before anything runs (docs/outputs.md): an `output_dir` that is, lies inside or
    contains the input (`OutputRefused`), one another run holds (`OutputBusy`), one with
    entries napari-hcs did not write, and a `resume` of another pipeline, plate or options
    (`ResumeRefused`).
    """
    plan_list = list(plans.values()) if isinstance(plans, Mapping) else list(plans)
    remote: RemoteOutput | None = None
    if output_dir is not None and not is_remote(output_dir):
        output_dir = local_path(output_dir)  # `file:///data/out` is the folder /data/out
    elif output_dir is not None and plan_list:
        # Object storage (`s3://`): plate.zarr there, the bookkeeping in a local staging folder.
        remote = RemoteOutput(str(output_dir), resume=resume,
                              confined=AllowedRoots(plan_list[0].roots).confined)
    try:
        if remote is not None:  # inside: a refusal here still releases the store's lock
            output_dir, plan_list = remote.stage, remote.bind(plan_list)
        report = _run_plans(plan_list, output_dir, workers=workers, device=device,
                            on_event=on_event, on_result=on_result, cancel=cancel,
                            resume=resume, backend=backend, run_info=run_info,
                            channel_names=channel_names, pixel_size_um=pixel_size_um,
                            ship_images=ship_images)
    finally:
        if remote is not None:
            remote.finish()
    if remote is not None:
        report.output_dir = None  # the staging folder is gone; the outputs are at the URL
    return report


def _run_plans(
    plan_list: list[WellPlan], output_dir: str | Path | None, *, workers: int, device: str,
    on_event: Callable[[ProgressEvent], None] | None,
    on_result: Callable[[WellResult], None] | None, cancel: threading.Event | None,
    resume: bool, backend: Backend | type | str | None, run_info: Mapping[str, Any] | None,
    channel_names: Mapping[str, str] | None, pixel_size_um: float | None,
    ship_images: bool | None,
) -> RunReport:
    start = time.perf_counter()
    out = Path(output_dir).resolve() if output_dir is not None else None
    plan_list = [replace(p, output_dir=str(out) if out else None) for p in plan_list]
    cancel = cancel or threading.Event()
    engine = _backend(backend)
    report = RunReport(out)
    record: RunRecord | None = None
    lock: OutputLock | None = None
    roots = AllowedRoots(plan_list[0].roots if plan_list else ())
    if out is not None and plan_list:
        _confine_output(out, roots, OWNED)  # first: even the lock is written under a root
        check_not_input(out, plan_list)  # before anything is written
        lock = OutputLock(out)  # one run per folder: a second one is refused here
        try:
            record = _open_record(out, plan_list, resume=resume, info=_info(
                plan_list, workers, device, engine, run_info), fingerprint=run_fingerprint(
                plan_list, device=device, channel_names=channel_names,
                pixel_size_um=_pixel_size(plan_list, pixel_size_um)))
        except BaseException:
            lock.release()
            raise
    todo = plan_list
    if record is not None and resume:
        done_before = record.ok_wells()
        report.skipped = [p.well for p in plan_list if p.well in done_before]
        todo = [p for p in plan_list if p.well not in done_before]

    finished: set[str] = set()

    def done(result: WellResult) -> None:
        finished.add(result.well)
        for warning in result.warnings:  # also in run.json's entry of the well
            log.warning("%s", warning)
        if result.ok:
            report.ok.append(result.well)
        else:
            report.failed[result.well] = result.error or "failed"
        if record is not None:
            record.record(result.well, result.summary())
        if on_result is not None:
            on_result(result)

    options = WellOptions(
        channel_names=dict(channel_names or {}),
        pixel_size_um=pixel_size_um,
        ship_images=on_result is not None if ship_images is None else ship_images,
    )
    try:
        engine.run(todo, workers=workers, device=device, options=options,
                   on_event=on_event or (lambda event: None), on_done=done, cancel=cancel)
    finally:
        report.not_run = [p.well for p in todo if p.well not in finished]
        report.cancelled = cancel.is_set()
        try:
            if out is not None and record is not None:
                _confine_output(out, roots, (PLATE, TABLES, PARTS))
                _finish_outputs(out, record, report, plan_list[0])
        finally:
            if lock is not None:
                lock.release()
        report.seconds = time.perf_counter() - start
    return report


def _confine_output(out: Path, roots: AllowedRoots, entries: Sequence[str]) -> None:
    """What the run is about to create, read, replace or remove in `out` resolves under the
    roots, links planted in a resumed folder included (`engine.roots`; no-op unconfined)."""
    for entry in entries:
        roots.check_tree(out / entry)


def _pixel_size(plans: list[WellPlan], override: float | None) -> float | None:
    """The pixel size the run writes: the caller's override, else the plate's (OutputPlan)."""
    if override is not None:
        return override
    return plans[0].output.pixel_size_um if plans[0].output else None


def _open_record(out: Path, plans: list[WellPlan], *, resume: bool, info: dict[str, Any],
                 fingerprint: dict[str, Any]) -> RunRecord:
    """Check the folder holds only our outputs and (resuming) the same run's; then prepare it."""
    check_owned(out)
    previous = load_previous(out) if resume else {}
    check_resume(previous, fingerprint, out)
    output = plans[0].output
    prepare_output(out, [p.well for p in plans], resume=resume,
                   name=output.plate_name if output else Path(plans[0].plate_root).name or "plate",
                   grid=output.plate_grid if output else None,
                   version=ngff_version(plans[0].config), plate=plate_target(plans[0]))
    return RunRecord(out, previous=previous, info=info, fingerprint=fingerprint)


def _finish_outputs(out: Path, record: RunRecord, report: RunReport,
                    record_plan: WellPlan) -> None:
    try:
        report.tables = merge_tables(out, record.ok_wells())
        omezarr.sync_plate(plate_target(record_plan), only=sorted(record.ok_wells()))
    except OSError as exc:  # e.g. a full disk: the wells' own outputs are complete already
        report.warnings.append(f"could not finish the tables/plate metadata: {exc}; "
                               "run again with --resume once fixed")
    status = "ok" if report.all_ok else ("cancelled" if report.cancelled else "failed")
    record.finish(status, report.tables, report.not_run)
    if record.unsaved:
        report.warnings.append(f"could not update run.json ({record.unsaved}); it lists the "
                               "wells finished before that")


def _backend(backend: Backend | type | str | None) -> Backend:
    if backend is None:
        return get_backend("local")
    if isinstance(backend, str):
        return get_backend(backend)
    if isinstance(backend, type):
        return backend()
    return backend


def _info(plans: list[WellPlan], workers: int, device: str, engine: Backend,
          run_info: Mapping[str, Any] | None) -> dict[str, Any]:
    first = plans[0]
    info: dict[str, Any] = {
        "pipeline": {"name": None, "file": None, "source": None},
        "plate": {"root": recorded_root(first.plate_root), "format": first.plate_format},
        "config": dict(first.config),
        "options": {"workers": workers, "device": device, "backend": engine.name,
                    "wells": [p.well for p in plans]},
        "steps": [{"index": s.index, "name": s.name, "device": s.device,
                   "variable_components": list(s.variable_components), "group_by": s.group_by}
                  for s in first.steps],
    }
    for key, value in (run_info or {}).items():
        if isinstance(value, Mapping) and isinstance(info.get(key), dict):
            info[key] = {**info[key], **value}
        else:
            info[key] = value
    return info
