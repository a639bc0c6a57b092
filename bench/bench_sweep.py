"""The tile-size sweep: ours vs the scikit-image script vs the floor at 512, 1024 and 2048 px.

For every tile size and nuclei density (`bench.synthetic_plate.DENSITIES`, per area, so a
2048 px tile is as crowded as a 512 px one), the same plate (4 wells x 3 x 3 sites x 2
channels by default) is processed by each contender as a subprocess with 2 workers,
repetitions interleaved (ours, script, floor, ours, ...), measured by `bench.harness` (wall,
CPU of the whole process tree, peak RSS). Then one well of the plate is timed stage by stage
in-process, ours against the script's equivalent (`bench.bench_stages`).

Writes `bench/results/sweep.json` and `bench/results/sweep.md` (the tables of
docs/performance.md). What `make bench` runs.

    python -m bench sweep [--tiles 512,1024,2048] [--densities sparse,dense] [--reps 3]
                          [--wells 4] [--grid 3] [--stage-reps 1] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.bench_plate import _cases, _report, _truth, plate_for
from bench.bench_stages import measure_stages, stage_table
from bench.harness import Measurement, format_table, interleave, machine_info
from bench.synthetic_plate import DENSITIES, BenchPlateSpec
from napari_hcs.pipelines import path_of

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = ("ours", "skimage", "floor")


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _case(args: argparse.Namespace, tile: int, density: str) -> dict[str, Any]:
    spec = BenchPlateSpec(wells=args.wells, grid=args.grid, channels=2, tile=tile,
                          density=density)
    t0 = time.perf_counter()
    plate, _ = plate_for(spec)
    print(f"[sweep] {tile} px {density}: plate {plate} ({spec.images} images, "
          f"{spec.nuclei_per_tile:.0f} nuclei per tile) in {time.perf_counter() - t0:.1f} s",
          flush=True)
    options = SimpleNamespace(pipeline=args.pipeline, workers=args.workers, device=args.device,
                              only=list(CONTENDERS))

    def progress(name: str, rep: int, m: Measurement) -> None:
        print(f"[sweep] {tile} px {density} rep {rep + 1}/{args.reps} {name:8s} "
              f"wall {m.wall_s:7.2f} s  cpu {m.cpu_s:7.2f} s  rss {m.peak_rss_mb:6.0f} MB",
              flush=True)

    load_before = _load()
    results = interleave(_cases(options, plate, spec, _truth(plate)), args.reps,
                         on_result=progress)
    rows, table = _report(results, spec.images)
    stages = None
    if args.stage_reps > 0:
        stages = measure_stages(plate, spec, args.stage_reps, args.device, args.pipeline_name)
        stages["table"] = stage_table(stages)
    return {"tile": tile, "density": density, "plate": {**spec.__dict__,
                                                        "nuclei_per_tile": spec.nuclei_per_tile},
            "load_before": load_before, "load_after": _load(), "results": rows,
            "table": table, "stages": stages,
            "runs": {n: [m.to_dict() | {"log_tail": m.log_tail[-300:]} for m in ms]
                     for n, ms in results.items()}}


def _row(case: dict[str, Any]) -> list[str]:
    by = {r["contender"]: r for r in case["results"]}
    ours, script, floor = by["ours"], by["skimage"], by["floor"]

    def q(r: dict, key: str) -> str:
        value = (r.get("quality") or {}).get(key)
        return "-" if value is None else str(value)

    return [
        f"{case['tile']} px", case["density"],
        f"{ours['wall_s_median']:.1f} ±{ours['wall_spread_pct']:.0f}%",
        f"{script['wall_s_median']:.1f}", f"{floor['wall_s_median']:.1f}",
        f"{ours['wall_s_median'] / script['wall_s_median']:.2f}",
        f"{ours['cpu_s_median'] / script['cpu_s_median']:.2f}",
        f"{ours['wall_s_median'] / floor['wall_s_median']:.2f}",
        f"{ours['cpu_s_median'] / floor['cpu_s_median']:.2f}",
        f"{ours['peak_rss_mb_median']:.0f} / {script['peak_rss_mb_median']:.0f}",
        f"{q(ours, 'nuclei_total')} / {q(script, 'nuclei_total')} / {q(ours, 'nuclei_truth')}",
        f"{q(ours, 'nuclei_f1')} / {q(script, 'nuclei_f1')}",
        f"{q(ours, 'max_position_error_px')} / {q(script, 'max_position_error_px')}",
    ]


SUMMARY_HEADERS = ["tile", "nuclei", "ours wall s", "script s", "floor s", "ours/script wall",
                   "ours/script CPU", "ours/floor wall", "ours/floor CPU",
                   "peak RSS MB ours / script",
                   "nuclei ours / script / true", "nuclei F1 ours / script",
                   "max pos err px ours / script"]


def summary(cases: list[dict[str, Any]]) -> str:
    return format_table(SUMMARY_HEADERS, [_row(c) for c in cases])


def markdown(payload: dict[str, Any]) -> str:
    lines = [f"Sweep of {payload['date']}: {payload['plate_shape']}, {payload['reps']} "
             f"interleaved repetitions, {payload['workers']} workers, device "
             f"{payload['device']}; load average {payload['load_before']} before, "
             f"{payload['load_after']} after; {payload['seconds']:.0f} s in all.", "",
             summary(payload["cases"]), ""]
    for case in payload["cases"]:
        if case["stages"]:
            lines += [f"One well in-process, {case['tile']} px {case['density']} "
                      f"({case['stages']['reps']} repetition(s), medians):", "",
                      case["stages"]["table"], ""]
    return "\n".join(lines)


def rewrite(out: Path) -> str:
    """Regenerate OUT.md from OUT.json (e.g. after a change of the table's layout)."""
    text = markdown(json.loads(out.with_suffix(".json").read_text()))
    out.with_suffix(".md").write_text(text + "\n")
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench sweep", description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", default="512,1024,2048")
    ap.add_argument("--densities", default=",".join(DENSITIES))
    ap.add_argument("--wells", type=int, default=4)
    ap.add_argument("--grid", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--stage-reps", type=int, default=1,
                    help="repetitions of the one-well stage breakdown (0: none)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="ours' device (cuda: the torch twin, stitch_segment_torch)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sweep"),
                    help="writes OUT.json and OUT.md")
    args = ap.parse_args(argv)
    args.pipeline_name = "stitch_segment_torch" if args.device == "cuda" else "stitch_segment"
    args.pipeline = str(path_of(args.pipeline_name))
    densities = [d for d in args.densities.split(",") if d]
    unknown = set(densities) - set(DENSITIES)
    if unknown:
        ap.error(f"--densities: unknown {sorted(unknown)}; choose from {sorted(DENSITIES)}")
    start, load_before = time.perf_counter(), _load()
    cases = [_case(args, int(tile), density)
             for tile in args.tiles.split(",") for density in densities]
    payload = {
        "benchmark": "sweep", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": "python -m bench sweep " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_info(), "reps": args.reps, "workers": args.workers,
        "device": args.device, "order": "interleaved: " + " ".join(CONTENDERS),
        "plate_shape": f"{args.wells} wells x {args.grid} x {args.grid} sites x 2 channels",
        "densities_per_512px_tile": DENSITIES,
        "load_before": load_before, "load_after": _load(),
        "seconds": time.perf_counter() - start, "cases": cases,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(payload, indent=2, default=float))
    text = markdown(payload)
    out.with_suffix(".md").write_text(text + "\n")
    print()
    print(text)
    print(f"[sweep] wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    failed = [c for c in cases for r in c["results"] if r["repetitions_ok"] < args.reps]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
