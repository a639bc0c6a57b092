"""Compile a default-like 4-step stitching pipeline for a 384-well plate (target: < 1 s).

The plate is an in-memory layout (16x24 wells, 3x3 sites, 2 channels), so the time measured is
the compiler's alone, not the plate reader's.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.functions.registry import register
from napari_hcs.engine.pipeline import GlobalConfig, Pipeline, Step
from napari_hcs.engine.plate.layout_only import LayoutOnlyReader
from napari_hcs.engine.plate.model import PlateLayout

REPEATS = 7


@register(category="bench")
def bench_normalize(stack, low: float = 1.0, high: float = 99.0):
    """Percentile normalisation."""
    return stack


@register(category="bench", special_inputs=("stage_positions",),
          special_outputs={"positions": "positions"})
def bench_positions(stack, stage_positions, overlap: float = 0.1):
    """Refine tile positions."""
    return stack, stage_positions


@register(category="bench", special_inputs=("positions",))
def bench_assemble(stack, positions, blend: bool = True):
    """Assemble a mosaic."""
    return stack


@register(category="bench", special_outputs={"nuclei": "labels", "nuclei_table": "table"})
def bench_segment(stack, min_area: int = 30):
    """Segment nuclei."""
    return stack, stack, None


def plate_384() -> LayoutOnlyReader:
    wells = tuple(f"{r}{c:02d}" for r in "ABCDEFGHIJKLMNOP" for c in range(1, 25))
    sites = tuple(range(1, 10))
    layout = PlateLayout(
        format="memory", root=Path("/plates/p384"), wells=wells, sites=sites,
        channels=("1", "2"), z=(1,), timepoints=(1,), shape=(2048, 2048), dtype="uint16",
        site_positions={s: (float((s - 1) // 3 * 1843), float((s - 1) % 3 * 1843))
                        for s in sites},
        rows=16, columns=24,
    )
    return LayoutOnlyReader(layout)


def default_like_pipeline() -> Pipeline:
    return Pipeline(
        [
            Step((bench_normalize, {"low": 1.0, "high": 99.5}), name="normalize"),
            Step(bench_positions, name="positions"),
            Step((bench_assemble, {"blend": True}), name="assemble"),
            Step({"1": (bench_segment, {"min_area": 40})}, name="segment", group_by="channel",
                 variable_components=()),
        ],
        name="stitch_segment",
    )


def main() -> None:
    reader, pipeline = plate_384(), default_like_pipeline()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        compiled = compile_pipeline(pipeline, reader, config=GlobalConfig(workers=4),
                                    output_dir="/tmp/out")
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    n_images = sum(len(p.inputs) for p in compiled.plans.values())
    print(f"bench_compile: 4-step pipeline, {len(compiled.plans)} wells ({n_images} images): "
          f"median {median * 1000:.1f} ms over {REPEATS} runs "
          f"(min {min(times) * 1000:.1f} ms; target < 1000 ms) "
          f"{'OK' if median < 1.0 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
