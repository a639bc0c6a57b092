"""Mosaic assembly: place the tiles at their positions and blend the overlaps.

Positions are rounded to whole pixels (sub-pixel resampling would blur every tile to gain
less than the registration's own accuracy). With `blend="linear"` each tile is weighted by
its distance to its nearest edges, so overlaps fade from one tile into the other with no
visible seam; `blend="none"` lets later tiles overwrite earlier ones.

The numpy version cuts the mosaic into cells along every tile edge: a cell covered by one
tile is that tile's pixels (a copy), and only cells where tiles overlap are blended, with the
weights summed over the tiles covering the cell, in tile order (the values the whole-mosaic
weighted sum gives there). With 10 % overlaps most of a mosaic is copied, and no mosaic-sized
sums of weights and products are held.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..registry import register
from . import _torch
from ._arrays import as_stack
from ._shared import feather_weights
from ._torch import Tensor

Blend = Literal["linear", "none"]


def mosaic_layout(
    positions: np.ndarray, n_tiles: int, tile_shape: tuple[int, int], func: str
) -> tuple[np.ndarray, tuple[int, int]]:
    """Integer tile offsets (min 0) and the mosaic's (H, W)."""
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    if len(pos) != n_tiles:
        raise ValueError(f"{func}: 'positions' has {len(pos)} rows for {n_tiles} tiles")
    offsets = np.rint(pos - pos.min(axis=0)).astype(np.int64)
    size = offsets.max(axis=0) + np.asarray(tile_shape)
    return offsets, (int(size[0]), int(size[1]))


def _check_blend(func: str, blend: str) -> None:
    if blend not in ("linear", "none"):
        raise ValueError(f"{func}: parameter 'blend' must be 'linear' or 'none', got {blend!r}")


def _cast_back(mosaic: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(mosaic), info.min, info.max).astype(dtype)
    return mosaic.astype(dtype, copy=False)


@register(memory="numpy", category="stitching", special_inputs=("positions",))
def assemble_mosaic(
    stack: np.ndarray, positions: np.ndarray, blend: Blend = "linear"
) -> np.ndarray:
    """Stitch the (N, Y, X) tiles at `positions` into one (1, H, W) mosaic (dtype kept)."""
    _check_blend("assemble_mosaic", blend)
    a = as_stack(stack, "assemble_mosaic")
    offsets, (h, w) = mosaic_layout(positions, a.shape[0], a.shape[1:], "assemble_mosaic")
    ty, tx = a.shape[1:]
    if blend == "none":
        mosaic = np.zeros((h, w), a.dtype)
        for tile, (oy, ox) in zip(a, offsets, strict=True):
            mosaic[oy:oy + ty, ox:ox + tx] = tile
        return mosaic[np.newaxis]
    work = np.float64 if a.dtype == np.float64 else np.float32
    mosaic = np.empty((h, w), work)
    ramp = feather_weights(ty, tx)
    ys = np.unique(np.concatenate([offsets[:, 0], offsets[:, 0] + ty, [0, h]]))
    xs = np.unique(np.concatenate([offsets[:, 1], offsets[:, 1] + tx, [0, w]]))
    for y0, y1 in zip(ys[:-1], ys[1:], strict=True):
        for x0, x1 in zip(xs[:-1], xs[1:], strict=True):
            cell = mosaic[y0:y1, x0:x1]
            parts = [(t, (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox)))
                     for t, (oy, ox) in enumerate(offsets)
                     if oy <= y0 and y1 <= oy + ty and ox <= x0 and x1 <= ox + tx]
            if not parts:
                cell[...] = 0
            elif len(parts) == 1:
                t, box = parts[0]
                cell[...] = a[t][box]
            else:
                total = np.zeros(cell.shape, work)
                weight = np.zeros(cell.shape, work)
                for t, box in parts:
                    total += ramp[box] * a[t][box]
                    weight += ramp[box]
                np.divide(total, weight, out=cell)
    return _cast_back(mosaic, a.dtype)[np.newaxis]


@register(memory="torch", category="stitching", special_inputs=("positions",))
def assemble_mosaic_torch(
    stack: Tensor, positions: np.ndarray, blend: Blend = "linear"
) -> Tensor:
    """Stitch the (N, Y, X) tiles at `positions` into one (1, H, W) mosaic (dtype kept)."""
    torch = _torch.require()
    _check_blend("assemble_mosaic_torch", blend)
    offsets, (h, w) = mosaic_layout(positions, stack.shape[0], tuple(stack.shape[1:]),
                                    "assemble_mosaic_torch")
    ty, tx = stack.shape[1:]
    x = _torch.as_float(stack)
    total = torch.zeros((h, w), dtype=x.dtype, device=x.device)
    if blend == "none":
        for tile, (oy, ox) in zip(x, offsets, strict=True):
            total[oy:oy + ty, ox:ox + tx] = tile
        mosaic = total
    else:
        weight = torch.zeros_like(total)
        ramp = _torch.from_numpy(feather_weights(ty, tx), x)
        for tile, (oy, ox) in zip(x, offsets, strict=True):
            total[oy:oy + ty, ox:ox + tx] += ramp * tile
            weight[oy:oy + ty, ox:ox + tx] += ramp
        mosaic = torch.where(weight > 0, total / weight.clamp_min(1e-12), total)
    if not stack.dtype.is_floating_point:
        info = torch.iinfo(stack.dtype)
        mosaic = mosaic.round().clamp(info.min, info.max)
    return mosaic.to(stack.dtype).unsqueeze(0)
