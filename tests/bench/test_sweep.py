"""The sweep's pieces: density per area, accuracy columns, the summary table (no timing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bench.bench_plate import _in_pixels, _nuclei_f1
from bench.bench_sweep import SUMMARY_HEADERS, summary
from bench.synthetic_plate import DENSITIES, BenchPlateSpec


def test_density_is_per_area():
    small, large = BenchPlateSpec(tile=512), BenchPlateSpec(tile=2048)
    assert small.nuclei_per_tile == DENSITIES["sparse"]
    assert large.nuclei_per_tile == 16 * small.nuclei_per_tile
    dense = BenchPlateSpec(tile=1024, density="dense")
    assert dense.nuclei_per_tile == 4 * DENSITIES["dense"]


def test_nuclei_f1_matches_one_to_one_within_the_radius():
    truth = {"A01": {"nuclei": [[10, 10], [30, 30], [50, 50]]}}
    exact = {"A01": np.array([[10.0, 10.0], [30.0, 30.0], [50.0, 50.0]])}
    assert _nuclei_f1(truth, exact) == 1.0
    # One found twice (only one match), one missed, one far away.
    found = {"A01": np.array([[10.0, 11.0], [11.0, 10.0], [90.0, 90.0]])}
    assert _nuclei_f1(truth, found) == round(2 * 1 / 6, 3)


def test_lengths_come_back_to_pixels_from_micrometres():
    frame = pd.DataFrame({"y": [6.5, 13.0]})
    frame.attrs = {"units": {"y": "micrometer"}, "pixel_size_um": 0.65}
    np.testing.assert_allclose(_in_pixels(frame, "y"), [10.0, 20.0])
    frame.attrs = {"units": {"y": "pixel"}}
    np.testing.assert_allclose(_in_pixels(frame, "y"), [6.5, 13.0])


def test_summary_has_one_row_per_case():
    def row(name, wall, cpu):
        return {"contender": name, "wall_s_median": wall, "wall_spread_pct": 5.0,
                "cpu_s_median": cpu, "peak_rss_mb_median": 100.0,
                "quality": {"nuclei_total": 9, "nuclei_truth": 10, "nuclei_f1": 0.9,
                            "max_position_error_px": 0.1}}

    case = {"tile": 512, "density": "sparse",
            "results": [row("ours", 2.0, 3.0), row("skimage", 4.0, 6.0), row("floor", 1.0, 1.0)]}
    text = summary([case, {**case, "tile": 1024}])
    lines = text.splitlines()
    assert len(lines) == 4 and all(h in lines[0] for h in SUMMARY_HEADERS)
    assert "| 0.50 " in lines[2] and "| 2.00 " in lines[2]  # ours/script, ours/floor wall
    assert "| 3.00 " in lines[2]  # ours/floor CPU
