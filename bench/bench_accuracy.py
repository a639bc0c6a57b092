"""`python -m bench accuracy [--wells B07,D07] [--keep DIR]`: segmentation accuracy of the shipped
pipelines on plates built from real fields, against CellProfiler's own segmentation.

Plates (`real_plates.py`): the NF1 fields as an ImageXpress plate (3 x 3 tiles, 10 % overlap,
stage jitter, vignetting, read noise) and again imaged 1.25x larger (resampled, pixel size
/1.25) as an Opera Phenix plate; the pediatric Phenix field as a Phenix plate; StarDist's
DSB-2018 image as an ImageXpress plate (nuclei only, `stitch_segment`). Per well: F1@0.5,
foreground IoU and median areas in µm² (objects touching the field's edge left out on both
sides, as CellProfiler discarded them; `accuracy.py`). The synthetic sample plate's figures
are printed beside them (plumbing only: its truth is what the generator drew).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.accuracy import run_plate, score_run
from bench.real_plates import (
    NF1_WELLS,
    build_plate,
    dsb_field,
    magnified,
    nf1_field,
    nf1_well,
    pediatric_field,
)
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.engine.plate.wells import normalize_well


def _print(title: str, scores: dict) -> None:
    print(title)
    for (well, kind), s in scores.items():
        print(f"  {well} {kind:7s} {s.row()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench accuracy", description="Segmentation accuracy of the shipped pipelines "
        "on plates built from real fields, against CellProfiler's own segmentation.")
    every = ",".join(normalize_well(w) for w in NF1_WELLS)
    parser.add_argument("--wells", default=every, metavar="WELLS",
                        help=f"comma-separated NF1 wells to score, as the plate names them "
                             f"(B07 or B7); default: all of {every}")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="build the plates and runs in DIR and keep them (default: a "
                             "temporary folder, removed afterwards)")
    args = parser.parse_args(argv)
    try:
        names = [normalize_well(nf1_well(w.strip())) for w in args.wells.split(",")
                 if w.strip()]
    except ValueError as exc:
        print(f"bench accuracy: --wells: {exc}", file=sys.stderr)
        return 2
    if not names:
        print(f"bench accuracy: --wells names no well (the wells are {every})", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        fields = {w: nf1_field(w) for w in names}
        px = next(iter(fields.values())).pixel_size_um
        plate = build_plate(base / "nf1_ix", fields, "imagexpress")
        run_plate(plate, base / "nf1_ix_out", workers=2)
        normal = score_run(base / "nf1_ix_out", plate, names, px)
        _print(f"NF1, ImageXpress, {px} µm/px (profile_cells):", normal)
        big = {w: magnified(f, 1.25) for w, f in fields.items()}
        plate = build_plate(base / "nf1_big", big, "phenix")
        run_plate(plate, base / "nf1_big_out", workers=2)
        larger = score_run(base / "nf1_big_out", plate, names, px / 1.25)
        _print(f"NF1 imaged 1.25x larger, Phenix, {px / 1.25:.4f} µm/px:", larger)
        print("  per-well median cell area, 1.25x / 1x (µm²):", ", ".join(
            f"{w} {larger[(w, 'cells')].median_area_um2 / normal[(w, 'cells')].median_area_um2:.3f}"
            for w in names))
        ped = pediatric_field()
        plate = build_plate(base / "ped", {"C03": ped}, "phenix")
        run_plate(plate, base / "ped_out")
        _print(f"Pediatric C03, Phenix, {ped.pixel_size_um} µm/px:",
               score_run(base / "ped_out", plate, ["C03"], ped.pixel_size_um))
        dsb = dsb_field()
        plate = build_plate(base / "dsb", {"A01": dsb}, "imagexpress", grid=(2, 2))
        run_plate(plate, base / "dsb_out", pipeline="stitch_segment")
        _print(f"DSB-2018 nuclei, ImageXpress, {dsb.pixel_size_um} µm/px (stitch_segment, "
               "all objects scored):",
               score_run(base / "dsb_out", plate, ["A01"], dsb.pixel_size_um,
                         kinds=("nuclei",), edge=False))
        synthetic = write_sample_plate(base / "synthetic", "imagexpress",
                                       SampleSpec(wells=("A01", "B02")), force=True)
        run_plate(synthetic, base / "synthetic_out", workers=2)
        _print("Synthetic sample plate (plumbing; truth = what the generator drew):",
               score_run(base / "synthetic_out", synthetic, ["A01", "B02"], 0.65, edge=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
