"""What happens when a reopened output's layer lands in a viewer that may hold the raw plate.

- Its result channels are hidden when the raw plate is shown, as live results are (both are
  additive: raw + result would double the brightness).
- A second `wells` layer (raw plate and output both name the wells, in the same frame) is
  dropped: one set of well names, not `wells` and `wells [1]`.
- Its labels get their table as `features`, and the session every table of the run as its
  measurements (the Results tab), both read in thread workers (`output_tables`).
- Opened alone (no raw plate), the view frames its wells, as opening a raw plate does.
"""

from __future__ import annotations

from typing import Any

from ..plate_view.layers import META_KEY
from ..plate_view.navigation import frame_wells
from .output_tables import load_features_later, load_tables_later


def _info(layer: Any) -> dict[str, Any]:
    return layer.metadata.get(META_KEY, {}) if hasattr(layer, "metadata") else {}


def is_raw_plate(layer: Any) -> bool:
    info = _info(layer)
    return bool(info.get("root")) and info.get("format") != "output" and "result" not in info \
        and not info.get("wells_layer")


def is_wells_layer(layer: Any) -> bool:
    return bool(_info(layer).get("wells_layer"))


def settle(viewer: Any, layer: Any, later: Any, on_table: Any = None) -> Any:
    """Arrange `layer`, just inserted; `later(fn)` runs `fn` after the insertion finished
    (removing a layer inside its own insertion event confuses napari); `on_table(name, frame)`
    receives the run's tables. Returns the features worker when one started."""
    info = _info(layer)
    if is_wells_layer(layer) and any(is_wells_layer(other) for other in viewer.layers
                                     if other is not layer):
        later(lambda: layer in viewer.layers and viewer.layers.remove(layer))
        return None
    if is_wells_layer(layer) and info.get("format") == "output" and not any(
            is_raw_plate(o) for o in viewer.layers):
        geometry, wells = info.get("geometry"), list(info.get("wells", ()))
        if geometry is not None:  # alone: its wells, not the whole plate's thumbnails
            later(lambda: frame_wells(viewer, geometry, wells))
    if info.get("format") != "output":
        if is_raw_plate(layer):  # the raw plate after its results: show the raw plate
            for other in viewer.layers:
                if _info(other).get("format") == "output" and _info(other).get(
                        "result") == "image":
                    other.visible = False
        return None
    if info.get("result") == "image" and any(is_raw_plate(o) for o in viewer.layers):
        layer.visible = False
    if info.get("result") == "labels" and "hcs_tables" in layer.metadata:
        if on_table is not None:
            load_tables_later(layer.metadata["hcs_tables"], on_table)
        return load_features_later(layer, layer.metadata["hcs_tables"], info["name"],
                                   list(info.get("label_wells", ())))
    return None
