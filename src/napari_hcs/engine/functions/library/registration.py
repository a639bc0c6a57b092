"""Tile registration: where each tile of a well really sits in the stitched mosaic.

MIST-style, in three stages:
1. *Pairs*: tiles whose nominal rectangles (from the stage positions) share an edge.
2. *Pairwise translation*: phase correlation (the normalised cross-power spectrum) of the two
   tiles' nominal overlap regions gives candidate residual shifts (its strongest peaks among
   the shifts within `max_shift`, the largest stage error); each candidate, with its
   wrap-around aliases, is scored by the normalised cross-correlation (NCC) of the two tiles
   over the overlap it implies, the best is refined to sub-pixel by a parabola through the NCC
   of its neighbours.
3. *Global positions*: weighted least squares over all pairwise displacements, weighted by
   1 / (1 - NCC) so that near-perfect matches dominate a loop's closure error (close to a
   maximum spanning tree on NCC, but using every pair).
   A pair below `min_correlation`, or whose displacement disagrees with the solution by more
   than `outlier_px`, falls back to its nominal displacement corrected by the median
   residual of the good pairs with the same orientation (the stage's systematic error), with
   a small weight, so that the tile graph stays connected.

Before all this the tiles are high-pass filtered (minus a Gaussian blur of sigma `highpass`):
vignetting and smooth background are the same in every tile's *own* frame, so they correlate
at zero shift and hide the objects' correlation at the true shift.

Only the overlaps are ever looked at, so only they are filtered: each pair's strip of each tile
(the nominal overlap grown by `max_shift` + 1, where the candidates' overlaps lie), blurred
with the blur's radius of tile around it, which gives the strip exactly the values the whole
filtered tile has there. Phase correlation uses real FFTs in the tiles' precision (float32),
and only its peaks within `max_shift` (a window of the correlation's corners) are ranked.

The numpy and torch versions share all of this; only the blur and the FFTs run in the
tensor's framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..registry import register
from . import _torch
from ._arrays import as_float, as_stack
from ._lazy import ndi
from ._params import Correlation, NonNegativeFloat, PositiveFloat
from ._torch import Tensor

_FALLBACK_WEIGHT = 1e-3  # weight of a nominal displacement (a measured one has >= 1)
_PEAKS = 10  # phase-correlation peaks examined per pair


@dataclass(frozen=True)
class PairShift:
    """The measured displacement `position[j] - position[i]` of two neighbouring tiles."""

    i: int
    j: int
    nominal: tuple[float, float]
    measured: tuple[float, float]
    ncc: float


def neighbour_pairs(nominal: np.ndarray, tile_shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Index pairs (i < j) of tiles whose nominal rectangles overlap along a whole edge.

    Diagonal neighbours (which overlap only at a corner) are left out: their tiny overlap
    adds little and is often mostly vignetted.
    """
    h, w = tile_shape
    pairs = []
    for i in range(len(nominal)):
        for j in range(i + 1, len(nominal)):
            dy, dx = np.abs(nominal[j] - nominal[i])
            oy, ox = h - dy, w - dx
            if oy > 0 and ox > 0 and (oy >= h / 2 or ox >= w / 2):
                pairs.append((i, j))
    return pairs


def _overlap(d: tuple[int, int], shape: tuple[int, int], other: tuple[int, int] | None = None
             ) -> tuple[slice, slice, slice, slice]:
    """Slices of array i and array j covering their overlap when j sits at `d` from i
    (j's shape `other`, by default the same as i's)."""
    (dy, dx), (h, w) = d, shape
    oh, ow = other or shape
    y0, y1, x0, x1 = max(0, dy), min(h, dy + oh), max(0, dx), min(w, dx + ow)
    return slice(y0, y1), slice(x0, x1), slice(y0 - dy, y1 - dy), slice(x0 - dx, x1 - dx)


def _ncc(a: Any, b: Any) -> float:
    """Normalised cross-correlation of two equally shaped arrays (numpy or torch)."""
    a, b = a - a.mean(), b - b.mean()
    den = float(((a * a).sum() * (b * b).sum()) ** 0.5)
    return float((a * b).sum()) / den if den > 0 else 0.0


def _ncc_at(ti: Any, tj: Any, d: tuple[int, int], min_overlap: int) -> float:
    ys, xs, yt, xt = _overlap(d, tuple(ti.shape), tuple(tj.shape))
    if ys.stop - ys.start < min_overlap or xs.stop - xs.start < min_overlap:
        return -1.0
    return _ncc(ti[ys, xs], tj[yt, xt])


def _admissible(n: int, max_shift: float) -> np.ndarray:
    """The wrap-around shifts (indices) of an axis of length `n` with an alias within
    `max_shift`, ascending."""
    k = np.arange(n)
    return k[np.minimum(k, n - k) <= max_shift]


def _pcm_peaks(a: Any, b: Any, fft: ModuleType, max_shift: float) -> list[tuple[int, int]]:
    """The strongest admissible peaks of the phase-correlation matrix of `a` and `b` (shift of
    b vs a, modulo the crop size), strongest first."""
    shape = tuple(int(v) for v in a.shape)
    cross = fft.rfft2(a - a.mean()) * fft.rfft2(b - b.mean()).conj()
    pcm = fft.irfft2(cross / (abs(cross) + 1e-12), s=shape)
    # Along a strip the crop is long, so most of its shifts lie beyond `max_shift`; in a
    # mostly-background strip noise peaks there would crowd the true peak out of the top
    # `_PEAKS`. Rank only the shifts that could be the answer: the corners of the matrix.
    rows, cols = _admissible(shape[0], max_shift), _admissible(shape[1], max_shift)
    window = _window(pcm, rows, cols)
    k = min(_PEAKS, window.size)
    top = np.argpartition(window, window.size - k, axis=None)[window.size - k:]
    top = top[np.argsort(window.reshape(-1)[top], kind="stable")[::-1]]
    return [(int(rows[t // len(cols)]), int(cols[t % len(cols)])) for t in top]


def _window(pcm: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """pcm[rows][:, cols] as a float64 numpy array (gathered on the tensor's device)."""
    if hasattr(pcm, "index_select"):  # torch: gather there, copy only the window back
        import torch

        r = torch.as_tensor(rows, device=pcm.device)
        c = torch.as_tensor(cols, device=pcm.device)
        pcm = pcm.index_select(0, r).index_select(1, c).cpu().numpy()
        return np.asarray(pcm, dtype=np.float64)
    return np.asarray(pcm[np.ix_(rows, cols)], dtype=np.float64)


def _parabola(left: float, mid: float, right: float) -> float:
    den = left - 2 * mid + right
    return 0.0 if den >= 0 else float(np.clip(0.5 * (left - right) / den, -0.5, 0.5))


def measure_pair(
    ti: Any, tj: Any, nominal: tuple[float, float], fft: ModuleType, max_shift: float,
    min_overlap: int = 4,
) -> tuple[tuple[float, float], float]:
    """The displacement of tile j relative to tile i near `nominal`, and its NCC.

    `ti` and `tj` may be parts of the tiles (e.g. overlap strips) as long as they hold the
    overlaps of every displacement within `max_shift` + 1 of `nominal`, which is then the
    displacement between those parts. `fft`: a module with `rfft2` and `irfft2` (numpy.fft,
    scipy.fft, torch.fft).
    """
    d0 = (int(round(nominal[0])), int(round(nominal[1])))
    ys, xs, yt, xt = _overlap(d0, tuple(ti.shape), tuple(tj.shape))
    crop_i, crop_j = ti[ys, xs], tj[yt, xt]
    ch, cw = crop_i.shape
    if ch < min_overlap or cw < min_overlap:
        return (float(d0[0]), float(d0[1])), -1.0
    scores: dict[tuple[int, int], float] = {}  # strong peaks are often neighbours: each once

    def score(d: tuple[int, int]) -> float:
        if d not in scores:
            scores[d] = _ncc_at(ti, tj, d, min_overlap)
        return scores[d]

    best, best_ncc = d0, -1.0
    for py, px in _pcm_peaks(crop_i, crop_j, fft, max_shift):
        # A peak at p means a shift of p modulo the crop size: try both aliases per axis.
        for ry in {py, py - ch}:
            for rx in {px, px - cw}:
                if max(abs(ry), abs(rx)) > max_shift:
                    continue
                d = (d0[0] + ry, d0[1] + rx)
                if score(d) > best_ncc:
                    best, best_ncc = d, score(d)
    if best_ncc <= -1.0:
        return (float(d0[0]), float(d0[1])), -1.0
    sub = []
    for axis in (0, 1):
        step = (1, 0) if axis == 0 else (0, 1)
        lo = score((best[0] - step[0], best[1] - step[1]))
        hi = score((best[0] + step[0], best[1] + step[1]))
        sub.append(best[axis] + _parabola(lo, best_ncc, hi))
    return (sub[0], sub[1]), best_ncc


def _strip(d: tuple[int, int], shape: tuple[int, int], reach: int
           ) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """The parts of tile i and tile j holding every overlap within `reach` of displacement
    `d`: the nominal overlap grown by `reach`, inside the tile."""
    h, w = shape

    def grow(s: slice, n: int) -> slice:
        return slice(max(s.start - reach, 0), min(s.stop + reach, n))

    ys, xs, yt, xt = _overlap(d, shape)
    return (grow(ys, h), grow(xs, w)), (grow(yt, h), grow(xt, w))


def _filtered(tile: Any, part: tuple[slice, slice], highpass: float, blur: Any) -> Any:
    """`tile - blur(tile)` on `part`, computed on the part and the blur's reach around it
    (equal to filtering the whole tile: the blur reads nothing farther, and where the part
    meets the tile's edge its context does too)."""
    if highpass <= 0:
        return tile[part]
    r = int(4.0 * highpass + 0.5)  # the Gaussian's radius (truncate 4)
    h, w = tile.shape
    (ys, xs) = part
    y0, y1, x0, x1 = max(ys.start - r, 0), min(ys.stop + r, h), max(xs.start - r, 0), \
        min(xs.stop + r, w)
    context = tile[y0:y1, x0:x1]
    inner = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
    return context[inner] - blur(context, highpass)[inner]


def solve_positions(
    shifts: list[PairShift], nominal: np.ndarray, min_correlation: float, outlier_px: float,
) -> np.ndarray:
    """Global (N, 2) positions from pairwise displacements by weighted least squares."""
    n = len(nominal)
    good = [s.ncc >= min_correlation for s in shifts]
    for _ in range(3):  # drop pairs that disagree with the solution, then solve again
        positions = _least_squares(shifts, good, nominal)
        changed = False
        for k, s in enumerate(shifts):
            if good[k]:
                residual = positions[s.j] - positions[s.i] - np.asarray(s.measured)
                if np.abs(residual).max() > outlier_px:
                    good[k], changed = False, True
        if not changed:
            break
    return positions if n else np.zeros((0, 2))


def _least_squares(shifts: list[PairShift], good: list[bool], nominal: np.ndarray) -> np.ndarray:
    n = len(nominal)
    # The stage's systematic error per orientation, from the trusted pairs.
    bias = {}
    for orient in (0, 1):
        res = [np.subtract(s.measured, s.nominal) for s, g in zip(shifts, good, strict=True)
               if g and _orientation(s) == orient]
        bias[orient] = np.median(res, axis=0) if res else np.zeros(2)
    rows, rhs, weights = [], [], []
    for s, g in zip(shifts, good, strict=True):
        row = np.zeros(n)
        row[s.j], row[s.i] = 1.0, -1.0
        rows.append(row)
        if g:
            rhs.append(s.measured)
            weights.append(_confidence(s.ncc))
        else:
            rhs.append(np.add(s.nominal, bias[_orientation(s)]))
            weights.append(_FALLBACK_WEIGHT)
    # Gauge: tile 0 stays at its nominal place; a tiny prior on every tile keeps tiles with
    # no neighbour at all at their nominal positions.
    for t in range(n):
        row = np.zeros(n)
        row[t] = 1.0
        rows.append(row)
        rhs.append(nominal[t])
        weights.append(1.0 if t == 0 else 1e-6)
    sw = np.sqrt(np.asarray(weights))[:, None]
    a, b = np.asarray(rows) * sw, np.asarray(rhs, dtype=np.float64) * sw
    return np.linalg.lstsq(a, b, rcond=None)[0]


def _confidence(ncc: float) -> float:
    """Weight of a measured displacement: grows steeply as the NCC approaches 1."""
    return 1.0 / (1.0 - min(ncc, 1.0) + 0.01)


def _orientation(s: PairShift) -> int:
    return 0 if abs(s.nominal[0]) >= abs(s.nominal[1]) else 1


def _compute(stack: Any, stage_positions: Any, fft: ModuleType, max_shift: float,
             min_correlation: float, outlier_px: float, highpass: float, blur: Any,
             func: str) -> np.ndarray:
    nominal = np.asarray(stage_positions, dtype=np.float64).reshape(-1, 2)
    if len(nominal) != stack.shape[0]:
        raise ValueError(
            f"{func}: 'stage_positions' has {len(nominal)} rows for {stack.shape[0]} tiles; "
            "the step must stack sites (variable_components=('site',))"
        )
    tile_shape = tuple(int(v) for v in stack.shape[1:])
    reach = int(np.ceil(max_shift)) + 1  # candidates, and their sub-pixel neighbours
    shifts = []
    for i, j in neighbour_pairs(nominal, tile_shape):
        d_nom = tuple(float(v) for v in nominal[j] - nominal[i])
        d0 = (int(round(d_nom[0])), int(round(d_nom[1])))
        part_i, part_j = _strip(d0, tile_shape, reach)
        si = _filtered(stack[i], part_i, highpass, blur)
        sj = _filtered(stack[j], part_j, highpass, blur)
        # The displacement between the parts: tile j's part starts at part_j in tile j.
        offset = (part_j[0].start - part_i[0].start, part_j[1].start - part_i[1].start)
        (my, mx), score = measure_pair(si, sj, (d_nom[0] + offset[0], d_nom[1] + offset[1]),
                                       fft, max_shift)
        shifts.append(PairShift(i, j, d_nom, (my - offset[0], mx - offset[1]), score))
    positions = solve_positions(shifts, nominal, min_correlation, outlier_px)
    return positions - positions.min(axis=0) if len(positions) else positions


def _blur_numpy(a: np.ndarray, sigma: float) -> np.ndarray:
    return ndi.gaussian_filter(a, sigma, mode="nearest")


def _blur_torch(x: Tensor, sigma: float) -> Tensor:
    return _torch.gaussian(x[None], sigma)[0]


@register(memory="numpy", category="stitching", special_inputs=("stage_positions",),
          special_outputs={"positions": "positions"})
def compute_positions(
    stack: np.ndarray, stage_positions: np.ndarray, max_shift: NonNegativeFloat = 40.0,
    min_correlation: Correlation = 0.3, outlier_px: PositiveFloat = 3.0,
    highpass: NonNegativeFloat = 5.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Tile positions by phase correlation of overlaps and a global least-squares fit.

    Returns the stack unchanged and an (N, 2) float array of tile top-left (y, x) in the
    mosaic frame (minimum 0). `max_shift`: largest stage error searched, in pixels;
    `highpass`: sigma of the blur subtracted before matching (0: none), about a nucleus radius.
    """
    a = as_float(as_stack(stack, "compute_positions"))
    return stack, _compute(a, stage_positions, np.fft, max_shift, min_correlation, outlier_px,
                           highpass, _blur_numpy, "compute_positions")


@register(memory="torch", category="stitching", special_inputs=("stage_positions",),
          special_outputs={"positions": "positions"})
def compute_positions_torch(
    stack: Tensor, stage_positions: np.ndarray, max_shift: NonNegativeFloat = 40.0,
    min_correlation: Correlation = 0.3, outlier_px: PositiveFloat = 3.0,
    highpass: NonNegativeFloat = 5.0,
) -> tuple[Tensor, np.ndarray]:
    """Tile positions by phase correlation of overlaps and a global least-squares fit."""
    _torch.require()
    x = _torch.as_float(stack)
    import torch

    return stack, _compute(x, stage_positions, torch.fft, max_shift, min_correlation,
                           outlier_px, highpass, _blur_torch, "compute_positions_torch")
