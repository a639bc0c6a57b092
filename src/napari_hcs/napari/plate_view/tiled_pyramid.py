"""A plate-sized multiscale canvas built from per-well blocks: what the plate view's layers hold.

napari draws a multiscale layer by slicing, on the GUI thread, the visible region of the level
that matches the zoom. Here a level is an array-like (`PyramidLevel`) whose pixels come from
per-well blocks in a `BlockStore`; reading one never waits for a file or a computation:

- a block that is there is copied;
- a missing block reads as the nearest coarser level's block, upsampled (the overview first,
  detail as it arrives), or zeros, and is *requested* (`request(well, lead, level)`); whoever
  fills the store (the plate loader, the result sink) then asks napari to refresh the layer.

So the GUI thread's cost is bounded by the canvas's size on screen, not by the plate's size.
Blocks are immutable once stored (a well arriving again replaces them), so readers on the GUI
thread and writers in worker threads only share a locked dict.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ...engine.plate.wells import format_well
from .geometry import PlateGeometry

BlockKey = tuple[Any, ...]  # (layer key, well, lead index)
Request = Callable[[str, tuple[int, ...], int], None]


class BlockStore:
    """(block key, level) -> array, thread-safe. Evictable blocks (pixels that can be read
    again) are dropped least recently used beyond `budget` bytes; the others stay."""

    def __init__(self, budget: int = 1 << 30) -> None:
        self.budget = budget
        self._blocks: dict[tuple[BlockKey, int], np.ndarray] = {}
        self._evictable: OrderedDict[tuple[BlockKey, int], int] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: BlockKey, level: int) -> np.ndarray | None:
        with self._lock:
            if (key, level) in self._evictable:
                self._evictable.move_to_end((key, level))
            return self._blocks.get((key, level))

    def put(self, key: BlockKey, level: int, block: np.ndarray, *,
            evictable: bool = False) -> None:
        with self._lock:
            self._drop((key, level))
            self._blocks[(key, level)] = block
            if evictable:
                self._evictable[(key, level)] = block.nbytes
                self._bytes += block.nbytes
                while self._bytes > self.budget and len(self._evictable) > 1:
                    self._drop(next(iter(self._evictable)))

    def discard(self, key: BlockKey) -> None:
        """Forget every level of block `key`."""
        with self._lock:
            for entry in [e for e in self._blocks if e[0] == key]:
                self._drop(entry)

    def _drop(self, entry: tuple[BlockKey, int]) -> None:
        self._blocks.pop(entry, None)
        size = self._evictable.pop(entry, None)
        if size is not None:
            self._bytes -= size

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(b.nbytes for b in self._blocks.values())


class TiledPyramid:
    """One layer's multiscale plate canvas: `levels` for napari, blocks per (well, lead index).

    `lead_shape` are axes before (y, x) (e.g. timepoint, z); `key` tells this layer's blocks
    from others' in a shared store; `request` is called (on the GUI thread, while napari
    slices) for a missing block of a well in `wells` (None: any well may have data).
    """

    def __init__(self, geometry: PlateGeometry, dtype: Any, *, lead_shape: Sequence[int] = (),
                 store: BlockStore | None = None, key: Any = None,
                 request: Request | None = None, wells: Iterable[str] | None = None,
                 upsample_missing: bool = True) -> None:
        self.geometry = geometry
        self.dtype = np.dtype(dtype)
        self.lead_shape = tuple(int(n) for n in lead_shape)
        self.store = store or BlockStore()
        self.key = key
        self.request = request
        self.wells = None if wells is None else set(wells)
        self.upsample_missing = upsample_missing
        self.levels = [PyramidLevel(self, level) for level in range(geometry.levels)]

    def block_key(self, well: str, lead: tuple[int, ...]) -> BlockKey:
        return (self.key, well, tuple(lead))

    def put_well(self, well: str, blocks: Sequence[np.ndarray], lead: tuple[int, ...] = (),
                 *, first_level: int = 0, evictable: bool = False) -> None:
        """Store a well's blocks for levels `first_level`, `first_level + 1`, ..."""
        key = self.block_key(well, lead)
        for level, block in enumerate(blocks, first_level):
            if level < self.geometry.levels:
                self.store.put(key, level, block, evictable=evictable)
        if self.wells is not None:
            self.wells.add(well)

    def block(self, well: str, lead: tuple[int, ...], level: int) -> np.ndarray | None:
        return self.store.get(self.block_key(well, lead), level)

    # -- reading --------------------------------------------------------------------------------
    def read(self, level: int, lead: tuple[int, ...], ys: range, xs: range) -> np.ndarray:
        """Pixels `ys` x `xs` (step 1) of plane `lead` at `level`; never waits for data."""
        out = np.zeros((len(ys), len(xs)), self.dtype)
        if not len(ys) or not len(xs):
            return out
        ch, cw = self.geometry.cell(level)
        rows = range(ys.start // ch, min(self.geometry.rows, -(-ys.stop // ch)))
        cols = range(xs.start // cw, min(self.geometry.columns, -(-xs.stop // cw)))
        for row, col in itertools.product(rows, cols):
            well = format_well(row, col)
            if self.wells is not None and well not in self.wells:
                continue
            block, factor = self._block_or_coarser(well, lead, level)
            if block is None:
                continue
            oy, ox = row * ch, col * cw  # the cell's top-left at this level
            y0, y1 = max(ys.start, oy), min(ys.stop, oy + block.shape[0] * factor)
            x0, x1 = max(xs.start, ox), min(xs.stop, ox + block.shape[1] * factor)
            if y0 >= y1 or x0 >= x1:
                continue
            if factor == 1:
                part = block[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
            else:  # nearest-neighbour upsampling of just the visible part
                part = block[np.ix_(np.arange(y0 - oy, y1 - oy) // factor,
                                    np.arange(x0 - ox, x1 - ox) // factor)]
            out[y0 - ys.start:y1 - ys.start, x0 - xs.start:x1 - xs.start] = part
        return out

    def _block_or_coarser(self, well: str, lead: tuple[int, ...],
                          level: int) -> tuple[np.ndarray | None, int]:
        block = self.block(well, lead, level)
        if block is not None:
            return block, 1
        if self.request is not None:
            self.request(well, lead, level)
        if self.upsample_missing:
            for coarser in range(level + 1, self.geometry.levels):
                block = self.block(well, lead, coarser)
                if block is not None:
                    return block, 2 ** (coarser - level)
        return None, 1


class PyramidLevel:
    """One level of a `TiledPyramid` as the array-like napari slices (shape, dtype, indexing).

    Indexing returns a lazy `_Window` (napari first cuts the visible region, then the plane);
    converting a window to numpy assembles only what it covers.
    """

    def __init__(self, pyramid: TiledPyramid, level: int) -> None:
        self.pyramid = pyramid
        self.level = level
        self.shape = pyramid.lead_shape + pyramid.geometry.shape(level)
        self.dtype = pyramid.dtype
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape, dtype=np.int64))

    def __getitem__(self, key: Any) -> Any:
        return _Window(self, [range(n) for n in self.shape])[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(_Window(self, [range(n) for n in self.shape]), dtype=dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"PyramidLevel(level={self.level}, shape={self.shape}, dtype={self.dtype})"


class _Window:
    """A rectangular, possibly strided, selection of a `PyramidLevel`: per axis an int (the
    axis is gone) or a range."""

    def __init__(self, level: PyramidLevel, axes: list[int | range]) -> None:
        self._level = level
        self._axes = axes
        self.dtype = level.dtype
        self.shape = tuple(len(a) for a in axes if isinstance(a, range))
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape, dtype=np.int64))

    def __getitem__(self, key: Any) -> Any:
        keys = list(key) if isinstance(key, tuple) else [key]
        if any(k is Ellipsis for k in keys):
            at = keys.index(Ellipsis)
            keys[at:at + 1] = [slice(None)] * (self.ndim - len(keys) + 1)
        if len(keys) > self.ndim:
            raise IndexError(f"too many indices: {len(keys)} for {self.ndim} dimensions")
        keys += [slice(None)] * (self.ndim - len(keys))
        axes, free = [], iter(keys)
        for axis in self._axes:
            if not isinstance(axis, range):
                axes.append(axis)
                continue
            k = next(free)
            if isinstance(k, slice):
                axes.append(axis[k])
            elif isinstance(k, (int, np.integer)):
                axes.append(axis[int(k)])  # IndexError when out of bounds, as numpy does
            else:
                raise TypeError(f"plate canvas: unsupported index {k!r} (ints and slices only)")
        window = _Window(self._level, axes)
        return window if window.ndim else np.asarray(window)[()]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        *lead, ys, xs = self._axes
        ys_r = ys if isinstance(ys, range) else range(ys, ys + 1)
        xs_r = xs if isinstance(xs, range) else range(xs, xs + 1)
        span_y = _span(ys_r)
        span_x = _span(xs_r)
        pyramid, level = self._level.pyramid, self._level.level
        lead_ranges = [a if isinstance(a, range) else range(a, a + 1) for a in lead]
        planes = []
        for index in itertools.product(*lead_ranges):
            plane = pyramid.read(level, tuple(index), span_y, span_x)
            planes.append(plane[::max(1, ys_r.step), ::max(1, xs_r.step)]
                          if len(ys_r) and len(xs_r) else plane[:len(ys_r), :len(xs_r)])
        # One plane (every 2-D slice napari draws) is reshaped, not copied again by np.stack.
        stacked = planes[0][np.newaxis] if len(planes) == 1 else np.stack(planes)
        out = stacked.reshape(
            tuple(len(r) for r in lead_ranges) + (len(ys_r), len(xs_r)))
        # Drop the axes indexed by an int.
        squeeze = tuple(i for i, a in enumerate(self._axes) if not isinstance(a, range))
        out = out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in squeeze))
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"_Window(level={self._level.level}, shape={self.shape})"


def _span(r: range) -> range:
    """The step-1 range covering `r` (reversed ranges are read forwards)."""
    if not len(r):
        return range(0)
    lo, hi = min(r[0], r[-1]), max(r[0], r[-1])
    if r.step < 0:
        raise TypeError("plate canvas: negative steps are not supported")
    return range(lo, hi + 1)
