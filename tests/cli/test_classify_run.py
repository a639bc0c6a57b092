"""Classes of objects headless: a classifier trained on a sample plate's nuclei runs as a
pipeline step and writes each nucleus's class and each well's class counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_hcs.cli import main
from napari_hcs.engine.classify import ObjectClassifier
from napari_hcs.engine.codegen import pipeline_to_source
from napari_hcs.engine.functions.library.classify import classify_nuclei
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.pipelines.stitch_segment import pipeline as stitch_segment

WELLS = ("A01", "A02", "B01")


def _run(pipeline, plate: Path, out: Path, tmp: Path) -> pd.DataFrame:
    source = tmp / f"{out.name}.py"
    source.write_text(pipeline_to_source(pipeline))
    assert main(["run", str(source), str(plate), "--out", str(out), "--workers", "2",
                 "--no-progress"]) == 0
    return pd.read_parquet(out / "tables" / "nuclei.parquet")


def train(nuclei: pd.DataFrame, large: float) -> tuple[ObjectClassifier, pd.DataFrame]:
    """What a person does in the Results panel: click clear cases of both classes (here:
    nuclei well away from the size boundary), train."""
    clear = nuclei[(nuclei["area"] - large).abs() > 0.15 * large].iloc[::2]
    classes = np.where(clear["area"] > large, "large", "small")
    return ObjectClassifier.from_rows(clear, classes), clear


@pytest.mark.slow
def test_a_trained_classifier_runs_as_a_step_and_counts_classes_per_well(tmp_path) -> None:
    plate = write_sample_plate(tmp_path / "plate", "imagexpress",
                               SampleSpec(wells=WELLS, tile=(128, 128)))
    measured = _run(stitch_segment, plate, tmp_path / "measured", tmp_path)
    large = float(measured["area"].median())  # µm²: the sample's radii are 5-9 px
    classifier, clicked = train(measured, large)
    assert 20 <= len(clicked) < len(measured) // 2
    path = classifier.save(tmp_path / "size.json")

    steps = [*stitch_segment.steps, Step((classify_nuclei, {"classifier": str(path)}),
                                         name="classes", variable_components=("channel",))]
    out = tmp_path / "classified"
    nuclei = _run(Pipeline(steps, name="classify"), plate, out, tmp_path)
    per_object = pd.read_parquet(out / "tables" / "nuclei_classes.parquet")
    counts = pd.read_parquet(out / "tables" / "nuclei_class_counts.parquet")

    # Every nucleus has one class, keyed like the nuclei table; the classes are the ones
    # the same classifier gives the measured (micrometre) table: units agree.
    assert per_object.columns.tolist() == ["plate", "well", "field", "label_image", "label",
                                           "class"]
    assert (per_object["label_image"].str.endswith("/labels/nuclei_labels")).all()
    keys = ["well", "label"]
    merged = nuclei.merge(per_object[[*keys, "class"]], on=keys, validate="one_to_one")
    assert len(merged) == len(nuclei) == len(measured)
    expected = ObjectClassifier.load(path).predict(merged)
    assert (merged["class"].to_numpy() == expected).all()
    # Per well: the counts are the objects of each class, and size decides the class
    # (at most a few nuclei near the boundary differ from the area rule).
    assert sorted(counts["well"]) == sorted(WELLS)
    for well, rows in merged.groupby("well"):
        row = counts[counts["well"] == well].iloc[0]
        assert row["Count_large"] == (rows["class"] == "large").sum()
        assert row["Count_small"] == (rows["class"] == "small").sum()
        by_size = (rows["area"] > large).sum()
        assert abs(row["Count_large"] - by_size) <= max(2, 0.1 * len(rows)), well
