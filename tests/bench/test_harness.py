"""The benchmark harness and the OpenHCS plate preparation (no timing asserted)."""

from __future__ import annotations

import math
import sys

import pytest
from bench.harness import (
    BenchError,
    Measurement,
    format_table,
    interleave,
    run_measured,
    summarize,
)
from bench.imagexpress_files import grid, scan
from bench.openhcs_peer.prepare import prepare_plate


def test_interleave_runs_rounds_in_order_and_skips_a_failed_case():
    calls: list[tuple[str, int]] = []

    def case(name: str, fail: bool = False):
        def run(rep: int) -> Measurement:
            calls.append((name, rep))
            if fail:
                raise BenchError(f"{name} broke")
            return Measurement(1.0, 0.5, 10.0, 0)

        return run

    results = interleave({"a": case("a"), "b": case("b", fail=True), "c": case("c")}, 2)
    assert calls == [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("c", 1)]
    assert len(results["a"]) == 2 and len(results["b"]) == 1
    assert results["b"][0].returncode == -1 and "b broke" in results["b"][0].log_tail


def test_summarize_ignores_failed_repetitions():
    s = summarize([3.0, float("nan"), 1.0, 2.0])
    assert (s.median, s.min, s.max, s.n) == (2.0, 1.0, 3.0, 3)
    assert s.spread_pct == pytest.approx(50.0)
    assert math.isnan(summarize([float("nan")]).median)


def test_run_measured_counts_child_cpu_and_tree_memory():
    code = (
        "import multiprocessing as mp\n"
        "def burn(_):\n"
        "    x = bytearray(64 * 2**20)\n"
        "    return sum(i * i for i in range(1_500_000)) + len(x)\n"
        "if __name__ == '__main__':\n"
        "    with mp.get_context('fork').Pool(2) as p: print(sum(p.map(burn, range(2))))\n"
    )
    m = run_measured([sys.executable, "-c", code], name="burner", interval=0.01)
    assert m.returncode == 0 and m.log_tail.strip().isdigit()
    assert m.cpu_s > 0.2  # the pool's work, not only the parent's
    assert m.peak_rss_mb > 64
    assert m.wall_s > 0


def test_run_measured_failure_names_the_contender_and_its_output():
    with pytest.raises(BenchError, match=r"(?s)peer exited with 3.*boom"):
        run_measured([sys.executable, "-c", "print('boom'); raise SystemExit(3)"], name="peer")


def test_format_table_is_markdown():
    text = format_table(["a", "bb"], [[1, 2.5]])
    assert text.splitlines()[0] == "| a | bb  |"
    assert text.splitlines()[1].startswith("|---")


def _ixm_plate(root, *, pixel_size: bool):
    import numpy as np
    import tifffile

    (root / "TimePoint_1").mkdir(parents=True)
    lines = ['"HTSInfoFile", Version 1.0', '"XSites", 2', '"YSites", 1']
    if pixel_size:
        lines.append('"PixelSizeUM", 0.5')
    (root / "P.HTD").write_text("\r\n".join([*lines, '"EndFile"']) + "\r\n")
    for s in (1, 2):
        tifffile.imwrite(root / "TimePoint_1" / f"P_B03_s{s}_w1.TIF", np.zeros((8, 8), np.uint16))
    tifffile.imwrite(root / "TimePoint_1" / "P_B03_s1_w1_thumb.TIF", np.zeros((2, 2), np.uint16))
    (root / "openhcs_metadata.json").write_text("{}")


def test_prepare_plate_applies_and_reports_the_openhcs_accommodations(tmp_path):
    src = tmp_path / "plate"
    _ixm_plate(src, pixel_size=False)
    notes = prepare_plate(src, tmp_path / "copy")
    copy = tmp_path / "copy"
    assert not list(copy.rglob("*_thumb*"))
    assert not (copy / "openhcs_metadata.json").exists()
    htd = (copy / "P.HTD").read_bytes().decode()
    assert '"PixelSizeUM", 0.65\r\n"EndFile"' in htd
    assert any("_thumb" in n for n in notes) and any("PixelSizeUM" in n for n in notes)
    assert any("openhcs_metadata.json" in n for n in notes)
    assert (src / "P.HTD").read_text().count("PixelSizeUM") == 0  # the source is untouched


def test_prepare_plate_keeps_an_existing_pixel_size(tmp_path):
    _ixm_plate(tmp_path / "plate", pixel_size=True)
    notes = prepare_plate(tmp_path / "plate", tmp_path / "copy")
    assert (tmp_path / "copy" / "P.HTD").read_text().count("PixelSize") == 1
    assert not any("PixelSizeUM" in n for n in notes)


def test_baseline_scan_skips_thumbnails_and_reads_the_grid(tmp_path):
    _ixm_plate(tmp_path, pixel_size=True)
    files = scan(tmp_path)
    assert list(files) == ["B03"] and sorted(files["B03"]["1"]) == [1, 2]
    assert grid(tmp_path) == (1, 2)
