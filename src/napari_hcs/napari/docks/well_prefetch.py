"""A well chosen in the Plate dock is read before the camera moves there.

Moving first drew the well twice: at once from a coarser level (blurred), then again when its
tiles arrived, each a repaint (bench gui, browse: three stalls per click under software
OpenGL, against napari's one on an image it need not read). Reading first (the well's level
for the framed zoom, a few tens of ms: one read per site per channel, in the loader's threads)
and then moving gives one slice and one repaint of pixels already there. The move waits at most
`WAIT_MS`; a newer choice replaces a pending one.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable
from typing import Any

from ..plate_view.geometry import PlateGeometry
from ..plate_view.layers import META_KEY
from ..plate_view.navigation import MARGIN
from .layer_refresh import drop_due, pyramid_of

#: The longest a move waits for the well's pixels (a slow disk shows the coarser level first).
WAIT_MS = 250
_POLL_MS = 10
_pending: weakref.WeakKeyDictionary[Any, object] = weakref.WeakKeyDictionary()


def plate_pyramids(viewer: Any) -> list[tuple[Any, tuple[int, ...]]]:
    """(pyramid, lead index shown) of every plate-view layer of `viewer`."""
    found = []
    step = tuple(int(i) for i in viewer.dims.current_step)
    for layer in viewer.layers:
        pyramid = pyramid_of(layer)
        if pyramid is None or not layer.metadata.get(META_KEY, {}).get("plate_view"):
            continue
        found.append((pyramid, step[:len(pyramid.lead_shape)]))
    return found


def level_for(viewer: Any, geometry: PlateGeometry, well: str) -> int:
    """The finest pyramid level napari may draw `well` at once it is framed: one finer than
    data pixels per screen pixel suggests (napari picks that level or the next coarser)."""
    top, left, bottom, right = geometry.well_box(well)
    height, width = (max(1, s) for s in viewer.canvas.size)
    zoom = (1 - 2 * MARGIN) * min(height / max(bottom - top, 1e-9),
                                  width / max(right - left, 1e-9))
    per_screen_px = 1 / (zoom * geometry.scale[0])
    level = math.floor(math.log2(per_screen_px)) - 1 if per_screen_px > 1 else 0
    return int(min(max(level, 0), geometry.levels - 1))


def move_when_read(viewer: Any, geometry: PlateGeometry, well: str,
                   move: Callable[[], None]) -> None:
    """Ask for `well`'s pixels in every plate-view layer, then `move()` once they are all
    read (or after `WAIT_MS`); at once when they already are."""
    from qtpy.QtCore import QTimer

    level = level_for(viewer, geometry, well)
    pyramids = plate_pyramids(viewer)
    missing = [(p, lead) for p, lead in pyramids if p.block(well, lead, level) is None]
    if not missing:
        _pending.pop(viewer, None)
        move()
        return
    for pyramid, lead in missing:
        if pyramid.request is not None:
            pyramid.request(well, lead, level)
    token = _pending[viewer] = object()
    deadline = time.monotonic() + WAIT_MS / 1000

    def check() -> None:
        if _pending.get(viewer) is not token:  # chosen again meanwhile
            return
        if time.monotonic() < deadline and any(
                p.block(well, lead, level) is None for p, lead in missing):
            QTimer.singleShot(_POLL_MS, check)
            return
        del _pending[viewer]
        # The move slices every layer with what is read now: redraws asked for by tiles that
        # arrived meanwhile would only repeat it.
        drop_due({p for p, _ in pyramids})
        move()

    QTimer.singleShot(_POLL_MS, check)
