"""Layers whose pixels arrived off the GUI thread are redrawn on it: once per layer however
many wells arrived meanwhile, all due layers in one event-loop turn, so they share a repaint.

The plate loader calls `refresh_soon(pyramid)` from its threads; the result sink calls
`refresh_layer_soon(layer)` on the GUI thread. A redraw is napari re-slicing what is on screen.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

from superqt.utils import ensure_main_thread

#: Delay before the first redraw of a burst of plate tiles read in the background (browsing).
REFRESH_MS = 100
#: The same for a run's results: the wells and layers arriving meanwhile share one redraw each.
#: Under software OpenGL a redraw holds the GUI thread 100-200 ms: at 100 ms a run's redraws
#: followed each other (bench gui, run p99 439/180 ms on 16/96 wells); at 750 ms 220/143 ms
#: (184/84 with tiles delayed as much, which browsing would feel), and results still land
#: within a second.
RESULT_REFRESH_MS = 750
#: Thumbnails (the layer list's) follow at most this often: each one repaints the list.
THUMBNAIL_MS = 3000

_due: dict[int, weakref.ref] = {}  # id(layer) -> layer, in arrival order
_due_pyramids: weakref.WeakSet[Any] = weakref.WeakSet()
_stale_thumbnails: dict[int, weakref.ref] = {}
_scheduled_at: float | None = None  # when the pending flush runs (time.monotonic)
_thumbnails_scheduled = False


def on_main_thread(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func`, called from any thread, runs on the GUI thread (queued, returns at once)."""
    return ensure_main_thread(func)


def pyramid_of(layer: Any) -> Any:
    """The `TiledPyramid` behind a layer's data, or None."""
    data = getattr(layer, "data", None)
    if getattr(layer, "multiscale", False) and data is not None and len(data):
        return getattr(data[0], "pyramid", None)
    return None


@ensure_main_thread
def refresh_soon(pyramid: Any) -> None:
    """Redraw, soon, every layer (of every viewer) showing `pyramid`."""
    _due_pyramids.add(pyramid)
    _schedule(REFRESH_MS)


def drop_due(pyramids: set[Any]) -> None:
    """Forget pending redraws of `pyramids` (call when the layers are about to be sliced
    anew anyway, e.g. by a camera move)."""
    for pyramid in pyramids:
        _due_pyramids.discard(pyramid)


def refresh_layer_soon(layer: Any) -> None:
    """Redraw `layer` soon (call on the GUI thread)."""
    _due[id(layer)] = weakref.ref(layer)
    _schedule(RESULT_REFRESH_MS)


def redraw(layer: Any) -> None:
    """Re-slice `layer` now (its thumbnail later). napari 0.9 keeps the lowest multiscale
    level it read (for the thumbnail, and for the canvas when zoomed out that far) until the
    data is replaced; our levels change in place, so that copy is dropped first."""
    global _thumbnails_scheduled
    reset = getattr(layer, "_reset_thumbnail_level_data", None)
    if reset is not None:
        reset()
    layer.refresh(thumbnail=False)
    _stale_thumbnails[id(layer)] = weakref.ref(layer)
    if not _thumbnails_scheduled:
        from qtpy.QtCore import QTimer

        _thumbnails_scheduled = True
        QTimer.singleShot(THUMBNAIL_MS, _update_thumbnails)


def _update_thumbnails() -> None:
    global _thumbnails_scheduled
    _thumbnails_scheduled = False
    layers = [ref() for ref in _stale_thumbnails.values()]
    _stale_thumbnails.clear()
    for layer in layers:
        update = getattr(layer, "_update_thumbnail", None)  # from the slice already made
        if update is not None:
            update()


def _schedule(delay_ms: int) -> None:
    """Flush in `delay_ms`, or at the pending flush if that comes sooner."""
    global _scheduled_at
    due = time.monotonic() + delay_ms / 1000
    if _scheduled_at is None or due < _scheduled_at:
        from qtpy.QtCore import QTimer

        _scheduled_at = due
        QTimer.singleShot(delay_ms, _flush)


def _flush() -> None:
    """Redraw every due layer in this turn: they share the one repaint that follows (under
    software OpenGL a repaint costs more than slicing a layer; one repaint per layer made a
    browse click three stalls: the camera's move, then each channel's tiles)."""
    global _scheduled_at
    _scheduled_at = None
    if _due_pyramids:
        from napari import Viewer

        pyramids = set(_due_pyramids)
        _due_pyramids.clear()
        for viewer in list(Viewer._instances):
            for layer in list(viewer.layers):
                if pyramid_of(layer) in pyramids:
                    _due[id(layer)] = weakref.ref(layer)
    layers = [ref() for ref in _due.values()]
    _due.clear()
    for layer in layers:
        if layer is not None and layer.visible:
            redraw(layer)
