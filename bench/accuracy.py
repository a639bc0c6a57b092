"""Segmentation accuracy per well against CellProfiler's reference (plates of `real_plates`).

`score(reference, found, pixel_size_um)`: F1@0.5 (one-to-one matches by IoU,
`truth.match_objects`), foreground IoU and the median object area of both sides in µm².
`edge=True` leaves out objects touching the image edge on both sides: CellProfiler's pipelines
discarded them, and the field's edge is the mosaic's (its border, and its padding where the
tiles' jitter left no pixels). `run_plate` runs a shipped pipeline on a
plate headless (the CLI, as a user would) and returns the labels of each well in the frame of
its references.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_hcs.engine.plate.truth import load_truth_labels, match_objects


@dataclass(frozen=True)
class Score:
    f1: float
    foreground_iou: float
    median_area_um2: float
    reference_median_area_um2: float
    found: int
    reference: int

    @property
    def area_ratio(self) -> float:
        return self.median_area_um2 / self.reference_median_area_um2

    def row(self) -> str:
        return (f"F1 {self.f1:.3f}  fg IoU {self.foreground_iou:.3f}  median area "
                f"{self.median_area_um2:7.1f} / {self.reference_median_area_um2:7.1f} µm² "
                f"({self.area_ratio:.2f}x)  n {self.found}/{self.reference}")


def without_edge(labels: np.ndarray, padding: np.ndarray | None = None) -> np.ndarray:
    """`labels` without the objects touching the image border or `padding` (where a stitched
    mosaic has no tile: the edge of what was imaged)."""
    from napari_hcs.engine.functions.library.declump import touching_edge

    out = labels.copy()
    out[np.isin(out, sorted(touching_edge(out, padding)))] = 0
    return out


def _median_area(labels: np.ndarray, pixel_size_um: float) -> float:
    areas = np.bincount(labels.ravel())[1:]
    areas = areas[areas > 0]
    return float(np.median(areas)) * pixel_size_um**2 if len(areas) else float("nan")


def score(reference: np.ndarray, found: np.ndarray, pixel_size_um: float,
          edge: bool = True, padding: np.ndarray | None = None) -> Score:
    if edge:
        reference, found = without_edge(reference, padding), without_edge(found, padding)
    match = match_objects(reference, found)
    union = np.count_nonzero((reference > 0) | (found > 0))
    fg = np.count_nonzero((reference > 0) & (found > 0)) / union if union else 1.0
    return Score(match.f1, fg, _median_area(found, pixel_size_um),
                 _median_area(reference, pixel_size_um),
                 int(len(np.unique(found)) - 1), int(len(np.unique(reference)) - 1))


#: The shipped pipeline's steps that make the objects (its features take minutes per well
#: and do not change them): a pipeline file that reads the shipped one, so its defaults are
#: what is measured.
_SEGMENTATION_ONLY = """from napari_hcs.engine.pipeline import Pipeline
from napari_hcs.pipelines import load

_shipped = load({name!r})
pipeline = Pipeline(name={name!r} + "_objects",
                    steps=[s for s in _shipped.steps if s.name not in {skip!r}])
"""
_NOT_OBJECTS = ("quality", "features", "wells", "measurements")


def run_plate(plate: Path, out: Path, pipeline: str = "profile_cells",
              workers: int = 1) -> None:
    """Run the shipped `pipeline`'s object steps on `plate` into `out` (the CLI's run)."""
    from napari_hcs.cli import main

    out.mkdir(parents=True, exist_ok=True)
    source = out.parent / f"{out.name}_{pipeline}_objects.py"
    source.write_text(_SEGMENTATION_ONLY.format(name=pipeline, skip=_NOT_OBJECTS))
    rc = main(["run", str(source), str(plate), "--out", str(out), "--workers", str(workers),
               "--no-progress"])
    if rc != 0:
        raise RuntimeError(f"{pipeline} on {plate} exited {rc} (see {out}/run.json)")


def _field(out: Path, well: str):  # noqa: ANN202  (a zarr group)
    import zarr

    from napari_hcs.engine.plate.wells import parse_well

    row, col = parse_well(well)
    return zarr.open_group(str(out / "plate.zarr" / chr(ord("A") + row) / str(col + 1) / "0"),
                           mode="r")


def well_padding(out: Path, plate: Path, well: str) -> np.ndarray | None:
    """Where the stitched mosaic of `well` has no tile, in the references' frame."""
    from napari_hcs.engine.functions.library.declump import padding

    image = np.asarray(_field(out, well)["0"])
    first = image.reshape((-1,) + image.shape[-2:])[0]
    h, w = load_truth_labels(plate, well, "nuclei").shape
    return padding(first[:h, :w])


def well_labels(out: Path, plate: Path, well: str, name: str) -> np.ndarray:
    """The `name` labels (e.g. "nuclei_labels") of `well` in the run `out`, cropped to the
    frame of the well's references (the plate's one field shape pads bottom-right)."""
    labels = np.asarray(_field(out, well)[f"labels/{name}/0"])
    labels = labels.reshape(labels.shape[-2:])
    h, w = load_truth_labels(plate, well, "nuclei").shape
    return labels[:h, :w].astype(np.int32)


def score_run(out: Path, plate: Path, wells: list[str], pixel_size_um: float,
              kinds: tuple[str, ...] = ("nuclei", "cells"),
              edge: bool = True) -> dict[tuple[str, str], Score]:
    """{(well, kind): Score} of a finished run against the plate's references."""
    scores = {}
    for well in wells:
        pad = well_padding(out, plate, well) if edge else None
        for kind in kinds:
            found = well_labels(out, plate, well, f"{kind}_labels")
            reference = load_truth_labels(plate, well, kind)
            scores[(well, kind)] = score(reference, found, pixel_size_um, edge, pad)
    return scores
