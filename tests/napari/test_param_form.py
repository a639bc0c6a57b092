"""Parameter forms: one for every registered function, built offscreen in a loop."""

from __future__ import annotations

import inspect
import math
import time
import typing

import pytest
from magicgui.widgets import ComboBox, FloatSpinBox, LineEdit, SpinBox

from napari_hcs.engine.compiler.validate import check_call
from napari_hcs.engine.functions.registry import get_function, list_functions
from napari_hcs.napari.docks.param_form import ParameterForm
from napari_hcs.napari.docks.pipeline_dock import PipelineDock
from napari_hcs.napari.session import session_for


def test_every_registered_function_gets_a_working_form(qtbot):
    specs = list_functions()
    assert len(specs) >= 300 or not any(s.name.startswith("cle.") for s in specs)
    start = time.perf_counter()
    for spec in specs:
        form = ParameterForm(spec, {}, lambda values: None)
        assert [w.name for w in form] == [p.name for p in spec.parameters], spec.name
        values = form.values()
        # what the form gives back is what the function's defaults are, and the compiler
        # accepts it (required parameters are left out: the compiler asks for them)
        for param in spec.parameters:
            if param.required:
                assert param.name not in values, (spec.name, param.name)
            elif param.default == param.default:  # not NaN
                assert values[param.name] == param.default, (spec.name, param.name)
            else:
                assert math.isnan(values[param.name]), (spec.name, param.name)
        assert [m for m in check_call(spec, values) if "expects" in m[1]] == [], spec.name
        form.native.deleteLater()
    assert time.perf_counter() - start < 60  # a loop of forms, not 300 dock widgets


def test_widgets_follow_annotation_and_value(qtbot):
    spec = get_function("ndimage.gaussian_filter")
    form = ParameterForm(spec, {"sigma": 2.0, "truncate": 1e-4}, lambda values: None)
    assert isinstance(form["mode"], ComboBox)
    assert "grid-wrap" in form["mode"].choices and form["mode"].value == "reflect"
    assert isinstance(form["order"], SpinBox)  # int | tuple[int, ...], value 0: the int member
    assert isinstance(form["sigma"], FloatSpinBox) and form["sigma"].value == 2.0
    # a spin box would round 1e-4 to 0.0; None has no spin box: edited as literals
    assert isinstance(form["truncate"], LineEdit) and form.values()["truncate"] == 1e-4
    assert isinstance(form["radius"], LineEdit) and form.values()["radius"] is None
    assert "Radius of the Gaussian kernel" in form["radius"].tooltip
    required = ParameterForm(spec, {}, lambda values: None)
    assert "required" in required["sigma"].tooltip and "sigma" not in required.values()
    footprint = ParameterForm(get_function("skimage.filters.rank.mean"),
                              {"footprint": [[1, 1], [1, 1]]}, lambda values: None)
    assert footprint.values()["footprint"] == [[1, 1], [1, 1]]


def test_edits_reach_the_callback_as_values_the_compiler_checks(qtbot):
    spec = get_function("skimage.filters.threshold_local")
    seen = []
    form = ParameterForm(spec, {"block_size": 7}, seen.append)
    form["method"].value = "mean"
    assert seen[-1]["method"] == "mean" and seen[-1]["block_size"] == 7
    form["offset"].value = -0.25  # negative values are allowed
    assert seen[-1]["offset"] == -0.25
    assert check_call(spec, seen[-1]) == []
    mode = typing.get_args(spec.parameter("mode").annotation)
    assert "reflect" in mode and inspect.Parameter.empty not in seen[-1].values()
    # a value the spin box cannot hold (one block size per axis) is edited as a literal
    tuples = ParameterForm(spec, {"block_size": (7, 9)}, seen.append)
    tuples["block_size"].value = "(5, 11)"
    assert seen[-1]["block_size"] == (5, 11) and check_call(spec, seen[-1]) == []


@pytest.mark.slow
def test_dock_searches_adds_and_edits_library_functions(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    dock = PipelineDock(viewer)
    qtbot.addWidget(dock)
    dock.search.setText("gaussian filter ndimage")
    names = [dock.functions.item(i).data(256) for i in range(dock.functions.count())]
    assert "ndimage.gaussian_filter" in names
    dock.add_step("ndimage.gaussian_filter")
    assert dock.form is not None and "sigma" not in dock.form.values()
    dock.form["sigma"].value = "1.5"
    step = session_for(viewer).pipeline.steps[0]
    assert step.func == (get_function("ndimage.gaussian_filter").func, {"sigma": 1.5})


def test_a_value_out_of_range_is_refused_next_to_its_field(qtbot):
    """sigma > 0: a spin box allows 0, the form says why under the field and passes it on not."""
    spec = get_function("gaussian_blur")
    seen = []
    form = ParameterForm(spec, {"sigma": 2.0}, seen.append)
    form["sigma"].value = 0.0
    assert seen == [] and "sigma" in form.problems()
    why = form.why["sigma"]
    assert not why.native.isHidden() and "sigma" in why.value and ">" in why.value, why.value
    names = [w.name for w in form]
    assert names.index("sigma_why") == names.index("sigma") + 1
    form["sigma"].value = 1.5
    assert seen[-1]["sigma"] == 1.5 and form.why["sigma"].native.isHidden()
