"""Run results -> the viewer's plate-wide result layers, without blocking the GUI thread.

Results (executor `WellResult`s from a local run, wire messages from a stream) are queued to
`result_canvas.ResultConverter`, which prepares them in a thread: pyramid blocks in the plate
view's frame, plate-unique label ids and their features, merged tables. `ResultSink._apply`
then runs on the GUI thread with one batch: it creates a layer only the first time a result of
that name arrives (0.2-1 s each under software OpenGL; `prepare` creates the expected ones when
a run starts, one per event-loop turn), assigns features and tables, updates well states, and
asks for a redraw of the touched layers (together, soon: see `docks.layer_refresh`).
Nothing it does grows with the plate: a redraw slices what is on screen.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from psygnal import Signal

from ..plate_view.layers import META_KEY, channel_colormap, channel_label
from .canvas import CanvasUpdate, LayerSpec, ResultCanvas, ResultConverter
from .hover import hover_choice
from .layers import WellParts, base_name, message_parts, outlines_layer_name, result_parts

#: Features (measurements per object) reach the labels layers at most this often.
FEATURES_MS = 2000


_warmed = False
#: Set once the label-colour kernels are compiled (the warm-up thread is done).
LABELS_WARM = threading.Event()


def _warm_up_labels() -> None:
    """The first Labels layer of a process compiles napari's label-colour kernel (numba, about
    1.5 s), and again for each array layout it meets (contiguous or strided, 2-D or 3-D: a
    zoomed-out slice of the plate view is strided); compile them all in a thread now, so that
    neither the Run click nor the first results pay for them on the GUI thread (a strided
    compile was the run's longest stall, 2 s, in `python -m bench gui`)."""
    global _warmed
    if _warmed:
        return
    _warmed = True

    def build() -> None:
        import numpy as np
        from napari.layers import Labels

        layer = Labels(np.zeros((4, 4), np.uint32))
        try:  # napari's private kernel: its layouts, for the dtype napari would use
            from napari.utils.colormaps import _accelerated_cmap as kernel

            colours = len(layer.colormap.colors) - 1
            dtype = kernel.minimum_dtype_for_labels(colours + 1)
            ids = np.arange(2 * 8 * 8, dtype=np.uint32).reshape(2, 8, 8)
            for values in (ids[0, 0], ids[0], ids[0, ::2, ::2], ids, ids[:, ::2, ::2]):
                kernel.zero_preserving_modulo(values, colours, dtype, 0)
        except Exception:  # noqa: S110 - another napari: the first layers compile it, slower
            pass
        finally:
            LABELS_WARM.set()

    threading.Thread(target=build, name="napari-hcs labels warm-up", daemon=True).start()


def add_unselected(viewer: Any, layer: Any) -> None:
    """Add `layer` without making it the active layer: the user's selection (and the layer
    controls shown for it) stays as it was while a run adds its layers. napari activates every
    inserted layer, which swaps the controls panel and re-highlights the previously active
    layer (the wells' names: every marker and text again); that was 0.1-1 s of the run's
    longest stalls under software OpenGL (bench gui, stack samples)."""
    layers = viewer.layers
    flag = getattr(layers, "_activate_on_insert", None)  # napari's private switch
    if flag is None:
        viewer.add_layer(layer)
        return
    layers._activate_on_insert = False
    try:
        viewer.add_layer(layer)
    finally:
        layers._activate_on_insert = flag


class ResultSink:
    """Puts results into a viewer: one layer per channel / labels / ROI set for the plate.

    `add_result` and `add_message` may be called from any thread; everything reaching the
    viewer happens on the GUI thread.
    """

    #: (well, layer name) once a well's data is in that layer (on the GUI thread).
    shown = Signal(str, str)
    #: one batch applied (on the GUI thread).
    applied = Signal()

    def __init__(self, viewer: Any, session: Any) -> None:
        from ..docks.layer_refresh import on_main_thread

        self.viewer = viewer
        self.session = session
        self.cancelling = False  # set by the Run dock: failed wells then read as cancelled
        self._features: dict[str, Any] = {}
        self._features_scheduled = False
        self._to_create: deque[LayerSpec] = deque()  # prepared, one per event-loop turn
        self.canvas = ResultCanvas(getattr(session, "geometry", None))
        self.canvas.hover = lambda: hover_choice(session)
        self.converter = ResultConverter(self.canvas, on_main_thread(self._apply))
        session.plate_changed.connect(lambda _: self.canvas.set_geometry(session.geometry))
        _warm_up_labels()

    # -- entry points (any thread) ----------------------------------------------------------------
    def add_result(self, result: Any) -> None:
        """One executor WellResult: its images, labels, outlines, tables and state."""
        self.converter.submit(lambda: result_parts(result, cancelling=self.cancelling))

    def add_message(self, message: Any) -> None:
        """One wire message (already validated by the receiver)."""
        self.converter.submit(lambda: message_parts(message))

    def add_parts(self, make_parts: Callable[[], WellParts]) -> None:
        self.converter.submit(make_parts)

    @property
    def idle(self) -> bool:
        """Nothing queued or being prepared (what was prepared may still be on its way)."""
        return self.converter.idle

    # -- before a run (GUI thread) ----------------------------------------------------------------
    def prepare(self, reader: Any, steps: Any) -> None:
        """Create, before a run, the result layers its plans will fill. Each creation costs the
        GUI thread 0.2-1 s under software OpenGL: they are created one per event-loop turn, so
        the Run click stays one creation long and Cancel stays clickable. Existing layers are
        reused; a result that arrives first finds its pyramid here and shows once its layer is
        created (the layer reads the pyramid as it is then)."""
        from .layers import image_layer_name

        layout = reader.layout
        names = [(image_layer_name(layout.channel_names.get(c) or c), "image", i)
                 for i, c in enumerate(layout.channels)]
        for step in steps:
            for _, calls in step.calls:
                for call in calls:
                    for name, kind in call.special_outputs:
                        if kind == "labels":
                            names.append((base_name(name), "labels", 0))
                        elif kind == "rois":
                            names.append((outlines_layer_name(name), "outlines", 0))
        if self.canvas.geometry is None:
            return
        for name, kind, index in dict.fromkeys(names):
            if name in self.viewer.layers or name in self.canvas.pyramids:
                continue
            dtype = layout.dtype if kind == "image" else "uint32"
            pyramid = self.canvas._pyramid(name, dtype, ())
            self.canvas.kinds[name] = kind
            extra: dict[str, Any] = {"opacity": 0.5} if kind == "labels" else {}
            if kind == "image":
                channel = layout.channels[index]
                extra = {"colormap": channel_colormap(channel_label(layout, channel), index),
                         "blending": "additive", "contrast_limits": (0.0, 1.0)}
                self.canvas.contrast[name] = (0.0, 1.0)
            self._to_create.append(LayerSpec(name, "image" if kind == "image" else "labels",
                                             pyramid, self.canvas._kwargs(name, kind, 2, **extra)))
        self._create_next()

    def _create_next(self) -> None:
        """Create one prepared layer in up to three event-loop turns (the layer; its place in
        the viewer: Qt controls and vispy visual; for a layer that shows, its first slice and
        draw), then yield before the next: under software OpenGL each of these costs about
        as much as a repaint, and together they were the run's longest stall."""
        from qtpy.QtCore import QTimer

        while self._to_create:
            spec = self._to_create.popleft()
            if self._layer(spec.name) is None:
                layer, show = self._build(spec, show_later=True)
                QTimer.singleShot(0, lambda n=spec.name, built=layer, s=show:
                                  self._add_built(n, built, s))
                return

    def _add_built(self, name: str, layer: Any, show: bool) -> None:
        from qtpy.QtCore import QTimer

        if self._layer(name) is None:  # a result may have made it meanwhile
            add_unselected(self.viewer, layer)
        if show:
            QTimer.singleShot(0, lambda: self._show_built(layer))
        elif self._to_create:
            QTimer.singleShot(0, self._create_next)

    def _show_built(self, layer: Any) -> None:
        from qtpy.QtCore import QTimer

        layer.visible = True
        if self._to_create:
            QTimer.singleShot(0, self._create_next)

    # -- applying (GUI thread) --------------------------------------------------------------------
    def _layer(self, name: str) -> Any:
        return self.viewer.layers[name] if name in self.viewer.layers else None

    def _create(self, spec: LayerSpec) -> Any:
        layer, _ = self._build(spec)
        if layer not in self.viewer.layers:
            add_unselected(self.viewer, layer)
        return layer

    def _build(self, spec: LayerSpec, show_later: bool = False) -> tuple[Any, bool]:
        """The layer for `spec`: an earlier run's with the new data, else a new one (not yet
        in the viewer), and whether the caller must still show it (`show_later`: a new layer
        that shows is made hidden, so napari slices it only once it is shown)."""
        from napari.layers import Layer

        layer = self._layer(spec.name)
        if layer is not None and getattr(layer, "multiscale", False):
            layer.data = spec.pyramid.levels  # a layer of an earlier run: reuse it
            return layer, False
        if layer is not None:
            self.viewer.layers.remove(layer)
        kwargs = spec.kwargs
        kind = self.canvas.kinds.get(spec.name)
        # Start hidden what would only repeat what is shown: processed images over the raw
        # plate (both additive: the well would read twice as bright), outlines of objects whose
        # labels are shown, a second label image (cells filled over nuclei hide them). Every
        # visible layer is one more full-canvas pass per repaint.
        if (spec.kind == "image" and self._raw_plate_shown()) or (
                kind == "outlines" and self._labels_for(spec.name)) or (
                kind == "labels" and self._result_labels_shown()):
            kwargs = {**kwargs, "visible": False}
        show = show_later and kwargs.get("visible", True)
        if show:
            kwargs = {**kwargs, "visible": False}
        return Layer.create(spec.pyramid.levels, kwargs, spec.kind), show

    def _labels_for(self, outlines_name: str) -> bool:
        base = outlines_name.removesuffix(" outlines")
        return self.canvas.kinds.get(base) == "labels" or (
            base in self.viewer.layers and self.viewer.layers[base]._type_string == "labels")

    def _result_labels_shown(self) -> bool:
        return any(layer.visible and layer.metadata.get(META_KEY, {}).get("result") == "labels"
                   for layer in self.viewer.layers)

    def _raw_plate_shown(self) -> bool:
        return any(layer.metadata.get(META_KEY, {}).get("plate_view") for layer in
                   self.viewer.layers)

    def _apply(self, update: CanvasUpdate) -> None:
        from ..docks.layer_refresh import refresh_layer_soon

        for spec in update.new_layers:
            self._create(spec)
        for name, pyramid in update.regridded.items():
            layer = self._layer(name)
            if layer is not None:
                layer.data = pyramid.levels
        for name, limits in update.contrast.items():
            layer = self._layer(name)
            if layer is not None:
                self._widen(layer, limits)
        self._features.update(update.features)
        if self._features and not self._features_scheduled:
            from qtpy.QtCore import QTimer

            self._features_scheduled = True
            QTimer.singleShot(FEATURES_MS, self._apply_features)
        for name, frame in update.tables.items():
            self.session.set_table(name, frame)
        for name in update.touched:
            layer = self._layer(name)
            if layer is not None:
                refresh_layer_soon(layer)
        for well, state, error in update.states:
            self.session.set_well_state(well, state, error)
        for well, name in update.shown:
            self.shown.emit(well, name)
        self.applied.emit()

    def _apply_features(self) -> None:
        """Give the labels layers their features (napari validates the whole table on the
        GUI thread, so this runs at most every FEATURES_MS, not per well)."""
        self._features_scheduled = False
        pending, self._features = self._features, {}
        for name, frame in pending.items():
            layer = self._layer(name)
            if layer is not None:
                layer.features = frame

    @staticmethod
    def _widen(layer: Any, limits: tuple[float, float]) -> None:
        """Widen the contrast to a new well's values, unless the user changed the limits."""
        lo, hi = limits
        current = tuple(layer.contrast_limits)
        layer.contrast_limits_range = (min(lo, layer.contrast_limits_range[0]),
                                       max(hi, layer.contrast_limits_range[1]))
        ours = layer.metadata.get(META_KEY, {}).get("limits", current)
        if tuple(ours) == current:
            layer.contrast_limits = (lo, hi)
            layer.metadata.setdefault(META_KEY, {})["limits"] = (lo, hi)
