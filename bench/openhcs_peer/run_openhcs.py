"""Run the stitch-and-segment work with OpenHCS 0.8.6, headless, on a prepared plate.

Runs inside `bench/.openhcs-venv` (OpenHCS is never imported by napari_hcs):

    bench/.openhcs-venv/bin/python bench/openhcs_peer/run_openhcs.py PREPARED_PLATE \
        --out OUT --workers 2 [--record record.json] [--materialize zarr|disk]

The pipeline uses OpenHCS's own CPU functions, the closest equivalents of ours:

1. illumination: `basic_flatfield_correction_numpy` (BaSiC-style low-rank + sparse), one call
   per well and channel on the stack of sites;
2. positions: `ashlar_compute_tile_positions_cpu` (Ashlar edge alignment); OpenHCS scopes the
   `positions` artifact per channel, so it runs once per channel of each well;
3. assembly: `assemble_stack_cpu` (fixed-margin blending), every channel; this step's result is
   materialized (the stitched mosaics) like our `plate.zarr`;
4. nuclei + measurements: `count_cells_single_channel` with `DetectionMethod.WATERSHED` on
   channel "1" (threshold, distance-transform watershed, area / centroid / intensity per cell),
   which also writes the label ROIs and a CSV per well.

`--record` writes JSON: the functions and parameters each step ran, phase timings (import,
function-registry start-up, plate init, compile, execute), per-well status and nuclei counts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# No GPU libraries, no viewers: OpenHCS reads these before importing its backends.
os.environ.setdefault("OPENHCS_CPU_ONLY", "true")
os.environ.setdefault("OPENHCS_HEADLESS", "true")
os.environ.setdefault("OPENHCS_DISABLE_NAPARI", "true")
os.environ.setdefault("OPENHCS_DISABLE_FIJI", "true")

NUCLEI_CHANNEL = "1"


def build_steps():
    """The pipeline, and a description of exactly what each step runs."""
    from openhcs.constants.constants import GroupBy
    from openhcs.core.config import LazyProcessingConfig, LazyStepMaterializationConfig
    from openhcs.core.steps.function_step import FunctionStep
    from openhcs.processing.backends.analysis.cell_counting_cpu import (
        DetectionMethod,
        count_cells_single_channel,
    )
    from openhcs.processing.backends.assemblers.assemble_stack_cpu import assemble_stack_cpu
    from openhcs.processing.backends.enhance.basic_processor_numpy import (
        basic_flatfield_correction_numpy,
    )
    from openhcs.processing.backends.pos_gen.ashlar_main_cpu import (
        ashlar_compute_tile_positions_cpu,
    )

    nuclei_kw = {"detection_method": DetectionMethod.WATERSHED, "min_cell_area": 10}
    steps = [
        FunctionStep(func=basic_flatfield_correction_numpy, name="illumination"),
        FunctionStep(func=ashlar_compute_tile_positions_cpu, name="positions"),
        FunctionStep(
            func=assemble_stack_cpu,
            name="assembly",
            step_materialization_config=LazyStepMaterializationConfig(enabled=True),
        ),
        FunctionStep(
            func={NUCLEI_CHANNEL: (count_cells_single_channel, nuclei_kw)},
            name="nuclei",
            processing_config=LazyProcessingConfig(group_by=GroupBy.CHANNEL),
        ),
    ]
    described = [
        {"step": "illumination", "function": _qualname(basic_flatfield_correction_numpy),
         "per": "well x channel, stack of sites", "params": {}},
        {"step": "positions", "function": _qualname(ashlar_compute_tile_positions_cpu),
         "per": "well x channel, stack of sites", "params": {}},
        {"step": "assembly", "function": _qualname(assemble_stack_cpu),
         "per": "well x channel", "params": {}, "materialized": True},
        {"step": "nuclei", "function": _qualname(count_cells_single_channel),
         "per": f"well, channel {NUCLEI_CHANNEL}",
         "params": {k: getattr(v, "name", v) for k, v in nuclei_kw.items()}},
    ]
    return steps, described


def _qualname(func) -> str:
    func = getattr(func, "__wrapped__", func)
    return f"{func.__module__}.{func.__qualname__}"


def _start_progress_sink():
    """OpenHCS refuses to emit progress without a queue; drain one in a thread."""
    import queue
    import threading

    from openhcs.core.progress import set_progress_queue

    q: queue.Queue = queue.Queue()
    set_progress_queue(q)

    def drain() -> None:
        while q.get() is not None:
            pass

    threading.Thread(target=drain, daemon=True).start()
    return q


def _drained_worker_queue():
    """A queue for the workers' progress events, read continuously.

    An undrained multiprocessing queue makes a worker hang at exit once the pipe is full
    (it waits to flush its buffer), which is what OpenHCS's own server avoids with a forwarder.
    """
    import multiprocessing
    import threading

    q = multiprocessing.get_context("spawn").Queue()

    def drain() -> None:
        while q.get() is not None:
            pass

    threading.Thread(target=drain, daemon=True).start()
    return q


def _nuclei_counts(out_root: Path) -> dict[str, int]:
    import csv

    counts: dict[str, int] = {}
    csv.field_size_limit(1 << 30)
    for path in sorted(out_root.rglob("*cell_counts*_details.csv")):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                counts[row["well"]] = counts.get(row["well"], 0) + int(row["cell_count"])
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plate", help="a plate prepared by bench/openhcs_peer/prepare.py")
    ap.add_argument("--out", required=True, help="folder for OpenHCS's output plate")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--materialize", choices=["disk", "zarr"], default="disk")
    ap.add_argument("--record", help="write the run record (JSON) here")
    args = ap.parse_args(argv)
    phases: dict[str, float] = {}
    t0 = time.perf_counter()

    from objectstate.lazy_factory import ensure_global_config_context
    from openhcs.core.config import (
        GlobalPipelineConfig,
        MaterializationBackend,
        PathPlanningConfig,
        PipelineConfig,
        VFSConfig,
    )
    from openhcs.core.orchestrator.orchestrator import PipelineOrchestrator

    phases["import_s"] = time.perf_counter() - t0
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    global_config = GlobalPipelineConfig(
        num_workers=args.workers,
        use_threading=False,
        path_planning_config=PathPlanningConfig(global_output_folder=out),
        vfs_config=VFSConfig(materialization_backend=MaterializationBackend(args.materialize)),
    )
    ensure_global_config_context(GlobalPipelineConfig, global_config)
    t = time.perf_counter()
    import openhcs.processing.func_registry as func_registry

    with func_registry._registry_lock:  # what OpenHCS's own compile service does first
        if not func_registry._registry_initialized:
            func_registry._auto_initialize_registry()
    phases["function_registry_s"] = time.perf_counter() - t

    _start_progress_sink()
    steps, described = build_steps()
    t = time.perf_counter()
    orchestrator = PipelineOrchestrator(
        plate_path=Path(args.plate).resolve(), pipeline_config=PipelineConfig(),
        progress_callback=None,
    )
    orchestrator.initialize()
    phases["plate_init_s"] = time.perf_counter() - t
    t = time.perf_counter()
    bundle = orchestrator.compile_pipelines(pipeline_definition=steps)
    phases["compile_s"] = time.perf_counter() - t
    t = time.perf_counter()
    worker_progress = _drained_worker_queue()
    try:
        results = orchestrator.execute_compiled_plate(
            bundle,
            max_workers=args.workers,
            progress_queue=worker_progress,
            progress_context={"execution_id": "napari-hcs-bench", "plate_id": str(args.plate)},
        )
    finally:
        worker_progress.put(None)
    phases["execute_s"] = time.perf_counter() - t
    phases["total_s"] = time.perf_counter() - t0
    status = {w: (r.status.value, r.error_message) for w, r in sorted(results.items())}
    record = {
        "openhcs_version": _version(),
        "workers": args.workers,
        "materialization_backend": args.materialize,
        "steps": described,
        "phases": phases,
        "wells": status,
        "nuclei": _nuclei_counts(out),
    }
    if args.record:
        Path(args.record).write_text(json.dumps(record, indent=2))
    failed = [w for w, (s, _) in status.items() if s != "success"]
    print(f"openhcs: {len(status)} wells, {sum(record['nuclei'].values())} nuclei, "
          f"{phases['total_s']:.1f} s ({', '.join(f'{k} {v:.1f}' for k, v in phases.items())})")
    if failed:
        print(f"openhcs: failed wells {failed}: {[status[w][1] for w in failed]}", file=sys.stderr)
        return 1
    return 0


def _version() -> str:
    from importlib.metadata import version

    return version("openhcs")


if __name__ == "__main__":  # OpenHCS spawns workers, which re-import this module
    sys.exit(main())
