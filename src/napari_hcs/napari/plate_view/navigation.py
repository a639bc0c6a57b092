"""Moving around the plate view: the camera to a well, the well (and site) under the cursor.

No Qt: the viewer's camera and mouse callbacks are napari models. The Plate dock calls
`go_to_well` when a well is clicked in its grid; `PlateNavigator` makes a double-click on the
canvas select the well and site under the cursor and move there. `PlateFramer` keeps what was
framed framed when the canvas changes size (a dock appears) and sizes the well names to the
wells on screen.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from .geometry import PlateGeometry, well_offsets

#: Blank space around a framed well, as a fraction of the canvas.
MARGIN = 0.05
#: Well names' text size on screen (points): this fraction of a well's width on screen,
#: within these bounds.
NAME_FRACTION = 0.12
NAME_SIZES = (7, 20)
#: Logical pixels per point of napari's text, whatever the screen's dpi (napari's text visual
#: undoes vispy's dpi scaling and draws at 96 / 72 px per point).
PX_PER_POINT = 96 / 72


def camera_of(viewer: Any) -> Any:
    return viewer.camera


def frame_box(viewer: Any, box: tuple[float, float, float, float],
              margin: float = MARGIN, names: PlateGeometry | None = None) -> None:
    """Centre the camera on `box` (top, left, bottom, right, world units) and zoom so it fills
    the canvas minus `margin`; `names`, the geometry of the plate whose well names stand
    above the box's top row, puts those names in the framed box too."""
    top, left, bottom, right = box
    camera = camera_of(viewer)
    height, width = (max(1, s) for s in viewer.canvas.size)
    box_height = max(bottom - top, 1e-9)
    zoom = (1 - 2 * margin) * min(height / box_height, width / max(right - left, 1e-9))
    if names is not None:
        # The names' bottom is at the wells' top (napari's upper-left anchor draws text above
        # its point): leave their height free above the wells, or the top row's are cut off
        # when the margin is shorter than the text (a canvas under ~540 px, the names at 20 pt).
        band = name_size(names, zoom) * PX_PER_POINT  # at a smaller zoom they are no taller
        room = (1 - 2 * margin) * height - band
        if room > 0:
            zoom = min(zoom, room / box_height)
        top -= band / zoom
    center = list(camera.center)
    center[-2:] = [(top + bottom) / 2, (left + right) / 2]
    camera.center = tuple(center)
    camera.zoom = zoom
    framer = _FRAMERS.get(viewer)
    if framer is not None:
        framer.remember(box, names)
        framer.size_names()  # the zoom's event came before an output's names were known


def name_size(geometry: PlateGeometry, zoom: float) -> int:
    """Well names' text size (points) at camera `zoom`: a fraction of a well's width on
    screen, within `NAME_SIZES` (napari's text size is in screen points, whatever the zoom)."""
    on_screen = geometry.pitch[1] * geometry.scale[1] * float(zoom)
    return int(min(max(on_screen * NAME_FRACTION, NAME_SIZES[0]), NAME_SIZES[1]))


def go_to_well(viewer: Any, geometry: PlateGeometry, well: str) -> None:
    """Frame `well`'s mosaic."""
    frame_box(viewer, geometry.well_box(well), names=geometry)


def frame_wells(viewer: Any, geometry: PlateGeometry, wells: Iterable[str]) -> None:
    """Frame the bounding box of `wells` (e.g. the acquired ones of a partly imaged plate)."""
    boxes = [geometry.well_box(w) for w in wells if geometry.contains(w)]
    if boxes:
        frame_box(viewer, (min(b[0] for b in boxes), min(b[1] for b in boxes),
                           max(b[2] for b in boxes), max(b[3] for b in boxes)), names=geometry)


def cursor_text(session: Any, y: float, x: float) -> str:
    """`B03, site 2` for the plate view's world point (y, x); blank off the plate's wells."""
    geometry, reader = session.geometry, session.reader
    if geometry is None or reader is None:
        return " "
    well = geometry.world_to_well(y, x)
    if well is None or well not in reader.layout.wells:
        return " "
    site = site_at(reader, geometry, well, y, x)
    return well if site is None else f"{well}, site {site}"


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


class PlateFramer:
    """Frames again what was framed when the canvas changes size (a dock took its width, the
    window was resized) as long as the camera was not moved since; sizes well names to wells."""

    def __init__(self, viewer: Any, session: Any) -> None:
        self._viewer = weakref.ref(viewer)
        self.session = session
        self.box: tuple[float, float, float, float] | None = None
        self.names: PlateGeometry | None = None  # whose well names the box's top row has
        self._camera: tuple[tuple[float, ...], float] | None = None
        self._name_size = 0
        viewer.canvas.events.size.connect(lambda _: self.reframe(moved_ok=False))
        viewer.camera.events.zoom.connect(lambda _: self.size_names())
        viewer.layers.events.inserted.connect(lambda _: self.size_names(force=True))

    @classmethod
    def install(cls, viewer: Any, session: Any) -> PlateFramer:
        framer = _FRAMERS.get(viewer)
        if framer is None:
            framer = _FRAMERS[viewer] = cls(viewer, session)
        return framer

    def _state(self, viewer: Any) -> tuple[tuple[float, ...], float]:
        camera = camera_of(viewer)
        return tuple(round(float(c), 6) for c in camera.center), round(float(camera.zoom), 9)

    def remember(self, box: tuple[float, float, float, float],
                 names: PlateGeometry | None = None) -> None:
        viewer = self._viewer()
        if viewer is not None:
            self.box, self.names, self._camera = box, names, self._state(viewer)

    def reframe(self, moved_ok: bool = True) -> None:
        """Frame the remembered box again (the acquired wells when none is): always when
        `moved_ok`, else only while the camera is where the last framing put it."""
        viewer, geometry = self._viewer(), self.session.geometry
        if viewer is None:
            return
        if self.box is None:  # a box needs no plate: an output opened alone framed its wells
            if moved_ok and geometry is not None:
                frame_wells(viewer, geometry, self.session.reader.layout.wells)
            return
        if moved_ok or self._state(viewer) == self._camera:
            frame_box(viewer, self.box, names=self.names)

    def size_names(self, force: bool = False) -> None:
        """Well names a fraction of a well's width on screen (`name_size`); an output opened
        alone has no plate in the session, its names the geometry it was framed with."""
        viewer, geometry = self._viewer(), self.session.geometry or self.names
        if viewer is None or geometry is None:
            return
        size = name_size(geometry, camera_of(viewer).zoom)
        if size == self._name_size and not force:
            return
        self._name_size = size
        for layer in viewer.layers:
            text = getattr(layer, "text", None)
            if text is not None and getattr(text.string, "format", None) == "{well}":
                layer.text.size = size


_FRAMERS: weakref.WeakKeyDictionary[Any, PlateFramer] = weakref.WeakKeyDictionary()
