"""Where a well's time goes: ours vs the scikit-image script, stage by stage, in-process.

One well of a benchmark plate, processed in this process (no pool, no start-up), each stage
timed with wall clock and CPU time (`time.process_time`, all threads of this process):

- read: ours `executor.reading.read_inputs`; the script's `read_well` (tifffile);
- illumination, positions, assembly, nuclei, measurements: the shipped `stitch_segment` steps
  through `executor.well.run_step`; the script's `flatfield_correct`, `pair_offsets` +
  `global_positions`, `assemble`, `segment_nuclei`, `measure`;
- writing: ours `executor.well.finish` (OME-Zarr field and labels, table parts); the script's
  `write_well` (zarr v3 arrays).

Repetitions alternate ours and the script; the median per stage is reported.

    python -m bench stages [--tile 1024] [--density sparse|dense] [--grid 3] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.harness import format_table, machine_info
from bench.synthetic_plate import DENSITIES, BenchPlateSpec

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("read", "illumination", "positions", "assembly", "nuclei", "measurements", "writing")


class StageClock:
    """Wall and CPU seconds per named stage."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        w, c = time.perf_counter(), time.process_time()
        yield
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - w
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c


def ours_well(plate: Path, well: str, out: Path, pipeline: str = "stitch_segment",
              device: str = "cpu") -> StageClock:
    """Our pipeline on one well, stage by stage, through the executor's own functions."""
    from napari_hcs.engine.codegen import load_pipeline
    from napari_hcs.engine.compiler import compile_pipeline
    from napari_hcs.engine.executor.events import WellResult
    from napari_hcs.engine.executor.output_folder import prepare_output
    from napari_hcs.engine.executor.reading import read_inputs
    from napari_hcs.engine.executor.specials import SpecialValues
    from napari_hcs.engine.executor.well import WellOptions, finish, run_step
    from napari_hcs.engine.pipeline import GlobalConfig
    from napari_hcs.engine.plate import open_plate
    from napari_hcs.pipelines import path_of

    reader = open_plate(plate)
    compiled = compile_pipeline(load_pipeline(path_of(pipeline)), reader, wells=[well],
                                config=GlobalConfig(device=device), output_dir=out)
    plan = next(iter(compiled.plans.values()))
    out.mkdir(parents=True, exist_ok=True)
    output = plan.output
    prepare_output(out, [well], resume=False, name="bench",
                   grid=output.plate_grid if output else None)
    clock = StageClock()
    with clock.stage("read"):
        images = read_inputs(plan)
    specials = SpecialValues(plan.keys, dict(plan.plate_provided))
    for step in plan.steps:
        with clock.stage(step.name):
            images = run_step(step, images, specials, device)
            _synchronize(device)
    options = WellOptions(channel_names=dict(reader.layout.channel_names),
                          pixel_size_um=reader.layout.pixel_size_um)
    with clock.stage("writing"):
        finish(plan, images, specials, options, WellResult(well, "failed"))
    return clock


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def script_well(plate: Path, well: str, out: Path, overlap: float) -> StageClock:
    """The scikit-image script's `process_well`, stage by stage (the same functions)."""
    import numpy as np

    from bench import skimage_script as s
    from bench.imagexpress_files import grid, scan

    files = scan(plate)[well]
    rows, cols = grid(plate)
    channels = sorted(files)
    sites = sorted(files[channels[0]])
    nuc = channels.index(s.NUCLEI) if s.NUCLEI in channels else 0
    import zarr

    zarr_path = str(out / "plate.zarr")
    zarr.open_group(zarr_path, mode="w")
    clock = StageClock()
    with clock.stage("read"):
        raw = s.read_well(files, channels, sites)
    with clock.stage("illumination"):
        stacks = np.stack([s.flatfield_correct(c) for c in raw])
    with clock.stage("positions"):
        positions = s.global_positions(len(sites), s.pair_offsets(stacks[nuc], rows, cols,
                                                                   overlap))
    with clock.stage("assembly"):
        mosaic = s.assemble(stacks, positions)
    with clock.stage("nuclei"):
        labels = s.segment_nuclei(mosaic[nuc])
    with clock.stage("measurements"):
        s.measure(labels, mosaic, channels)
    with clock.stage("writing"):
        s.write_well(zarr_path, well, mosaic, labels)
    return clock


def measure_stages(plate: Path, spec: BenchPlateSpec, reps: int, device: str = "cpu",
                   pipeline: str = "stitch_segment") -> dict[str, Any]:
    """Alternate ours and the script on the plate's first well; medians per stage."""
    well = spec.well_names()[0]
    runs: dict[str, list[StageClock]] = {"ours": [], "script": []}
    contenders: dict[str, Callable[[Path], StageClock]] = {
        "ours": lambda out: ours_well(plate, well, out, pipeline, device),
        "script": lambda out: script_well(plate, well, out, spec.overlap),
    }
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        for rep in range(reps):
            for name, run in contenders.items():
                out = Path(tmp) / f"{name}-{rep}"
                runs[name].append(run(out))
                shutil.rmtree(out, ignore_errors=True)
    result: dict[str, Any] = {"well": well, "reps": reps, "device": device, "stages": {}}
    for stage in STAGES:
        row = {}
        for name, clocks in runs.items():
            row[f"{name}_wall_s"] = statistics.median(c.wall.get(stage, 0.0) for c in clocks)
            row[f"{name}_cpu_s"] = statistics.median(c.cpu.get(stage, 0.0) for c in clocks)
        result["stages"][stage] = row
    for name, clocks in runs.items():
        result[f"{name}_total_wall_s"] = statistics.median(sum(c.wall.values()) for c in clocks)
        result[f"{name}_total_cpu_s"] = statistics.median(sum(c.cpu.values()) for c in clocks)
    return result


def stage_table(result: dict[str, Any]) -> str:
    rows = []
    for stage, r in result["stages"].items():
        ratio = r["ours_wall_s"] / r["script_wall_s"] if r["script_wall_s"] else float("nan")
        rows.append([stage, f"{r['ours_wall_s']:.2f}", f"{r['script_wall_s']:.2f}",
                     f"{r['ours_cpu_s']:.2f}", f"{r['script_cpu_s']:.2f}", f"{ratio:.2f}"])
    rows.append(["total", f"{result['ours_total_wall_s']:.2f}",
                 f"{result['script_total_wall_s']:.2f}", f"{result['ours_total_cpu_s']:.2f}",
                 f"{result['script_total_cpu_s']:.2f}",
                 f"{result['ours_total_wall_s'] / result['script_total_wall_s']:.2f}"])
    return format_table(["stage", "ours s", "script s", "ours CPU s", "script CPU s",
                         "ours/script"], rows)


def main(argv: list[str] | None = None) -> int:
    from bench.bench_plate import plate_for

    ap = argparse.ArgumentParser(prog="python -m bench stages",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--density", choices=sorted(DENSITIES), default="sparse")
    ap.add_argument("--grid", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "stages.json"))
    args = ap.parse_args(argv)
    spec = BenchPlateSpec(wells=1, grid=args.grid, tile=args.tile, density=args.density)
    plate, _ = plate_for(spec)
    pipeline = "stitch_segment_torch" if args.device == "cuda" else "stitch_segment"
    result = measure_stages(plate, spec, args.reps, args.device, pipeline)
    table = stage_table(result)
    print(table)
    payload = {"benchmark": "stages", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
               "machine": machine_info(), "plate": {**spec.__dict__}, **result, "table": table}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2))
    print(f"[bench] wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
