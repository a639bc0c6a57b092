"""The library registers every function, each with a torch twin of the same signature (except
the profiling functions whose reference is CPU code, see CPU_ONLY)."""

from __future__ import annotations

import inspect

from napari_hcs.engine.functions.registry import get_function, list_functions

#: Measurements defined by CellProfiler's CPU code (cp-measure, centrosome) or table
#: arithmetic: a GPU rewrite would no longer be that reference, and they are not where time
#: goes on a GPU run (docs/functions.md, "Phenotypic profiles"). Classifying objects is a
#: scikit-learn random forest over a table (docs/functions.md, "Object classes").
CPU_ONLY = {"measure_profiles", "aggregate_profiles", "measure_image_quality",
            "classify_nuclei", "classify_cells"}


def test_every_library_function_has_a_torch_twin() -> None:
    specs = {s.name: s for s in list_functions()}
    numpy_names = [n for n, s in specs.items()
                   if s.qualname.startswith("napari_hcs.engine.functions.library")
                   and s.input_memory == "numpy" and n not in CPU_ONLY]
    assert len(numpy_names) >= 12
    for name in numpy_names:
        twin = specs[f"{name}_torch"]
        assert twin.input_memory == "torch"
        assert [p.name for p in twin.parameters] == [p.name for p in specs[name].parameters]
        assert [p.default for p in twin.parameters] == [p.default for p in specs[name].parameters]
        assert twin.special_inputs == specs[name].special_inputs
        assert dict(twin.special_outputs) == dict(specs[name].special_outputs)


def test_parameters_are_typed_for_generated_forms() -> None:
    for spec in list_functions():
        if not spec.qualname.startswith("napari_hcs.engine.functions.library"):
            continue
        for p in spec.parameters:
            assert p.annotation is not inspect.Parameter.empty, (spec.name, p.name)
            assert not p.required, (spec.name, p.name)


def test_special_io_declarations() -> None:
    assert dict(get_function("compute_positions").special_outputs) == {"positions": "positions"}
    assert get_function("compute_positions").special_inputs == ("stage_positions",)
    assert get_function("assemble_mosaic").special_inputs == ("positions",)
    assert dict(get_function("segment_nuclei").special_outputs) == {
        "nuclei_labels": "labels", "nuclei_rois": "rois"}
    assert dict(get_function("measure_nuclei").special_outputs) == {"nuclei": "table"}
    assert get_function("measure_nuclei").special_inputs == ("nuclei_labels", "channel_names")
    assert get_function("sobel").category == "filters"
