"""The pipeline file: what it looks like, saving and loading, and its errors."""

from __future__ import annotations

import os

import pytest

from napari_hcs.engine.codegen import (
    CodegenError,
    PipelineFileError,
    load_pipeline,
    pipeline_from_source,
    pipeline_to_source,
    save_pipeline,
)
from napari_hcs.engine.functions.registry import register
from napari_hcs.engine.pipeline import Pipeline, PipelineConfig, Step, StepConfig


@register(category="test")
def cgf_denoise(stack, strength: float = 1.0):
    """Denoise."""
    return stack


@register(category="test", name="cgf_segment_nuclei")
def cgf_segment(stack, min_area: int = 10):
    """Segment (registered under another name)."""
    return stack


def example() -> Pipeline:
    return Pipeline(
        [
            Step((cgf_denoise, {"strength": 2.0}), name="denoise"),
            Step({"1": cgf_segment}, group_by="channel", config=StepConfig(device="cpu")),
        ],
        name="nuclei",
        config=PipelineConfig(workers=2),
    )


def test_source_is_readable_and_minimal():
    source = pipeline_to_source(example())
    module = __name__
    assert f"from {module} import cgf_denoise, cgf_segment" in source
    assert "from napari_hcs.engine.pipeline import Pipeline, PipelineConfig, Step, StepConfig" in (
        source
    )
    assert 'Step((cgf_denoise, {"strength": 2.0}), name="denoise"),' in source
    assert "config=PipelineConfig(workers=2)," in source  # only the set fields
    assert "StepConfig(device=\"cpu\")" in source
    assert "variable_components" not in source  # the default is left out
    imports = [line for line in source.splitlines() if line.startswith(("import", "from"))]
    assert all(("napari_hcs" in line) or (module in line) for line in imports)
    compile(source, "<generated>", "exec")


@register(category="test", name="cgf_pipeline_fn")
def pipeline(stack):
    """A function whose name clashes with the file's own `pipeline`."""
    return stack


def test_name_clashes_get_aliases():
    source = pipeline_to_source(Pipeline([Step(pipeline)]))
    assert "import pipeline as pipeline_2" in source
    assert "Step(pipeline_2)" in source
    assert pipeline_from_source(source).steps[0].func is pipeline


def test_library_functions_are_written_by_their_library_path():
    from napari_hcs.engine.functions.external import ndimage, skimage

    pipeline = Pipeline([Step([(ndimage.median_filter, {"size": 3}),
                               (skimage.filters.gaussian, {"sigma": 2.0})])])
    source = pipeline_to_source(pipeline)
    assert "from napari_hcs.engine.functions.external import ndimage, skimage" in source
    assert '(ndimage.median_filter, {"size": 3})' in source
    assert '(skimage.filters.gaussian, {"sigma": 2.0})' in source
    assert pipeline_from_source(source) == pipeline


def test_pipeline_files_of_0_1_still_load():
    # napari-hcs 0.1 registered four scikit-image functions by hand, in the registry module
    source = (
        "from napari_hcs.engine.functions.registry import sobel\n"
        "from napari_hcs.engine.pipeline import Pipeline, Step\n"
        "pipeline = Pipeline(name='old', steps=[Step(sobel)])\n"
    )
    from napari_hcs.engine.functions.external import skimage

    assert pipeline_from_source(source).steps[0].func is skimage.filters.sobel


def test_save_and_load(tmp_path):
    path = tmp_path / "sub" / "nuclei.py"
    assert save_pipeline(example(), path) == path
    assert load_pipeline(path) == example()
    save_pipeline(Pipeline([Step(cgf_denoise)], name="second"), path)  # overwrite in place
    assert load_pipeline(path).name == "second"
    assert os.listdir(path.parent) == ["nuclei.py"]  # no temp files left behind


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "p.py"
    save_pipeline(example(), path)
    before = path.read_text()
    with pytest.raises(CodegenError):
        save_pipeline(Pipeline([Step((cgf_denoise, {"strength": object()}))]), path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["p.py"]


def test_file_without_pipeline(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("x = 1\n")
    with pytest.raises(PipelineFileError, match=r"empty\.py defines no module-level `pipeline`"):
        load_pipeline(path)


def test_pipeline_of_wrong_type(tmp_path):
    path = tmp_path / "wrong.py"
    path.write_text("pipeline = [1, 2]\n")
    with pytest.raises(PipelineFileError, match=r"wrong\.py: `pipeline` is a list"):
        load_pipeline(path)


def test_syntax_and_runtime_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("pipeline = Pipeline([\n")
    with pytest.raises(PipelineFileError, match=r"bad\.py, line 1"):
        load_pipeline(bad)
    broken = tmp_path / "broken.py"
    broken.write_text("from napari_hcs.engine.pipeline import Pipeline\npipeline = Pipline([])\n")
    with pytest.raises(PipelineFileError, match=r"broken\.py: NameError"):
        load_pipeline(broken)
    with pytest.raises(PipelineFileError, match=r"missing\.py: cannot read"):
        load_pipeline(tmp_path / "missing.py")


def test_unwritable_pipelines_are_reported():
    def local(stack):
        return stack

    register(local, name="cgf_local")
    with pytest.raises(CodegenError, match=r"step 1 .*defined inside a function"):
        pipeline_to_source(Pipeline([Step(local)]))
    with pytest.raises(CodegenError, match="not a registered function"):
        pipeline_to_source(Pipeline([Step(print)]))
    with pytest.raises(CodegenError, match=r"step 1 \(cgf_denoise\) func keywords\['strength'\]"):
        pipeline_to_source(Pipeline([Step((cgf_denoise, {"strength": {1.5}}))]))


def test_numpy_scalars_become_python_literals():
    import numpy as np

    pipeline = Pipeline([Step((cgf_denoise, {"strength": np.float32(0.5), "n": np.int64(3)}))])
    source = pipeline_to_source(pipeline)
    assert '{"strength": 0.5, "n": 3}' in source
