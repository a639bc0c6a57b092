"""The Pipeline dock edits the session's engine Pipeline."""

from __future__ import annotations

from napari_hcs.engine.functions.library.filters import gaussian_blur, median_filter
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.napari.docks.pipeline_dock import PipelineDock
from napari_hcs.napari.docks.step_words import NO_SPLIT
from napari_hcs.napari.session import session_for


def _dock(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    dock = PipelineDock(viewer)
    qtbot.addWidget(dock)
    return viewer, dock


def test_search_add_reorder_remove(make_napari_viewer, qtbot):
    viewer, dock = _dock(make_napari_viewer, qtbot)
    dock.search.setText("median")
    names = [dock.functions.item(i).data(256) for i in range(dock.functions.count())]
    assert "median_filter" in names and "gaussian_blur" not in names
    assert "median" in dock.functions.item(0).toolTip().lower()
    # Other tests register functions too (the registry is per process): pick ours by name.
    dock.functions.setCurrentRow(names.index("median_filter"))
    dock.add_step()
    dock.add_step("gaussian_blur")
    pipeline = session_for(viewer).pipeline
    assert pipeline.steps == [Step(median_filter), Step(gaussian_blur)]
    dock.move_step(-1)
    assert [s.func for s in pipeline.steps] == [gaussian_blur, median_filter]
    assert dock.steps.currentRow() == 0
    dock.remove_step()
    assert [s.func for s in pipeline.steps] == [median_filter]


def test_parameter_form_writes_kwargs_and_chains(make_napari_viewer, qtbot):
    viewer, dock = _dock(make_napari_viewer, qtbot)
    dock.add_step("gaussian_blur")
    assert dock.form is not None and dock.form["sigma"].value == 2.0
    dock.form["sigma"].value = 3.5
    pipeline = session_for(viewer).pipeline
    assert pipeline.steps[0].func == (gaussian_blur, {"sigma": 3.5})
    dock.chain_function("median_filter")
    assert pipeline.steps[0].func == [(gaussian_blur, {"sigma": 3.5}), median_filter]
    assert dock.chain.count() == 2 and dock.steps.item(0).text() == (
        "1. gaussian_blur + median_filter")


def test_per_channel_dict_pattern(make_napari_viewer, qtbot, tiff_plate):
    viewer, dock = _dock(make_napari_viewer, qtbot)
    session_for(viewer).set_plate(tiff_plate)
    dock.add_step("gaussian_blur")
    dock.group_by.setCurrentText("channel")
    step = session_for(viewer).pipeline.steps[0]
    assert step.group_by == "channel"
    assert step.func == {"1": gaussian_blur, "2": gaussian_blur}
    dock.group.setCurrentText("2")
    dock.chain.setCurrentRow(0)
    dock.form["sigma"].value = 1.0
    assert step.func == {"1": gaussian_blur, "2": (gaussian_blur, {"sigma": 1.0})}
    dock.group_by.setCurrentText(NO_SPLIT)
    assert step.group_by is None and step.func == gaussian_blur


def test_steps_with_compile_problems_are_marked(make_napari_viewer, qtbot):
    from napari_hcs.engine.compiler import Problem

    viewer, dock = _dock(make_napari_viewer, qtbot)
    session_for(viewer).set_pipeline(Pipeline([Step(gaussian_blur), Step(median_filter)]))
    session_for(viewer).set_problems(
        [Problem(1, "median_filter", "size", "size must be odd, got 4")])
    assert "size must be odd" in dock.steps.item(1).toolTip()
    assert dock.steps.item(0).toolTip() == ""


def test_shipped_pipelines_are_templates(make_napari_viewer, qtbot):
    from napari_hcs import pipelines

    viewer, dock = _dock(make_napari_viewer, qtbot)
    names = [dock.files.templates.itemText(i) for i in range(dock.files.templates.count())]
    assert names == list(pipelines.names()) and names[0] == "stitch_segment"
    dock.files.use_template("stitch_segment")
    pipeline = session_for(viewer).pipeline
    assert pipeline.name == "stitch_segment" and dock.steps.count() == len(pipeline.steps) > 3
    steps = len(pipeline.steps)
    pipeline.steps.pop()  # editing the copy leaves the shipped file alone
    assert len(dock.files.use_template("stitch_segment").steps) == steps


def test_ranges_bound_the_parameter_form(make_napari_viewer, qtbot):
    viewer, dock = _dock(make_napari_viewer, qtbot)
    dock.add_step("subtract_background")
    assert dock.form["radius"].min == 1  # radius: Annotated[int, Ge(1)]
    dock.add_step("normalize_percentile")
    assert (dock.form["low"].min, dock.form["low"].max) == (0, 100)


def test_the_library_list_is_built_off_the_gui_thread(make_napari_viewer, qtbot, monkeypatch):
    import threading

    from napari_hcs.engine.functions import external, registry
    from napari_hcs.engine.functions.external import index

    built = index.get_index()  # this process's index: what the stand-in build returns
    gate, builders = threading.Event(), []

    def build():  # as on a first start after an install: no index anywhere, build it
        builders.append(threading.current_thread())
        assert gate.wait(60)
        return built

    # A process that has listed no library function yet, with no cache file.
    monkeypatch.setattr(registry, "_REGISTRY", {name: spec for name, spec in
                                                registry._REGISTRY.items()
                                                if external.entry_of(spec) is None})
    monkeypatch.setattr(external, "_SPECS", {})
    monkeypatch.setattr(index, "_INDEX", None)
    monkeypatch.setattr(index, "load_index", lambda path: None)
    monkeypatch.setattr(index, "write_index", lambda index, path: False)
    monkeypatch.setattr(index, "build_index", build)

    _, dock = _dock(make_napari_viewer, qtbot)  # returns while the build waits
    assert not dock.library_loaded and "listing" in dock.search.placeholderText()
    dock.search.setText("gaussian")
    names = [dock.functions.item(i).data(256) for i in range(dock.functions.count())]
    assert "gaussian_blur" in names and "skimage.filters.gaussian" not in names

    gate.set()
    qtbot.waitUntil(lambda: dock.library_loaded, timeout=60_000)
    assert builders and builders[0] is not threading.main_thread()
    names = [dock.functions.item(i).data(256) for i in range(dock.functions.count())]
    assert {"gaussian_blur", "skimage.filters.gaussian"} <= set(names)
    assert dock.search.text() == "gaussian" and "listing" not in dock.search.placeholderText()


def test_a_template_is_in_use_only_once_use_is_pressed(make_napari_viewer, qtbot):
    """The template list is a choice, not the pipeline: it starts blank, choosing one changes
    nothing in use until Use, and the line under it names the pipeline Compile and Run use."""
    viewer, dock = _dock(make_napari_viewer, qtbot)
    files, session = dock.files, session_for(viewer)
    assert files.templates.currentText() == "" and not files.use.isEnabled()
    assert "no steps yet" in files.in_use.text() and "stitch_segment (" not in files.in_use.text()

    files.templates.setCurrentText("profile_cells")
    assert files.use.isEnabled() and session.pipeline.steps == []
    assert "profile_cells" not in files.in_use.text() and dock.steps.count() == 0

    files.use.click()
    steps = len(session.pipeline.steps)
    assert session.pipeline.name == "profile_cells" and dock.steps.count() == steps > 0
    assert files.in_use.text() == f"in use: profile_cells ({steps} steps)"
    assert files.templates.currentText() == "" and not files.use.isEnabled()

    files.templates.setCurrentText("stitch_segment")  # chosen, not used: profile_cells stays
    assert files.in_use.text() == f"in use: profile_cells ({steps} steps)"
    dock.add_step("gaussian_blur")
    assert files.in_use.text() == f"in use: profile_cells ({steps + 1} steps)"
