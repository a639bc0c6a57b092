"""Reads a plate's wells for the plate view, in background threads, newest request first.

A job reads one well's tiles of one channel (one z, one timepoint), each downsampled to the
requested level as it is read, pastes them at the well's stage positions (later sites win in
overlaps: one layer per channel and no additive seams) and stores that level and every coarser
one. Reading is what costs (a 2048 px TIFF is 8 MiB); the coarser levels come from the mosaic
for almost nothing, so after one overview pass every zoom-out is instant.

The GUI thread only ever calls `request` (from napari's slicing, through `TiledPyramid`), which
queues a job and returns; `on_loaded` is called from the worker thread when a job is done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...engine.plate.model import ImageKey, PlateError, PlateReader
from .geometry import PlateGeometry, well_offsets

log = logging.getLogger(__name__)


def downsample(image: np.ndarray, factor: int, *, mode: str = "mean") -> np.ndarray:
    """`image` reduced `factor` times per axis. `mean`: block mean, for intensities (no
    aliasing); `nearest`: every `factor`-th pixel, for label ids (never averaged); `max`: block
    maximum, for thin outlines that must stay visible. Edges short of a block are dropped."""
    if factor == 1:
        return image
    if mode == "nearest":
        return image[..., ::factor, ::factor]
    h, w = image.shape[-2] // factor, image.shape[-1] // factor
    if h == 0 or w == 0:
        return np.zeros(image.shape[:-2] + (max(h, 1), max(w, 1)), image.dtype)
    blocks = image[..., :h * factor, :w * factor].reshape(
        image.shape[:-2] + (h, factor, w, factor))
    if mode == "max":
        return blocks.max(axis=(-3, -1))
    if image.dtype.kind == "u" and image.dtype.itemsize <= 2 and factor <= 256:
        # Camera images (uint8/16): the same floor of the block mean, summed in integers
        # (uint32 holds 256 x 256 x 65535); 2-4x faster than a float mean, and the plate
        # view's reading threads share the GUI thread's two cores while browsing.
        if factor == 2:
            top, bottom = image[..., 0:2 * h:2, :2 * w], image[..., 1:2 * h:2, :2 * w]
            pairs = top.astype(np.uint32) + bottom
            total = pairs[..., 0::2] + pairs[..., 1::2]
        else:
            total = blocks.sum(axis=(-3, -1), dtype=np.uint32)
        return (total // (factor * factor)).astype(image.dtype)
    mean = blocks.mean(axis=(-3, -1), dtype=np.float32)
    return mean.astype(image.dtype) if np.issubdtype(image.dtype, np.integer) else mean


def pyramid_blocks(block: np.ndarray, levels: int, *, mode: str = "mean") -> list[np.ndarray]:
    """`block` and its successive 2x reductions: `levels` arrays in all."""
    out = [block]
    for _ in range(levels - 1):
        out.append(downsample(out[-1], 2, mode=mode))
    return out


class BackgroundJobs:
    """A few daemon threads running keyed jobs, newest first; a key queued twice runs once."""

    def __init__(self, threads: int = 2) -> None:
        self._threads = threads
        self._queue: dict[Any, Callable[[], None]] = {}  # insertion order = age
        self._running: set[Any] = set()
        self._cv = threading.Condition()
        self._started = False

    def submit(self, key: Any, job: Callable[[], None]) -> None:
        with self._cv:
            if key in self._running:
                return
            self._queue.pop(key, None)  # asked again: it moves to the front
            self._queue[key] = job
            if not self._started:
                self._started = True
                for i in range(self._threads):
                    threading.Thread(target=self._work, name=f"napari-hcs plate loader {i}",
                                     daemon=True).start()
            self._cv.notify()

    def pending(self) -> int:
        with self._cv:
            return len(self._queue) + len(self._running)

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._queue:
                    self._cv.wait()
                key = next(reversed(self._queue))
                job = self._queue.pop(key)
                self._running.add(key)
            try:
                job()
            except Exception:  # a job's own errors are its to report; keep the thread alive
                log.exception("plate loader: job %s failed", key)
            finally:
                with self._cv:
                    self._running.discard(key)


#: One pool for every plate view of the process: the machine's cores are shared anyway.
JOBS = BackgroundJobs()


class WellMosaicLoader:
    """Fills a `TiledPyramid` with one channel's well mosaics, read in the background.

    `lead_axes` names the pyramid's leading axes ("timepoint", "z"), in order; a lead index
    maps to those components' values on the plate.
    """

    def __init__(self, reader: PlateReader, geometry: PlateGeometry, channel: str,
                 lead_axes: Sequence[str] = (), jobs: BackgroundJobs = JOBS) -> None:
        self.reader = reader
        self.geometry = geometry
        self.channel = channel
        self.lead_axes = tuple(lead_axes)
        self.jobs = jobs
        self.pyramid: Any = None  # set by `attach`
        self.on_loaded: Callable[[Any], None] | None = None
        self._offsets: dict[str, dict[int, tuple[float, float]]] = {}
        self._warned: set[str] = set()

    def attach(self, pyramid: Any) -> None:
        self.pyramid = pyramid
        pyramid.request = self.request

    def request(self, well: str, lead: tuple[int, ...], level: int) -> None:
        self.jobs.submit((id(self), well, lead, level), lambda: self.load(well, lead, level))

    def _key(self, well: str, site: int, lead: tuple[int, ...]) -> ImageKey:
        layout = self.reader.layout
        values = {"z": layout.z[0], "timepoint": layout.timepoints[0]}
        for axis, index in zip(self.lead_axes, lead, strict=True):
            values[axis] = layout.values(axis)[index]
        return ImageKey(well, site, self.channel, values["z"], values["timepoint"])

    def mosaic(self, well: str, lead: tuple[int, ...], level: int) -> np.ndarray:
        """The well's sites, each reduced 2**level times, pasted at their positions."""
        layout = self.reader.layout
        factor = 2 ** level
        offsets = self._offsets.get(well)
        if offsets is None:
            offsets = self._offsets[well] = well_offsets(self.reader, well)
        cell = self.geometry.cell(level)
        shape = (min(cell[0], -(-self.geometry.well_shape[0] // factor)),
                 min(cell[1], -(-self.geometry.well_shape[1] // factor)))
        canvas = np.zeros(shape, np.dtype(layout.dtype))
        for site in layout.sites:
            try:
                tile = self.reader.read(self._key(well, site, lead))
            except (PlateError, OSError, ValueError) as exc:
                if well not in self._warned:  # the plate view shows a gap; say why once
                    self._warned.add(well)
                    log.warning("plate view: %s", exc)
                continue
            small = downsample(np.asarray(tile), factor)
            y, x = (round(v / factor) for v in offsets[site])
            h, w = min(small.shape[0], shape[0] - y), min(small.shape[1], shape[1] - x)
            if h > 0 and w > 0:
                canvas[y:y + h, x:x + w] = small[:h, :w]
        return canvas

    def load(self, well: str, lead: tuple[int, ...], level: int) -> None:
        """Read `well` at `level`, store it with every coarser level, then say so."""
        pyramid = self.pyramid
        if pyramid.block(well, lead, level) is not None:
            return
        blocks = pyramid_blocks(self.mosaic(well, lead, level), self.geometry.levels - level)
        pyramid.put_well(well, blocks, lead, first_level=level, evictable=True)
        if self.on_loaded is not None:
            self.on_loaded(pyramid)
