"""Parameters that would fail every well after the earlier steps ran are refused at compile:
contradicting diameters, a cell stain the plate does not have, texture scales wider than any
object (all-NaN columns, a run reported ok). Each names the step and the parameter."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from napari_hcs.engine.compiler import CompileError, compile_pipeline
from napari_hcs.engine.plate.layout_only import LayoutOnlyReader
from napari_hcs.engine.plate.model import PlateLayout
from napari_hcs.pipelines.profile_cells import pipeline as profile_cells


def _reader() -> LayoutOnlyReader:
    return LayoutOnlyReader(PlateLayout(
        format="memory", root=Path("/plates/fake"), wells=("B07", "C02"), sites=(1, 2),
        channels=("1", "2"), z=(1,), timepoints=(1,), shape=(256, 256), dtype="uint16",
        channel_names={"1": "DAPI", "2": "Actin"},
        site_positions={1: (0.0, 0.0), 2: (0.0, 230.0)}, pixel_size_um=0.65))


def _with(step: str, **kwargs):
    """profile_cells with `kwargs` added to the step named `step`."""
    pipeline = copy.deepcopy(profile_cells)
    for s in pipeline.steps:
        if s.name == step:
            func = s.func
            if isinstance(func, dict):
                s.func = {k: (f, {**a, **kwargs}) for k, (f, a) in func.items()}
            else:
                s.func = (func[0], {**func[1], **kwargs})
    return pipeline


def _problems(pipeline) -> list[str]:
    with pytest.raises(CompileError) as info:
        compile_pipeline(pipeline, _reader())
    return [str(p) for p in info.value.problems]


def test_the_shipped_pipeline_compiles_with_named_and_numbered_channels():
    compile_pipeline(profile_cells, _reader())
    compile_pipeline(_with("cells", channel="Actin"), _reader())


def test_a_maximum_diameter_below_the_minimum_is_refused():
    [problem] = _problems(_with("nuclei", min_diameter_um=50.0, max_diameter_um=10.0))
    assert problem.startswith("step 5 'nuclei', parameter 'max_diameter_um': segment_nuclei:")
    assert "0 means no maximum" in problem


def test_a_cell_stain_the_plate_lacks_is_refused():
    [problem] = _problems(_with("cells", channel="Tubulin"))
    assert problem == ("step 6 'cells', parameter 'channel': identify_cells: 'channel' is "
                       "'Tubulin', which is not a channel of this plate (channels: DAPI, Actin, "
                       "or their positions 1..2)")
    assert len(_problems(_with("cells", channel="3"))) == 1


@pytest.mark.parametrize(("parameter", "value"), [
    ("texture_scales", [100000]), ("texture_scales", [3, 0]), ("granularity_spectrum", 5000),
    ("radial_bins", 1000), ("zernike_degree", 200)])
def test_profile_sizes_that_measure_nothing_are_refused(parameter, value):
    pytest.importorskip("cp_measure")
    [problem] = _problems(_with("features", **{parameter: value}))
    assert problem.startswith(f"step 7 'features', parameter '{parameter}': measure_profiles: "
                              f"'{parameter}' must be")
