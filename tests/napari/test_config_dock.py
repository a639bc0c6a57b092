"""The Config dock: inherited values as placeholders, overrides highlighted."""

from __future__ import annotations

from napari_hcs.engine.functions.library.filters import gaussian_blur
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.napari.docks.config_dock import OVERRIDE_STYLE, ConfigDock, parse_value
from napari_hcs.napari.session import session_for


def test_inheritance_shows_value_and_source(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    session = session_for(viewer)
    session.set_pipeline(Pipeline([Step(gaussian_blur)]))
    dock = ConfigDock(viewer)
    qtbot.addWidget(dock)
    assert dock.fields["step"]["device"].placeholderText() == "cpu (from default)"

    dock.fields["global"]["device"].setText("cuda")
    dock.fields["global"]["device"].editingFinished.emit()
    assert session.global_config.device == "cuda"
    assert dock.fields["global"]["device"].styleSheet() == OVERRIDE_STYLE
    assert dock.fields["pipeline"]["device"].placeholderText() == "cuda (from global)"
    assert dock.fields["step"]["device"].placeholderText() == "cuda (from global)"

    dock.set_value("pipeline", "workers", 3)
    assert session.pipeline.config.workers == 3
    assert dock.fields["pipeline"]["workers"].text() == "3"
    assert dock.is_override("pipeline", "workers") and not dock.is_override("global", "workers")

    dock.fields["step"]["device"].setText("cpu")
    dock.fields["step"]["device"].editingFinished.emit()
    assert session.pipeline.steps[0].config.device == "cpu"
    dock.set_value("step", "device", None)
    assert session.pipeline.steps[0].config is None
    assert dock.fields["step"]["device"].placeholderText() == "cuda (from global)"


def test_bad_values_are_refused(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    dock = ConfigDock(viewer)
    qtbot.addWidget(dock)
    dock.fields["global"]["workers"].setText("many")
    dock.fields["global"]["workers"].editingFinished.emit()
    assert session_for(viewer).global_config.workers is None
    assert "whole number" in dock.fields["global"]["workers"].toolTip()
    assert parse_value("materialize_intermediates", "yes") is True


def test_values_that_do_not_fit_the_field_are_refused_in_the_compilers_words(
        make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    dock = ConfigDock(viewer)
    qtbot.addWidget(dock)
    edit = dock.fields["global"]["zarr_compression"]
    edit.setText("lz4x")
    edit.editingFinished.emit()
    assert session_for(viewer).global_config.zarr_compression is None
    assert "'zstd'" in edit.toolTip() and "lz4x" in edit.toolTip()
    edit.setText("blosc")
    edit.editingFinished.emit()
    assert session_for(viewer).global_config.zarr_compression == "blosc"
    assert "lz4x" not in edit.toolTip()  # back to the field's description
