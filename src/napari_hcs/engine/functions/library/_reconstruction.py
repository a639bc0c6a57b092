"""Greyscale reconstruction by dilation (4-connected), the inner loop of granularity.

`skimage.morphology.reconstruction` sorts every pixel of the image (its `rank_order`) on each
call; granularity calls it 16 times per channel, and that sort was two thirds of the
granularity time (`bench profiles`). Here is Vincent's hybrid algorithm (L. Vincent 1993,
"Morphological grayscale reconstruction in image analysis", IEEE TIP 2(2)): a raster and an
anti-raster pass, then a FIFO queue for what is left. Reconstruction is uniquely defined, and
both compute it by comparing and copying the inputs' values (no arithmetic), so the results are
identical to scikit-image's, bit for bit (the tests compare them).

With numba (the `[profiles]` extra installs it) the kernel is compiled once and cached on disk
(`cache=True`: numba's cache next to this file, or its user cache directory); the fork server
each worker loads it at its start (`profiles.warm_up`). Without numba, scikit-image's is used.
"""

from __future__ import annotations

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - the profiles extra installs numba
    njit = None


def reconstruct(seed: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The reconstruction by dilation of `seed` (<= `mask`) under `mask`, 4-connected: what
    `skimage.morphology.reconstruction(seed, mask, footprint=disk(1))` returns."""
    if _hybrid is None:
        import skimage.morphology

        return skimage.morphology.reconstruction(
            seed, mask, footprint=skimage.morphology.disk(1, dtype=bool))
    return _hybrid(np.ascontiguousarray(seed, np.float64), np.ascontiguousarray(mask,
                                                                                 np.float64))


def _hybrid_python(seed: np.ndarray, mask: np.ndarray) -> np.ndarray:  # pragma: no cover
    h, w = seed.shape
    out = np.minimum(seed, mask)
    # Raster pass: up and left neighbours.
    for i in range(h):
        for j in range(w):
            v = out[i, j]
            if i > 0 and out[i - 1, j] > v:
                v = out[i - 1, j]
            if j > 0 and out[i, j - 1] > v:
                v = out[i, j - 1]
            out[i, j] = min(v, mask[i, j])
    # Anti-raster pass: down and right neighbours; queue the pixels that can still spread.
    queue = np.empty(h * w, np.int64)
    queued = np.zeros(h * w, np.bool_)
    head = tail = count = 0
    for i in range(h - 1, -1, -1):
        for j in range(w - 1, -1, -1):
            v = out[i, j]
            if i < h - 1 and out[i + 1, j] > v:
                v = out[i + 1, j]
            if j < w - 1 and out[i, j + 1] > v:
                v = out[i, j + 1]
            v = min(v, mask[i, j])
            out[i, j] = v
            spreads = ((i < h - 1 and out[i + 1, j] < v and out[i + 1, j] < mask[i + 1, j])
                       or (j < w - 1 and out[i, j + 1] < v and out[i, j + 1] < mask[i, j + 1]))
            if spreads:
                queue[tail] = i * w + j
                tail = (tail + 1) % (h * w)
                queued[i * w + j] = True
                count += 1
    # Propagation: each queued pixel raises its 4 neighbours up to its value (and their mask).
    while count:
        p = queue[head]
        head = (head + 1) % (h * w)
        count -= 1
        queued[p] = False
        i, j = p // w, p % w
        v = out[i, j]
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            y, x = i + di, j + dj
            if 0 <= y < h and 0 <= x < w and out[y, x] < v and out[y, x] != mask[y, x]:
                out[y, x] = min(v, mask[y, x])
                q = y * w + x
                if not queued[q]:
                    queued[q] = True
                    queue[tail] = q
                    tail = (tail + 1) % (h * w)
                    count += 1
    return out


_hybrid = njit(cache=True, nogil=True)(_hybrid_python) if njit is not None else None


def warm_up() -> None:
    """Compile (or load from numba's disk cache) the kernel, so no well waits for it."""
    reconstruct(np.zeros((3, 3)), np.ones((3, 3)))
