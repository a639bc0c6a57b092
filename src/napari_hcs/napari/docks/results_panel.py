"""The Results panel: see the measurements, plot them, select objects, classify them.

Over one labels layer's objects (its `features`: one row per object, from a live run or a
reopened output): a searchable feature list; objects coloured by a feature (colour bar) or a
class (legend); the per-well median of a feature as a heatmap over the wells on the plate view;
a histogram or a scatter plot whose lasso / span / click selects objects on the canvas and rows
in the table, and a table whose row click selects the object and takes the camera to it; a
short chosen set of features on hover; and the Classify section (`classifier_box`).

Slow work (the objects' index and positions, colours of 100,000 objects, medians, training)
runs in worker threads; the GUI thread swaps results in. Usable alone (`napari.yaml`) or as the
Results tab of the HCS dock: `ResultsPanel(viewer, parent=None)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..plate_view.layers import META_KEY
from ..results.features import (
    default_hover,
    feature_names,
    hover_order,
    hover_text,
    well_medians,
)
from ..results.heatmap import heatmap_image, show_heatmap_layer
from ..results.hover import hover_choice, set_hover_choice
from ..results.object_colours import ColourKey, colour_objects, labels_colormap
from ..session import session_for
from .classifier_box import ClassifierBox
from .colour_key import ColourKeyView
from .feature_picker import FeaturePicker
from .feature_plot import FeaturePlot
from .latest_jobs import LatestJobs
from .object_canvas import (
    ObjectLookup,
    centre_on,
    click_callback,
    ids_are_plate_unique,
    label_value,
    layer_geometry,
    object_layers,
    show_marks,
)
from .scrolling import scrolling_tabs
from .table_view import MeasurementTable

if TYPE_CHECKING:
    import napari.viewer


#: A burst of feature updates (a live run sends them every 2 s) is read once, after this.
RELOAD_MS = 500


class ResultsPanel(QWidget):
    def __init__(self, viewer: napari.viewer.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = LatestJobs(lambda kind, exc: self.hovered.setText(
            f"Could not {kind.replace('_', ' ')}: {exc}"))
        self.viewer = viewer
        self.session = session_for(viewer)
        self.layer: Any = None
        self.frame: pd.DataFrame | None = None
        self.lookup: ObjectLookup | None = None
        self.selection = np.zeros(0, np.int64)
        self.axes: list[str | None] = [None, None]
        self._geometry: Any = None  # the layer's plate frame, found with its objects
        self._original_colormap: Any = None

        self.objects = QComboBox()
        self.objects.setToolTip("the labels layer whose objects are explored")
        self.objects.currentTextChanged.connect(self._choose_layer)
        self.picker = FeaturePicker()
        colour = QPushButton("Colour objects")
        colour.setToolTip("colour the objects by the chosen feature (a class: by category)")
        colour.clicked.connect(lambda: self.colour_by(self.picker.current()))
        plain = QPushButton("Plain")
        plain.clicked.connect(self.plain_colours)
        heat = QPushButton("Plate heatmap")
        heat.setToolTip("the median of the chosen feature over each well's objects, over the "
                        "wells on the plate view")
        heat.clicked.connect(lambda: self.show_heatmap(self.picker.current()))
        hover = QPushButton("Hover +/-")
        hover.setToolTip("add the chosen feature to what hovering an object shows (or remove "
                         "it)")
        hover.clicked.connect(lambda: self.toggle_hover(self.picker.current()))
        self.key = ColourKeyView()
        self.hover_list = QLabel("")
        self.hover_list.setWordWrap(True)
        self.hovered = QLabel("")
        self.hovered.setWordWrap(True)
        explore = QWidget()
        buttons = QHBoxLayout()
        for button in (colour, plain, heat, hover):
            buttons.addWidget(button)
        page = QVBoxLayout(explore)
        page.addWidget(self.picker, 1)
        page.addLayout(buttons)
        page.addWidget(self.key)
        page.addWidget(self.hover_list)
        page.addWidget(self.hovered)

        self.plot = FeaturePlot()
        self.plot.selected.connect(self.select_rows)
        as_x, as_y, clear_y = (QPushButton(t) for t in ("Plot as x", "Plot as y", "Histogram"))
        as_x.clicked.connect(lambda: self.set_axis(0, self.picker.current()))
        as_y.clicked.connect(lambda: self.set_axis(1, self.picker.current()))
        clear_y.clicked.connect(lambda: self.set_axis(1, None))
        self.table = MeasurementTable()
        self.table.setMinimumHeight(220)
        self.table.setSelectionBehavior(self.table.SelectionBehavior.SelectRows)
        self.table.clicked.connect(lambda index: self.go_to_row(index.row()))
        plots = QWidget()
        plot_buttons = QHBoxLayout()
        for button in (as_x, as_y, clear_y):
            plot_buttons.addWidget(button)
        plot_page = QVBoxLayout(plots)
        plot_page.addLayout(plot_buttons)
        plot_page.addWidget(self.plot, 1)
        plot_page.addWidget(self.table, 1)

        self.classify = ClassifierBox(lambda: self.frame, self._classified)
        layout = QVBoxLayout(self)
        layout.addWidget(self.objects)
        self.tabs = scrolling_tabs([(explore, "Features"), (plots, "Plot and table"),
                                    (self.classify, "Classify")])
        layout.addWidget(self.tabs, 1)

        self._stale = False  # features changed while the page was out of sight
        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(RELOAD_MS)
        self._reload.timeout.connect(self.reload)
        self._click = click_callback(self._clicked)
        viewer.mouse_drag_callbacks.append(self._click)
        viewer.mouse_move_callbacks.append(self._moved)
        viewer.layers.events.inserted.connect(self._layers_changed)
        viewer.layers.events.removed.connect(self._layers_changed)
        self.destroyed.connect(lambda *_: self._disconnect(viewer))
        self._layers_changed()

    def _disconnect(self, viewer: Any) -> None:
        for callbacks, func in ((viewer.mouse_drag_callbacks, self._click),
                                (viewer.mouse_move_callbacks, self._moved)):
            if func in callbacks:
                callbacks.remove(func)

    @property
    def idle(self) -> bool:
        """No job pending (for tests and callers that wait)."""
        return self.jobs.running == 0 and not self.classify.busy

    # -- the objects ---------------------------------------------------------------------------
    def _layers_changed(self, *_: Any) -> None:
        names = [layer.name for layer in object_layers(self.viewer)]
        current = self.objects.currentText()
        self.objects.blockSignals(True)
        self.objects.clear()
        self.objects.addItems(names)
        self.objects.setCurrentText(current if current in names else (names[0] if names
                                                                       else ""))
        self.objects.blockSignals(False)
        if self.objects.currentText() != (self.layer.name if self.layer else ""):
            self._choose_layer(self.objects.currentText())
        from napari.layers import Labels

        for layer in self.viewer.layers:  # a labels layer gets features later (live runs)
            if isinstance(layer, Labels):
                layer.events.features.disconnect(self._features_changed)
                layer.events.features.connect(self._features_changed)

    def _out_of_sight(self) -> bool:
        """The window is shown but this page is not (another tab): nothing here is seen. A
        live run gives its labels new features every 2 s; reading them, the table and the
        plot for a hidden page held the GUI thread 0.1-0.3 s each time (bench gui)."""
        window = self.window()
        return window is not self and window.isVisible() and not self.isVisible()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._stale:
            self.reload()

    def _features_changed(self, event: Any) -> None:
        if event.source is self.layer:
            self._reload.start()
        elif self.layer is None:
            self._layers_changed()

    def _choose_layer(self, name: str) -> None:
        self.layer = self.viewer.layers[name] if name in self.viewer.layers else None
        self._original_colormap = None
        self.classify.objects = name or "objects"
        self.reload()

    def reload(self) -> None:
        """Read the layer's features again (off the GUI thread: index and positions)."""
        if self._out_of_sight():
            self._stale = True  # read when the page is shown
            return
        self._stale = False
        layer = self.layer
        if layer is None:
            self.frame, self.lookup = None, None
            self.picker.set_names([])
            self.table.show_frame(None)
            return
        frame = layer.features
        info = layer.metadata.get(META_KEY, {})
        session = self.session

        def work() -> tuple:
            geometry = layer_geometry(info, session)
            names = feature_names(frame)
            chosen = hover_choice(session) or default_hover(names)
            table = frame[hover_order(list(frame.columns), chosen)]  # a copy: not here
            return frame, ObjectLookup.build(frame, geometry), names, table, geometry

        self.jobs.submit("read_objects", work, self._objects_ready)

    def _objects_ready(self, result: tuple) -> None:
        self.frame, self.lookup, names, table, self._geometry = result
        if self.layer is not None and list(table.columns) != list(self.frame.columns):
            # napari's status line lists features in column order and is cut at the window's
            # width (a reopened output's tables start with plate, field, label_image): the
            # chosen ones first. The same rows: the lookup stays valid.
            self.layer.features = self.frame = table
        self.picker.set_names(names)
        if not hover_choice(self.session):
            set_hover_choice(self.session, default_hover(names))
        self._show_hover_list()
        self.table.show_frame(table)
        self._replot()

    def geometry(self) -> Any:
        """The plate frame of the layer's objects (read with them, in the worker)."""
        return self._geometry

    # -- colours and heatmap -------------------------------------------------------------------
    def colour_by(self, feature: str | None) -> None:
        frame, layer = self.frame, self.layer
        if feature is None or frame is None or feature not in frame.columns:
            return
        if "index" not in frame.columns or not frame["index"].is_unique:
            self.hovered.setText("Objects of different wells share label values here (a "
                                 "reopened output): colour them from a live run's layer.")
            return
        dtype = np.dtype(layer.data[0].dtype if layer.multiscale else layer.data.dtype)

        def work() -> tuple[Any, Any]:
            colours = colour_objects(frame["index"].to_numpy(), frame[feature], feature)
            return colours.key, labels_colormap(colours, dtype)

        self.jobs.submit("colours", work, lambda result: self._set_colours(layer, *result))

    def _set_colours(self, layer: Any, key: Any, colormap: Any) -> None:
        if self._original_colormap is None:
            self._original_colormap = layer.colormap
        layer.colormap = colormap
        self.key.show_key(key)

    def plain_colours(self) -> None:
        if self.layer is not None and self._original_colormap is not None:
            self.layer.colormap = self._original_colormap
            self._original_colormap = None
        self.key.show_key(None)

    def show_heatmap(self, feature: str | None) -> None:
        frame, geometry = self.frame, self.geometry()
        if feature is None or frame is None or geometry is None:
            return
        self.jobs.submit("heatmap", lambda: heatmap_image(geometry, well_medians(frame, feature)),
                     lambda image: self._set_heatmap(geometry, feature, image))

    def _set_heatmap(self, geometry: Any, feature: str, image: np.ndarray) -> None:
        title = f"{feature} (median per well)"
        layer = show_heatmap_layer(self.viewer, geometry, title, image)
        self.key.show_key(ColourKey(title, limits=tuple(layer.contrast_limits)))

    # -- hover ---------------------------------------------------------------------------------
    def toggle_hover(self, feature: str | None) -> None:
        if feature is None:
            return
        chosen = hover_choice(self.session)
        chosen = [f for f in chosen if f != feature] if feature in chosen else [*chosen, feature]
        set_hover_choice(self.session, chosen)
        self._show_hover_list()
        layer, frame = self.layer, self.frame
        if layer is not None and frame is not None:  # napari's status line: these first
            self.jobs.submit("hover", lambda: frame[hover_order(list(frame.columns), chosen)],
                         lambda ordered: setattr(layer, "features", ordered))

    def _show_hover_list(self) -> None:
        chosen = hover_choice(self.session)
        self.hover_list.setText("Hover shows: " + (", ".join(chosen) or "well and label"))

    def _moved(self, viewer: Any, event: Any) -> None:
        row = self._row_at(tuple(event.position))
        if row is None:
            return
        text = hover_text(self.frame.iloc[row], hover_choice(self.session))
        self.hovered.setText(text)

    def _row_at(self, world: tuple[float, ...]) -> int | None:
        layer, lookup = self.layer, self.lookup
        if layer is None or lookup is None or not layer.visible:
            return None
        geometry = self._geometry if not ids_are_plate_unique(layer) else None
        well = geometry.world_to_well(*world[-2:]) if geometry is not None else None
        return lookup.row(label_value(layer, world), well, ids_are_plate_unique(layer))

    # -- selection -----------------------------------------------------------------------------
    def _clicked(self, world: tuple[float, ...]) -> None:
        row = self._row_at(world)
        if row is None:
            return
        record = self.frame.iloc[row]
        if self.classify.click(str(record["well"]), int(record["label"])):
            return
        self.select_rows(np.asarray([row]), scroll=True)

    def select_rows(self, rows: np.ndarray, scroll: bool = True) -> None:
        """Select objects (rows of the table): marks on the canvas, rows in the table,
        points in the plot."""
        self.selection = np.asarray(rows, np.int64)
        geometry = self.geometry()
        if self.lookup is not None and geometry is not None:
            show_marks(self.viewer, self.lookup.positions[self.selection], geometry.scale[0],
                       geometry.units)
        self.plot.show_selection(self.selection)
        self.table.select_rows(self.selection, scroll=scroll)

    def go_to_row(self, row: int) -> None:
        """A table row was clicked: select its object and centre the camera on it."""
        self.select_rows(np.asarray([row]), scroll=False)
        if self.lookup is not None:
            centre_on(self.viewer, self.lookup.positions[row])

    # -- plots ---------------------------------------------------------------------------------
    def set_axis(self, axis: int, feature: str | None) -> None:
        self.axes[axis] = feature
        self._replot()

    def _replot(self) -> None:
        frame = self.frame
        x, y = self.axes
        if frame is None or x is None or x not in frame.columns:
            return
        values = pd.to_numeric(frame[x], errors="coerce").to_numpy(np.float64)
        if y is not None and y in frame.columns:
            other = pd.to_numeric(frame[y], errors="coerce").to_numpy(np.float64)
            self.plot.show_scatter(values, other, x, y)
        else:
            self.plot.show_histogram(values, x)
        self.plot.show_selection(self.selection)

    # -- classes -------------------------------------------------------------------------------
    def _classified(self, classified: pd.DataFrame, per_object: pd.DataFrame,
                    counts: pd.DataFrame) -> None:
        name = self.layer.name if self.layer is not None else "objects"
        self.session.set_table(f"{name}_classes", per_object)
        self.session.set_table(f"{name}_class_counts", counts)
        if self.layer is not None:
            self.layer.features = classified
            self.frame = classified
            self.picker.set_names(feature_names(classified))
            self.colour_by("class")
