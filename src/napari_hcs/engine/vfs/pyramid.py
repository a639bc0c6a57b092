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
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
    compression: str = "blosc-lz4"
    compression_level: int = 3

    def compressors(self) -> Any:
        import numcodecs

        level = int(self.compression_level)
        shuffle = numcodecs.Blosc.SHUFFLE  # byte shuffle: uint16 high bytes compress apart
        codecs = {
            "blosc": lambda: numcodecs.Blosc(cname="zstd", clevel=level, shuffle=shuffle),
            "blosc-zstd": lambda: numcodecs.Blosc(cname="zstd", clevel=level, shuffle=shuffle),
            # Bit shuffle: lz4 alone finds little to match in 16-bit noise; bit planes it does.
            "blosc-lz4": lambda: numcodecs.Blosc(cname="lz4", clevel=level,
                                                 shuffle=numcodecs.Blosc.BITSHUFFLE),
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
    if a.dtype.kind in "iu" and a.dtype.itemsize <= 2:
        return _integer_mean(a)
    pad = [(0, 0)] * (a.ndim - 2) + [(0, a.shape[-2] % 2), (0, a.shape[-1] % 2)]
    b = np.pad(a, pad, mode="edge") if any(p for _, p in pad[-2:]) else a
    y, x = b.shape[-2] // 2, b.shape[-1] // 2
    work = np.float64 if a.dtype == np.float64 else np.float32
    mean = b.astype(work).reshape(*a.shape[:-2], y, 2, x, 2).mean(axis=(-3, -1))
    if np.issubdtype(a.dtype, np.integer):
        mean = np.rint(mean)
    return mean.astype(a.dtype)


def _integer_mean(a: np.ndarray) -> np.ndarray:
    """`rint` of the 2x2 block means of an 8/16-bit image, the last row/column repeated where
    y/x is odd, in `a`'s dtype: by integer adds in int32, the same values as the float mean
    (whose sum of four is exact for these types), rounded half to even as `rint` does. A plane
    at a time, with no padded copy: the temporaries are a quarter of a plane in int32.

    With total = 4q + r (0 <= r < 4): (total + 1 + (q & 1)) >> 2 is q for r < 2, q + 1 for
    r = 3, and for r = 2 (a half) q or q + 1, whichever is even."""
    y, x = a.shape[-2:]
    ye, xe, hy, hx = y - y % 2, x - x % 2, -(-y // 2), -(-x // 2)
    out = np.empty((*a.shape[:-2], hy, hx), a.dtype)
    rows = np.empty((hy, x), np.int32)
    total = np.empty((hy, hx), np.int32)
    odd = np.empty((hy, hx), np.int32)
    for index in np.ndindex(a.shape[:-2]):
        plane = a[index]
        np.add(plane[0:ye:2], plane[1:ye:2], out=rows[:ye // 2], dtype=np.int32)
        if y % 2:  # the last row with itself (edge repeat)
            np.multiply(plane[-1], 2, out=rows[-1], dtype=np.int32)
        np.add(rows[:, 0:xe:2], rows[:, 1:xe:2], out=total[:, :xe // 2])
        if x % 2:
            np.multiply(rows[:, -1], 2, out=total[:, -1])
        np.right_shift(total, 2, out=odd)
        odd &= 1
        odd += 1
        total += odd
        total >>= 2
        out[index] = total
    return out


def write_levels(
    group: Any, data: np.ndarray, *, labels: bool, storage: Storage,
) -> list[tuple[str, tuple[int, ...]]]:
    """Write the pyramid of `data` as arrays "0", "1", .. of `group`; their (path, shape)."""
    written = []
    compressor = storage.compressors()
    folder = _local_folder(group)
    for level, arr in enumerate(levels(data, labels, max(1, storage.levels))):
        chunks = storage.chunks(arr.shape)
        if folder is not None:
            write_array_v2(folder / str(level), arr, chunks, compressor)
            written.append((str(level), tuple(arr.shape)))
            continue
        # zarr skips chunks that hold only the fill value, but its check (a bytewise compare
        # of every chunk) costs as much as compressing it; when no chunk is all zeros (the usual
        # image) say so, which writes the very same chunks without the check.
        full = {"write_empty_chunks": True} if not has_empty_chunk(arr, chunks) else None
        array = group.create_array(str(level), shape=arr.shape, dtype=arr.dtype, chunks=chunks,
                                   compressor=compressor, fill_value=0, config=full)
        array[...] = arr  # through the handle: re-opening by name would read .zarray back
        written.append((str(level), tuple(arr.shape)))
    return written


def _local_folder(group: Any) -> Path | None:
    """The folder of a zarr v2 group on a local disk, or None (another store: zarr writes)."""
    if hasattr(group, "folder"):  # disk_group.DiskGroup
        return Path(group.folder)
    root = getattr(getattr(group, "store", None), "root", None)
    if root is None or getattr(getattr(group, "metadata", None), "zarr_format", None) != 2:
        return None
    return Path(root) / group.path if group.path else Path(root)


def write_array_v2(folder: Path, arr: np.ndarray, chunks: tuple[int, ...], compressor: Any) -> None:
    """One zarr v2 array, as zarr writes it (`.zarray`, `.zattrs`, one file per chunk named
    by its indices, edge chunks padded, chunks holding only the fill value 0 left out), each
    chunk compressed by `compressor` here: zarr would hand every chunk to its event loop thread
    and back, which costs more than compressing it at the sizes of a well's mosaic."""
    arr = np.ascontiguousarray(arr)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "shape": list(arr.shape), "chunks": list(chunks), "dtype": arr.dtype.str,
        "fill_value": 0.0 if arr.dtype.kind == "f" else 0, "order": "C", "filters": None,
        "dimension_separator": ".", "compressor": compressor.get_config() if compressor
        else None, "zarr_format": 2,
    }
    (folder / ".zarray").write_text(json.dumps(meta, indent=2))
    (folder / ".zattrs").write_text("{}")
    kind = arr.dtype.kind  # the fill value as zarr judges it: integer 0, float +0.0 bits
    bits = arr.view(np.dtype(f"u{arr.dtype.itemsize}")) if kind == "f" else arr
    counts = [range(-(-n // c)) for n, c in zip(arr.shape, chunks, strict=True)]
    for index in itertools.product(*counts):
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, chunks, strict=True))
        if kind in "fiub" and not bits[region].any():
            continue
        block = arr[region]
        if block.shape != tuple(chunks):  # an edge chunk is stored whole, padded
            padded = np.zeros(chunks, arr.dtype)
            padded[tuple(slice(0, n) for n in block.shape)] = block
            block = padded
        data = np.ascontiguousarray(block)
        payload = compressor.encode(data) if compressor else data.tobytes()
        (folder / ".".join(map(str, index))).write_bytes(payload)


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
