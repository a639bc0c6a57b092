"""The object classifier: trained from rows, saved as JSON (never pickled), reloaded to the
same predictions, refused when the file is bad, checked by the compiler."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pandas as pd
import pytest

from napari_hcs.engine.classify import ClassifierError, ObjectClassifier, class_counts
from napari_hcs.engine.classify.model import MAX_BYTES
from napari_hcs.engine.compiler import CompileError, check_call, compile_pipeline
from napari_hcs.engine.functions.library.classify import classify_nuclei, classify_table
from napari_hcs.engine.functions.library.measure import measure_nuclei
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate import open_plate
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.engine.roots import UNCONFINED, AllowedRoots


def _objects(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"label": np.arange(1, n + 1), "area": rng.normal(100, 30, n),
                          "mean_DAPI": rng.normal(5, 1, n), "centroid_y": rng.random(n) * 500,
                          "eccentricity": rng.random(n)})
    table.loc[3, "eccentricity"] = np.nan  # undefined features are allowed
    return table, np.where(table["area"] > 100, "large", "small")


def test_features_exclude_keys_and_positions() -> None:
    table, classes = _objects()
    classifier = ObjectClassifier.from_rows(table, classes)
    assert classifier.features == ("area", "mean_DAPI", "eccentricity")
    assert classifier.classes == ("small", "large") or classifier.classes == ("large", "small")


def test_saved_classifier_is_json_and_predicts_the_same_after_loading(tmp_path) -> None:
    table, classes = _objects()
    train = table.iloc[::3]
    classifier = ObjectClassifier.from_rows(train, classes[::3])
    predicted = classifier.predict(table)
    assert (predicted == classes).mean() > 0.9  # area decides, and the forest finds it
    path = classifier.save(tmp_path / "classes.json")
    doc = json.loads(path.read_text())  # plain JSON: the training rows, not a forest
    assert doc["features"] == list(classifier.features) and len(doc["values"]) == len(train)
    assert doc["forest"]["seed"] == 0 and doc["values"][1][2] is None  # NaN as null
    started = time.perf_counter()
    loaded = ObjectClassifier.load(path)
    assert (loaded.predict(table) == predicted).all()  # retrained to the same forest
    assert time.perf_counter() - started < 30  # generous: 2 shared cores under load
    assert class_counts(predicted, loaded.classes) == {
        k: int((predicted == k).sum()) for k in loaded.classes}


def test_bad_files_are_refused_with_one_line(tmp_path) -> None:
    table, classes = _objects(30)
    good = ObjectClassifier.from_rows(table, classes).to_document()
    cases = {
        "missing.json": None,
        "notjson.json": b"{not json",
        "other.json": json.dumps({"format": "something else"}).encode(),
        "rows.json": json.dumps({**good, "targets": good["targets"][:-1]}).encode(),
        "class.json": json.dumps({**good, "targets": [0] * 29 + [7]}).encode(),
        "nan.json": json.dumps(good).replace("0.", "NaN", 1).encode(),
    }
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
        with pytest.raises(ClassifierError) as info:
            ObjectClassifier.load(tmp_path / name)
        assert "\n" not in str(info.value), name
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(ClassifierError, match="not a regular file"):
        ObjectClassifier.load(tmp_path / "folder.json")
    os.symlink(tmp_path / "notjson.json", tmp_path / "link.json")
    with pytest.raises(ClassifierError, match="not a regular file"):
        ObjectClassifier.load(tmp_path / "link.json")
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: refused from its size, never read
    with pytest.raises(ClassifierError, match="limit"):
        ObjectClassifier.load(big)
    with pytest.raises(ClassifierError, match="two classes"):
        ObjectClassifier.from_rows(table, ["a"] * len(table))


def test_missing_features_name_the_function_and_table(tmp_path) -> None:
    table, classes = _objects(60)
    classifier = ObjectClassifier.from_rows(table, classes)
    with pytest.raises(ValueError, match=r"classify_nuclei: nuclei table: .*mean_DAPI"):
        classify_table(table.drop(columns="mean_DAPI"), classifier, "classify_nuclei",
                       "nuclei", None)
    # Lengths are converted as the run's tables are: a classifier trained on µm² areas
    # classifies a table measured in pixels the same way.
    physical = table.assign(area=table["area"] * 0.25)
    in_um = ObjectClassifier.from_rows(physical, classes)
    measured = table.copy()
    measured.attrs["units"] = {"area": "pixel**2"}
    per_object, per_well = classify_table(measured, in_um, "classify_nuclei", "nuclei", 0.5)
    assert (per_object["class"].to_numpy() == in_um.predict(physical)).all()
    assert per_well.columns.tolist() == [f"Count_{k}" for k in in_um.classes]


@pytest.fixture(scope="module")
def plate(tmp_path_factory):
    spec = SampleSpec(wells=("A01",), grid=(1, 1), tile=(64, 64), nuclei_per_tile=3.0)
    return write_sample_plate(tmp_path_factory.mktemp("cls") / "plate", "imagexpress", spec)


def test_compile_checks_the_classifier_file(plate, tmp_path) -> None:
    def compile_with(path: str, roots: AllowedRoots = UNCONFINED) -> str:
        pipeline = Pipeline([
            Step({"1": segment_nuclei}, name="segment", group_by="channel",
                 variable_components=("site",)),
            Step(measure_nuclei, name="measure", variable_components=("channel",)),
            Step((classify_nuclei, {"classifier": path}), name="classes",
                 variable_components=("channel",))])
        try:
            compile_pipeline(pipeline, open_plate(plate, roots=roots))
        except CompileError as error:
            return "\n".join(str(p) for p in error.problems)
        return ""

    message = compile_with(str(tmp_path / "none.json"))
    assert "step 3 'classes', parameter 'classifier'" in message and "does not exist" in message
    (tmp_path / "bad.json").write_text("[]")
    assert "not a napari-hcs classifier file" in compile_with(str(tmp_path / "bad.json"))
    table, classes = _objects(30)
    # The sample plate's channels are "1" and "2": measure_nuclei makes mean_1 and mean_2.
    measured = table.rename(columns={"mean_DAPI": "mean_1"})
    good = ObjectClassifier.from_rows(measured, classes).save(tmp_path / "good.json")
    assert compile_with(str(good)) == ""
    # A run driven from the network (the server's roots) reads no classifier elsewhere.
    confined = AllowedRoots.of([plate.parent])
    assert "outside the allowed roots" in compile_with(str(good), confined)
    inside = ObjectClassifier.from_rows(measured, classes).save(plate.parent / "c.json")
    assert compile_with(str(inside), confined) == ""
    # The features the classifier needs against the columns measure_nuclei will make
    # (mean_<channel> of this plate's channels): a classifier of another pipeline is refused.
    other = ObjectClassifier.from_rows(table.rename(columns={"area": "AreaShape_Area"}),
                                       classes).save(tmp_path / "other.json")
    message = compile_with(str(other))
    assert "AreaShape_Area, mean_DAPI are not in the 'nuclei' table" in message
    assert "made by step 2 'measure'" in message
    # A pipeline document (what arrives from the wire) is checked without touching files.
    spec = classify_nuclei.__hcs_spec__
    assert check_call(spec, {"classifier": "/etc/passwd"}) == []
