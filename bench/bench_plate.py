"""End-to-end: ours vs OpenHCS vs a hand-written scikit-image script vs the floor.

Same generator plate, same run, interleaved repetitions (ours, openhcs, skimage, floor; again
...), each contender a subprocess measured by `bench.harness` (wall, CPU incl. children, peak
RSS of the process tree). Prints a table with medians, spread and ratios to ours, and writes
`bench/results/plate.json`. See docs/performance.md.

    python -m bench plate [--wells 6 --grid 3 --tile 384 --channels 2] [--reps 3]
                          [--only ours,openhcs,skimage,floor] [--device cpu|cuda] [--small]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import (
    Measurement,
    format_table,
    interleave,
    machine_info,
    ratio,
    run_measured,
    summarize,
)
from bench.openhcs_peer.prepare import prepare_plate
from bench.synthetic_plate import BenchPlateSpec, write_plate
from napari_hcs.pipelines import path_of

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
OPENHCS_VENV = ROOT / "bench" / ".openhcs-venv"
CONTENDERS = ("ours", "openhcs", "skimage", "floor")


def plate_for(spec: BenchPlateSpec) -> tuple[Path, str]:
    """The benchmark plate, regenerated only when its spec changed."""
    path = WORK / (f"plate_w{spec.wells}_g{spec.grid}_c{spec.channels}_t{spec.tile}"
                   f"_{spec.density}")
    stamp = path / ".bench_spec.json"
    key = json.dumps(spec.__dict__, sort_keys=True)
    if stamp.exists() and stamp.read_text() == key:
        return path, json.loads((path / ".bench_writer").read_text())
    root, writer = write_plate(path, spec)
    (root / ".bench_writer").write_text(json.dumps(writer))
    stamp.write_text(key)
    return root, writer


def _ensure_openhcs() -> str | None:
    """Install OpenHCS into its venv if needed; return why it is unavailable, or None."""
    if (OPENHCS_VENV / ".installed").exists():
        return None
    print("[bench] installing OpenHCS 0.8.6 into bench/.openhcs-venv (once, ~1.5 GB)...")
    proc = subprocess.run(["bash", str(ROOT / "bench/openhcs_peer/setup.sh")], check=False)
    return None if proc.returncode == 0 else f"setup.sh exited with {proc.returncode}"


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# --- how far each contender's result is from the generator's truth --------------------------


def _truth(plate: Path) -> dict | None:
    path = plate / "ground_truth.json"
    return json.loads(path.read_text())["wells"] if path.exists() else None


def _position_error(truth: dict, found: dict[str, dict[int, tuple[float, float]]]) -> float:
    """Largest |found - true| over tiles, both frames shifted so their minimum is 0 (px)."""
    worst = 0.0
    for well, sites in found.items():
        if well not in truth or not sites:
            continue
        t = np.array([truth[well]["positions"][str(s)] for s in sorted(sites)], float)
        f = np.array([sites[s] for s in sorted(sites)], float)
        worst = max(worst, float(np.abs((f - f.min(0)) - (t - t.min(0))).max()))
    return worst


MATCH_RADIUS_PX = 5.0  # a found nucleus within this distance of a true centre matches it


def _nuclei_f1(truth: dict, centres: dict[str, np.ndarray]) -> float:
    """F1 of found vs true nucleus centres, matched one-to-one (closest pairs first) within
    `MATCH_RADIUS_PX`, over all wells: a count can be right with nuclei in the wrong places."""
    from scipy.spatial import cKDTree

    hits = found = true = 0
    for well, pts in centres.items():
        want = np.asarray(truth.get(well, {}).get("nuclei", []), float).reshape(-1, 2)
        found, true = found + len(pts), true + len(want)
        if not len(pts) or not len(want):
            continue
        pairs = cKDTree(want).sparse_distance_matrix(cKDTree(pts), MATCH_RADIUS_PX,
                                                     output_type="ndarray")
        used_t, used_f = set(), set()
        for k in np.argsort(pairs["v"], kind="stable"):
            t, f = int(pairs["i"][k]), int(pairs["j"][k])
            if t not in used_t and f not in used_f:
                used_t.add(t)
                used_f.add(f)
        hits += len(used_t)
    return round(2 * hits / (found + true), 3) if found + true else float("nan")


def _quality(truth: dict | None, nuclei: dict[str, int], positions: dict,
             centres: dict[str, np.ndarray] | None = None) -> dict:
    out: dict = {"nuclei_total": int(sum(nuclei.values()))}
    if truth:
        expected = sum(int(w["nuclei_count"]) for w in truth.values())
        out["nuclei_truth"] = expected
        out["nuclei_error_pct"] = round(100 * (out["nuclei_total"] - expected) / expected, 1)
        if centres is not None:
            out["nuclei_f1"] = _nuclei_f1(truth, centres)
        if positions:
            out["max_position_error_px"] = round(_position_error(truth, positions), 2)
    return out


def _in_pixels(frame: Any, column: str) -> np.ndarray:
    """A length column in pixels, whether the table holds pixels or micrometres (its
    `attrs["units"]` and `attrs["pixel_size_um"]` say which)."""
    values = frame[column].to_numpy(float)
    unit = str((frame.attrs.get("units") or {}).get(column, "pixel"))
    size = frame.attrs.get("pixel_size_um")
    if unit.startswith(("micrometer", "µm", "um")) and size:
        return values / float(size)
    return values


def _tables_quality(out: Path, truth: dict | None) -> dict:
    """For outputs in our layout: tables/nuclei.parquet and tables/positions.parquet."""
    import pandas as pd

    nuclei_path, pos_path = out / "tables" / "nuclei.parquet", out / "tables" / "positions.parquet"
    if not nuclei_path.exists():
        return {}
    nuclei = pd.read_parquet(nuclei_path)
    counts = nuclei["well"].value_counts().to_dict()
    centres = None
    if {"centroid_y", "centroid_x"} <= set(nuclei.columns):
        yx = np.stack([_in_pixels(nuclei, "centroid_y"), _in_pixels(nuclei, "centroid_x")], 1)
        wells = nuclei["well"].to_numpy()
        centres = {w: yx[wells == w] for w in counts}
    positions: dict = {}
    if pos_path.exists():
        frame = pd.read_parquet(pos_path)
        ys, xs = _in_pixels(frame, "y"), _in_pixels(frame, "x")
        for well, site, y, x in zip(frame["well"], frame["site"], ys, xs, strict=True):
            positions.setdefault(well, {})[int(site)] = (y, x)
    return _quality(truth, counts, positions, centres)


def _openhcs_quality(out: Path, record: dict, truth: dict | None) -> dict:
    positions: dict = {}
    for path in out.rglob("*_w1_positions_step*.json"):  # OpenHCS writes (x, y) per site
        well = path.name.split("_", 1)[0]
        xy = json.loads(path.read_text())
        positions[well] = {i + 1: (p[1], p[0]) for i, p in enumerate(xy)}
    return _quality(truth, record.get("nuclei", {}), positions)


# --- the contenders ---------------------------------------------------------------------------


def _cases(args: argparse.Namespace, plate: Path, spec: BenchPlateSpec, truth: dict | None):
    py = sys.executable
    runs = WORK / "runs"
    workers = str(args.workers)

    def ours(rep: int) -> Measurement:
        out = _fresh(runs / "ours")
        cmd = [py, "-m", "napari_hcs.cli", "run", args.pipeline, plate, "--out", out,
               "--workers", workers, "--device", args.device, "--no-progress"]
        m = run_measured(cmd, name="ours", cwd=ROOT)
        m.extra["quality"] = _tables_quality(out, truth)
        return m

    def openhcs(rep: int) -> Measurement:
        copy = _fresh(runs / "openhcs_plate")
        notes = prepare_plate(plate, copy)  # outside the timed region
        out, record_path = _fresh(runs / "openhcs"), runs / "openhcs_record.json"
        cmd = [OPENHCS_VENV / "bin" / "python", ROOT / "bench/openhcs_peer/run_openhcs.py",
               copy, "--out", out, "--workers", workers, "--record", record_path]
        m = run_measured(cmd, name="openhcs", cwd=runs)
        record = json.loads(record_path.read_text())
        m.extra.update(accommodations=notes, phases=record["phases"], steps=record["steps"],
                       quality=_openhcs_quality(out, record, truth))
        return m

    def script(module: str, name: str):
        def run(rep: int) -> Measurement:
            out = _fresh(runs / name)
            cmd = [py, "-m", module, plate, "--out", out, "--workers", workers,
                   "--overlap", str(spec.overlap)]
            m = run_measured(cmd, name=name, cwd=ROOT)
            m.extra["quality"] = _tables_quality(out, truth)
            return m

        return run

    all_cases = {
        "ours": ours,
        "openhcs": openhcs,
        "skimage": script("bench.skimage_script", "skimage"),
        "floor": script("bench.floor", "floor"),
    }
    return {k: v for k, v in all_cases.items() if k in args.only}


# --- report -----------------------------------------------------------------------------------


def _report(results: dict[str, list[Measurement]], images: int) -> tuple[list[dict], str]:
    stats = {}
    for name, ms in results.items():
        stats[name] = {
            "wall": summarize([m.wall_s for m in ms]),
            "cpu": summarize([m.cpu_s for m in ms]),
            "rss": summarize([m.peak_rss_mb for m in ms]),
        }
    ref = next((n for n in ("ours", "skimage", "floor") if n in stats and stats[n]["wall"].n), None)
    rows, table_rows = [], []
    for name, s in stats.items():
        wall, cpu, rss = s["wall"], s["cpu"], s["rss"]
        r = stats[ref] if ref else None
        row = {
            "contender": name,
            "repetitions_ok": wall.n,
            "wall_s_median": wall.median, "wall_s_min": wall.min, "wall_s_max": wall.max,
            "wall_spread_pct": wall.spread_pct,
            "images_per_s": images / wall.median if wall.n else float("nan"),
            "cpu_s_median": cpu.median,
            "peak_rss_mb_median": rss.median,
            "wall_ratio": ratio(wall.median, r["wall"].median) if r else float("nan"),
            "cpu_ratio": ratio(cpu.median, r["cpu"].median) if r else float("nan"),
            "rss_ratio": ratio(rss.median, r["rss"].median) if r else float("nan"),
            "quality": next((m.extra.get("quality") for m in reversed(results[name])
                             if m.returncode == 0), None),
        }
        rows.append(row)
        q = row["quality"] or {}
        table_rows.append([
            name,
            f"{wall.median:.1f} ±{wall.spread_pct:.0f}%" if wall.n else "failed",
            f"{row['images_per_s']:.1f}",
            f"{cpu.median:.1f}",
            f"{rss.median:.0f}",
            f"{row['wall_ratio']:.2f}", f"{row['cpu_ratio']:.2f}", f"{row['rss_ratio']:.2f}",
            f"{q.get('nuclei_total', '-')}/{q.get('nuclei_truth', '-')}",
            f"{q.get('max_position_error_px', '-')}",
        ])
    headers = ["contender", "wall s (median ±spread)", "images/s", "CPU s", "peak RSS MB",
               f"wall ×{ref}", f"CPU ×{ref}", f"RSS ×{ref}", "nuclei found/true", "max pos err px"]
    return rows, format_table(headers, table_rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench plate", description=__doc__.splitlines()[0])
    ap.add_argument("--wells", type=int, default=24)
    ap.add_argument("--grid", type=int, default=3, help="sites per side")
    ap.add_argument("--tile", type=int, default=512, help="tile size, px")
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--small", action="store_true", help="4 wells, 2x2 sites, 256 px (a smoke run)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="for ours")
    ap.add_argument("--pipeline", default=None,
                    help="ours' pipeline file (default: the shipped stitch_segment, or "
                    "torch twin stitch_segment_torch.py with --device cuda)")
    ap.add_argument("--only", default=",".join(CONTENDERS), help="comma-separated contenders")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "plate.json"))
    args = ap.parse_args(argv)
    args.only = [c for c in args.only.split(",") if c]
    unknown = set(args.only) - set(CONTENDERS)
    if unknown:
        ap.error(f"--only: unknown contender(s) {sorted(unknown)}; choose from {CONTENDERS}")
    if args.small:
        args.wells, args.grid, args.tile = 4, 2, 256
    if args.pipeline is None:
        name = "stitch_segment_torch.py" if args.device == "cuda" else "stitch_segment.py"
        args.pipeline = str(path_of(name.removesuffix(".py")))
    spec = BenchPlateSpec(wells=args.wells, grid=args.grid, channels=args.channels, tile=args.tile)
    t0 = time.perf_counter()
    plate, writer = plate_for(spec)
    print(f"[bench] plate {plate} ({spec.images} images, {writer}) in "
          f"{time.perf_counter() - t0:.1f} s")
    skipped = {}
    if "openhcs" in args.only:
        why = _ensure_openhcs()
        if why:
            skipped["openhcs"] = why
            args.only.remove("openhcs")
    if "ours" in args.only and not Path(args.pipeline).exists():
        skipped["ours"] = f"pipeline file {args.pipeline} not found"
        args.only.remove("ours")
    for name, why in skipped.items():
        print(f"[bench] skipping {name}: {why}", file=sys.stderr)

    def progress(name: str, rep: int, m: Measurement) -> None:
        print(f"[bench] rep {rep + 1}/{args.reps} {name:8s} wall {m.wall_s:7.2f} s  "
              f"cpu {m.cpu_s:7.2f} s  rss {m.peak_rss_mb:7.0f} MB", flush=True)

    results = interleave(_cases(args, plate, spec, _truth(plate)), args.reps, on_result=progress)
    rows, table = _report(results, spec.images)
    print()
    print(table)
    openhcs_extra = next((m.extra for m in results.get("openhcs", []) if m.extra), {})
    payload = {
        "benchmark": "plate",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine_info(),
        "plate": {**spec.__dict__, "images": spec.images, "writer": writer},
        "repetitions": args.reps,
        "workers": args.workers,
        "device": args.device,
        "order": "interleaved: " + " ".join(results),
        "skipped": skipped,
        "results": rows,
        "runs": {n: [m.to_dict() | {"log_tail": m.log_tail[-600:]} for m in ms]
                 for n, ms in results.items()},
        "openhcs": {k: openhcs_extra.get(k) for k in ("accommodations", "steps", "phases")},
        "table": table,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2, default=float))
    print(f"\n[bench] wrote {args.json}")
    failed = [n for n, ms in results.items() if any(m.returncode != 0 for m in ms)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
