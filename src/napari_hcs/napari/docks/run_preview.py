"""The Run dock's preview: run the pipeline on the selected site only, show the result over
that site of the plate view (same scale and place as the raw tiles and the run's results).

The preview is a run like any other (the compiler and executor see a one-site plate,
`preview.SiteSubset`); its result is turned into layer data in the run's worker thread and the
GUI thread only swaps it into the preview layers (created once, then reused). A preview is not
a run of the well: the Plate dock's well states do not change.
"""

from __future__ import annotations

from typing import Any

from ..results.layers import result_parts
from ..results.preview import SiteSubset, preview_layers, site_origin


class PreviewMixin:
    """Mixed into `RunDock`; uses its session, relay, compile and launch."""

    def _init_preview(self: Any) -> None:
        self.relay.preview.connect(self.show_preview)

    def preview(self: Any) -> Any:
        """Run the pipeline on the selected site of the selected well; returns the worker."""
        reader, well = self.session.reader, self.session.well
        if reader is None or well is None:
            self._say("Select a well in the Plate dock (or double-click one) to preview.")
            return None
        if self.worker is not None:
            self._say("A run is in progress; cancel it first.")
            return None
        site = self.session.site or reader.layout.sites[0]
        subset = SiteSubset(reader, well, site)
        compiled = self.compile(subset, [well])
        if compiled is None:
            return None
        origin = site_origin(reader, self.session.geometry, well, site)
        geometry, relay = self.session.geometry, self.relay

        def on_result(result: Any) -> None:  # the run's worker thread: convert here
            if result.status != "ok":
                relay.preview.emit((well, site, result.error, []))
                return
            relay.preview.emit((well, site, None,
                                preview_layers(result_parts(result), geometry, origin)))

        self._event_handler = lambda event: event.step and self._say(
            f"Preview of {well} site {site}: step {event.index}/{event.total} {event.step}")
        self._say(f"Previewing {well} site {site} ...")
        return self._launch(compiled, None, lambda report: None, 1, on_result)

    def show_preview(self: Any, outcome: tuple[str, int, str | None, list[Any]]) -> None:
        """Swap a previewed site's layers in (GUI thread)."""
        from napari.layers import Layer
        from napari.utils.notifications import show_warning

        well, site, error, layers = outcome
        if error is not None:
            self.problems.addItem(f"preview {well} site {site}: {error}")
            self._say(f"Preview of {well} site {site} failed: {error}")
            show_warning(f"Preview of {well} site {site} failed: {error}")
            return
        for data, kwargs, layer_type in layers:
            name = kwargs["name"]
            layer = self.viewer.layers[name] if name in self.viewer.layers else None
            if layer is not None and layer._type_string == layer_type and layer.ndim == data.ndim:
                layer.data = data
                layer.translate = kwargs["translate"]
                continue
            if layer is not None:
                self.viewer.layers.remove(layer)
            self.viewer.add_layer(Layer.create(data, kwargs, layer_type))
        self._say(f"Preview of {well} site {site}: done.")
