"""Multiscale pyramids for OME-Zarr: how levels are made and how their arrays are stored.

One downsampling rule for images and labels, so that their levels always have the same shape:
each level halves y and x, rounding up (`ceil(n / 2)`). Images take the mean of each 2x2 block
(the last row/column of an odd size is repeated to complete its blocks); labels take the
top-left pixel of each block (`[::2, ::2]`, nearest: label values stay label values). Levels are
added while the last one is larger than `PYRAMID_MIN_SIZE`, at most `Storage.levels`; wells of
one shape therefore have the same levels.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import zarr

#: Pyramid levels are added (each halving y and x) while the last level is larger than this.
PYRAMID_MIN_SIZE = 256
CHUNK = 1024

#: `Storage.compression` names -> numcodecs codec factories. Blosc (with zstd or lz4 inside) is
#: the codec every zarr v2 reader decodes, Java's included (jblosc in N5/zarr-java/JZarr);
#: bare "zstd" is numcodecs' own codec, which fewer readers know.
COMPRESSIONS = ("blosc", "blosc-zstd", "blosc-lz4", "zstd", "gzip", "none")


@dataclass(frozen=True)
class Storage:
    """How arrays are stored: at most `levels` pyramid levels, chunk edge (y, x), compression
    (one of `COMPRESSIONS`; "blosc" is Blosc with zstd inside) and its level."""

    levels: int = 8
    chunk_size: int = CHUNK
    compression: str = "blosc"
    compression_level: int = 3

    def compressors(self) -> Any:
        import numcodecs

        level = int(self.compression_level)
        shuffle = numcodecs.Blosc.SHUFFLE  # byte shuffle: uint16 high bytes compress apart
        codecs = {
            "blosc": lambda: numcodecs.Blosc(cname="zstd", clevel=level, shuffle=shuffle),
            "blosc-zstd": lambda: numcodecs.Blosc(cname="zstd", clevel=level, shuffle=shuffle),
            "blosc-lz4": lambda: numcodecs.Blosc(cname="lz4", clevel=level, shuffle=shuffle),
            "zstd": lambda: numcodecs.Zstd(level=level),
            "gzip": lambda: numcodecs.GZip(level=level),
            "none": lambda: None,
        }
        if self.compression not in codecs:
            raise ValueError(f"zarr compression {self.compression!r} is not one of "
                             f"{', '.join(COMPRESSIONS)}")
        return codecs[self.compression]()

    def chunks(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """One plane of the leading axes by `chunk_size` squares in y and x."""
        edge = max(16, int(self.chunk_size))
        return tuple([1] * (len(shape) - 2) + [min(s, edge) for s in shape[-2:]])


def level_count(shape: tuple[int, ...], most: int) -> int:
    """How many levels a pyramid of base `shape` has (at most `most`)."""
    count, yx = 1, tuple(shape[-2:])
    while count < most and max(yx) > PYRAMID_MIN_SIZE and min(yx) >= 2:
        yx = tuple(-(-n // 2) for n in yx)
        count += 1
    return count


def levels(data: np.ndarray, labels: bool, most: int) -> list[np.ndarray]:
    """The pyramid of `data`: level 0 itself, then each the `downsample` of the previous."""
    pyramid = [data]
    for _ in range(level_count(data.shape, most) - 1):
        pyramid.append(downsample(pyramid[-1], labels))
    return pyramid


def downsample(a: np.ndarray, labels: bool) -> np.ndarray:
    """Halve y and x, rounding up: the 2x2 block mean (images) or top-left pixel (labels)."""
    if labels:
        return a[..., ::2, ::2].copy()
    pad = [(0, 0)] * (a.ndim - 2) + [(0, a.shape[-2] % 2), (0, a.shape[-1] % 2)]
    b = np.pad(a, pad, mode="edge") if any(p for _, p in pad[-2:]) else a
    y, x = b.shape[-2] // 2, b.shape[-1] // 2
    work = np.float64 if a.dtype == np.float64 else np.float32
    mean = b.astype(work).reshape(*a.shape[:-2], y, 2, x, 2).mean(axis=(-3, -1))
    if np.issubdtype(a.dtype, np.integer):
        mean = np.rint(mean)
    return mean.astype(a.dtype)


def write_levels(
    group: zarr.Group, data: np.ndarray, *, labels: bool, storage: Storage,
) -> list[tuple[str, tuple[int, ...]]]:
    """Write the pyramid of `data` as arrays "0", "1", .. of `group`; their (path, shape)."""
    written = []
    compressor = storage.compressors()
    for level, arr in enumerate(levels(data, labels, max(1, storage.levels))):
        chunks = storage.chunks(arr.shape)
        # zarr skips chunks that hold only the fill value, but its check (a bytewise compare
        # of every chunk) costs as much as compressing it; when no chunk is all zeros (the usual
        # image) say so, which writes the very same chunks without the check.
        full = {"write_empty_chunks": True} if not has_empty_chunk(arr, chunks) else None
        array = group.create_array(str(level), shape=arr.shape, dtype=arr.dtype, chunks=chunks,
                                   compressor=compressor, fill_value=0, config=full)
        array[...] = arr  # through the handle: re-opening by name would read .zarray back
        written.append((str(level), tuple(arr.shape)))
    return written


def has_empty_chunk(arr: np.ndarray, chunks: tuple[int, ...]) -> bool:
    """Whether some chunk of `arr` holds only the fill value 0 as zarr judges it (integers:
    equal to 0; floats: the bit pattern of +0.0, so -0.0 counts as data). Conservative (True)
    for any other dtype."""
    kind = arr.dtype.kind
    if kind == "f":
        bits = arr.view(np.dtype(f"u{arr.dtype.itemsize}"))
    elif kind in "iub":
        bits = arr
    else:
        return True
    for start in itertools.product(*(range(0, n, c) for n, c in zip(arr.shape, chunks,
                                                                     strict=True))):
        region = tuple(slice(i, i + c) for i, c in zip(start, chunks, strict=True))
        if not bits[region].any():
            return True
    return False
