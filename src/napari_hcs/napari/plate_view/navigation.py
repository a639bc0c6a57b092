"""Moving around the plate view: the camera to a well, the well (and site) under the cursor.

No Qt: the viewer's camera and mouse callbacks are napari models. The Plate dock calls
`go_to_well` when a well is clicked in its grid; `PlateNavigator` makes a double-click on the
canvas select the well and site under the cursor and move there.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from .geometry import PlateGeometry, well_offsets

#: Blank space around a framed well, as a fraction of the canvas.
MARGIN = 0.05


def camera_of(viewer: Any) -> Any:
    return viewer.camera


def frame_box(viewer: Any, box: tuple[float, float, float, float],
              margin: float = MARGIN) -> None:
    """Centre the camera on `box` (top, left, bottom, right, world units) and zoom so it fills
    the canvas minus `margin`."""
    top, left, bottom, right = box
    camera = camera_of(viewer)
    height, width = (max(1, s) for s in viewer.canvas.size)
    zoom = (1 - 2 * margin) * min(height / max(bottom - top, 1e-9),
                                  width / max(right - left, 1e-9))
    center = list(camera.center)
    center[-2:] = [(top + bottom) / 2, (left + right) / 2]
    camera.center = tuple(center)
    camera.zoom = zoom


def go_to_well(viewer: Any, geometry: PlateGeometry, well: str) -> None:
    """Frame `well`'s mosaic."""
    frame_box(viewer, geometry.well_box(well))


def frame_wells(viewer: Any, geometry: PlateGeometry, wells: Iterable[str]) -> None:
    """Frame the bounding box of `wells` (e.g. the acquired ones of a partly imaged plate)."""
    boxes = [geometry.well_box(w) for w in wells if geometry.contains(w)]
    if boxes:
        frame_box(viewer, (min(b[0] for b in boxes), min(b[1] for b in boxes),
                           max(b[2] for b in boxes), max(b[3] for b in boxes)))


def site_at(reader: Any, geometry: PlateGeometry, well: str, y: float, x: float) -> int | None:
    """The site of `well` whose tile holds world point (y, x) (the last one, as drawn)."""
    sy, sx = geometry.scale
    oy, ox = geometry.origin(well)
    py, px = y / sy - oy, x / sx - ox
    th, tw = reader.layout.shape
    found = None
    for site, (ty, tx) in well_offsets(reader, well).items():
        if ty <= py < ty + th and tx <= px < tx + tw:
            found = site  # later sites are drawn over earlier ones
    return found


class PlateNavigator:
    """Double-click on the plate view: select the well (and site) under the cursor, go there."""

    def __init__(self, viewer: Any, session: Any) -> None:
        self._viewer = weakref.ref(viewer)
        self.session = session
        viewer.mouse_double_click_callbacks.append(self.on_double_click)

    @classmethod
    def install(cls, viewer: Any, session: Any) -> PlateNavigator:
        """One navigator per viewer (docks call this; the second call returns the first)."""
        navigator = getattr(session, "navigator", None)
        if navigator is None:
            navigator = session.navigator = cls(viewer, session)
        return navigator

    def on_double_click(self, viewer: Any, event: Any) -> None:
        session = self.session
        if session.reader is None or session.geometry is None:
            return
        y, x = (float(v) for v in event.position[-2:])
        well = session.geometry.world_to_well(y, x)
        if well is None or well not in session.reader.layout.wells:
            return
        site = site_at(session.reader, session.geometry, well, y, x)
        session.select(well, site if site is not None else session.site)
        go_to_well(viewer, session.geometry, well)
