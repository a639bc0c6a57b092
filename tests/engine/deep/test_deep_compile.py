"""The compiler refuses a deep-learning step whose package or model is missing, before any
well runs, naming the step and the parameter; the plate's pixel size reaches the function."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_hcs.engine.compiler import CompileError, compile_pipeline
from napari_hcs.engine.functions import registry
from napari_hcs.engine.functions.deep import cellpose_segmentation as cp
from napari_hcs.engine.functions.deep import stardist_segmentation as sd
from napari_hcs.engine.functions.deep.cellpose_segmentation import segment_cellpose
from napari_hcs.engine.functions.deep.stardist_segmentation import segment_stardist
from napari_hcs.engine.pipeline import Pipeline, Step, StepConfig
from napari_hcs.engine.plate.layout_only import LayoutOnlyReader
from napari_hcs.engine.plate.model import PlateLayout
from napari_hcs.engine.roots import AllowedRoots


def make_reader(pixel_size_um: float | None = None) -> LayoutOnlyReader:
    return LayoutOnlyReader(PlateLayout(
        format="memory", root=Path("/plates/fake"), wells=("A01", "B02"), sites=(1, 2),
        channels=("1",), z=(1,), timepoints=(1,), shape=(64, 64), dtype="uint16",
        channel_names={"1": "DAPI"}, site_positions={1: (0.0, 0.0), 2: (0.0, 58.0)},
        pixel_size_um=pixel_size_um))


def problems(pipeline, plate):
    with pytest.raises(CompileError) as info:
        compile_pipeline(pipeline, plate)
    return info.value.problems


@pytest.fixture
def empty_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(tmp_path / "cellpose"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path


@pytest.mark.parametrize(("func", "module", "extra"), [
    (segment_cellpose, "cellpose", "cellpose"), (segment_stardist, "tensorflow", "stardist")])
def test_a_missing_package_is_one_compile_problem(func, module, extra, empty_caches, monkeypatch):
    real = registry.module_installed
    monkeypatch.setattr(registry, "module_installed", lambda m: m != module and real(m))
    found = problems(Pipeline([Step(func, name="deep", group_by="channel",
                                    variable_components=["site"])]), make_reader())
    assert len(found) == 1
    p = found[0]
    assert (p.step_index, p.step_name, p.parameter) == (0, "deep", "func")
    assert f'pip install "napari-hcs[{extra}]"' in p.message and module in p.message


@pytest.mark.parametrize(("func", "module"), [(segment_cellpose, "cellpose"),
                                              (segment_stardist, "stardist")])
def test_a_missing_model_names_the_step_the_parameter_and_the_folder(func, module,
                                                                     empty_caches, monkeypatch):
    monkeypatch.setattr(registry, "module_installed", lambda m: True)
    step = Step((func, {"model": "my_model"}), name="nuclei")
    found = problems(Pipeline([step]), make_reader())
    assert [(p.step_name, p.parameter) for p in found] == [("nuclei", "model")]
    assert "'my_model' is not in the local cache" in found[0].message
    assert str(empty_caches) in found[0].message
    assert "step 1 'nuclei', parameter 'model'" in str(found[0])


def test_lengths_in_um_need_a_calibrated_plate(empty_caches, monkeypatch):
    monkeypatch.setattr(registry, "module_installed", lambda m: True)
    model = empty_caches / "model.pt"
    model.write_bytes(b"w")
    step = Step((segment_cellpose, {"model": str(model), "diameter_um": 8.0}), name="cp")
    found = problems(Pipeline([step]), make_reader())  # the test plate has no pixel size
    assert [p.parameter for p in found] == ["diameter_um"]
    assert "no pixel size" in found[0].message


def test_the_plate_pixel_size_is_a_plate_provided_input(empty_caches, monkeypatch):
    monkeypatch.setattr(registry, "module_installed", lambda m: True)
    model = empty_caches / "model.pt"
    model.write_bytes(b"w")
    reader = make_reader(pixel_size_um=0.65)
    step = Step((segment_cellpose, {"model": str(model), "diameter_um": 8.0}), name="cp")
    compiled = compile_pipeline(Pipeline([step]), reader, check_available_devices=False)
    plan = compiled.plans["A01"]
    assert dict(plan.plate_provided)["pixel_size_um"] == 0.65


def test_a_confined_run_reads_models_only_under_its_roots(empty_caches, monkeypatch):
    """A run driven from the network (roots set) refuses a model path outside them, before
    looking at it, and a model folder with a link leading out."""
    monkeypatch.setattr(registry, "module_installed", lambda m: True)
    inside = empty_caches / "root"
    outside = empty_caches / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    (outside / "model.pt").write_bytes(b"w")
    (inside / "model.pt").write_bytes(b"w")
    roots = AllowedRoots.of([inside])
    assert cp.compile_check({"model": str(inside / "model.pt")}, 0.65, roots) == []
    [(parameter, message)] = cp.compile_check({"model": str(outside / "nothing")}, 0.65, roots)
    assert parameter == "model" and "outside the allowed roots" in message
    folder = inside / "stardist_model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (outside / "weights_best.h5").write_bytes(b"w")
    (folder / "weights_best.h5").symlink_to(outside / "weights_best.h5")
    [(parameter, message)] = sd.compile_check({"model": str(folder)}, 0.65, roots)
    assert parameter == "model" and "outside the allowed roots" in message


def test_cellpose_is_placed_on_the_steps_gpu_and_stardist_stays_numpy(empty_caches, monkeypatch):
    monkeypatch.setattr(registry, "module_installed", lambda m: True)
    (empty_caches / "model.pt").write_bytes(b"w")
    folder = empty_caches / "sd"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "weights_best.h5").write_bytes(b"w")
    steps = [Step((segment_cellpose, {"model": str(empty_caches / "model.pt")}), name="cp",
                  config=StepConfig(device="cuda")),
             Step((segment_stardist, {"model": str(folder)}), name="sd")]
    compiled = compile_pipeline(Pipeline(steps), make_reader(0.65), check_available_devices=False)
    cp_step, sd_step = compiled.plans["A01"].steps
    [(_, [cp_call])] = cp_step.calls
    [(_, [sd_call])] = sd_step.calls
    assert cp_step.device == "cuda:0" and cp_call.input_memory == "torch"
    assert sd_call.input_memory == "numpy"
    assert cp_step.special_inputs == (("pixel_size_um", -1),)
