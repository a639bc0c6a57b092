"""Registry start-up and compile time, against a baseline tree, in fresh processes.

    python -m bench registry [--baseline-src DIR] [--repeats N]

Each case runs in a fresh interpreter (start-up cost is what is measured) and times only its
own code (interpreter start excluded):
- `worker`: what a worker process pays before its first well: import the registry and resolve
  a built-in function by the plan's `module:qualname`;
- `listing`: what the Pipeline dock pays: `list_functions()` (the library index already built);
- `compile384`: `bench_compile`'s 4-step pipeline on 384 wells x 9 sites x 2 channels (median
  of 7 in-process compiles);
- `library`: (this tree only) resolve and first-call one scikit-image function by name, and
  compile a 3-step pipeline of library functions on the same 384 wells.

`--baseline-src` is another checkout's `src` (e.g. `git archive <commit> src | tar -x -C
/tmp/base`); the two trees run interleaved, case by case, so that machine load hits both alike.
Reported: medians over the repeats and the ratio this/baseline (< 1.10 is the budget).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

WORKER = """
import time
t = time.perf_counter()
from napari_hcs.engine.functions.registry import get_function
get_function("napari_hcs.engine.functions.library.filters:gaussian_blur")
print(time.perf_counter() - t)
"""
LISTING = """
import time
t = time.perf_counter()
from napari_hcs.engine.functions.registry import list_functions
n = len(list_functions())
print(time.perf_counter() - t)
"""
COMPILE = """
import statistics, sys, time
sys.path.insert(0, {root!r})
from bench.bench_compile import default_like_pipeline, plate_384
from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.pipeline import GlobalConfig
reader, pipeline = plate_384(), default_like_pipeline()
times = []
for _ in range(7):
    t = time.perf_counter()
    compile_pipeline(pipeline, reader, config=GlobalConfig(workers=4), output_dir="/tmp/out")
    times.append(time.perf_counter() - t)
print(statistics.median(times))
"""
LIBRARY = """
import statistics, sys, time
import numpy as np
sys.path.insert(0, {root!r})
t = time.perf_counter()
from napari_hcs.engine.functions.registry import get_function
spec = get_function("skimage.filters.gaussian")
spec.func(np.zeros((1, 8, 8), np.float32), sigma=1.0)
first = time.perf_counter() - t
from bench.bench_compile import plate_384
from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.pipeline import GlobalConfig, Pipeline, Step
pipeline = Pipeline([
    Step(("skimage.filters.gaussian", {{"sigma": 2.0, "mode": "reflect"}})),
    Step(("ndimage.median_filter", {{"size": 3}})),
    Step(("skimage.morphology.white_tophat", {{"footprint": [[1, 1, 1], [1, 1, 1], [1, 1, 1]]}})),
])
reader = plate_384()
times = []
for _ in range(7):
    t = time.perf_counter()
    compile_pipeline(pipeline, reader, config=GlobalConfig(workers=4), output_dir="/tmp/out")
    times.append(time.perf_counter() - t)
print(first, statistics.median(times))
"""


def _run(code: str, src: Path, env: dict[str, str]) -> list[float]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(src)}, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench case failed under {src}:\n{done.stderr[-2000:]}")
    return [float(x) for x in done.stdout.split()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench registry")
    parser.add_argument("--baseline-src", type=Path, help="a baseline tree's src directory")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    cache = tempfile.mkdtemp(prefix="napari-hcs-bench-cache-")
    env = {**os.environ, "NAPARI_HCS_CACHE_DIR": cache}
    trees = {"this": SRC}
    if args.baseline_src:
        trees = {"baseline": args.baseline_src.resolve(), "this": SRC}
    _run(LISTING, SRC, env)  # build this tree's library index once (not measured)
    cases = {"worker": WORKER, "listing": LISTING,
             "compile384": COMPILE.format(root=str(HERE.parent))}
    found: dict[tuple[str, str], list[float]] = {}
    library: list[list[float]] = []
    for _ in range(args.repeats):
        for case, code in cases.items():
            for tree, src in trees.items():  # interleaved: load hits both trees alike
                found.setdefault((case, tree), []).append(_run(code, src, env)[0])
        library.append(_run(LIBRARY.format(root=str(HERE.parent)), SRC, env))
    print(f"bench_registry: medians of {args.repeats} fresh processes (seconds)")
    report = {}
    for case in cases:
        row = {tree: statistics.median(found[(case, tree)]) for tree in trees}
        line = f"  {case:<11}" + "".join(f" {tree} {row[tree]:.4f}" for tree in trees)
        if "baseline" in row:
            row["ratio"] = row["this"] / row["baseline"]
            line += f"  ratio {row['ratio']:.2f} {'OK' if row['ratio'] < 1.10 else 'OVER 10%'}"
        print(line)
        report[case] = row
    first = statistics.median(x[0] for x in library)
    compile_library = statistics.median(x[1] for x in library)
    print(f"  library     first use of skimage.filters.gaussian {first:.4f}; "
          f"compile 3 library steps x 384 wells {compile_library:.4f}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
